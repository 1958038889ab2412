"""Crash safety: `add`, `checkout` and `commit` killed with SIGKILL (or SIGTERM) at random moments.

After every kill: each cache object's md5 equals its name (temp files may exist, corrupt objects
under valid names may not), the `.dvc` file is absent/old or complete and valid, every workspace
file that is not one of our temp files is complete. Re-running the command then succeeds and
`status` is clean. The seed is printed so a failure can be replayed (DATAVER_CRASH_SEED).
"""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from dataver import dvcfile
from dataver.linking import is_link_tmp
from dataver.manifest import Manifest
from tests.conftest import git, run_cli, tree

SMALL_FILES = 3000
BIG_SIZE = 100 * 1024 * 1024
KILLS = 5


@pytest.fixture
def rng():
    seed = int(os.environ.get("DATAVER_CRASH_SEED") or random.randrange(1 << 30))
    print(f"DATAVER_CRASH_SEED={seed}")
    return random.Random(seed)


def make_dataset(base, seed=0):
    """A few thousand small files in nested folders plus one ~100 MB file."""
    gen = random.Random(seed)
    for i in range(SMALL_FILES):
        path = base / f"d{i % 20:02d}" / f"img{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gen.randbytes(gen.randrange(200, 3000)))
    block = gen.randbytes(1 << 20)
    with open(base / "model.ckpt", "wb") as fobj:
        for i in range(BIG_SIZE >> 20):
            fobj.write(block[i:] + block[:i])  # distinct blocks, cheap to make


def start(repo, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dataver", *args], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_after(proc: subprocess.Popen, delay: float, sig=signal.SIGKILL) -> int:
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(sig)
    proc.wait()
    proc.stderr.close()
    return proc.returncode


def timed(repo, *args) -> float:
    t0 = time.monotonic()
    proc = run_cli(*args, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    return time.monotonic() - t0


def cache_root(repo) -> str:
    return os.path.join(repo, ".dvc", "cache")


def assert_cache_valid(repo) -> tuple[set[str], int]:
    """Every object under a valid name has matching content; returns (oids, temp file count)."""
    oids, temps = set(), 0
    for dirpath, _dirs, names in os.walk(cache_root(repo)):
        prefix = os.path.basename(dirpath)
        for name in names:
            if name.endswith(".tmp"):
                temps += 1
                continue
            oid = prefix + name
            with open(os.path.join(dirpath, name), "rb") as fobj:
                data = fobj.read()
            expected = oid[:-4] if oid.endswith(".dir") else oid
            assert len(prefix) == 2 and hashlib.md5(data).hexdigest() == expected, oid
            if oid.endswith(".dir"):
                listed = Manifest.from_bytes(data, oid).entries.values()
                missing = [o for o in listed if not os.path.exists(_object(repo, o))]
                assert not missing, f"{oid} stored before {len(missing)} of its files"
            oids.add(oid)
    return oids, temps


def _object(repo, oid) -> str:
    return os.path.join(cache_root(repo), "files", "md5", oid[:2], oid[2:])


def assert_dvcfile_ok(repo, allowed: set[str | None]) -> str | None:
    """The .dvc file is absent or parses, names an allowed oid, and its data is all cached."""
    path = repo / "data.dvc"
    if not path.exists():
        assert None in allowed, "data.dvc vanished"
        return None
    out = dvcfile.load(str(path)).outs[0]
    assert out.md5 in allowed, out.md5
    assert os.path.exists(_object(repo, out.md5)), "data.dvc written before its .dir object"
    return out.md5


def assert_workspace_files_complete(repo, manifests: list[Manifest]):
    """Each non-temp file in data/ has the content of some recorded version (renames are atomic)."""
    versions = [m.entries for m in manifests]
    for rel, data in tree(repo / "data").items():
        rel = rel.replace(os.sep, "/")
        if is_link_tmp(rel):
            continue
        digest = hashlib.md5(data).hexdigest()
        assert any(v.get(rel) == digest for v in versions), f"data/{rel} is half-written"


def assert_clean(repo):
    proc = run_cli("status", cwd=repo)
    assert proc.returncode == 0 and proc.stdout == "Data and pipelines are up to date.\n", proc.stdout
    leftovers = [rel for rel in tree(repo / "data") if is_link_tmp(rel)]
    assert not leftovers, leftovers


def reset_add(repo):
    shutil.rmtree(cache_root(repo), ignore_errors=True)
    shutil.rmtree(repo / ".dvc" / "tmp" / "dataver", ignore_errors=True)
    for name in ("data.dvc", ".gitignore"):
        (repo / name).unlink(missing_ok=True)


def test_add_killed_at_random_moments(repo_dir, rng):
    make_dataset(repo_dir / "data")
    full = timed(repo_dir, "add", "data")
    final = dvcfile.load(str(repo_dir / "data.dvc")).outs[0].md5
    for i in range(KILLS):
        reset_add(repo_dir)
        delay = rng.uniform(0.005, full)
        kill_after(start(repo_dir, "add", "data"), delay)
        print("add killed after", round(delay, 3), "s: objects, temps =",
              [len(x) if isinstance(x, set) else x for x in assert_cache_valid(repo_dir)])
        assert_dvcfile_ok(repo_dir, {None, final})
        if i % 2 == 0:  # also a second kill on top of the first one's leftovers
            kill_after(start(repo_dir, "add", "data"), rng.uniform(0.005, full))
            assert_cache_valid(repo_dir)
        proc = run_cli("add", "data", cwd=repo_dir)
        assert proc.returncode == 0, (delay, proc.stderr)
        assert assert_dvcfile_ok(repo_dir, {final}) == final
        assert (repo_dir / ".gitignore").read_text() == "/data\n"
        assert_clean(repo_dir)


def test_checkout_killed_at_random_moments(repo_dir, rng):
    make_dataset(repo_dir / "data")
    run_cli("add", "data", cwd=repo_dir)
    expected = tree(repo_dir / "data")
    dvc_before = (repo_dir / "data.dvc").read_bytes()
    oids_before, _ = assert_cache_valid(repo_dir)
    manifest = Manifest.from_bytes(open(_object(repo_dir, assert_dvcfile_ok(repo_dir, set(oids_before))),
                                        "rb").read(), "data")
    shutil.rmtree(repo_dir / "data")
    full = timed(repo_dir, "checkout", "data")
    for i in range(KILLS):
        shutil.rmtree(repo_dir / "data")
        if i % 2:  # also interrupt a checkout that only has part of the work to do
            (repo_dir / "data").mkdir()
        kill_after(start(repo_dir, "checkout"), rng.uniform(0.005, full))
        assert assert_cache_valid(repo_dir)[0] == oids_before
        assert (repo_dir / "data.dvc").read_bytes() == dvc_before
        if (repo_dir / "data").exists():
            assert_workspace_files_complete(repo_dir, [manifest])
        proc = run_cli("checkout", cwd=repo_dir)
        assert proc.returncode == 0, proc.stderr
        assert_clean(repo_dir)
        assert tree(repo_dir / "data") == expected


def test_commit_killed_at_random_moments(repo_dir, rng):
    make_dataset(repo_dir / "data")
    run_cli("add", "data", cwd=repo_dir)
    old = assert_dvcfile_ok(repo_dir, {None} | assert_cache_valid(repo_dir)[0])
    old_manifest = Manifest.from_bytes(open(_object(repo_dir, old), "rb").read(), "old")
    for i in range(KILLS):
        for path in sorted((repo_dir / "data").rglob("img*.jpg"))[i::40]:
            path.write_bytes(f"edit {i} {path.name}".encode())
        with open(repo_dir / "data" / "model.ckpt", "r+b") as fobj:
            fobj.seek(i * 4096)
            fobj.write(f"checkpoint edit {i}".encode())
        new_manifest = Manifest.from_bytes(_manifest_of(repo_dir / "data"), "new")
        full = timed_status(repo_dir)
        kill_after(start(repo_dir, "commit", "data"), rng.uniform(0.005, full + 1.5))
        assert_cache_valid(repo_dir)
        assert_dvcfile_ok(repo_dir, {old, new_manifest.oid})
        assert_workspace_files_complete(repo_dir, [new_manifest])
        proc = run_cli("commit", "data", cwd=repo_dir)
        assert proc.returncode == 0, proc.stderr
        assert assert_dvcfile_ok(repo_dir, {new_manifest.oid}) == new_manifest.oid
        assert_clean(repo_dir)
        old, old_manifest = new_manifest.oid, new_manifest
    assert old_manifest.oid == old


def timed_status(repo) -> float:
    t0 = time.monotonic()
    run_cli("status", cwd=repo)
    return time.monotonic() - t0


def _manifest_of(base) -> bytes:
    entries = {rel.replace(os.sep, "/"): hashlib.md5(data).hexdigest()
               for rel, data in tree(base).items()}
    return Manifest(entries).to_bytes()


def terminate_at_work(repo, *args) -> int:
    """Start dataver ARGS, send SIGTERM once it holds the repo lock and is at work; its exit code."""
    proc = start(repo, *args)
    lock = repo / ".dvc" / "tmp" / "lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lock.exists() and str(proc.pid) in lock.read_text():
            break
        time.sleep(0.005)
    time.sleep(0.05)  # into the work, which takes a few tenths of a second
    code = kill_after(proc, 0, signal.SIGTERM)
    if code == 0:
        pytest.fail(f"{args} finished before SIGTERM arrived: make the dataset bigger")
    return code


def test_sigterm_cleans_up_and_exits_143(repo_dir):
    make_dataset(repo_dir / "data")
    assert terminate_at_work(repo_dir, "add", "data") == 143
    oids, temps = assert_cache_valid(repo_dir)
    assert temps == 0, "SIGTERM left temp files in the cache"
    assert not (repo_dir / "data.dvc").exists()
    assert run_cli("add", "data", cwd=repo_dir).returncode == 0
    assert_clean(repo_dir)
    expected = tree(repo_dir / "data")
    shutil.rmtree(repo_dir / "data")
    assert terminate_at_work(repo_dir, "checkout") == 143
    leftovers = [rel for rel in tree(repo_dir / "data") if is_link_tmp(rel)]
    assert not leftovers, "SIGTERM left temp files in the workspace"
    assert run_cli("checkout", cwd=repo_dir).returncode == 0
    assert tree(repo_dir / "data") == expected
    assert_clean(repo_dir)


def test_stale_tmp_files_do_not_confuse_later_runs(repo_dir):
    """What a killed process leaves in .dvc/tmp (lock with a dead pid, a half-written or garbage
    state db and WAL) and in the cache (temp objects) does not affect the next run."""
    (repo_dir / "data").mkdir()
    (repo_dir / "data" / "a.txt").write_text("a")
    assert run_cli("add", "data", cwd=repo_dir).returncode == 0
    tmp = repo_dir / ".dvc" / "tmp"
    (tmp / "lock").write_text(" 999999\n")
    state = tmp / "dataver" / "state.db"
    state.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    (tmp / "dataver" / "state.db-wal").write_bytes(b"\x00garbage" * 100)
    stray = os.path.join(cache_root(repo_dir), "files", "md5", "0c", "c175b9c0f1b6a831c399e269772661.1234abcd.tmp")
    os.makedirs(os.path.dirname(stray), exist_ok=True)
    with open(stray, "wb") as fobj:
        fobj.write(b"partial")
    (repo_dir / "data" / "a.txt").unlink()
    proc = run_cli("checkout", cwd=repo_dir)
    assert proc.returncode == 0, proc.stderr
    assert (repo_dir / "data" / "a.txt").read_text() == "a"
    (repo_dir / "data" / "b.txt").write_text("b")
    assert run_cli("add", "data", cwd=repo_dir).returncode == 0
    assert_clean(repo_dir)
    git(repo_dir, "status")
