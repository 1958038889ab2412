"""Spreading per-file work over threads or forked worker processes."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from dataver import parallel
from dataver.parallel import fork_map, parallel_map, spread_map


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_parallel_map_keeps_order_and_stops_on_error():
    assert parallel_map(lambda x: x * 2, list(range(50)), 4) == [x * 2 for x in range(50)]
    calls = []

    def boom(x):
        calls.append(x)
        if x == 3:
            raise ValueError("bad item")
        return x

    with pytest.raises(ValueError, match="bad item"):
        parallel_map(boom, list(range(10000)), 2)
    assert len(calls) < 10000  # queued work was cancelled


def test_fork_map_shares_work_and_keeps_order():
    items = list(range(300))
    sizes = [1 << 20 if i % 7 == 0 else 100 for i in items]
    results = fork_map(lambda x: (x * 3, os.getpid()), items, sizes, 3)
    assert [value for value, _ in results] == [x * 3 for x in items]
    pids = {pid for _, pid in results}
    assert len(pids) == 3 and os.getpid() in pids  # this process does a share too
    assert all(_reaped(pid) for pid in pids - {os.getpid()})


def test_shares_are_balanced_by_size():
    sizes = [100 << 20] + [1 << 20] * 200
    shares = parallel._shares(sizes, 2)
    loads = [sum(sizes[i] for i in share) for share in shares]
    assert sorted(i for share in shares for i in share) == list(range(len(sizes)))
    assert abs(loads[0] - loads[1]) <= 2 << 20
    assert all(share == sorted(share) for share in shares)  # order kept within a share


def test_worker_error_is_raised_here_with_its_type_and_fields(tmp_path):
    pids = tmp_path / "pids"

    def work(x):
        if os.getpid() != parent:
            with open(pids, "a") as fobj:
                fobj.write(f"{os.getpid()}\n")
            raise PermissionError(errno.EACCES, "Permission denied", f"/data/{x}")
        return x

    parent = os.getpid()
    with pytest.raises(PermissionError) as info:
        fork_map(work, list(range(10)), [1] * 10, 2)
    assert info.value.errno == errno.EACCES and info.value.filename.startswith("/data/")
    worker = int(pids.read_text().split()[0])
    assert _reaped(worker)


def test_error_here_stops_the_workers(tmp_path):
    """The first error in this process's share stops the workers (SIGTERM) before their share
    is done, and no worker outlives the call."""
    done = tmp_path / "done"
    parent = os.getpid()

    def work(x):
        if os.getpid() == parent:
            time.sleep(0.3)  # the workers have started
            raise ValueError("bad here")
        time.sleep(0.05)
        with open(done, "a") as fobj:
            fobj.write(f"{os.getpid()} {x}\n")
        return x

    with pytest.raises(ValueError, match="bad here"):
        fork_map(work, list(range(400)), [1] * 400, 2)
    lines = done.read_text().splitlines()
    assert 0 < len(lines) < 200
    assert _reaped(int(lines[0].split()[0]))


def test_unpicklable_worker_error_still_reported():
    class Local(Exception):  # a local class does not pickle
        pass

    def work(x):
        if os.getpid() != parent:
            raise Local("odd failure")
        return x

    parent = os.getpid()
    with pytest.raises(RuntimeError, match="Local: odd failure"):
        fork_map(work, [1, 2, 3, 4], [1] * 4, 2)


def test_small_work_stays_in_this_process(monkeypatch):
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    assert set(spread_map(lambda x: os.getpid(), list(range(50)), [1000] * 50)) == {os.getpid()}
    assert set(spread_map(lambda x: os.getpid(), list(range(5)))) == {os.getpid()}
    if parallel.fork_procs() > 1:
        big = spread_map(lambda x: os.getpid(), list(range(50)), [1 << 20] * 50)
        assert len(set(big)) > 1


def test_no_fork_while_other_threads_run():
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not parallel.can_fork()
    finally:
        stop.set()
        thread.join()


def test_unnamed_files_link_right_in_forked_workers(tmp_path):
    """A worker links its own unnamed files, not whatever the parent holds under the same fd
    number (the parent has already used /proc/self/fd before forking)."""
    from dataver.linking import link_unnamed, open_unnamed

    def put(i: int) -> int:
        fd = open_unnamed(str(tmp_path))
        try:
            os.write(fd, f"item {i}".encode())
            link_unnamed(fd, str(tmp_path / f"f{i}"))
        finally:
            os.close(fd)
        return os.getpid()

    put(-1)
    pids = fork_map(put, list(range(20)), [1] * 20, 2)
    assert len(set(pids)) == 2
    for i in range(-1, 20):
        assert (tmp_path / f"f{i}").read_bytes() == f"item {i}".encode()


def test_workers_end_when_the_command_is_killed(tmp_path):
    """SIGKILL to the command (no chance to clean up) still ends its workers: the kernel sends
    them SIGTERM, so no orphan goes on writing."""
    pids = tmp_path / "pids"
    script = f"""
import os, time
from dataver.parallel import fork_map
def work(x):
    with open({str(pids)!r}, "a") as fobj:
        fobj.write(f"{{os.getpid()}}\\n")
    time.sleep(60)
fork_map(work, [1, 2], [1, 1], 2)
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(set(_read_pids(pids))) < 2:
            time.sleep(0.02)
        worker = next(pid for pid in _read_pids(pids) if pid != proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.02)
    assert not _alive(worker)


def _read_pids(path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped by init."""
    try:
        with open(f"/proc/{pid}/stat") as fobj:
            return fobj.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_worker_error_carries_its_traceback():
    def work(x):
        if os.getpid() != parent:
            {}["missing"]
        return x

    parent = os.getpid()
    with pytest.raises(KeyError) as info:
        fork_map(work, [1, 2], [1, 1], 2)
    notes = "".join(getattr(info.value, "__notes__", []))
    assert "in work" in notes and '{}["missing"]' in notes
