"""`data status --json` of dataver equals DVC 3.x's on the same repository, in every option
combination, across the states a repository goes through (clean, edited, committed to the .dvc
files but not to git, objects missing from the cache or remote, renames, no commit yet).

DVC prints its lists in an order of its own (set and trie iteration); lists are compared sorted."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.compat.conftest import dataver, dvc, make_tree
from tests.conftest import git

pytestmark = pytest.mark.compat

OPTION_SETS = [(), ("--unchanged",), ("--granular", "--unchanged", "--untracked-files=all")]


def _sorted(value):
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_sorted(v) for v in value), key=json.dumps)
    return value


def both(root, *args) -> tuple[dict, dict]:
    ours = json.loads(dataver("data", "status", "--json", *args, cwd=root).stdout)
    theirs = json.loads(dvc("data", "status", "--json", *args, cwd=root).stdout)
    return _sorted(ours), _sorted(theirs)


def check(root, option_sets=OPTION_SETS, targets=()) -> None:
    for opts in option_sets:
        ours, theirs = both(root, *targets, *opts)
        assert ours == theirs, f"options {opts} {targets}: dataver {ours} vs dvc {theirs}"
        assert list(ours) == list(theirs), f"key order of {opts}"


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    make_tree(root, {"data/a": "a\n", "data/sub/b": "b\n", "data/c": "c\n",
                     "f.txt": "x\n", "g.txt": "y\n"})
    dvc("add", "-q", "data", "f.txt", "g.txt", cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return root


def test_clean_repo(repo):
    check(repo)


def test_workspace_changes(repo):
    (repo / "data" / "a").write_text("a2\n")
    (repo / "data" / "new").write_text("new\n")
    os.remove(repo / "data" / "sub" / "b")
    os.rename(repo / "data" / "c", repo / "data" / "c-renamed")
    (repo / "f.txt").write_text("z\n")
    os.remove(repo / "g.txt")
    (repo / "untracked.txt").write_text("u\n")
    check(repo)
    check(repo, option_sets=[("--granular",)], targets=("data",))


def test_committed_changes_and_new_output(repo):
    (repo / "data" / "a").write_text("a3\n")
    (repo / "h.txt").write_text("h\n")
    dvc("add", "-q", "data", "h.txt", cwd=repo)
    dvc("move", "g.txt", "g2.txt", cwd=repo)
    check(repo)


def test_not_in_cache(repo):
    shutil.rmtree(repo / ".dvc" / "cache")
    check(repo)
    (repo / "f.txt").write_text("changed\n")
    check(repo, option_sets=[(), ("--granular", "--unchanged")])


def test_not_in_remote(repo, tmp_path):
    remote = tmp_path / "remote"
    dvc("remote", "add", "-d", "store", str(remote), cwd=repo)
    check(repo, option_sets=[("--not-in-remote",), ("--not-in-remote", "--granular")])
    dvc("push", "-q", "f.txt", cwd=repo)
    check(repo, option_sets=[("--not-in-remote",), ("--not-in-remote", "--granular")])
    dvc("push", "-q", cwd=repo)
    check(repo, option_sets=[("--not-in-remote",), ("--not-in-remote", "--granular")])


def test_no_commit_yet(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    make_tree(root, {"data/a": "a\n", "f.txt": "x\n"})
    dvc("add", "-q", "data", "f.txt", cwd=root)
    check(root)
    assert dataver("data", "status", cwd=root).stdout.startswith("DVC committed changes:")


def test_text_output_matches(repo):
    assert dataver("data", "status", cwd=repo).stdout == "No changes.\n"
    assert dvc("data", "status", cwd=repo).stdout == "No changes.\n"
    (repo / "f.txt").write_text("z\n")
    ours = dataver("data", "status", cwd=repo).stdout
    theirs = dvc("data", "status", cwd=repo).stdout
    assert ours.replace("dataver ", "dvc ") == theirs
