"""Forward-only migration of each source kind, ending with real `dvc status` clean and `dvc
checkout` restoring a deleted file; fetching from a real LFS server; --on-missing; --push; and
every bad input of the issue, each a one-line error that changes nothing."""
from __future__ import annotations

import os
import subprocess

import pytest

from dataver.hashing import md5_bytes
from tests.conftest import run_cli, run_dvc
from tests.migrate import require_tools
from tests.migrate.repos import (annex_repo, git, lfs_clone, lfs_object_path, lfs_pointer,
                                 lfs_repo, plain_git_repo, simple_lfs_repo)

UP_TO_DATE = "Data and pipelines are up to date."


@pytest.fixture(autouse=True)
def _tools():
    require_tools("git-lfs", "git-annex")


def migrate(path, *args, ok=True) -> subprocess.CompletedProcess:
    proc = run_cli("migrate", *args, cwd=path)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def refs(path) -> dict[str, str]:
    out = git(path, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines())


def snapshot(path) -> tuple:
    """What a refused migration must leave as it was: refs, index, status, work-tree files."""
    files = {}
    for dirpath, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            full = os.path.join(dirpath, name)
            files[os.path.relpath(full, path)] = os.readlink(full) if os.path.islink(full) else \
                open(full, "rb").read()
    return refs(path), git(path, "ls-files", "-s"), git(path, "status", "--porcelain"), files


def assert_one_line_error(proc, *words):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def assert_dvc_usable(path, deleted: str, content: bytes):
    """dataver and real DVC call the result clean; `dvc checkout` restores a deleted file."""
    assert run_cli("status", cwd=path).stdout.strip() == UP_TO_DATE
    assert run_dvc("status", cwd=path).stdout.strip() == UP_TO_DATE
    os.remove(os.path.join(path, deleted))
    run_dvc("checkout", cwd=path)
    with open(os.path.join(path, deleted), "rb") as fobj:
        assert fobj.read() == content
    assert run_dvc("status", cwd=path).stdout.strip() == UP_TO_DATE
    assert git(path, "status", "--porcelain") == ""


def assert_converted(fx, paths: dict[str, str]):
    """Every converted path holds the real content of its source object in the work tree."""
    for path, ident in paths.items():
        full = os.path.join(fx.path, path)
        assert not os.path.islink(full), path
        with open(full, "rb") as fobj:
            assert fobj.read() == fx.objects[ident], path


# --- each source kind ----------------------------------------------------------------------------
def test_forward_lfs(tmp_path):
    fx = lfs_repo(str(tmp_path / "r"))
    before = refs(fx.path)
    pointers = fx.pointers_at("HEAD")
    proc = migrate(fx.path, "lfs")
    assert "Initialized the DVC repository" in proc.stdout
    # one new commit on main, on top of the old one; every other ref untouched
    assert git(fx.path, "rev-parse", "HEAD^") == fx.commits["c6"] + "\n"
    after = refs(fx.path)
    assert {k: v for k, v in after.items() if k != "refs/heads/main"} == \
        {k: v for k, v in before.items() if k != "refs/heads/main"}
    tracked = set(git(fx.path, "ls-files").split())
    assert not set(pointers) & tracked
    assert {p + ".dvc" for p in pointers} <= tracked  # 5 .bin in data/images: per file by default
    assert {".dvc/config", ".dvc/.gitignore", ".dvcignore"} <= tracked
    # both .gitattributes held only LFS lines of migrated files
    assert ".gitattributes" not in tracked and "assets/.gitattributes" not in tracked
    assert "docs/manual.pdf" in tracked and "data/labels.csv" in tracked  # plain files stay
    assert_converted(fx, pointers)
    assert_dvc_usable(fx.path, "data/images/b.bin", fx.objects[pointers["data/images/b.bin"]])
    assert run_cli("migrate", "verify", cwd=fx.path).returncode == 0


def test_forward_lfs_group_by_dir(tmp_path):
    fx = lfs_repo(str(tmp_path / "r"))
    pointers = fx.pointers_at("HEAD")
    migrate(fx.path, "lfs", "--group-by", "dir")
    tracked = set(git(fx.path, "ls-files").split())
    # data/ holds a plain labels.csv, so data/images is the highest folder of converted files;
    # assets/ loses its .gitattributes, so it becomes one output
    assert {"data/images.dvc", "assets.dvc", "models.dvc"} <= tracked
    assert "data/.gitignore" in tracked and "/images" in open(os.path.join(fx.path, "data/.gitignore")).read()
    text = open(os.path.join(fx.path, "data/images.dvc")).read()
    assert "nfiles: 5\n" in text and ".dir\n" in text and "path: images\n" in text
    assert_converted(fx, pointers)
    assert_dvc_usable(fx.path, "assets/icons/x.png", fx.objects[pointers["assets/icons/x.png"]])


def test_forward_lfs_group_by_file_and_include(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    migrate(fx.path, "lfs", "--group-by", "file", "--include", "data/*.bin", "-m", "to dvc")
    tracked = set(git(fx.path, "ls-files").split())
    assert {"data/a.bin.dvc", "data/b.bin.dvc", "data/c.bin.dvc"} <= tracked
    assert "model.bin" in tracked  # not included: still an LFS pointer
    assert open(os.path.join(fx.path, ".gitattributes")).read().startswith("*.bin filter=lfs")
    assert git(fx.path, "log", "-1", "--format=%s") == "to dvc\n"
    assert run_dvc("status", cwd=fx.path).stdout.strip() == UP_TO_DATE


def test_forward_annex(tmp_path):
    fx = annex_repo(str(tmp_path / "a"))
    annex_branch = git(fx.path, "rev-parse", "git-annex")
    keys = fx.pointers_at("HEAD")
    proc = migrate(fx.path, "annex")
    assert "Committed" in proc.stdout
    # locked symlinks and unlocked pointer files are now real files from the cache
    assert_converted(fx, keys)
    tracked = set(git(fx.path, "ls-files").split())
    assert not set(keys) & tracked and {p + ".dvc" for p in keys} <= tracked
    assert git(fx.path, "rev-parse", "git-annex") == annex_branch  # annex's own branch left alone
    assert_dvc_usable(fx.path, "data/locked/a.bin", fx.objects[keys["data/locked/a.bin"]])
    assert run_cli("migrate", "verify", cwd=fx.path).returncode == 0


def test_forward_plain_git(tmp_path):
    fx = plain_git_repo(str(tmp_path / "g"))
    big = fx.pointers_at("HEAD")
    migrate(fx.path, "git", "--above", str(fx.notes["above"]))
    tracked = set(git(fx.path, "ls-files").split())
    assert "images/small.txt" in tracked and not set(big) & tracked
    assert_converted(fx, big)
    assert_dvc_usable(fx.path, "images/b.jpg", fx.objects[big["images/b.jpg"]])


def test_nothing_to_migrate(tmp_path):
    fx = plain_git_repo(str(tmp_path / "g"))
    head = git(fx.path, "rev-parse", "HEAD")
    proc = migrate(fx.path, "lfs")
    assert "Nothing to migrate" in proc.stdout and git(fx.path, "rev-parse", "HEAD") == head


# --- fetching, --on-missing, --push ---------------------------------------------------------------
def test_fetches_missing_objects_with_git_lfs(tmp_path, lfs_server):
    fx = lfs_repo(str(tmp_path / "r"), server=lfs_server)
    clone = lfs_clone(fx, str(tmp_path / "clone"))
    pointers = fx.pointers_at("HEAD")
    assert not any(os.path.exists(lfs_object_path(clone, oid)) for oid in pointers.values())
    info = migrate(clone, "lfs", "--info").stdout
    assert "missing here" in info
    migrate(clone, "lfs")
    for path, oid in pointers.items():
        with open(os.path.join(clone, path), "rb") as fobj:
            assert fobj.read() == fx.objects[oid]
    assert run_dvc("status", cwd=clone).stdout.strip() == UP_TO_DATE


def _missing_setup(tmp_path, lfs_server):
    """A clone on a branch at c2, where data/images/gone.bin is missing here and on the server."""
    fx = lfs_repo(str(tmp_path / "r"), server=lfs_server, missing=True)
    clone = lfs_clone(fx, str(tmp_path / "clone"))
    git(clone, "checkout", "-q", "-b", "at-c2", fx.commits["c2"])
    return fx, clone


def test_on_missing_fail_lists_them_and_changes_nothing(tmp_path, lfs_server):
    fx, clone = _missing_setup(tmp_path, lfs_server)
    info = migrate(clone, "lfs", "--info", "at-c2").stdout
    total = [line for line in info.splitlines() if line.strip().startswith("total")][0].split()
    assert total[-1] == "1"  # missing on the server: gone.bin's object
    state = snapshot(clone)[:3]
    proc = migrate(clone, "lfs", ok=False)
    assert_one_line_error(proc, "no object here or on the server", "--on-missing")
    assert "data/images/gone.bin" in proc.stderr
    assert snapshot(clone)[:3] == state


def test_on_missing_keep(tmp_path, lfs_server):
    fx, clone = _missing_setup(tmp_path, lfs_server)
    proc = migrate(clone, "lfs", "--on-missing", "keep")
    assert "data/images/gone.bin" in proc.stdout
    tracked = set(git(clone, "ls-files").split())
    assert "data/images/gone.bin" in tracked and "data/images/b.bin.dvc" in tracked
    # the *.bin line stays: gone.bin is still an LFS pointer
    assert "*.bin filter=lfs" in open(os.path.join(clone, ".gitattributes")).read()
    assert run_dvc("status", cwd=clone).stdout.strip() == UP_TO_DATE


def test_on_missing_drop(tmp_path, lfs_server):
    fx, clone = _missing_setup(tmp_path, lfs_server)
    proc = migrate(clone, "lfs", "--on-missing", "drop")
    assert "data/images/gone.bin" in proc.stdout
    tracked = set(git(clone, "ls-files").split())
    assert "data/images/gone.bin" not in tracked and "data/images/gone.bin.dvc" not in tracked
    assert not os.path.exists(os.path.join(clone, "data/images/gone.bin"))
    assert run_dvc("status", cwd=clone).stdout.strip() == UP_TO_DATE


def test_annex_gets_missing_content_from_its_remote(tmp_path):
    fx = annex_repo(str(tmp_path / "a"))
    keys = fx.pointers_at("HEAD")
    clone = str(tmp_path / "clone")
    git(str(tmp_path), "clone", "-q", fx.path, clone)
    git(clone, "annex", "init", "-q", "clone")
    # one object the origin no longer has either
    git(fx.path, "annex", "drop", "-q", "--force", "data/locked/a.bin")
    info = migrate(clone, "annex", "--info").stdout
    assert "missing here" in info
    proc = migrate(clone, "annex", ok=False)
    assert_one_line_error(proc, "no object here or on the server")
    assert "data/locked/a.bin" in proc.stderr and "data/locked/b.bin" not in proc.stderr
    proc = migrate(clone, "annex", "--on-missing", "drop")
    assert "data/locked/a.bin" in proc.stdout
    for path, key in keys.items():
        if path != "data/locked/a.bin":  # fetched by `git annex get`, then converted
            with open(os.path.join(clone, path), "rb") as fobj:
                assert fobj.read() == fx.objects[key], path
    assert run_dvc("status", cwd=clone).stdout.strip() == UP_TO_DATE


def test_push_then_pull_in_a_fresh_clone_with_real_dvc(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    pointers = fx.pointers_at("HEAD")
    assert run_cli("init", cwd=fx.path).returncode == 0
    storage = str(tmp_path / "storage")
    assert run_cli("remote", "add", "-d", "store", storage, cwd=fx.path).returncode == 0
    git(fx.path, "add", "-A")
    git(fx.path, "commit", "-qm", "dvc init")
    proc = migrate(fx.path, "lfs", "--push")
    assert "pushed" in proc.stdout
    run_dvc("status", "-c", cwd=fx.path)
    clone = str(tmp_path / "fresh")
    git(str(tmp_path), "clone", "-q", fx.path, clone, env={"GIT_LFS_SKIP_SMUDGE": "1"})
    run_dvc("pull", cwd=clone)
    for path, oid in pointers.items():
        with open(os.path.join(clone, path), "rb") as fobj:
            assert fobj.read() == fx.objects[oid]
    # and dvc push from the clone finds nothing to send
    assert "Everything is up to date" in run_dvc("push", cwd=clone).stdout


# --- bad input and safety -----------------------------------------------------------------------
def test_dirty_tree_is_refused(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    with open(os.path.join(fx.path, "README.md"), "a") as fobj:
        fobj.write("edited\n")
    state = snapshot(fx.path)
    assert_one_line_error(migrate(fx.path, "lfs", ok=False), "uncommitted changes", "README.md")
    assert snapshot(fx.path) == state


def test_detached_head_is_refused(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    git(fx.path, "checkout", "-q", fx.commits["c2"])
    state = snapshot(fx.path)
    assert_one_line_error(migrate(fx.path, "lfs", ok=False), "HEAD is detached")
    assert snapshot(fx.path) == state


def test_malformed_pointer_is_an_error_unless_excluded(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    # a pointer whose oid is not 64 hex digits (in a path no LFS pattern names, so that git
    # commits it as it is: the scan goes by content, not by .gitattributes)
    bad = b"version https://git-lfs.github.com/spec/v1\noid sha256:1234\nsize 3\n"
    _commit_plain(fx.path, "data/bad.ptr", bad)
    head = git(fx.path, "rev-parse", "HEAD").strip()
    state = snapshot(fx.path)
    proc = migrate(fx.path, "lfs", ok=False)
    assert_one_line_error(proc, "data/bad.ptr", head[:12], "not a valid LFS pointer", "--exclude")
    assert snapshot(fx.path) == state
    migrate(fx.path, "lfs", "--exclude", "data/bad.ptr")
    assert "data/bad.ptr" in git(fx.path, "ls-files")
    assert "data/a.bin.dvc" in git(fx.path, "ls-files")


def _commit_plain(path, rel, data: bytes):
    """Commit ``data`` at ``rel`` (a path no filter applies to)."""
    full = os.path.join(path, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as fobj:
        fobj.write(data)
    git(path, "add", rel)
    git(path, "commit", "-qm", f"add {rel}")


def test_wrong_sha256_is_an_error_and_stores_nothing(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    pointers = fx.pointers_at("HEAD")
    target = lfs_object_path(fx.path, pointers["data/b.bin"])
    os.chmod(target, 0o644)
    forged = bytes(len(fx.objects[pointers["data/b.bin"]]))
    with open(target, "wb") as fobj:
        fobj.write(forged)
    refs_before = refs(fx.path)
    proc = migrate(fx.path, "lfs", ok=False)
    assert_one_line_error(proc, "data/b.bin", "wrong content", "sha256", "nothing was stored")
    # tracked files as they were (the .dvc/ of the automatic init stays, untracked: it holds the
    # objects converted so far, for the next run)
    assert refs(fx.path) == refs_before
    assert git(fx.path, "status", "--porcelain", "--untracked-files=no") == ""
    assert not os.path.exists(os.path.join(fx.path, ".dvc/cache/files/md5", md5_bytes(forged)[:2],
                                           md5_bytes(forged)[2:]))


def test_paths_that_escape_or_land_in_dvc_dir(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    pointer = lfs_pointer(b"x")
    blob = git(fx.path, "hash-object", "-w", "--stdin", input=pointer).strip()
    # a tree with a ".." entry (git's own commands refuse it; a hand-made tree can hold it)
    evil = git(fx.path, "mktree", input=f"100644 blob {blob}\t..\n".encode()).strip()
    root = git(fx.path, "mktree", input=f"040000 tree {evil}\tsub\n".encode()).strip()
    commit = git(fx.path, "commit-tree", root, "-m", "evil").strip()
    git(fx.path, "branch", "evil", commit)
    assert_one_line_error(migrate(fx.path, "lfs", "--info", "evil", ok=False), "escapes the repository")
    # a pointer committed inside .dvc/
    _commit_plain(fx.path, ".dvc/evil.ptr", pointer)
    state = snapshot(fx.path)
    assert_one_line_error(migrate(fx.path, "lfs", ok=False), ".dvc/evil.ptr", "inside .dvc/")
    assert snapshot(fx.path) == state


def test_annex_symlink_pointing_outside_is_refused(tmp_path):
    fx = annex_repo(str(tmp_path / "a"))
    key = "SHA256E-s5--" + "a" * 64 + ".bin"
    os.symlink(f"../../../outside/.git/annex/objects/xx/yy/{key}/{key}",
               os.path.join(fx.path, "data", "evil.bin"))
    git(fx.path, "add", "data/evil.bin")
    git(fx.path, "commit", "-qm", "evil", "--no-verify")
    proc = migrate(fx.path, "annex", ok=False)
    assert_one_line_error(proc, "data/evil.bin", "not a valid git-annex file")


@pytest.mark.parametrize("args, words", [
    (["lfs", "--include", "../up/*.bin"], ["escapes the repository"]),
    (["git"], ["say which files", "--above"]),
    (["git", "--above", "lots"], ["is not a size"]),
    (["lfs", "main"], ["--rewrite or --info"]),
    (["lfs", "--everything"], ["--everything needs"]),
    (["lfs", "--push"], ["--push needs a DVC remote"]),
])
def test_bad_options(tmp_path, args, words):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    state = snapshot(fx.path)
    assert_one_line_error(migrate(fx.path, *args, ok=False), *words)
    assert snapshot(fx.path) == state


def test_not_a_git_repository(tmp_path):
    assert_one_line_error(migrate(str(tmp_path), "lfs", ok=False), "not inside a git repository")


def test_kill_while_writing_is_finished_by_the_next_run(tmp_path, monkeypatch):
    from dataver.migrate import apply, forward

    fx = lfs_repo(str(tmp_path / "r"))
    pointers = fx.pointers_at("HEAD")
    monkeypatch.chdir(fx.path)
    written = []
    original = apply._write_dvcfile

    def dying(git_root, out, manifest):
        if len(written) == 2:
            raise KeyboardInterrupt  # the process dies half-way through writing .dvc files
        written.append(out["path"])
        original(git_root, out, manifest)

    monkeypatch.setattr(apply, "_write_dvcfile", dying)
    with pytest.raises(KeyboardInterrupt):
        forward.migrate(forward.Options("lfs"))
    assert git(fx.path, "rev-parse", "HEAD").strip() == fx.commits["c6"]
    assert git(fx.path, "status", "--porcelain")  # half-done: the tree is "dirty"
    monkeypatch.setattr(apply, "_write_dvcfile", original)
    # other options: refused, naming the ones to use
    proc = migrate(fx.path, "lfs", "--group-by", "dir", ok=False)
    assert_one_line_error(proc, "interrupted migration", "dataver migrate lfs")
    proc = migrate(fx.path, "lfs")
    assert "Finished the migration an interrupted run had begun" in proc.stdout
    assert git(fx.path, "rev-parse", "HEAD^").strip() == fx.commits["c6"]
    assert_converted(fx, pointers)
    assert_dvc_usable(fx.path, "models/m2.bin", fx.objects[pointers["models/m2.bin"]])
