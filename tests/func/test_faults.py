"""Bad input and faults: each failure is one `ERROR:` line naming the path and the fix, exit 1, no
traceback, and the repo, cache, `.dvc` files and git index are exactly as they were before."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from tests.conftest import git, run_cli

OID_A = "0cc175b9c0f1b6a831c399e269772661"  # md5(b"a")


def snapshot(root) -> dict:
    """Everything a failed command must leave alone: files (bytes, mode, link target), the git index."""
    files = {}
    for dirpath, dirs, names in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir in (os.path.join(".dvc", "tmp"), ".git"):
            dirs[:] = []
            continue
        for name in dirs + names:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if os.path.islink(full):
                files[os.path.relpath(full, root)] = ("link", os.readlink(full))
            elif not stat.S_ISREG(st.st_mode):
                files[os.path.relpath(full, root)] = ("special", st.st_mode)
            else:
                with open(full, "rb") as fobj:
                    digest = hashlib.md5(fobj.read()).hexdigest()
                files[os.path.relpath(full, root)] = ("file", st.st_mode, digest)
    index = git(root, "ls-files", "-s") if os.path.isdir(os.path.join(root, ".git")) else ""
    return {"files": files, "index": index}


def fails(root, *args, expect=(), cmd_prefix=(), cwd=None) -> str:
    """Run dataver ARGS, assert a clean one-line failure mentioning every string in ``expect`` and
    that nothing changed on disk; returns the error line."""
    before = snapshot(root)
    proc = subprocess.run([*cmd_prefix, sys.executable, "-m", "dataver", *args],
                          cwd=cwd or root, capture_output=True, text=True)
    err = proc.stderr
    assert "Traceback" not in err, err
    assert proc.returncode == 1, (proc.returncode, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), err
    for text in expect:
        assert text in lines[0], (text, lines[0])
    assert snapshot(root) == before
    return lines[0]


def ok(*args, cwd=None) -> subprocess.CompletedProcess:
    proc = run_cli(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc


def make_dir(root, name="data", n=3):
    base = root / name
    (base / "sub").mkdir(parents=True)
    for i in range(n):
        (base / f"f{i}.txt").write_text(f"file {i}\n")
    (base / "sub" / "deep.bin").write_bytes(b"\x00\x01 deep")
    return base


def cache_object(root, oid) -> str:
    return os.path.join(root, ".dvc", "cache", "files", "md5", oid[:2], oid[2:])


def put_object(root, data: bytes, suffix="") -> str:
    """Store ``data`` in the cache under its true md5 (a crafted but internally consistent object)."""
    oid = hashlib.md5(data).hexdigest() + suffix
    path = cache_object(root, oid)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fobj:
        fobj.write(data)
    return oid


def write_dvcfile(root, name, oid, path, extra=""):
    (root / name).write_text(f"outs:\n- md5: {oid}\n  size: 1\n{extra}  hash: md5\n  path: {path}\n")


def unprivileged() -> list[str]:
    """A command prefix that makes permission checks apply (root bypasses them): drop every
    capability with setpriv (util-linux), keeping uid 0 so the test's files stay accessible."""
    if os.geteuid() != 0:
        return []
    exe = shutil.which("setpriv")
    assert exe, "setpriv (util-linux) is needed to test permission errors as root"
    return [exe, "--inh-caps=-all", "--bounding-set=-all"]


# --- where the command runs -------------------------------------------------------------------

def test_not_a_repo(tmp_path):
    (tmp_path / "f").write_text("x")
    for args in (["status"], ["add", "f"], ["checkout"], ["commit"]):
        line = fails(tmp_path, *args, expect=(str(tmp_path), "dataver init"))
        assert "not a dataver/DVC repository" in line
    assert not (tmp_path / "f.dvc").exists() and not (tmp_path / ".gitignore").exists()


def test_target_outside_repo(repo_dir, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    fails(repo_dir, "add", str(outside), expect=(str(outside), "outside the repository", "inside"))
    fails(repo_dir, "add", "../outside.txt", expect=("outside the repository",))
    fails(repo_dir, "add", ".dvc/config", expect=("not a valid output location",))
    fails(repo_dir, "add", ".", expect=("not a valid output location",))


def test_target_does_not_exist(repo_dir):
    fails(repo_dir, "add", "nope.txt", expect=("nope.txt", "does not exist"))
    fails(repo_dir, "status", "nope.txt", expect=("nope.txt", "not tracked"))
    fails(repo_dir, "checkout", "nope", expect=("nope", "not tracked"))
    fails(repo_dir, "commit", "nope.dvc", expect=("nope.dvc", "not tracked"))
    fails(repo_dir, "add", "--glob", "*.nothing", expect=("*.nothing", "matched nothing"))


def test_target_tracked_by_git(repo_dir):
    (repo_dir / "code.py").write_text("print(1)\n")
    make_dir(repo_dir, "src")
    git(repo_dir, "add", "code.py", "src")
    git(repo_dir, "commit", "-qm", "code")
    fails(repo_dir, "add", "code.py", expect=("code.py", "already tracked by git", "git rm -r --cached"))
    fails(repo_dir, "add", "src", expect=("src", "already tracked by git"))


def test_output_overlap(repo_dir):
    make_dir(repo_dir, "data")
    make_dir(repo_dir, "outer/inner")
    ok("add", "data", "outer/inner", cwd=repo_dir)
    fails(repo_dir, "add", "data/f0.txt", expect=("data/f0.txt", "inside output 'data'", "data.dvc"))
    fails(repo_dir, "add", "data/sub", expect=("data/sub", "inside output 'data'"))
    fails(repo_dir, "add", "outer", expect=("outer", "contains output 'outer/inner'", "remove"))


def test_several_targets_one_bad_writes_nothing(repo_dir):
    (repo_dir / "good.txt").write_text("good")
    fails(repo_dir, "add", "good.txt", "missing.txt", expect=("missing.txt",))
    assert not (repo_dir / "good.txt.dvc").exists()


# --- corrupt .dvc files ------------------------------------------------------------------------

CORRUPT_DVCFILES = {
    "invalid_yaml": ("outs:\n- md5: [unclosed\n  path: x\n", "line"),
    "tab_indent": ("outs:\n\t- path: x\n", "line"),
    "outs_not_list": ("outs:\n  path: x\n", "'outs' must be a list"),
    "outs_scalar": ("outs: 5\n", "'outs' must be a list"),
    "top_level_list": ("- outs\n", "mapping"),
    "out_not_mapping": ("outs:\n- just-a-string\n", "outs[0]"),
    "bad_md5": ("outs:\n- md5: nothex\n  path: x\n", "outs[0].md5"),
    "md5_int": ("outs:\n- md5: 12345\n  path: x\n", "outs[0].md5"),
    "size_str": (f"outs:\n- md5: {OID_A}\n  size: big\n  path: x\n", "outs[0].size"),
    "nfiles_neg": (f"outs:\n- md5: {OID_A}.dir\n  nfiles: -1\n  path: x\n", "outs[0].nfiles"),
    "path_missing": (f"outs:\n- md5: {OID_A}\n", "outs[0].path"),
    "path_int": (f"outs:\n- md5: {OID_A}\n  path: 7\n", "outs[0].path"),
    "hash_unknown": (f"outs:\n- md5: {OID_A}\n  hash: sha1\n  path: x\n", "outs[0].hash"),
    "isexec_str": (f"outs:\n- md5: {OID_A}\n  isexec: maybe\n  path: x\n", "outs[0].isexec"),
    "second_out_bad": (f"outs:\n- md5: {OID_A}\n  path: x\n- md5: zz\n  path: y\n", "outs[1].md5"),
    "not_utf8": (b"outs:\n- path: \xff\xfe\n", "UTF-8"),
    "deps_not_list": ("deps: 3\nouts: []\n", "'deps' must be a list"),
}


@pytest.mark.parametrize("name", sorted(CORRUPT_DVCFILES))
def test_corrupt_dvcfile(repo_dir, name):
    content, where = CORRUPT_DVCFILES[name]
    (repo_dir / "sub").mkdir()
    path = repo_dir / "sub" / "bad.dvc"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (repo_dir / "other.txt").write_text("other")
    for args in (["status"], ["checkout"], ["commit"], ["add", "other.txt"], ["status", "sub/bad.dvc"]):
        fails(repo_dir, *args, expect=(os.path.join("sub", "bad.dvc"), where, "fix"))


# --- .dvc paths that escape the workspace -------------------------------------------------------

@pytest.mark.parametrize("bad", ["../outside", "/tmp/abs-out", "sub/../../outside", ".dvc/config",
                                 ".git/hooks/x", '"a\\0b"', "'a\\b'", '""', "."])
def test_dvcfile_path_escape_refused(repo_dir, bad):
    put_object(repo_dir, b"a")
    write_dvcfile(repo_dir, "x.dvc", OID_A, bad)
    for args in (["checkout"], ["checkout", "x.dvc"], ["status"], ["commit"]):
        fails(repo_dir, *args, expect=("x.dvc", "path"))
    assert not (repo_dir.parent / "outside").exists() and not os.path.exists("/tmp/abs-out")


def test_dvcfile_path_through_symlink_refused(repo_dir, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (repo_dir / "link").symlink_to(target)
    put_object(repo_dir, b"a")
    write_dvcfile(repo_dir, "x.dvc", OID_A, "link/evil")
    fails(repo_dir, "checkout", expect=("x.dvc", "outside the repository"))
    assert list(target.iterdir()) == []


# --- cache problems at checkout -----------------------------------------------------------------

def test_missing_file_object_at_checkout(repo_dir):
    (repo_dir / "model.bin").write_bytes(b"weights")
    ok("add", "model.bin", cwd=repo_dir)
    oid = hashlib.md5(b"weights").hexdigest()
    os.chmod(cache_object(repo_dir, oid), 0o644)
    os.unlink(cache_object(repo_dir, oid))
    (repo_dir / "model.bin").unlink()
    fails(repo_dir, "checkout", expect=(oid, "model.bin", "missing", "pull"))


def test_missing_objects_in_directory(repo_dir):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    oid = hashlib.md5(b"file 1\n").hexdigest()
    os.unlink(cache_object(repo_dir, oid))
    shutil.rmtree(repo_dir / "data")
    proc = run_cli("checkout", cwd=repo_dir)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and oid in proc.stderr and "data/f1.txt" in proc.stderr
    assert "pull" in proc.stderr
    # everything that is in the cache was restored; the missing file was not invented
    assert (repo_dir / "data" / "f0.txt").read_text() == "file 0\n"
    assert not (repo_dir / "data" / "f1.txt").exists()


def test_missing_dir_object(repo_dir):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    text = (repo_dir / "data.dvc").read_text()
    dir_oid = text.split("md5: ")[1].split("\n")[0]
    os.unlink(cache_object(repo_dir, dir_oid))
    shutil.rmtree(repo_dir / "data")
    fails(repo_dir, "checkout", expect=(dir_oid, "data", "pull"))
    assert "not in cache" in ok("status", cwd=repo_dir).stdout


def _dir_dvcfile(root, oid, name="data"):
    (root / f"{name}.dvc").write_text(
        f"outs:\n- md5: {oid}\n  size: 1\n  nfiles: 1\n  hash: md5\n  path: {name}\n")


MANIFESTS = {
    "dotdot": [{"md5": OID_A, "relpath": "../escaped"}],
    "dotdot_inner": [{"md5": OID_A, "relpath": "a/../../escaped"}],
    "absolute": [{"md5": OID_A, "relpath": "/tmp/escaped"}],
    "nul": [{"md5": OID_A, "relpath": "a\x00b"}],
    "backslash": [{"md5": OID_A, "relpath": "..\\escaped"}],
    "drive": [{"md5": OID_A, "relpath": "C:escaped"}],
    "dot": [{"md5": OID_A, "relpath": "."}],
    "dot_component": [{"md5": OID_A, "relpath": "a/./b"}],
    "empty": [{"md5": OID_A, "relpath": ""}],
    "file_dir_clash": [{"md5": OID_A, "relpath": "a"}, {"md5": OID_A, "relpath": "a/b"}],
    "duplicate": [{"md5": OID_A, "relpath": "a"}, {"md5": OID_A, "relpath": "a"}],
    "relpath_int": [{"md5": OID_A, "relpath": 3}],
    "bad_md5": [{"md5": "../../x", "relpath": "a"}],
    "nested_dir": [{"md5": OID_A + ".dir", "relpath": "a"}],
    "not_list": {"md5": OID_A, "relpath": "a"},
    "entry_not_dict": ["a"],
}


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_crafted_manifest_refused_before_writing(repo_dir, name):
    put_object(repo_dir, b"a")
    dir_oid = put_object(repo_dir, json.dumps(MANIFESTS[name], sort_keys=True).encode(), ".dir")
    _dir_dvcfile(repo_dir, dir_oid)
    fails(repo_dir, "checkout", expect=(dir_oid[:-4], "fix"))
    fails(repo_dir, "status", expect=(dir_oid[:-4],))
    assert not (repo_dir / "data").exists() and not (repo_dir.parent / "escaped").exists()


@pytest.mark.parametrize("content", [b"not json", b"\xff\xfe", b"[{\"md5\": 1"])
def test_corrupt_manifest_content(repo_dir, content):
    dir_oid = put_object(repo_dir, content, ".dir")
    _dir_dvcfile(repo_dir, dir_oid)
    fails(repo_dir, "checkout", expect=(dir_oid[:-4], "not a directory manifest"))


def test_manifest_not_matching_its_name(repo_dir):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    dir_oid = (repo_dir / "data.dvc").read_text().split("md5: ")[1].split("\n")[0]
    path = cache_object(repo_dir, dir_oid)
    os.chmod(path, 0o644)
    with open(path, "w") as fobj:
        fobj.write("[]")
    shutil.rmtree(repo_dir / "data")
    fails(repo_dir, "checkout", expect=(dir_oid, "corrupt", "pull"))


# --- permissions ---------------------------------------------------------------------------------

def test_unreadable_file_in_added_directory(repo_dir):
    base = make_dir(repo_dir)
    secret = base / "sub" / "secret.txt"
    secret.write_text("secret")
    secret.chmod(0)
    line = fails(repo_dir, "add", "data", expect=("permission denied", "secret.txt"),
                 cmd_prefix=unprivileged())
    assert "chmod" in line or "permissions" in line
    objects = os.path.join(repo_dir, ".dvc", "cache")
    assert not os.path.exists(objects) or not any(n.endswith(".tmp") for _, _, ns in os.walk(objects) for n in ns)


def test_unreadable_directory_in_added_directory(repo_dir):
    base = make_dir(repo_dir)
    (base / "sub").chmod(0)
    try:
        fails(repo_dir, "add", "data", expect=("permission denied", os.path.join("data", "sub")),
              cmd_prefix=unprivileged())
    finally:
        (base / "sub").chmod(0o755)


def test_unwritable_workspace_directory_at_checkout(repo_dir):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    (repo_dir / "data" / "sub" / "deep.bin").unlink()
    (repo_dir / "data" / "sub").chmod(0o555)
    try:
        fails(repo_dir, "checkout", expect=("permission denied", os.path.join("data", "sub")),
              cmd_prefix=unprivileged())
    finally:
        (repo_dir / "data" / "sub").chmod(0o755)
    ok("checkout", cwd=repo_dir)
    assert (repo_dir / "data" / "sub" / "deep.bin").read_bytes() == b"\x00\x01 deep"


def test_unwritable_cache(repo_dir):
    (repo_dir / "f.txt").write_text("content")
    cache = repo_dir / ".dvc" / "cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        fails(repo_dir, "add", "f.txt", expect=("permission denied", "cache"), cmd_prefix=unprivileged())
    finally:
        cache.chmod(0o755)


# --- symlinks --------------------------------------------------------------------------------------

def test_symlink_loop_inside_added_directory(repo_dir):
    base = make_dir(repo_dir)
    os.symlink("loop", base / "sub" / "loop")
    fails(repo_dir, "add", "data", expect=("symlink loop", os.path.join("data", "sub", "loop")))


def test_symlink_loop_as_target(repo_dir):
    os.symlink("a", repo_dir / "b")
    os.symlink("b", repo_dir / "a")
    fails(repo_dir, "add", "a", expect=("symlink loop", "a"))


def test_broken_symlink_inside_added_directory(repo_dir):
    base = make_dir(repo_dir)
    os.symlink("nowhere", base / "dangling")
    fails(repo_dir, "add", "data", expect=("broken symlink", os.path.join("data", "dangling")))


def test_broken_symlink_as_target(repo_dir):
    os.symlink("nowhere", repo_dir / "dangling")
    fails(repo_dir, "add", "dangling", expect=("broken symlink", "dangling"))


# --- the CLI keeps the bug/user-error distinction ---------------------------------------------------

def test_real_bug_prints_traceback(repo_dir):
    # A crafted bug: make Repo.status raise a plain exception through a sitecustomize hook.
    hook = repo_dir.parent / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import dataver.repo\n"
        "def boom(self, *a, **k):\n    raise RuntimeError('deliberate bug')\n"
        "dataver.repo.Repo.status = boom\n")
    env = dict(os.environ, PYTHONPATH=f"{hook}{os.pathsep}{os.environ['PYTHONPATH']}")
    proc = subprocess.run([sys.executable, "-m", "dataver", "status"], cwd=repo_dir, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 255
    assert "Traceback" in proc.stderr and "deliberate bug" in proc.stderr


def test_fifo_inside_added_directory(repo_dir):
    base = make_dir(repo_dir)
    os.mkfifo(base / "pipe")
    fails(repo_dir, "add", "data", expect=("not a regular file", os.path.join("data", "pipe"), ".dvcignore"))


def test_cd_to_missing_directory(repo_dir):
    fails(repo_dir, "--cd", "no/such/dir", "status", expect=("no/such/dir", "--cd"))


@pytest.mark.parametrize("link", ["data/sub", "data"])
def test_checkout_does_not_write_through_symlinked_directory(repo_dir, tmp_path, link):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(repo_dir / link)
    (repo_dir / link).symlink_to(elsewhere)
    fails(repo_dir, "checkout", expect=(link, "symlink", "-f"))
    assert list(elsewhere.iterdir()) == []
    ok("checkout", "-f", cwd=repo_dir)
    assert not (repo_dir / link).is_symlink() and list(elsewhere.iterdir()) == []
    assert (repo_dir / "data" / "sub" / "deep.bin").read_bytes() == b"\x00\x01 deep"
    assert ok("status", cwd=repo_dir).stdout == "Data and pipelines are up to date.\n"


def test_symlinked_directory_target_refused_like_dvc(repo_dir):
    real = make_dir(repo_dir, "real")
    (repo_dir / "link").symlink_to(real)
    fails(repo_dir, "add", "link", expect=("link", "symlink to a directory"))
    fails(repo_dir, "add", "link/f0.txt", expect=("link/f0.txt", "symlink to a directory"))
    fails(repo_dir, "add", "link/sub", expect=("link/sub", "symlink to a directory"))


def test_no_working_link_type(repo_dir):
    """cache.type=hardlink with the cache on another file system (tmpfs): one clear line."""
    import tempfile

    cache = tempfile.mkdtemp(dir="/dev/shm")
    try:
        assert os.stat(cache).st_dev != os.stat(repo_dir).st_dev, "needs /dev/shm on another device"
        with open(repo_dir / ".dvc" / "config", "a") as fobj:
            fobj.write(f"[cache]\n    dir = {cache}\n    type = hardlink\n")
        (repo_dir / "f.txt").write_text("x")
        proc = run_cli("add", "f.txt", cwd=repo_dir)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert "no link type" in proc.stderr and "copy" in proc.stderr and "f.txt" in proc.stderr
        assert (repo_dir / "f.txt").read_text() == "x"
    finally:
        shutil.rmtree(cache)


@pytest.mark.parametrize("output", ["data/f0.txt", "model.bin"])
def test_directory_where_a_file_belongs(repo_dir, output):
    """A directory (holding a .dvcignore'd file) where the output has a file: kept without -f."""
    make_dir(repo_dir)
    (repo_dir / "model.bin").write_bytes(b"weights")
    ok("add", "data", "model.bin", cwd=repo_dir)
    (repo_dir / ".dvcignore").write_text("*.log\n")
    os.chmod(repo_dir / output, 0o644)
    os.unlink(repo_dir / output)
    (repo_dir / output).mkdir()
    (repo_dir / output / "notes.log").write_text("precious")
    fails(repo_dir, "checkout", expect=(os.path.join(output, "notes.log"), "-f"))
    (repo_dir / output / "notes.log").unlink()
    (repo_dir / output / "empty" / "dirs").mkdir(parents=True)
    ok("checkout", cwd=repo_dir)  # nothing but empty folders in the way: replaced
    assert (repo_dir / output).is_file()
    (repo_dir / output).unlink()
    (repo_dir / output).mkdir()
    (repo_dir / output / "notes.log").write_text("discard me")
    ok("checkout", "-f", cwd=repo_dir)
    assert (repo_dir / output).is_file()
    assert ok("status", cwd=repo_dir).stdout == "Data and pipelines are up to date.\n"
