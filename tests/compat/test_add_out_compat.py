"""`add -o OUT` and `-f/--force` as DVC 3.67.1 has them: the copy goes to OUT, or into OUT when
it is a folder; a path that exists is refused unless --force, which replaces it (a folder whole,
not merged); a stage's output is refused even with --force. Each case runs both tools on twin
repositories and compares the outcome and every file."""
from __future__ import annotations

import os

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, make_tree

pytestmark = pytest.mark.compat

FILES = {"src/f.txt": "new\n", "src/sub/g.txt": "g\n", "dst": "keep me\n",
         "into/placeholder": "p\n", "dst3/src/old.txt": "old\n"}


def _both(pair, *args) -> tuple[int, int]:
    """Run ``add *args`` with each tool in its twin; (dataver's return code, DVC's)."""
    ours, theirs = pair
    return (dataver("add", *args, cwd=ours, ok=False).returncode,
            dvc("add", *args, cwd=theirs, ok=False).returncode)


@pytest.fixture
def twins(pair):
    for root in pair:
        make_tree(root, FILES)
    return pair


@pytest.mark.parametrize("args,succeeds", [
    (["src/f.txt", "-o", "dst"], False),  # an existing file is kept...
    (["src/f.txt", "-o", "dst", "-f"], True),  # ...unless --force
    (["src/f.txt", "-o", "into"], True),  # into an existing folder
    (["src", "-o", "dst3"], False),  # dst3/src exists
    (["src", "-o", "dst3", "--force"], True),  # replaced whole: old.txt goes
    (["src", "-o", "fresh"], True),
    (["src/f.txt", "-o", "no/such/dir/x"], False),  # no folder to put it in
], ids=["exists", "force", "into-folder", "folder-exists", "folder-force", "new", "no-parent"])
def test_add_out_as_dvc(twins, args, succeeds):
    ours, theirs = twins
    codes = _both(twins, *args)
    assert (codes[0] == 0, codes[1] == 0) == (succeeds, succeeds), codes
    assert_same(ours, theirs, extra_in_right=lambda rel: rel.endswith(".tmp"))  # DVC leaves its transfer temps


def test_force_puts_a_folder_in_place_of_a_file(twins):
    """DVC 3.67.1 fails here with an "unexpected error" (File exists); dataver does what
    --force asks, and the result is a normal tracked folder."""
    ours, _theirs = twins
    dataver("add", "src", "-o", "dst", "-f", cwd=ours)
    assert sorted(os.listdir(ours / "dst")) == ["f.txt", "sub"] and (ours / "dst.dvc").exists()
    assert dataver("status", cwd=ours).stdout == "Data and pipelines are up to date.\n"


def test_to_remote_out_that_exists_needs_force(twins, tmp_path):
    ours, theirs = twins
    for root in twins:
        dvc("remote", "add", "-d", "r", str(tmp_path / f"remote-{root.name}"), cwd=root)
    assert _both(twins, "--to-remote", "src/f.txt", "-o", "dst") == (1, 1)
    assert not (ours / "dst.dvc").exists()
    assert _both(twins, "--to-remote", "src/f.txt", "-o", "dst", "-f") == (0, 0)
    assert (ours / "dst.dvc").read_bytes() == (theirs / "dst.dvc").read_bytes()
    assert (ours / "dst").read_text() == "keep me\n"  # the file itself is not written


def test_force_does_not_overwrite_a_stage_output(twins):
    ours, theirs = twins
    for root, tool in ((ours, dataver), (theirs, dvc)):
        tool("stage", "add", "-q", "-n", "make", "-o", "out.txt", "echo made > out.txt", cwd=root)
        tool("repro", "-q", cwd=root)
    codes = _both(twins, "src/f.txt", "-o", "out.txt", "-f")
    assert codes[0] != 0 and codes[1] != 0
    assert (ours / "out.txt").read_text() == "made\n"
    message = dataver("add", "src/f.txt", "-o", "out.txt", "-f", cwd=ours, ok=False).stderr
    assert "out.txt" in message and "stage 'make'" in message and "Traceback" not in message
