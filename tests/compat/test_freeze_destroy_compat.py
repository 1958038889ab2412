"""`freeze`/`unfreeze` and `destroy`: both tools on twin repos, every file compared byte for byte,
and the messages and exit codes of the cases DVC refuses."""
from __future__ import annotations

import os

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, make_tree

PIPELINE = """\
# top comment
vars:
    - x: 1
stages:
    s1:   # the first
        cmd: "echo hi > o.txt"
        deps: [a.txt]
        outs:
            - o.txt:
                cache: false
        desc: my stage
        always_changed: true
        meta: {a: 1}
    s2:
        cmd: cat o.txt
        frozen: false
        deps:
        - a.txt
    fe:
        foreach: [1, 2]
        do:
            cmd: echo ${item}
"""
DVCFILE_EDITED = """\
md5: abc
frozen: false
outs: # c
- md5: 764efa883dda1e11db47671c4a3bbd9e
  size: 3
  hash: md5
  path: b.txt
desc: hello
"""


def _setup(root, tool) -> None:
    make_tree(root, {"a.txt": "a\n", "b.txt": "hi\n", "dvc.yaml": PIPELINE,
                     "sub/dvc.yaml": "stages:\n  t:\n    cmd: echo t\n", "sub/c.txt": "c\n"})
    tool("add", "a.txt", "sub/c.txt", cwd=root)
    make_tree(root, {"b.txt.dvc": DVCFILE_EDITED})


STEPS = [
    ("freeze", "a.txt.dvc"), ("freeze", "s1"), ("freeze", "s2", "b.txt.dvc"),
    ("freeze", "sub/dvc.yaml:t"), ("unfreeze", "s2"), ("freeze", "a.txt.dvc"),
    ("unfreeze", "b.txt.dvc", "s1"), ("freeze", "b.txt.dvc"),
]


def test_freeze_unfreeze_writes_what_dvc_writes(pair):
    a, b = pair
    _setup(a, dataver)
    _setup(b, dvc)
    assert_same(a, b)
    for step in STEPS:
        mine, theirs = dataver(*step, cwd=a), dvc(*step, cwd=b)
        assert_same(a, b)
        assert mine.stdout == theirs.stdout, step


def test_freeze_from_a_subdirectory(pair):
    a, b = pair
    _setup(a, dataver)
    _setup(b, dvc)
    for root, tool in ((a, dataver), (b, dvc)):
        tool("freeze", "t", "../dvc.yaml:s1", "c.txt.dvc", cwd=os.path.join(root, "sub"))
    assert_same(a, b)


@pytest.mark.parametrize("targets", [["s2", "nope"], ["dvc.yaml:nope"], ["x.dvc"], ["a.txt"],
                                     ["dvc.yaml"], ["fe@1"]])
def test_freeze_refusals_match_dvc(pair, targets):
    """Same exit code, and the targets before the failing one are changed by both."""
    a, b = pair
    _setup(a, dataver)
    _setup(b, dvc)
    mine = dataver("freeze", *targets, cwd=a, ok=False)
    theirs = dvc("freeze", *targets, cwd=b, ok=False)
    assert (mine.returncode, theirs.returncode) == (1, 1)
    assert mine.stderr.startswith(f"ERROR: failed to freeze '{targets[-1]}' - ")
    assert_same(a, b)


LOCKED_PIPELINE = {
    "dvc.yaml": "stages:\n  s:\n    cmd: echo o > o\n    outs:\n    - o\n",
    "dvc.lock": "schema: '2.0'\nstages:\n  s:\n    cmd: echo o > o\n    outs:\n    - path: o\n"
                "      hash: md5\n      md5: 9bd8bdcc7d0f5d0fcd8a0d5a5ea4a4f6\n      size: 2\n",
    "o": "o\n", "sub/dvc.yaml": "stages:\n  t:\n    cmd: echo t\n",
}


def _destroy_setup(root, tool) -> None:
    make_tree(root, {"d/x": "1\n", "d/y/z": "2\n", "f": "3\n", "g": "4\n", "h": "5\n",
                     "gone": "6\n", **LOCKED_PIPELINE})
    tool("config", "cache.type", "symlink", cwd=root)
    tool("add", "d", "f", cwd=root)
    tool("config", "cache.type", "hardlink", cwd=root)
    tool("add", "h", "gone", cwd=root)
    tool("config", "cache.type", "copy", cwd=root)
    tool("add", "g", cwd=root)
    os.unlink(os.path.join(root, "gone"))


def test_destroy_keeps_the_data_and_removes_what_dvc_removes(pair):
    a, b = pair
    _destroy_setup(a, dataver)
    _destroy_setup(b, dvc)
    assert os.path.islink(a / "f") and os.path.islink(a / "d" / "x")
    mine, theirs = dataver("destroy", "-f", cwd=a), dvc("destroy", "-f", cwd=b)
    assert (mine.returncode, theirs.returncode) == (0, 0)
    assert_same(a, b)
    for root in (a, b):
        assert not os.path.exists(root / ".dvc") and not os.path.exists(root / ".dvcignore")
        assert not os.path.islink(root / "f") and (root / "f").read_text() == "3\n"
        assert os.stat(root / "h").st_nlink == 1 and (root / "d" / "y" / "z").read_text() == "2\n"
        assert (root / "f").stat().st_mode & 0o200  # writable again
        assert not os.path.exists(root / "dvc.lock") and not os.path.exists(root / "sub/dvc.yaml")


def test_destroy_asks_first(pair):
    import subprocess
    import sys

    from tests.conftest import dvc_bin

    a, b = pair
    _destroy_setup(a, dataver)
    _destroy_setup(b, dvc)
    for root, command in ((a, [sys.executable, "-m", "dataver"]), (b, [dvc_bin()])):
        proc = subprocess.run([*command, "destroy"], cwd=root, input="n\n", capture_output=True,
                              text=True)
        assert proc.returncode == 1, proc.stderr
        assert "Are you sure you want to continue? [y/n]" in proc.stdout + proc.stderr
        assert "Use `-f` to force" in proc.stderr or "use `-f` to force" in proc.stderr
        assert os.path.isdir(root / ".dvc") and os.path.islink(root / "f")
    proc = subprocess.run([sys.executable, "-m", "dataver", "destroy"], cwd=a, input="y\n",
                          capture_output=True, text=True)
    assert proc.returncode == 0 and not os.path.exists(a / ".dvc")


def test_cache_migrate_matches_dvc(tmp_path):
    """`cache migrate` (objects) and then `--dvc-files` on twin copies of the DVC 2.x fixture:
    same cache files (3.x objects hard-linked to the 2.x ones), same `.dvc` files, same output."""
    from tests.compat.test_dvc2_fixture import copy_fixture

    a, b = tmp_path / "a", tmp_path / "b"
    copy_fixture(a)
    copy_fixture(b)
    for args in (["--dry"], ["--dry", "--dvc-files"], [], ["--dvc-files"]):
        mine = dataver("cache", "migrate", *args, cwd=a)
        theirs = dvc("cache", "migrate", *args, cwd=b)
        assert_same(b, a, extra_in_right=lambda rel: ".dataver-running" in rel)
        if "--dvc-files" not in args:
            assert mine.stdout == theirs.stdout, args
        else:  # DVC lists the files in its index order (dataver sorts them)
            assert _said(mine.stdout) == _said(theirs.stdout), args
    legacy = a / ".dvc" / "cache" / "5c" / "4efd3a5721c8c97856c679c34a56f3"
    assert os.stat(legacy).st_nlink == 2  # hard-linked into files/md5, as DVC links it
    assert "hash: md5" in (a / "images.dvc").read_text()
    assert dataver("status", cwd=a).stdout == dvc("status", cwd=b).stdout


def _said(out: str) -> list[str]:
    """The lines of a migration's output, sorted, without the git and auto-staging hints."""
    hints = ("git add", "To track", "auto staging", "config core.autostage")
    return sorted(line for line in out.splitlines()
                  if line.strip() and not any(hint in line for hint in hints))
