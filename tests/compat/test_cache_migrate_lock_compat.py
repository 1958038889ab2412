"""`cache migrate --dvc-files` on a repository whose `dvc.lock` (and a `.dvc` file) hold DVC 2.x
entries (no ``hash: md5``) and whose cache has the 2.x layout: dataver and real DVC leave the
same files (dvc.lock, .dvc file, cache with run-cache entries) and print the same lines."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, dvc_repo, make_tree
from tests.conftest import git

pytestmark = pytest.mark.compat

DVC_YAML = """\
stages:
  s:
    cmd: mkdir -p out && cp a.txt out/x && cp src/1 out/y && echo m > m.txt
    deps: [a.txt, src]
    outs: [out, m.txt]
  t:
    cmd: cp m.txt t.txt
    deps: [m.txt]
    outs: [t.txt]
  new:
    cmd: echo n > n.txt
    outs: [n.txt]
"""


def _to_legacy(root, keep_stage: str) -> None:
    """Make ``root`` look written by DVC 2.x: entries without ``hash: md5`` (except those of
    stage ``keep_stage``, left 3.x), objects in the 2.x cache layout, no run cache."""
    lock = (root / "dvc.lock").read_text()
    head, _, kept = lock.partition(f"  {keep_stage}:\n")
    kept, sep, rest = kept.partition("\n  ")  # up to the next stage
    lock = head.replace("      hash: md5\n", "") + f"  {keep_stage}:\n" + kept + sep + \
        rest.replace("      hash: md5\n", "")
    (root / "dvc.lock").write_text(lock)
    (root / "z.txt.dvc").write_text((root / "z.txt.dvc").read_text().replace("  hash: md5\n", ""))
    cache = root / ".dvc" / "cache"
    new = cache / "files" / "md5"
    for prefix in os.listdir(new):
        (cache / prefix).mkdir(exist_ok=True)
        for name in os.listdir(new / prefix):
            os.replace(new / prefix / name, cache / prefix / name)
    shutil.rmtree(cache / "files")
    shutil.rmtree(cache / "runs", ignore_errors=True)


def _words(text: str) -> list[str]:
    """Lines as they are, except the `git add` line's paths as a set."""
    return [" ".join(sorted(line.split())) if "git add" in line else line
            for line in text.strip().splitlines()]


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    root = dvc_repo(tmp_path_factory.mktemp("migratelock") / "repo")
    make_tree(root, {"a.txt": "a\n", "src/1": "s1\n", "z.txt": "z\n", "dvc.yaml": DVC_YAML})
    dvc("add", "-q", "z.txt", cwd=root)
    dvc("repro", "-q", "s", "t", cwd=root)  # `new` never ran: no lock entry
    _to_legacy(root, keep_stage="t")
    shutil.rmtree(root / ".dvc" / "tmp", ignore_errors=True)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "2.x")
    return root


@pytest.mark.parametrize("dry", [False, True], ids=["migrate", "dry"])
def test_cache_migrate_updates_dvc_lock_as_dvc(legacy, tmp_path, dry):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    shutil.copytree(legacy, ours)
    shutil.copytree(legacy, theirs)
    args = ["cache", "migrate", "--dvc-files", *(["--dry"] if dry else [])]
    mine = dataver(*args, cwd=ours).stdout
    real = dvc(*args, cwd=theirs).stdout
    # the autostage hint names each tool's command; DVC's `git add` names come in a set's order
    real = real.replace("\tdvc config core.autostage", "\tdataver config core.autostage")
    assert _words(mine) == _words(real)
    assert_same(theirs, ours, extra_in_right=lambda rel: ".dataver-running" in rel)
    lock = (ours / "dvc.lock").read_text()
    if dry:
        assert "dvc.yaml (dvc.lock)" in mine and "hash: md5" not in lock.split("  t:")[0]
    else:
        assert lock.count("hash: md5") == 6 and "Updating lock file 'dvc.lock'" in mine
        assert (ours / ".dvc" / "cache" / "runs").is_dir()  # the commit saved the run


def test_nothing_to_migrate_in_a_3x_lock(legacy, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(legacy, root)
    dataver("cache", "migrate", "--dvc-files", cwd=root)
    before = (root / "dvc.lock").read_text()
    out = dataver("cache", "migrate", "--dvc-files", cwd=root).stdout
    assert (root / "dvc.lock").read_text() == before
    assert "Updating lock file" not in out
