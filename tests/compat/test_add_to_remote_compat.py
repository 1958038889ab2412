"""`add --to-remote`: the data goes from its source straight to the remote, as with DVC 3.67.1
(same `.dvc` file, same remote objects, nothing in the cache or the workspace), and each tool
pulls what the other sent."""
from __future__ import annotations

import hashlib
import os

import pytest

from tests.compat.conftest import dataver, dvc, dvc_repo, make_tree
from tests.conftest import tree

pytestmark = pytest.mark.compat


def _remote_files(remote) -> set[str]:
    # DVC 3.67.1 leaves `.tmp` files of its uploads on a local remote: not objects
    return {os.path.relpath(os.path.join(d, f), remote) for d, _, fs in os.walk(remote) for f in fs
            if not f.endswith(".tmp")}


@pytest.fixture
def twins(tmp_path):
    """(source folder, {tool name: (repo, remote)}) with one empty repository per tool."""
    src = tmp_path / "src"
    make_tree(src, {"imgs/a.jpg": "a" * 50, "imgs/sub/b.jpg": "b" * 70, "model.pt": "weights\n"})
    repos = {}
    for name, tool in (("dataver", dataver), ("dvc", dvc)):
        root = dvc_repo(tmp_path / name)
        remote = tmp_path / f"{name}-remote"
        dvc("remote", "add", "-d", "r", str(remote), cwd=root)
        repos[name] = (root, remote, tool)
    return src, repos


@pytest.mark.parametrize("source,args,out", [("imgs", ["-o", "data"], "data"),
                                             ("model.pt", [], "model.pt")], ids=["dir", "file"])
def test_same_dvc_file_and_remote_objects_and_no_local_copy(twins, source, args, out):
    src, repos = twins
    for root, _remote, tool in repos.values():
        tool("add", "--to-remote", str(src / source), *args, cwd=root)
    (ours, our_remote, _), (theirs, their_remote, _) = repos["dataver"], repos["dvc"]
    assert (ours / f"{out}.dvc").read_bytes() == (theirs / f"{out}.dvc").read_bytes()
    assert _remote_files(our_remote) == _remote_files(their_remote) != set()
    for root in (ours, theirs):
        assert not (root / out).exists()
        assert not (root / ".dvc" / "cache" / "files").exists()
    # unlike DVC, the output gets its .gitignore line as every output does
    assert (ours / ".gitignore").read_text() == f"/{out}\n"


def test_each_tool_pulls_what_the_other_sent(twins):
    src, repos = twins
    (ours, _, _), (theirs, _, _) = repos["dataver"], repos["dvc"]
    dataver("add", "--to-remote", str(src / "imgs"), "-o", "data", cwd=ours)
    dvc("add", "--to-remote", str(src / "imgs"), "-o", "data", cwd=theirs)
    dvc("pull", cwd=ours)
    dataver("pull", cwd=theirs)
    assert tree(ours / "data") == tree(theirs / "data") == tree(src / "imgs")
    assert dataver("status", cwd=ours).stdout == "Data and pipelines are up to date.\n"


def test_a_file_in_the_repository_stays_and_a_named_remote_is_used(twins, tmp_path):
    src, repos = twins
    ours, default_remote, _ = repos["dataver"]
    other = tmp_path / "other-remote"
    dvc("remote", "add", "o", str(other), cwd=ours)
    make_tree(ours, {"big.bin": "x" * 1000})
    dataver("add", "--to-remote", "-r", "o", "--remote-jobs", "2", "big.bin", cwd=ours)
    assert (ours / "big.bin").read_text() == "x" * 1000  # the user's file is left alone
    assert "path: big.bin\n" in (ours / "big.bin.dvc").read_text()
    oid = hashlib.md5(b"x" * 1000).hexdigest()
    assert _remote_files(other) == {f"files/md5/{oid[:2]}/{oid[2:]}"}
    assert not default_remote.exists()


@pytest.mark.parametrize("args,message", [
    (["--to-remote", "a", "b"], "multiple targets can't be used with --to-remote"),
    (["-r", "r", "a"], "--remote can't be used without --to-remote"),
    (["--remote-jobs", "2", "a"], "--remote-jobs can't be used without --to-remote"),
    (["--to-remote", "--no-commit", "a"], "--no-commit option can't be used with --to-remote"),
], ids=["two-targets", "remote-alone", "jobs-alone", "no-commit"])
def test_misused_options_are_refused_in_dvcs_words(twins, args, message):
    _src, repos = twins
    for root, _remote, tool in repos.values():
        make_tree(root, {"a": "1\n", "b": "2\n"})
        proc = tool("add", *args, cwd=root, ok=False)
        assert proc.returncode != 0 and message in proc.stderr, proc.stderr
        assert not (root / "a.dvc").exists()


def test_a_missing_source_is_one_line_and_writes_nothing(twins):
    _src, repos = twins
    ours, remote, _ = repos["dataver"]
    proc = dataver("add", "--to-remote", str(ours / "nope"), "-o", "x", cwd=ours, ok=False)
    assert proc.returncode == 1 and "nope" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (ours / "x.dvc").exists() and not remote.exists()
