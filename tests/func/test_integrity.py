"""Corrupt cache objects never spread: checkout does not copy them into the workspace, push does
not send them, status does not call them cached, and `cache verify` finds and repairs them.

An object "changes after it was stored" the way users hit it: an in-place edit of a workspace
file that is a hardlink or symlink to the cache, or bytes changed in the cache itself.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

from dataver.objtag import is_tagged
from tests.conftest import run_cli, run_dvc
from tests.func.test_faults import cache_object, fails, make_dir, ok, put_object, write_dvcfile

F0 = hashlib.md5(b"file 0\n").hexdigest()


def dvc_md5(root, name) -> str:
    return (root / name).read_text().split("md5: ")[1].split("\n")[0]


def change_in_place(path, keep_mtime: bool = False) -> None:
    """Flip the first byte of ``path`` (same size, same inode), as an editor writing in place
    would; ``keep_mtime`` then puts the old times back, as a tool preserving them would."""
    st = os.stat(path)
    os.chmod(path, 0o644)
    with open(path, "r+b") as fobj:
        first = fobj.read(1)
        fobj.seek(0)
        fobj.write(bytes([first[0] ^ 0x20]))
    os.chmod(path, st.st_mode & 0o777)
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def failing(root, *args) -> str:
    """Run dataver ARGS expecting exit 1 with one `ERROR:` line (and no traceback)."""
    proc = run_cli(*args, cwd=root)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def remote_keys(remote) -> set[str]:
    """Every file stored on the local remote (none if it was never created)."""
    return {os.path.relpath(os.path.join(d, n), remote).replace(os.sep, "/")
            for d, _dirs, names in os.walk(remote) for n in names}


def key(oid) -> str:
    return f"files/md5/{oid[:2]}/{oid[2:]}"


@pytest.fixture
def with_remote(repo_dir, tmp_path):
    remote = tmp_path / "remote"
    ok("remote", "add", "-d", "store", str(remote), cwd=repo_dir)
    return remote


def test_checkout_never_copies_a_corrupt_object(repo_dir):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    obj = cache_object(repo_dir, F0)
    change_in_place(obj)
    bad = open(obj, "rb").read()
    shutil.rmtree(repo_dir / "data")
    line = failing(repo_dir, "checkout")
    assert "corrupt" in line and os.path.join("data", "f0.txt") in line and "cache verify --repair" in line
    assert not (repo_dir / "data" / "f0.txt").exists()  # the bad bytes stayed out
    assert (repo_dir / "data" / "f1.txt").read_text() == "file 1\n"  # the rest came back
    assert open(obj, "rb").read() == bad  # reported, not touched
    status = run_cli("status", "--json", cwd=repo_dir)
    assert json.loads(status.stdout) == {"data.dvc": [{"changed outs": {"data": "modified"}}]}


def test_status_of_a_corrupt_file_object_is_not_in_cache(repo_dir):
    # DVC reports "not in cache" too, for an object it finds corrupt; it skips the check for a
    # read-only (0444) object, as this one is, and deletes a corrupt object it finds.
    (repo_dir / "model.bin").write_bytes(b"weights" * 100)
    ok("add", "model.bin", cwd=repo_dir)
    obj = cache_object(repo_dir, dvc_md5(repo_dir, "model.bin.dvc"))
    change_in_place(obj)
    expected = {"model.bin.dvc": [{"changed outs": {"model.bin": "not in cache"}}]}
    assert json.loads(ok("status", "--json", cwd=repo_dir).stdout) == expected
    assert os.path.exists(obj)  # reported, kept


@pytest.mark.parametrize("link_type", ["hardlink", "symlink"])
def test_in_place_edit_through_a_link_is_not_pushed(repo_dir, with_remote, link_type):
    ok("config", "cache.type", link_type, cwd=repo_dir)
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    dir_oid = dvc_md5(repo_dir, "data.dvc")
    change_in_place(os.path.realpath(repo_dir / "data" / "f0.txt"))  # writes the cache object
    line = failing(repo_dir, "push")
    assert "corrupt in the cache" in line and os.path.join("data", "f0.txt") in line
    stored = remote_keys(with_remote)
    assert key(F0) not in stored and key(dir_oid) not in stored
    assert key(hashlib.md5(b"file 1\n").hexdigest()) in stored  # sound ones still go


def test_push_hashes_what_it_sends_even_when_the_stat_looks_unchanged(repo_dir, with_remote):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    change_in_place(cache_object(repo_dir, F0), keep_mtime=True)  # invisible to any stat check
    line = failing(repo_dir, "push")
    assert "corrupt in the cache" in line
    assert key(F0) not in remote_keys(with_remote)


def test_manifest_changed_to_the_same_size_is_refused(repo_dir, with_remote):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    ok("status", cwd=repo_dir)  # the parsed copy of the manifest is now indexed
    dir_oid = dvc_md5(repo_dir, "data.dvc")
    path = cache_object(repo_dir, dir_oid)
    entries = json.loads(open(path, "rb").read())
    entries[0]["md5"], entries[1]["md5"] = entries[1]["md5"], entries[0]["md5"]  # same size
    os.chmod(path, 0o644)
    with open(path, "r+b") as fobj:
        fobj.write(json.dumps(entries, sort_keys=True).encode())
    shutil.rmtree(repo_dir / "data")
    fails(repo_dir, "checkout", expect=(dir_oid, "corrupt", "cache verify --repair"))
    line = failing(repo_dir, "push")
    assert "corrupt" in line and "'data'" in line
    assert remote_keys(with_remote) == set()
    status = json.loads(ok("status", "--json", cwd=repo_dir).stdout)
    assert status == {"data.dvc": [{"changed outs": {"data": "not in cache"}}]}


def test_push_refuses_a_manifest_that_checkout_would_refuse(repo_dir, with_remote):
    child = put_object(repo_dir, b"a")
    dir_oid = put_object(repo_dir, json.dumps([{"md5": child, "relpath": "../escaped"}]).encode(), ".dir")
    write_dvcfile(repo_dir, "data.dvc", dir_oid, "data")
    line = failing(repo_dir, "push")
    assert "'data'" in line and "../escaped" in line
    assert key(dir_oid) not in remote_keys(with_remote)


def test_cache_verify_lists_then_repairs_from_the_remote(repo_dir, with_remote):
    make_dir(repo_dir)
    (repo_dir / "model.bin").write_bytes(b"weights" * 100)
    ok("add", "data", "model.bin", cwd=repo_dir)
    ok("push", cwd=repo_dir)
    model = dvc_md5(repo_dir, "model.bin.dvc")
    change_in_place(cache_object(repo_dir, F0), keep_mtime=True)  # only a full hash sees this
    change_in_place(cache_object(repo_dir, model))
    proc = run_cli("cache", "verify", cwd=repo_dir)
    assert proc.returncode == 1, proc.stderr
    assert f"corrupt: {F0} (used by 'data/f0.txt')" in proc.stdout
    assert f"corrupt: {model} (used by 'model.bin')" in proc.stdout
    assert "cache verify --repair" in proc.stderr
    assert ok("cache", "verify", "--repair", cwd=repo_dir).stdout.count("replaced by a good copy") == 2
    assert ok("cache", "verify", cwd=repo_dir).stdout.strip().endswith("0 corrupt.")
    shutil.rmtree(repo_dir / "data")
    os.unlink(repo_dir / "model.bin")
    ok("checkout", cwd=repo_dir)
    assert (repo_dir / "data" / "f0.txt").read_text() == "file 0\n"
    moved = [p for p in os.listdir(os.path.dirname(cache_object(repo_dir, F0))) if p.endswith(".corrupt")]
    assert moved  # the bad bytes were kept aside, until gc
    ok("gc", "-w", "-f", cwd=repo_dir)
    assert not [p for d, _s, names in os.walk(repo_dir / ".dvc" / "cache") for p in names
                if p.endswith(".corrupt")]


def test_cache_verify_repair_without_a_good_copy_says_so(repo_dir):
    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    change_in_place(cache_object(repo_dir, F0))
    proc = run_cli("cache", "verify", "--repair", cwd=repo_dir)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "moved aside" in proc.stdout and "no good copy" in proc.stdout
    assert not os.path.exists(cache_object(repo_dir, F0))


def test_adding_the_same_content_again_replaces_a_corrupt_object(repo_dir):
    (repo_dir / "a.txt").write_text("file 0\n")
    ok("add", "a.txt", cwd=repo_dir)
    obj = cache_object(repo_dir, F0)
    change_in_place(obj)
    (repo_dir / "b.txt").write_text("file 0\n")
    ok("add", "b.txt", cwd=repo_dir)
    assert open(obj, "rb").read() == b"file 0\n" and is_tagged(os.stat(obj), F0)
    assert any(n.endswith(".corrupt") for n in os.listdir(os.path.dirname(obj)))


@pytest.mark.compat
def test_objects_written_by_dvc_are_hashed_once_then_trusted(repo_dir):
    make_dir(repo_dir)
    run_dvc("add", "data", cwd=repo_dir)
    obj = cache_object(repo_dir, F0)
    assert not is_tagged(os.stat(obj), F0)
    shutil.rmtree(repo_dir / "data")
    ok("checkout", cwd=repo_dir)
    assert is_tagged(os.stat(obj), F0)  # verified by hashing, then tagged
    assert run_dvc("status", cwd=repo_dir).stdout.strip() == "Data and pipelines are up to date."


def test_api_read_and_get_refuse_a_corrupt_object(repo_dir, tmp_path):
    from dataver import api
    from dataver.errors import CorruptObjectError
    from tests.conftest import git

    make_dir(repo_dir)
    ok("add", "data", cwd=repo_dir)
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "data")
    change_in_place(cache_object(repo_dir, F0))
    with pytest.raises(CorruptObjectError):
        api.read("data/f0.txt", repo=str(repo_dir), rev="HEAD")
    assert api.read("data/f1.txt", repo=str(repo_dir), rev="HEAD") == "file 1\n"
    line = failing(tmp_path, "get", str(repo_dir), "data", "-o", str(tmp_path / "copy"))
    assert "corrupt" in line and not (tmp_path / "copy").exists()
