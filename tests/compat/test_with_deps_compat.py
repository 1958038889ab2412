"""`status -d`, `checkout -d`, `commit -d` (a stage target brings its upstream stages),
`commit -R`, `commit --no-relink` and `checkout --allow-missing`, each run by dataver and by
real DVC on copies of one pipeline repository."""
from __future__ import annotations

import json
import os

import pytest

from dataver.pipeline import lock
from tests.compat.conftest import assert_same, dataver, dvc, dvc_repo, make_tree, twin_copies
from tests.conftest import git

pytestmark = pytest.mark.compat

DVC_YAML = """\
stages:
  one:
    cmd: cp a.txt b.txt
    deps: [a.txt]
    outs: [b.txt]
  two:
    cmd: cat b.txt b.txt > c.txt
    deps: [b.txt]
    outs: [c.txt]
  three:
    cmd: cp c.txt d.txt
    deps: [c.txt]
    outs: [d.txt]
  other:
    cmd: echo o > o.txt
    outs: [o.txt]
"""
SUB_YAML = """\
stages:
  sub:
    cmd: cp ../d.txt e.txt
    deps: [../d.txt]
    outs: [e.txt]
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = dvc_repo(tmp_path_factory.mktemp("withdeps") / "repo")
    make_tree(root, {"a.txt": "a\n", "dvc.yaml": DVC_YAML, "sub/dvc.yaml": SUB_YAML,
                     "data/x.txt": "x\n"})
    dvc("add", "-q", "data/x.txt", cwd=root)
    dvc("repro", "-q", "-P", cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "ran")
    return root


@pytest.fixture
def pair(made, tmp_path):
    """Two copies of the pipeline repository: (dataver's, dvc's)."""
    return twin_copies(made, tmp_path)


def _same(ours, theirs) -> None:
    """Both repositories hold the same files (dataver's own notes of running commands aside)."""
    assert_same(theirs, ours, extra_in_right=lambda rel: ".dataver-running" in rel)


def _blocks(text: str) -> set[str]:
    """Status text as a set of per-stage blocks: DVC prints the stages of -d in set order."""
    blocks: list[str] = []
    for line in text.splitlines():
        if line.startswith("\t") and blocks:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return set(blocks)


STATUS_TARGETS = [["-d", "two"], ["-d", "three"], ["-d", "dvc.yaml:three"], ["-d", "c.txt"],
                  ["-d", "sub/dvc.yaml:sub"], ["-d", "data/x.txt.dvc"], ["two"], ["-d"]]


@pytest.mark.parametrize("args", STATUS_TARGETS, ids=[" ".join(a) for a in STATUS_TARGETS])
def test_status_with_deps_as_dvc(pair, args):
    ours, theirs = pair
    for root in pair:
        (root / "b.txt").write_text("changed\n")
        (root / "d.txt").unlink()
        (root / "data" / "x.txt").write_text("y\n")
    mine = dataver("status", "--json", *args, cwd=ours).stdout
    real = dvc("status", "--json", *args, cwd=theirs).stdout
    assert json.loads(mine or "{}") == json.loads(real or "{}")
    mine = dataver("status", *args, cwd=ours).stdout
    real = dvc("status", *args, cwd=theirs).stdout
    assert _blocks(mine) == _blocks(real)
    if args[:2] == ["-d", "three"]:
        assert "one:" in mine  # two stages up


def test_status_with_deps_from_a_subdirectory(pair):
    ours, theirs = pair
    for root in pair:
        (root / "b.txt").write_text("changed\n")
    mine = dataver("status", "--json", "-d", "dvc.yaml:sub", cwd=ours / "sub").stdout
    real = dvc("status", "--json", "-d", "dvc.yaml:sub", cwd=theirs / "sub").stdout
    assert json.loads(mine) == json.loads(real)
    assert len(json.loads(mine)) >= 2


@pytest.mark.parametrize("target", ["two", "sub/dvc.yaml:sub", "c.txt"])
def test_checkout_with_deps_as_dvc(pair, target):
    for root in pair:
        for name in ("b.txt", "c.txt", "d.txt", "o.txt", "sub/e.txt"):
            (root / name).unlink()
    ours, theirs = pair
    mine = dataver("checkout", "-d", target, cwd=ours).stdout
    real = dvc("checkout", "-d", target, cwd=theirs).stdout
    assert sorted(mine.split()) == sorted(real.split())
    _same(ours, theirs)
    assert not (ours / "o.txt").exists()
    assert (ours / "b.txt").exists() == (target != "c.txt")


def test_checkout_allow_missing_as_dvc(pair):
    ours, theirs = pair
    oid = lock.read(str(ours / "dvc.lock"))["one"]["outs"][0]["md5"]
    for root in pair:
        os.remove(root / ".dvc" / "cache" / "files" / "md5" / oid[:2] / oid[2:])
        for name in ("b.txt", "c.txt", "o.txt"):
            (root / name).unlink()
    assert dataver("checkout", cwd=ours, ok=False).returncode != 0
    assert dvc("checkout", cwd=theirs, ok=False).returncode != 0
    for root in pair:
        (root / "c.txt").unlink(missing_ok=True)
        (root / "o.txt").unlink(missing_ok=True)
    mine = dataver("checkout", "--allow-missing", cwd=ours)
    real = dvc("checkout", "--allow-missing", cwd=theirs)
    assert sorted(mine.stdout.split()) == sorted(real.stdout.split())
    _same(ours, theirs)
    assert (ours / "c.txt").exists() and not (ours / "b.txt").exists()


@pytest.mark.parametrize("args", [["-d", "two"], ["-d", "dvc.yaml:three"], ["-d", "c.txt"],
                                  [], ["one", "two", "three"]])
def test_commit_with_deps_as_dvc(pair, args):
    """Same dvc.lock, cache and run cache; the same "Updating lock file" lines (DVC says it
    once per target whose stages changed the file)."""
    for root in pair:
        (root / "b.txt").write_text("edited\n")
        (root / "c.txt").write_text("edited too\n")
    ours, theirs = pair
    mine = dataver("commit", "-f", *args, cwd=ours).stdout
    real = dvc("commit", "-f", *args, cwd=theirs).stdout
    assert mine == real
    _same(ours, theirs)
    assert git(ours, "diff", "--stat").count("dvc.lock") == 1


def test_commit_recursive_as_dvc(pair):
    for root in pair:
        (root / "data" / "x.txt").write_text("z\n")
        (root / "sub" / "e.txt").write_text("E\n")
    ours, theirs = pair
    dataver("commit", "-f", "-R", "data", "sub", cwd=ours)
    dvc("commit", "-f", "-R", "data", "sub", cwd=theirs)
    _same(ours, theirs)
    assert "x.txt.dvc" in git(ours, "diff", "--stat")


@pytest.mark.parametrize("command", ["commit", "add"])
@pytest.mark.parametrize("relink", [True, False], ids=["relink", "no-relink"])
def test_no_relink_as_dvc(pair, command, relink):
    flags = [] if relink else ["--no-relink"]
    for root in pair:
        dvc("config", "cache.type", "hardlink", cwd=root)
        path = root / "data" / "x.txt"
        path.unlink()
        path.write_text("new\n")
    ours, theirs = pair
    dataver(command, *(["-f"] if command == "commit" else []), *flags, "data/x.txt", cwd=ours)
    dvc(command, *(["-f"] if command == "commit" else []), *flags, "data/x.txt", cwd=theirs)
    _same(ours, theirs)
    links = [os.stat(root / "data" / "x.txt").st_nlink for root in pair]
    assert links == ([2, 2] if relink else [1, 1])


@pytest.mark.parametrize("relink", [True, False], ids=["relink", "no-relink"])
def test_no_relink_of_a_stage_output_as_dvc(pair, relink):
    flags = [] if relink else ["--no-relink"]
    for root in pair:
        dvc("config", "cache.type", "hardlink", cwd=root)
        path = root / "d.txt"
        path.unlink()
        path.write_text("new\n")
    ours, theirs = pair
    dataver("commit", "-f", *flags, "three", cwd=ours)
    dvc("commit", "-f", *flags, "three", cwd=theirs)
    _same(ours, theirs)
    links = [os.stat(root / "d.txt").st_nlink for root in pair]
    assert links == ([2, 2] if relink else [1, 1])
