"""`du`, and `ls` sizes of outputs not in the workspace and of git folders at a revision, equal
to DVC's on the same repository (DVC lists in an order of its own: lines compared sorted)."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import git, run_cli, run_dvc


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "r"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "code").mkdir()
    (root / "data" / "a").write_text("aaaa\n")
    (root / "data" / "sub" / "b").write_text("bb\n")
    (root / "code" / "x.py").write_text("print\n")
    (root / "f.txt").write_bytes(b"x" * 5000)
    git(root, "init", "-q")
    run_dvc("init", "-q", cwd=root)
    run_dvc("add", "-q", "data", "f.txt", cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return root


def both(root, *args) -> tuple[list[str], list[str]]:
    ours = run_cli(*args, cwd=root)
    assert ours.returncode == 0, ours.stderr
    theirs = run_dvc(*args, cwd=root)
    return sorted(ours.stdout.splitlines()), sorted(theirs.stdout.splitlines())


DU_ARGS = [("du", "."), ("du", "-s", "."), ("du", ".", "data"), ("du", ".", "data/sub"),
           ("du", ".", "f.txt.dvc"), ("du", "--rev", "HEAD", "."), ("du", "--rev", "HEAD", ".", "code")]


def test_du_matches_dvc(repo):
    for args in DU_ARGS:
        ours, theirs = both(repo, *args)
        assert ours == theirs, args
    shutil.rmtree(repo / "data")  # not in the workspace: the recorded size
    for args in DU_ARGS[:3]:
        ours, theirs = both(repo, *args)
        assert ours == theirs, args


def test_ls_sizes_of_missing_outputs_and_git_folders_at_rev(repo):
    shutil.rmtree(repo / "data")
    (repo / "f.txt").unlink()
    for args in [("ls", "--json", "."), ("ls", "-R", "--json", "."), ("ls", "--rev", "HEAD", "--json", "."),
                 ("ls", "--rev", "HEAD", "-R", "--json", ".")]:
        ours = json.loads(run_cli(*args, cwd=repo).stdout)
        theirs = json.loads(run_dvc(*args, cwd=repo).stdout)
        assert ours == theirs, args
    for args in [("ls", "--size", "."), ("ls", "--size", "--rev", "HEAD", ".")]:
        ours, theirs = both(repo, *args)
        assert ours == theirs, args
