"""scm history plumbing with real git: revisions, trees, blobs, refs; RevTree; dvcfile.loads."""
from __future__ import annotations

import pytest

from dataver import dvcfile
from dataver.errors import DvcFileError, ScmError
from dataver.scm import Git
from tests.conftest import git


@pytest.fixture
def history(git_dir):
    (git_dir / "a.txt").write_text("one\n")
    (git_dir / "sub").mkdir()
    (git_dir / "sub" / "b.txt").write_bytes(b"\x00binary\n")
    git(git_dir, "add", "-A")
    git(git_dir, "commit", "-qm", "first")
    git(git_dir, "tag", "t1")
    (git_dir / "a.txt").write_text("two\n")
    git(git_dir, "commit", "-qam", "second")
    git(git_dir, "branch", "side")
    return Git(str(git_dir))


def test_revisions_trees_and_blobs(history):
    first = history.resolve_rev("t1")
    assert history.resolve_rev("HEAD~1") == first != history.resolve_rev("HEAD")
    entries = {path: (kind, size) for path, kind, _obj, _mode, size in history.ls_tree(first)}
    assert entries == {"a.txt": ("blob", 4), "sub": ("tree", None), "sub/b.txt": ("blob", 8)}
    objs = [obj for _p, _k, obj, _m, _s in history.ls_tree(first) if _k == "blob"]
    blobs = history.read_blobs(objs + objs[:1])
    assert sorted(blobs.values()) == [b"\x00binary\n", b"one\n"]
    assert history.show(first, "a.txt") == b"one\n" and history.show(first, "nope") is None
    assert history.branches() == ["main", "side"] and history.tags() == ["t1"]
    assert len(history.all_commits()) == 2


@pytest.mark.parametrize("rev", ["nosuch", "-x", "HEAD~5"])
def test_unknown_revisions_are_one_line_errors(history, rev):
    with pytest.raises(ScmError) as info:
        history.resolve_rev(rev)
    assert str(info.value).startswith(f"unknown Git revision '{rev}'")


def test_loads_parses_and_validates_text():
    text = "outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  size: 6\n  hash: md5\n  path: f.txt\n"
    parsed = dvcfile.loads(text.encode(), "/r/f.txt.dvc")
    assert parsed.outs[0].md5 == "b1946ac92492d2347c6235b4d2611184" and parsed.outs[0].path == "f.txt"
    with pytest.raises(DvcFileError):
        dvcfile.loads("outs:\n- path: ../../etc\n  md5: zz\n", "/r/x.dvc")
    with pytest.raises(DvcFileError):
        dvcfile.loads(b"\xff\xfe", "/r/y.dvc")


def test_revtree_lists_dvcfiles_at_a_revision(repo_dir):
    from dataver.repo import Repo

    (repo_dir / "f.txt").write_text("v1")
    with Repo() as repo:
        repo.add(["f.txt"])
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "v1")
    (repo_dir / "g.txt").write_text("g")
    with Repo() as repo:
        repo.add(["g.txt", "f.txt"])
        assert [t.out.path for t in repo.at_rev("HEAD").tracked()] == ["f.txt"]
        assert repo.at_rev("HEAD").read_bytes("f.txt.dvc").startswith(b"outs:")
        assert repo.at_rev("HEAD~1").dvcfile_paths() == []


def test_manifest_fast_and_checked_paths_agree():
    """The bulk validation of manifests accepts and refuses exactly what the per-entry checks do."""
    import json

    from dataver.errors import UserError
    from dataver.manifest import Manifest, _checked_entries

    oid = "d41d8cd98f00b204e9800998ecf8427e"
    cases = ["a", "a/b.jpg", "é/ü", "a b/c", "../x", "/x", "a//b", "a/", "", "a/./b", ".", "..",
             "a/..", "C:x", "a\\b", "a\x00b", "x/C:y", ".hidden", "a..b", "...", "a/.b"]
    for rel in cases:
        for items in ([{"md5": oid, "relpath": rel}],
                      [{"md5": oid, "relpath": "ok"}, {"md5": oid, "relpath": rel}]):
            try:
                expected = _checked_entries(items, "m")
            except UserError as exc:
                expected = type(exc)
            try:
                got = Manifest.from_bytes(json.dumps(items).encode(), "m").entries
            except UserError as exc:
                got = type(exc)
            assert got == expected, rel
