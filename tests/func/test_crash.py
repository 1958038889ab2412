"""Crash safety: `add`, `checkout`, `commit`, `push`, `fetch`, `pull` and `gc` killed with SIGKILL
(the main process alone, or its whole process group) at random moments, then run again.

The checks are in tests/func/crash_harness.py: after every kill no process of the command
outlives it, every object in the cache and on the remote has an md5 equal to its name (temp files
may exist, corrupt objects under valid names may not, and a `.dir` manifest never without its
files), the `.dvc` file is the old or the new version and workspace files are complete; after the
re-run dataver and real DVC report the repo (and the remote) clean. Remotes: a local directory,
and `rclone serve s3`. The seed is printed; DATAVER_CRASH_SEED replays a run, and
benchmarks/fault_run.py runs the same scenarios with many more kills.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import git, run_cli
from tests.func import crash_harness as H
from tests.func import crash_scenarios as S

KILLS = 3  # per scenario; benchmarks/fault_run.py --kills N for a longer run
SCALE = H.Scale(files=3000, big_mb=32)
S3_SCALE = H.Scale(files=1000, big_mb=16)  # an S3 round trip per object: fewer, same kinds
_BASES: dict[tuple, str] = {}
# read at import: tests/conftest.py's isolated_env removes DATAVER_* before any test runs
_SEED = os.environ.get("DATAVER_CRASH_SEED")


@pytest.fixture
def seed():
    value = int(_SEED or random.randrange(1 << 30))
    print(f"DATAVER_CRASH_SEED={value}")
    return value


def base_repo(tmp_path_factory, scale: H.Scale) -> str:
    """A repo with the dataset added and committed, built once per session and scale."""
    key = (scale.files, scale.big_mb)
    if key not in _BASES:
        _BASES[key] = S.init_repo(tmp_path_factory.mktemp("crash-base") / "repo", scale)
    return _BASES[key]


@pytest.fixture
def harness(tmp_path_factory, tmp_path, seed, monkeypatch):
    """``make(scale) -> Harness`` on a fresh copy of the base repo (the cwd)."""
    def make(scale: H.Scale = SCALE) -> H.Harness:
        repo = S.copy_repo(base_repo(tmp_path_factory, scale), tmp_path / "repo")
        monkeypatch.chdir(repo)
        return H.Harness(repo, seed)
    return make


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """`rclone serve s3` (tests/remotes/servers.py's launcher) over a directory this module
    knows, so objects can be checked behind the server's back."""
    from tests.remotes.servers import start_s3

    workdir = str(tmp_path_factory.mktemp("crash-s3"))
    server = start_s3(workdir)
    yield server, os.path.join(workdir, "s3-data")
    server.stop()


@pytest.fixture(params=["local", "s3"])
def remote(request, tmp_path):
    """``scale -> RemoteSpec`` and the scale to use with it."""
    if request.param == "local":
        return H.local_remote(str(tmp_path / "remote")), SCALE
    return H.s3_remote(*request.getfixturevalue("s3_server")), S3_SCALE


# --- random kills ---------------------------------------------------------------------------------
def run(scenario, h: H.Harness, *args) -> None:
    scenario(h, *args, KILLS)
    print("  summary:", h.summary())


def test_add_killed_at_random_moments(harness):
    run(S.add_scenario, harness())


def test_checkout_killed_at_random_moments(harness):
    run(S.checkout_scenario, harness())


def test_commit_killed_at_random_moments(harness):
    run(S.commit_scenario, harness())


def test_push_killed_at_random_moments(harness, remote):
    spec, scale = remote
    run(S.push_scenario, harness(scale), spec)


def test_fetch_and_pull_killed_at_random_moments(harness, remote):
    spec, scale = remote
    run(S.fetch_pull_scenario, harness(scale), spec)


def test_gc_killed_at_random_moments(harness, tmp_path):
    run(S.gc_scenario, harness(), H.local_remote(str(tmp_path / "remote")))


# --- workers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["add", "checkout"])
def test_workers_end_when_the_main_process_is_killed(harness, command):
    """SIGKILL to the main process alone while its forked workers run: the kernel tells them
    (PR_SET_PDEATHSIG), they are gone at once, and nothing is written after."""
    h = harness()
    if command == "add":
        shutil.rmtree(h.cache())
        args = ("add", "data")
    else:
        shutil.rmtree(Path(h.repo, "data"))
        args = ("checkout",)
    proc = H.start(h.repo, *args)

    def workers_running() -> bool:  # forked: same command line, another pid (not git, say)
        members = dict(m.split(" ", 1) for m in H.group_members(proc.pid))
        main = members.get(str(proc.pid))
        return any(pid != str(proc.pid) and cmd == main for pid, cmd in members.items())

    result = H.kill(proc, args, "main", when=workers_running)
    assert result.landed, f"{args} finished before it forked a worker: make the dataset bigger"
    assert not result.survivors, result.survivors
    before = H.tree(Path(h.repo, "data")) if command == "checkout" else H.scan(h.cache()).temps
    time.sleep(0.3)  # a worker still writing would show now
    after = H.tree(Path(h.repo, "data")) if command == "checkout" else H.scan(h.cache()).temps
    assert before == after, "files changed after the command and its workers were gone"
    H.check_store(h.cache(), "cache")
    h.rerun(*args)
    h.assert_clean()


# --- temp files of killed transfers ---------------------------------------------------------------
@pytest.mark.parametrize("command", ["push", "fetch", "pull"])
def test_temp_files_of_a_killed_transfer_are_removed_by_the_next_run(harness, tmp_path, command):
    """Kill a transfer while the big file is in a temp file (on the remote for push, in the cache
    for fetch/pull); the next run of the same command leaves no temp file anywhere."""
    h = harness()
    spec = H.local_remote(str(tmp_path / "remote"))
    H.configure(h.repo, spec)
    needed = H.needed_objects(h.repo)
    big = next(o for o in needed if _is_big(h, o))
    if command == "push":
        watch = Path(spec.root, "files", "md5", big[:2])
    else:
        h.rerun("push")
        watch = Path(h.cache(), "files", "md5", big[:2])

    def temp_exists() -> bool:
        try:
            return any(n.startswith(big[2:]) and n.endswith(".tmp") for n in os.listdir(watch))
        except FileNotFoundError:
            return False

    for _attempt in range(3):  # the poll may miss the moment on a busy machine: try again
        if command == "push":
            spec.wipe()
        else:
            shutil.rmtree(h.cache())
            if command == "pull":
                shutil.rmtree(Path(h.repo, "data"))
        result = H.kill(H.start(h.repo, command), (command,), "main", when=temp_exists)
        assert not result.survivors, result.survivors
        if result.landed:
            break
    assert result.landed, f"`dataver {command}` was never caught with a temp file"
    left = H.scan(spec.root).temps + H.scan(h.cache()).temps
    assert left, "the kill left no temp file to clean up"
    h.rerun(command)
    H.check_store(h.cache(), "cache", needed)
    H.check_store(spec.root, "remote", needed)
    leftovers = H.scan(spec.root).temps + H.scan(h.cache()).temps
    assert not leftovers, f"after `dataver {command}` ran again, temp files remain: {leftovers}"


def _is_big(h: H.Harness, oid: str) -> bool:
    path = os.path.join(h.cache(), "files", "md5", oid[:2], oid[2:])
    return os.path.getsize(path) > 1 << 20


# --- SIGTERM and leftovers ------------------------------------------------------------------------
def terminate_at_work(repo, *args) -> int:
    """Start dataver ARGS, send SIGTERM once it holds the repo lock and is at work; its exit
    code."""
    proc = H.start(repo, *args)
    lock = Path(repo, ".dvc", "tmp", "lock")

    def at_work() -> bool:
        return lock.exists() and str(proc.pid) in lock.read_text()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not at_work() and proc.poll() is None:
        time.sleep(0.005)
    time.sleep(0.05)  # into the work, which takes a few tenths of a second
    result = H.kill(proc, args, "main", delay=0, sig=signal.SIGTERM)
    assert not result.survivors, result.survivors
    if not result.landed:
        pytest.fail(f"{args} finished before SIGTERM arrived: make the dataset bigger")
    return result.code


def test_sigterm_cleans_up_and_exits_143(harness):
    h = harness()
    shutil.rmtree(h.cache())
    Path(h.repo, "data.dvc").unlink()
    assert terminate_at_work(h.repo, "add", "data") == 143
    found = H.check_store(h.cache(), "cache")
    assert not found.temps, "SIGTERM left temp files in the cache"
    assert not Path(h.repo, "data.dvc").exists()
    h.rerun("add", "data")
    h.assert_clean()
    expected = H.tree(Path(h.repo, "data"))
    shutil.rmtree(Path(h.repo, "data"))
    assert terminate_at_work(h.repo, "checkout") == 143
    leftovers = [rel for rel in H.tree(Path(h.repo, "data")) if H.WORKSPACE_TEMP.search(rel)]
    assert not leftovers, "SIGTERM left temp files in the workspace"
    h.rerun("checkout")
    assert H.tree(Path(h.repo, "data")) == expected
    h.assert_clean()


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
    stray = repo_dir / ".dvc" / "cache" / "files" / "md5" / "0c" / \
        "c175b9c0f1b6a831c399e269772661.1234abcd.tmp"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"partial")
    (repo_dir / "data" / "a.txt").unlink()
    proc = run_cli("checkout", cwd=repo_dir)
    assert proc.returncode == 0, proc.stderr
    assert (repo_dir / "data" / "a.txt").read_text() == "a"
    (repo_dir / "data" / "b.txt").write_text("b")
    assert run_cli("add", "data", cwd=repo_dir).returncode == 0
    H.Harness(repo_dir, 0).assert_clean()
    git(repo_dir, "status")
