"""Paths in command output are relative to the working directory, as DVC prints them: commands
run from a subdirectory by dataver and by real DVC on copies of one repository (each with its
own copy of the remote)."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.compat.conftest import dataver, dvc, dvc_repo, make_tree, twin_copies
from tests.conftest import git

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """``base`` holding ``repo`` (data in sub/ and other/, some of it changed since added) and
    ``remote`` (the first push of it)."""
    base = tmp_path_factory.mktemp("subdirpaths")
    root = dvc_repo(base / "repo")
    dvc("remote", "add", "-d", "r", "../remote", cwd=root)
    make_tree(root, {"sub/imgs/a": "1\n", "sub/imgs/b": "2\n", "sub/f.txt": "f\n",
                     "other/o.txt": "o\n"})
    dvc("add", "-q", "sub/imgs", "sub/f.txt", "other/o.txt", cwd=root)
    dvc("push", "-q", "sub/imgs", cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return base


@pytest.fixture
def pair(made, tmp_path):
    return twin_copies(made, tmp_path, "repo")


def _lines(text: str) -> list[str]:
    return sorted(text.splitlines())  # DVC's order of `status -c` entries is a set's


@pytest.mark.parametrize("args", [[], ["--json"], ["imgs"], ["../other/o.txt.dvc"]],
                         ids=["text", "json", "target", "target-outside"])
def test_cloud_status_from_a_subdirectory_as_dvc(pair, args):
    ours, theirs = pair
    mine = dataver("status", "-c", *args, cwd=ours / "sub").stdout
    real = dvc("status", "-c", *args, cwd=theirs / "sub").stdout
    if args == ["--json"]:
        assert json.loads(mine) == json.loads(real)
        assert "f.txt" in json.loads(mine) and "../other/o.txt" in json.loads(mine)
    else:
        assert _lines(mine) == _lines(real)


def test_status_from_a_subdirectory_as_dvc(pair):
    for root in pair:
        (root / "sub" / "f.txt").write_text("F\n")
        (root / "other" / "o.txt").unlink()
    ours, theirs = pair
    mine = dataver("status", "--json", cwd=ours / "sub").stdout
    real = dvc("status", "--json", cwd=theirs / "sub").stdout
    assert json.loads(mine) == json.loads(real)
    assert "../other/o.txt.dvc" in json.loads(mine)


def test_missing_object_named_from_the_working_directory(pair):
    ours, theirs = pair
    for root in pair:
        shutil.rmtree(root / ".dvc" / "cache")
        (root / "sub" / "f.txt").unlink()
    real = dvc("pull", cwd=theirs / "sub", ok=False)
    mine = dataver("pull", cwd=ours / "sub", ok=False)
    assert real.returncode != 0 and mine.returncode != 0
    assert "\nf.txt\n" in real.stderr  # DVC's list of what failed
    assert "'f.txt'" in mine.stderr and "sub/f.txt" not in mine.stderr
    assert "Traceback" not in mine.stderr


def test_pull_summary_line_as_dvc(pair):
    """One line, DVC's order and words: fetched, modified, added, deleted (files)."""
    for root in pair:
        dvc("push", "-q", cwd=root)
        shutil.rmtree(root / ".dvc" / "cache")
        (root / "sub" / "f.txt").unlink()
        (root / "sub" / "imgs" / "a").write_text("changed\n")
        (root / "sub" / "imgs" / "extra").write_text("x\n")
    ours, theirs = pair
    mine = dataver("pull", "-f", cwd=ours / "sub").stdout.splitlines()
    real = dvc("pull", "-f", cwd=theirs / "sub").stdout.splitlines()
    assert mine[-1] == real[-1] == "5 files fetched, 1 file modified, 1 file added and 1 file deleted"
    assert dataver("pull", cwd=ours / "sub").stdout == dvc("pull", cwd=theirs / "sub").stdout


def _git_add_line(text: str) -> set[str]:
    line = next(line for line in text.splitlines() if line.strip().startswith("git add"))
    return set(line.split()[2:])  # DVC names the files in a set's order


def test_add_hint_names_what_changed_as_dvc(pair):
    """From a subdirectory: a re-added output's .gitignore is not named (unchanged), a new
    output's is; paths relative to the working directory."""
    for root in pair:
        (root / "sub" / "f.txt").write_text("F\n")
        (root / "sub" / "new.txt").write_text("n\n")
    ours, theirs = pair
    for args, expected in ((["f.txt"], {"f.txt.dvc"}), (["new.txt"], {"new.txt.dvc", ".gitignore"}),
                           (["../other/o.txt"], {"../other/o.txt.dvc"})):
        mine = _git_add_line(dataver("add", *args, cwd=ours / "sub").stdout)
        real = _git_add_line(dvc("add", *args, cwd=theirs / "sub").stdout)
        assert mine == real == expected
