"""`--rewrite`: every commit of the chosen refs holds `.dvc` files instead of pointers; the content
of every file at every commit, checked out with git then `dataver checkout`, is the original's;
old refs are kept, the map is complete, unsafe states are refused, a second run changes nothing."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from dataver.migrate.errors import MigrateError, MissingObjectsError, RepoStateError
from dataver.migrate.forward import Options, migrate
from dataver.migrate.rewrite import BACKUP, rewrite
from tests.conftest import SRC
from tests.migrate import require_tools
from tests.migrate.repos import (annex_repo, git, lfs_clone, lfs_repo, parse_lfs_pointer,
                                 plain_git_repo, simple_lfs_repo)


@pytest.fixture(autouse=True)
def _tools():
    require_tools("git-lfs", "git-annex")


def dataver(cwd, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC)
    proc = subprocess.run([sys.executable, "-m", "dataver", *args], cwd=cwd, capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, f"dataver {' '.join(args)}: {proc.stderr}"
    return proc


def read_map(path) -> dict[str, str]:
    with open(os.path.join(path, ".dvc", "tmp", "dataver", "migrate-map.txt")) as fobj:
        return dict(line.split() for line in fobj if line.strip())


def refs_of(path, prefix="refs/") -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split(" ", 1) for line in out.splitlines())


def check_every_commit(fx, mapping, labels=None) -> None:
    """At each fixture commit's rewritten twin: no pointer is left where content was converted,
    and after `git checkout` + `dataver checkout` every file holds the original content."""
    for label in labels or fx.commits:
        old = fx.commits[label]
        new = mapping[old]
        assert new != old, label
        expected = fx.files_at(old)
        converted = {p: i for p, i in fx.pointers_at(old).items() if i not in fx.missing}
        left = fx.pointers_at(new)
        assert not set(left) & set(converted), f"{label}: pointers left: {sorted(left)}"
        git(fx.path, "clean", "-fdxq", "-e", "/.dvc/")
        git(fx.path, "checkout", "-qf", new)
        dataver(fx.path, "checkout", "--force")
        for path, content in expected.items():
            if content is None or os.path.basename(path) == ".gitattributes":
                continue  # an object missing on purpose; LFS lines are meant to go
            full = os.path.join(fx.path, path)
            assert os.path.isfile(full) and not os.path.islink(full), f"{label}: {path} absent"
            with open(full, "rb") as fobj:
                assert fobj.read() == content, f"{label}: {path} differs"
        tree = set(git(fx.path, "ls-tree", "-r", "-z", "--name-only", new).split("\0"))
        for path in converted:
            assert path not in tree, f"{label}: {path} still in git"
            assert any(p.endswith(".dvc") and (path + "/").startswith(p[:-4] + "/") for p in tree), \
                f"{label}: no .dvc file covers {path}"


# --- LFS -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("group_by", [None, "dir", "file"])
def test_everything_every_commit_holds_the_original_content(tmp_path, group_by):
    fx = lfs_repo(str(tmp_path / "lfs"))
    before = refs_of(fx.path, "refs/heads/") | refs_of(fx.path, "refs/tags/")
    result = rewrite(Options("lfs", group_by=group_by), everything=True, cwd=fx.path)
    assert result.commits == len(fx.commits) and result.changed == len(fx.commits)
    assert result.objects == len(fx.objects) and result.read == len(fx.objects)
    assert git(fx.path, "status", "--porcelain") == ""
    dataver(fx.path, "status")
    mapping = read_map(fx.path)
    assert set(mapping) == set(fx.commits.values())  # the map is complete
    check_every_commit(fx, mapping)
    # old refs kept under refs/dataver-migrate/original/, each the ref's old value
    assert refs_of(fx.path, BACKUP) == {BACKUP + ref: sha for ref, sha in before.items()}
    for old in fx.commits.values():
        assert git(fx.path, "cat-file", "-t", old).strip() == "commit"


def test_tags_and_merges_are_rewritten(tmp_path):
    fx = lfs_repo(str(tmp_path / "lfs"))
    old_tag = fx.git("rev-parse", "v1").strip()
    rewrite(Options("lfs"), everything=True, cwd=fx.path)
    mapping = read_map(fx.path)
    # annotated: a new tag object with the same message, pointing at the new commit
    assert fx.git("cat-file", "-t", "v1").strip() == "tag"
    assert fx.git("rev-parse", "v1").strip() != old_tag
    assert fx.git("rev-parse", "v1^{commit}").strip() == mapping[fx.commits["c2"]]
    assert "tag v1" in fx.git("cat-file", "-p", "v1")
    assert fx.git("rev-parse", "feat-1^{commit}").strip() == mapping[fx.commits["f2"]]
    # lightweight
    assert fx.git("cat-file", "-t", "v1.1").strip() == "commit"
    assert fx.git("rev-parse", "v1.1").strip() == mapping[fx.commits["c3"]]
    # the merge keeps both (rewritten) parents, authors, dates and messages
    parents = fx.git("rev-parse", mapping[fx.commits["c5"]] + "^@").split()
    assert parents == [mapping[fx.commits["c4"]], mapping[fx.commits["f2"]]]
    fmt = "--format=%an %ae %ad %cn %cd %B"
    assert fx.git("log", "-1", fmt, fx.commits["c5"]) == fx.git("log", "-1", fmt, mapping[fx.commits["c5"]])


def test_attributes_ignores_and_plain_files(tmp_path):
    fx = lfs_repo(str(tmp_path / "lfs"))
    rewrite(Options("lfs", group_by="file"), everything=True, cwd=fx.path)
    m = read_map(fx.path)
    c1, c4, c6 = (m[fx.commits[c]] for c in ("c1", "c4", "c6"))
    tree1 = fx.git("ls-tree", "-r", "--name-only", c1).split()
    # every LFS line was a migrated pattern: both .gitattributes go (root and subfolder)
    assert ".gitattributes" not in tree1 and "assets/.gitattributes" not in tree1
    assert fx.git("show", f"{c1}:data/images/.gitignore") == "/a.bin\n/b.bin\n/c.bin\n"
    assert fx.git("show", f"{c1}:assets/icons/.gitignore") == "/x.png\n"
    # plain files are the same blobs as before
    for path in ("README.md", "data/labels.csv", "docs/manual.pdf"):
        assert fx.git("rev-parse", f"{c1}:{path}") == fx.git("rev-parse", f"{fx.commits['c1']}:{path}")
    # docs/manual.pdf: plain at c1, an output at c4 (LFS there), plain again at c6
    assert "docs/manual.pdf.dvc" in fx.git("ls-tree", "-r", "--name-only", c4).split()
    assert "docs/manual.pdf" not in fx.git("ls-tree", "-r", "--name-only", c4).split()
    tree6 = fx.git("ls-tree", "-r", "--name-only", c6).split()
    assert "docs/manual.pdf" in tree6 and "docs/manual.pdf.dvc" not in tree6
    assert "docs/.gitignore" not in tree6
    assert fx.git("rev-parse", f"{c6}:docs/manual.pdf") == fx.git("rev-parse", f"{fx.commits['c6']}:docs/manual.pdf")
    # the DVC repository's own files are in every rewritten commit
    assert ".dvc/config" in tree1 and ".dvcignore" in tree1


def test_head_is_what_forward_migration_commits(tmp_path):
    """The same set of paths renders to the same tree: rewrite's HEAD == forward's commit."""
    for group_by in (None, "dir", "file"):
        a = lfs_repo(str(tmp_path / f"a-{group_by}"))
        b = lfs_repo(str(tmp_path / f"b-{group_by}"))
        rewrite(Options("lfs", group_by=group_by), cwd=a.path)
        forward = migrate(Options("lfs", group_by=group_by), cwd=b.path)
        assert a.git("rev-parse", "HEAD^{tree}") == b.git("rev-parse", f"{forward.commit}^{{tree}}")


def test_default_is_the_current_branch_only(tmp_path):
    fx = lfs_repo(str(tmp_path / "lfs"))
    before = refs_of(fx.path)
    result = rewrite(Options("lfs"), cwd=fx.path)
    assert result.refs == ["refs/heads/main"]
    after = refs_of(fx.path)
    for ref in ("refs/heads/feature", "refs/tags/v1", "refs/tags/v1.1", "refs/tags/feat-1"):
        assert after[ref] == before[ref]
    assert after["refs/heads/main"] != before["refs/heads/main"]
    assert set(refs_of(fx.path, BACKUP)) == {BACKUP + "refs/heads/main"}
    mapping = read_map(fx.path)
    assert set(mapping) == set(fx.git("rev-list", before["refs/heads/main"]).split())
    check_every_commit(fx, mapping, ["c1", "c3", "c5", "c6"])


def test_named_ref_then_another_reuses_conversions(tmp_path):
    fx = lfs_repo(str(tmp_path / "lfs"))
    first = rewrite(Options("lfs"), ["feature"], cwd=fx.path)
    assert first.refs == ["refs/heads/feature"]
    feature_objects = first.read
    with pytest.raises(MigrateError, match="refs/dataver-migrate/original"):
        rewrite(Options("lfs"), ["main", "feature"], cwd=fx.path)
    second = rewrite(Options("lfs"), ["v1.1"], cwd=fx.path)  # a tag, history shared with feature
    assert second.reused >= 1 and second.read + feature_objects >= second.objects


def test_dirty_tree_and_detached_head_are_refused(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "lfs"))
    before = refs_of(fx.path)
    with open(os.path.join(fx.path, "README.md"), "a") as fobj:
        fobj.write("local change\n")
    with pytest.raises(RepoStateError, match="uncommitted changes"):
        rewrite(Options("lfs"), cwd=fx.path)
    fx.git("checkout", "-q", "README.md")
    fx.git("checkout", "-q", "--detach", "HEAD~1")
    with pytest.raises(RepoStateError, match="detached"):
        rewrite(Options("lfs"), cwd=fx.path)
    assert refs_of(fx.path) == before  # nothing moved, nothing saved
    assert not os.path.exists(os.path.join(fx.path, ".dvc", "tmp", "dataver", "migrate-map.txt"))
    # detached, but the refs named: fine, and the work tree is left alone
    result = rewrite(Options("lfs"), ["main"], cwd=fx.path)
    assert result.changed == 3 and fx.git("status", "--porcelain", "--untracked-files=no") == ""


def test_second_run_is_a_no_op_and_a_moved_ref_is_refused(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "lfs"))
    rewrite(Options("lfs"), cwd=fx.path)
    refs = refs_of(fx.path)
    again = rewrite(Options("lfs"), cwd=fx.path)
    assert again.already and refs_of(fx.path) == refs
    with open(os.path.join(fx.path, "notes.txt"), "w") as fobj:
        fobj.write("more\n")
    fx.git("add", "notes.txt")
    fx.git("commit", "-qm", "after the rewrite")
    with pytest.raises(MigrateError, match="was rewritten before"):
        rewrite(Options("lfs"), cwd=fx.path)


def test_objects_are_read_once_across_the_history(tmp_path):
    fx = lfs_repo(str(tmp_path / "lfs"))
    from dataver.migrate import convert

    reads: dict[str, int] = {}
    original = convert.Converter.convert

    def counting(self, items):
        for obj in items:
            reads[obj.id] = reads.get(obj.id, 0) + 1
        return original(self, items)

    convert.Converter.convert = counting
    try:
        result = rewrite(Options("lfs"), everything=True, cwd=fx.path)
    finally:
        convert.Converter.convert = original
    assert set(reads) == set(fx.objects) and set(reads.values()) == {1}
    assert result.read == len(fx.objects)


def test_verify_accepts_the_rewrite(tmp_path):
    fx = lfs_repo(str(tmp_path / "lfs"))
    rewrite(Options("lfs"), everything=True, cwd=fx.path)
    out = dataver(fx.path, "migrate", "verify")
    assert "no mismatch" in out.stdout


# --- missing objects and the LFS server ----------------------------------------------------------
def test_missing_object_fail_keep_drop(tmp_path, lfs_server):
    fx = lfs_repo(str(tmp_path / "fail"), server=lfs_server, missing=True)
    before = refs_of(fx.path)
    with pytest.raises(MissingObjectsError, match="gone.bin"):
        rewrite(Options("lfs"), everything=True, cwd=fx.path)
    assert refs_of(fx.path) == before

    fx = lfs_repo(str(tmp_path / "keep"), server=lfs_server, missing=True)
    result = rewrite(Options("lfs", on_missing="keep"), everything=True, cwd=fx.path)
    assert result.kept == ["data/images/gone.bin"]
    c2 = read_map(fx.path)[fx.commits["c2"]]
    assert parse_lfs_pointer(fx.git("show", f"{c2}:data/images/gone.bin").encode()) in fx.missing
    # the pattern still applies to a kept pointer: the *.bin line stays in that commit
    assert "*.bin" in fx.git("show", f"{c2}:.gitattributes")

    fx = lfs_repo(str(tmp_path / "drop"), server=lfs_server, missing=True)
    result = rewrite(Options("lfs", on_missing="drop"), everything=True, cwd=fx.path)
    assert result.dropped == ["data/images/gone.bin"]
    mapping = read_map(fx.path)
    c2 = mapping[fx.commits["c2"]]
    tree = fx.git("ls-tree", "-r", "--name-only", c2).split()
    assert not any(p.startswith("data/images/gone.bin") for p in tree)
    check_every_commit(fx, mapping)


def test_objects_missing_locally_are_fetched_from_the_server(tmp_path, lfs_server):
    origin = lfs_repo(str(tmp_path / "origin"), server=lfs_server)
    path = lfs_clone(origin, str(tmp_path / "clone"))
    assert not os.path.isdir(os.path.join(path, ".git", "lfs", "objects"))
    git(path, "checkout", "-q", "-b", "feature", "origin/feature")
    git(path, "checkout", "-q", "main")
    result = rewrite(Options("lfs"), everything=True, cwd=path)
    assert result.objects == len(origin.objects)
    origin.path = path  # the same history, checked in the clone
    check_every_commit(origin, read_map(path))


# --- git-annex and plain git -----------------------------------------------------------------------
def test_annex_every_commit(tmp_path):
    fx = annex_repo(str(tmp_path / "annex"))
    before = refs_of(fx.path, "refs/heads/git-annex")
    result = rewrite(Options("annex"), everything=True, cwd=fx.path)
    assert "refs/heads/git-annex" not in result.refs
    assert refs_of(fx.path, "refs/heads/git-annex") == before  # annex's own branch untouched
    check_every_commit(fx, read_map(fx.path))


def test_annex_objects_dropped_here_are_got_from_a_special_remote(tmp_path):
    """Content dropped locally (one only an old commit uses, one at HEAD) but kept in a
    directory special remote is fetched with `git annex get` during the rewrite."""
    fx = annex_repo(str(tmp_path / "annex"))
    store = str(tmp_path / "store")
    os.makedirs(store)
    fx.git("annex", "initremote", "-q", "store", "type=directory", f"directory={store}",
           "encryption=none")
    fx.git("annex", "copy", "-q", "--all", "--to", "store")
    old_only = fx.pointers_at(fx.commits["c1"])["data/locked/b.bin"]  # modified in c2
    at_head = fx.pointers_at("HEAD")["data/locked/a.bin"]
    assert old_only not in fx.pointers_at("HEAD").values()
    for key in (old_only, at_head):
        fx.git("annex", "drop", "-q", "--key", key)  # the store has a copy: no --force needed
        assert _annex_has(fx.path, key) is False
    result = rewrite(Options("annex"), everything=True, cwd=fx.path)
    assert not result.kept and not result.dropped
    assert _annex_has(fx.path, old_only) and _annex_has(fx.path, at_head)
    check_every_commit(fx, read_map(fx.path))


def _annex_has(path: str, key: str) -> bool:
    proc = subprocess.run(["git", "annex", "contentlocation", key], cwd=path, capture_output=True)
    return proc.returncode == 0


def test_plain_git_every_commit(tmp_path):
    fx = plain_git_repo(str(tmp_path / "git"))
    result = rewrite(Options("git", above=fx.notes["above"]), everything=True, cwd=fx.path)
    assert result.objects == len(fx.objects)
    mapping = read_map(fx.path)
    check_every_commit(fx, mapping)
    small = mapping[fx.commits["c1"]]
    assert fx.git("show", f"{small}:images/small.txt") == "small\n"  # below --above: stays in git


# --- failures: nothing the user had is lost ---------------------------------------------------------
KILL_AT_THIRD_COMMIT = """
import os, signal, sys
from dataver.migrate import stream
from dataver.migrate.forward import Options
from dataver.migrate.rewrite import rewrite
real, seen = stream._copy_commit, []
def dying(*args):
    seen.append(1)
    if len(seen) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args)
stream._copy_commit = dying
rewrite(Options("lfs"), everything=True, cwd=sys.argv[1])
"""


def test_killed_mid_stream_changes_no_ref_and_runs_again(tmp_path):
    fx = lfs_repo(str(tmp_path / "lfs"))
    before = refs_of(fx.path, "refs/heads/") | refs_of(fx.path, "refs/tags/")
    proc = subprocess.run([sys.executable, "-c", KILL_AT_THIRD_COMMIT, fx.path],
                          env=dict(os.environ, PYTHONPATH=SRC), capture_output=True)
    assert proc.returncode == -9, proc.stderr
    assert refs_of(fx.path, "refs/heads/") | refs_of(fx.path, "refs/tags/") == before
    assert fx.git("status", "--porcelain", "--untracked-files=no") == ""
    # what the killed run converted is not needed again, not even its LFS copy
    shutil.rmtree(os.path.join(fx.path, ".git", "lfs", "objects"))
    result = rewrite(Options("lfs"), everything=True, cwd=fx.path)  # saved refs of the killed run
    assert result.changed == len(fx.commits) and result.reused == len(fx.objects)  # no reads
    assert refs_of(fx.path, BACKUP) == {BACKUP + ref: sha for ref, sha in before.items()}
    check_every_commit(fx, read_map(fx.path), ["c1", "c6"])


def test_error_mid_stream_changes_no_ref(tmp_path, monkeypatch):
    fx = lfs_repo(str(tmp_path / "lfs"))
    before = refs_of(fx.path)
    from dataver.migrate import render

    calls = []
    real = render.TreeRenderer.overlay

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == len(fx.commits) - 1:
            raise MigrateError("injected")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(render.TreeRenderer, "overlay", failing)
    with pytest.raises(MigrateError, match="injected"):
        rewrite(Options("lfs"), everything=True, cwd=fx.path)
    assert refs_of(fx.path) == before  # no saved refs left behind either


def test_malformed_pointer_in_an_old_commit_stops_before_any_change(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "lfs"))
    bad = b"version https://git-lfs.github.com/spec/v1\noid sha256:nothex\nsize 3\n"
    blob = fx.git("hash-object", "-w", "--stdin", input=bad).strip()
    fx.git("update-index", "--add", "--cacheinfo", f"100644,{blob},data/bad.bin")
    fx.git("commit", "-qm", "bad pointer")
    fx.git("rm", "-q", "--cached", "data/bad.bin")
    fx.git("commit", "-qm", "bad pointer gone")
    before = refs_of(fx.path)
    with pytest.raises(MigrateError, match="data/bad.bin.*not a valid LFS pointer"):
        rewrite(Options("lfs"), cwd=fx.path)
    assert refs_of(fx.path) == before
    result = rewrite(Options("lfs", exclude=("data/bad.bin",)), cwd=fx.path)
    assert result.changed == 5


def test_push_sends_every_commit_s_objects(tmp_path):
    fx = lfs_repo(str(tmp_path / "lfs"))
    remote = str(tmp_path / "dvc-remote")
    dataver(fx.path, "init")
    dataver(fx.path, "remote", "add", "-d", "store", remote)
    result = rewrite(Options("lfs", push=True), everything=True, cwd=fx.path)
    assert result.pushed == len(fx.objects)
    stored = {name for _d, _s, names in os.walk(remote) for name in names}
    from dataver.hashing import md5_bytes

    assert {md5_bytes(data)[2:] for data in fx.objects.values()} <= stored


def test_unusual_names_survive_the_stream(tmp_path):
    from tests.migrate.repos import _Builder, _lfs_init

    b = _Builder(str(tmp_path / "lfs"), "lfs")
    _lfs_init(b)
    b.write(".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n")
    names = ["data/with space.bin", 'data/quote"d.bin', "data/ümlaut ☃.bin",
             "data/star*[x].bin", "#hash.bin"]
    for i, name in enumerate(names):
        b.blob(name, f"odd-{i}", 100 + i)
    b.git("add", "-A")
    b.commit("c1")
    b.blob("data/with space.bin", "odd-changed", 120)
    b.git("add", "-A")
    b.commit("c2")
    fx = b.fx
    rewrite(Options("lfs", group_by="file"), cwd=fx.path)
    mapping = read_map(fx.path)
    check_every_commit(fx, mapping)
    assert "/star\\*\\[x\\].bin" in fx.git("show", f"{mapping[fx.commits['c1']]}:data/.gitignore")
