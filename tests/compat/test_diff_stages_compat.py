"""`dataver diff` on pipeline outputs (dvc.yaml + dvc.lock) against real `dvc diff`: files and
directories that stages produce, at revisions and against the workspace; `cache: false` outputs
are left out, stages can be named as targets."""
from __future__ import annotations

import json
import os

import pytest

from tests.compat.test_diff_compat import FORMATS, assert_same, write
from tests.conftest import git, run_dvc

V1_SCRIPT = """mkdir -p out/sub
echo a > out/a.txt; echo b > out/sub/b.txt; echo d > out/d.txt
echo one > one.txt; echo nc > nc.txt; echo '{"acc": 1}' > m.json
"""
# v2: a.txt changed, sub/b.txt gone (and its folder), d.txt moved, c.txt new; one.txt the same.
V2_SCRIPT = """mkdir -p out/moved
echo a2 > out/a.txt; echo d > out/moved/d.txt; echo c > out/c.txt
echo one > one.txt; echo nc2 > nc.txt; echo '{"acc": 2}' > m.json
"""


def commit(root, tag):
    git(root, "add", "-A")
    git(root, "commit", "-qm", tag)
    git(root, "tag", tag)


@pytest.fixture
def pipeline_history(git_dir):
    """v1: a root stage with a directory, a file, a `cache: false` file and a metrics output,
    and a stage in sub/; v2: the root stage's outputs changed, sub's stage gone, a new stage."""
    run_dvc("init", "-q")
    git(git_dir, "commit", "-qm", "init")
    write("make.sh", V1_SCRIPT)
    write("sub/s.txt", "s\n")
    run_dvc("stage", "add", "-q", "-n", "prep", "-d", "make.sh", "-o", "out", "-o", "one.txt",
            "-O", "nc.txt", "-m", "m.json", "sh make.sh")
    run_dvc("stage", "add", "-q", "-n", "sp", "-d", "s.txt", "-o", "so.txt", "cp s.txt so.txt",
            cwd="sub")
    run_dvc("repro", "-q", "-P")
    commit(git_dir, "v1")
    write("make.sh", V2_SCRIPT)
    run_dvc("remove", "-q", "sub/dvc.yaml:sp")
    run_dvc("stage", "add", "-q", "-n", "later", "-o", "later.txt", "echo later > later.txt")
    run_dvc("repro", "-q")
    commit(git_dir, "v2")
    return git_dir


def paths(result, state):
    return [e["path"] for e in result.get(state, [])]


def test_diff_of_stage_outputs_between_revisions_matches_dvc(pipeline_history):
    result = assert_same("v1", "v2", formats=FORMATS)
    assert paths(result, "added") == ["later.txt", "out/c.txt"]
    assert paths(result, "deleted") == ["out/sub/b.txt", "sub/so.txt"]
    assert paths(result, "modified") == ["m.json", "out/", "out/a.txt"]  # not nc.txt: cache false
    assert paths(result, "renamed") == [{"old": "out/d.txt", "new": "out/moved/d.txt"}]
    assert_same("v2", "v1")
    assert_same("HEAD~2", "v2")  # from the init commit: every cached output is added
    for targets in (["prep"], ["dvc.yaml:prep"], ["sub/dvc.yaml:sp"], ["dvc.yaml"], ["nc.txt"],
                    ["out/sub"], ["later", "one.txt"]):
        assert_same("v1", "v2", "--targets", *targets)
    assert_same("v1", "v2", "--targets", "sp", cwd="sub")  # a stage of the dvc.yaml here


def test_diff_of_stage_outputs_against_workspace_matches_dvc(pipeline_history):
    assert_same(formats=FORMATS)  # clean: nothing (nc.txt is not data)
    write("out/a.txt", "edited\n")
    write("out/new/n.txt", "n\n")
    os.remove("one.txt")
    write("nc.txt", "changed, but not cached\n")
    # A stage that never ran: its output counts as added.
    run_dvc("stage", "add", "-q", "-n", "fresh", "-o", "fresh", "mkdir fresh")
    write("fresh/f.txt", "f\n")
    result = assert_same(formats=FORMATS)
    assert paths(result, "added") == ["fresh/", "fresh/f.txt", "out/new/n.txt"]
    assert paths(result, "deleted") == ["one.txt"]
    assert paths(result, "modified") == ["out/", "out/a.txt"]
    assert_same("v1")
    for targets in (["prep"], ["fresh"], ["nc.txt"], ["out/new"]):
        assert_same("--targets", *targets)
    # A committed stage output whose object left the cache is "not in cache", as in DVC.
    shown = json.loads(run_dvc("diff", "HEAD~2", "v2", "--json", "--show-hash").stdout)
    oid = [e["hash"] for e in shown["added"] if e["path"] == "m.json"][0]
    os.remove(os.path.join(".dvc", "cache", "files", "md5", oid[:2], oid[2:]))
    result = assert_same(formats=FORMATS)
    assert paths(result, "not in cache") == ["m.json"]
