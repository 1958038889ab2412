"""Empty folders inside a tracked directory after `checkout`, against real `dvc checkout` on copies
of one repository: folders a version no longer has go, and so does any other empty folder in the
output, deepest first, unless .dvcignore'd or holding ignored files."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, make_tree
from tests.conftest import git

V1 = {"data/a/x": "x", "data/b/y": "y", "data/b/c/d/z": "z", "data/e/f/g": "g", "other/o": "o"}


@pytest.fixture
def versions(git_dir):
    """Tag v1 with data/{a,b,e}, v2 without data/b and with data/e/f/g moved to data/e/g; made by
    dvc, checked out at v1."""
    dvc("init", "-q", cwd=git_dir)
    make_tree(git_dir, V1)
    dvc("add", "-q", "data", "other", cwd=git_dir)
    git(git_dir, "add", "-A")
    git(git_dir, "commit", "-qm", "v1")
    git(git_dir, "tag", "v1")
    shutil.rmtree(git_dir / "data" / "b")
    os.rename(git_dir / "data" / "e" / "f" / "g", git_dir / "data" / "e" / "g")
    dvc("add", "-q", "data", cwd=git_dir)
    git(git_dir, "add", "-A")
    git(git_dir, "commit", "-qm", "v2")
    git(git_dir, "tag", "v2")
    git(git_dir, "checkout", "-q", "v1")
    dvc("checkout", "-q", cwd=git_dir)
    return git_dir


def both(root, prepare, *args):
    """Copy ``root`` twice, ``prepare`` each copy, run checkout ARGS with each tool; the copies
    must end up identical."""
    copies = {}
    for name, tool in (("ours", dataver), ("dvc", dvc)):
        path = root.parent / name
        shutil.copytree(root, path, symlinks=True)
        prepare(path)
        tool("checkout", *args, cwd=path)
        copies[name] = path
    assert_same(copies["ours"], copies["dvc"])
    return copies["ours"]


def folders(root, under="data"):
    return sorted(os.path.relpath(d, root) for d, _s, _f in os.walk(os.path.join(root, under)))


def user_folders(path):
    """Empty folders a user made, an ignored folder, and a folder holding only an ignored file."""
    make_tree(path, {"data/userempty/deeper": None, "data/a/emptyin": None, "data/keep/inner": None,
                     "data/ig/sub/f.tmp": "ignored", ".dvcignore": "data/keep\n*.tmp\n"})


def test_switching_version_removes_folders_it_no_longer_has(versions):
    def prepare(path):
        git(path, "checkout", "-q", "v2")
        os.remove(path / "data" / "b" / "y")  # a file the user deleted already: its folder stays
        user_folders(path)

    ours = both(versions, prepare)
    assert folders(ours) == ["data", "data/a", "data/e", "data/ig", "data/ig/sub", "data/keep",
                             "data/keep/inner"]


def test_checkout_of_unchanged_data_removes_empty_folders(versions):
    def prepare(path):
        make_tree(path, {"data/b/c/new-empty": None, "data/e/f/g2": None, "other/x/y": None})
        user_folders(path)

    ours = both(versions, prepare)
    assert "data/b/c/new-empty" not in folders(ours) and "data/b/c/d" in folders(ours)
    assert folders(ours, "other") == ["other"]


def test_checkout_of_a_folder_inside_the_output_prunes_only_there(versions):
    def prepare(path):
        git(path, "checkout", "-q", "v2")
        make_tree(path, {"data/a/e1/e2": None, "data/zz/e": None})

    ours = both(versions, prepare, "data/a")
    assert "data/zz/e" in folders(ours) and "data/a/e1" not in folders(ours)
    assert "data/b/c/d" in folders(ours)  # outside the target: untouched
