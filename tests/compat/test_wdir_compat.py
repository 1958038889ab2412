"""`.dvc` files with a ``wdir:`` (written by older DVC versions): outputs are relative to it. Both
tools read such a file alike (status, checkout) and keep ``wdir`` and the paths as written when
they commit or re-add (the same bytes)."""
from __future__ import annotations

import shutil

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, make_tree, status_json
from tests.conftest import git

pytestmark = pytest.mark.compat

TOOLS = {"dataver": dataver, "dvc": dvc}
FILE_DVC = """# tracked from meta/x
wdir: ../..
outs:
- md5: b1946ac92492d2347c6235b4d2611184
  size: 6
  hash: md5
  path: data/sub/file.txt
"""
# A placeholder hash (the empty directory's), replaced by each tool's commit.
DIR_DVC = """wdir: ../data
outs:
- md5: d751713988987e9331980363e24189ce.dir
  size: 0
  nfiles: 0
  hash: md5
  path: images
"""
DATA = {"data/sub/file.txt": "hello\n", "data/images/a.jpg": b"\xff\xd8 a",
        "data/images/b.jpg": b"\xff\xd8 b", "meta/x/f.dvc": FILE_DVC, "stages/img.dvc": DIR_DVC}


@pytest.fixture
def twins(tmp_path):
    """The same repository twice (``dataver`` and ``dvc``), with both `.dvc` files uncommitted."""
    roots = {}
    for name in TOOLS:
        root = tmp_path / name
        root.mkdir()
        git(root, "init", "-q")
        dvc("init", cwd=root)
        make_tree(root, DATA)
        git(root, "add", ".dvc", "meta", "stages")
        git(root, "commit", "-qm", "wdir")
        roots[name] = root
    return roots


def same(twins) -> None:
    """Both repositories hold the same bytes (dataver's registry of running processes aside)."""
    assert_same(twins["dvc"], twins["dataver"], extra_in_right=lambda rel: ".dataver-running" in rel)


def run_both(twins, *args, cwd=""):
    return {name: TOOLS[name](*args, cwd=twins[name] / cwd) for name in TOOLS}


def test_status_commit_add_checkout_agree(twins):
    assert status_json(dataver, twins["dataver"]) == status_json(dvc, twins["dvc"]) == {
        "stages/img.dvc": [{"changed outs": {"data/images": "not in cache"}}],
        "meta/x/f.dvc": [{"changed outs": {"data/sub/file.txt": "not in cache"}}]}
    run_both(twins, "commit", "-f")
    same(twins)
    for root in twins.values():
        make_tree(root, {"data/sub/file.txt": "world\n", "data/images/c.jpg": "c"})
    out = run_both(twins, "status", cwd="meta")
    assert "../data/sub/file.txt" in out["dataver"].stdout and "../data/sub/file.txt" in out["dvc"].stdout
    run_both(twins, "add", "data/sub/file.txt", "data/images")
    same(twins)
    assert "wdir: ../data\n" in (twins["dataver"] / "stages" / "img.dvc").read_text()
    for root in twins.values():
        shutil.rmtree(root / "data")
    run_both(twins, "checkout")
    same(twins)
    assert (twins["dataver"] / "data" / "sub" / "file.txt").read_text() == "world\n"
    assert not (twins["dataver"] / "meta" / "x" / "data").exists()


@pytest.mark.parametrize("maker", sorted(TOOLS))
def test_the_other_tool_checks_out_what_one_committed(twins, maker):
    root = twins[maker]
    TOOLS[maker]("commit", "-f", cwd=root)
    git(root, "add", "meta", "stages", "data/.gitignore", "data/sub/.gitignore")
    git(root, "commit", "-qm", "committed")
    shutil.rmtree(root / "data")
    reader = "dvc" if maker == "dataver" else "dataver"
    TOOLS[reader]("checkout", cwd=root)
    assert (root / "data" / "images" / "b.jpg").read_bytes() == b"\xff\xd8 b"
    assert status_json(TOOLS[reader], root) == {}


def test_wdir_outside_the_repository_is_refused(twins):
    root = twins["dataver"]
    (root / "meta" / "x" / "f.dvc").write_text(FILE_DVC.replace("../..", "../../.."))
    proc = dataver("status", cwd=root, ok=False)
    assert proc.returncode != 0
    assert "wdir '../../..' leads outside the repository" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
