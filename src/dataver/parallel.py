"""Running per-file work in parallel: a thread pool, or worker processes where the OS allows.

Per-file work (hash, copy into the cache, copy out to the workspace) is a few syscalls and some
Python per file. Threads overlap the syscalls, but they hand the GIL back and forth around every
one of them, and on 20,000 small files that hand-over costs as much CPU as the work itself.
Forked workers each run their share serially, with a GIL of their own.
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Callable

_SMALL_WORK = 16 << 20
_FEW_ITEMS = 8  # of unknown size


def default_jobs() -> int:
    """Worker threads for hashing and copying: I/O bound, so more than the core count."""
    return max(4, min(32, (os.cpu_count() or 1) * 4))


def spread_map(fn: Callable, items: list, sizes: list[int] | None = None) -> list:
    """``[fn(x) for x in items]``, spread for speed. ``sizes``: the bytes each item touches,
    if known (else a few items count as small work).

    Small work (under 16 MiB) runs here: a thread pool (~10 ms to start) or a fork costs more
    than it saves there. Larger work goes to one worker process per core when :func:`can_fork`
    (results must then be marshal-able: str, int, tuples...), else to a thread pool. ``fn``
    must not touch open databases: a worker is a copy of this process.
    """
    small = len(items) < _FEW_ITEMS if sizes is None else sum(sizes) < _SMALL_WORK
    if small or len(items) < 2:
        return [fn(x) for x in items]
    if sizes is None:
        sizes = [1] * len(items)
    procs = min(fork_procs(), len(items))
    if procs > 1:
        return fork_map(fn, items, sizes, procs)
    return parallel_map(fn, items)


def parallel_map(fn: Callable, items: list, jobs: int | None = None) -> list:
    """``[fn(x) for x in items]`` in a thread pool. On the first error, or Ctrl-C/SIGTERM, the
    queued work is cancelled and running calls finish (cleaning their temp files) before the
    exception propagates: an interrupted command stops promptly and leaves nothing half-written."""
    if len(items) <= 1 or jobs == 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor  # lazy: it drags in logging

    from collections import deque

    workers = min(jobs or default_jobs(), len(items))
    pool = ThreadPoolExecutor(max_workers=workers)
    # A bounded window of futures, not one per item up front (pool.map): 200,000 pending
    # futures would hold hundreds of MB.
    window = max(64, workers * 16)
    pending: deque = deque()
    results = []
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                results.append(pending.popleft().result())
        while pending:
            results.append(pending.popleft().result())
        return results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def can_fork() -> bool:
    """Whether worker processes may be forked: Linux, and no other thread in this process,
    Python's or native (a library host's OpenMP pool, say). A fork copies only the calling
    thread, so a lock another thread held would stay held forever in the worker."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: Python's own threads are all we can see
        threading = sys.modules.get("threading")
        return threading is None or threading.active_count() == 1


def fork_procs() -> int:
    """How many processes :func:`fork_map` should share work among here: one per core this
    process may run on, or 1 where workers cannot be forked."""
    if not can_fork():
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def fork_map(fn: Callable, items: list, sizes: list[int], procs: int) -> list:
    """``[fn(x) for x in items]`` with the items shared by size among ``procs`` processes: this
    one and ``procs - 1`` forked workers. Each result comes back through a pipe (marshal).

    The first error (a worker's is re-raised here, same type and message) stops the other
    workers with SIGTERM, which each turns into KeyboardInterrupt so its temp files are
    cleaned; Ctrl-C reaches every process of the group. No worker outlives this call.
    """
    shares = _shares(sizes, procs)
    workers: list[tuple[int, int, list[int]]] = []  # (pid, read end of its pipe, item indexes)
    results: list = [None] * len(items)
    try:
        for indexes in shares[1:]:
            if indexes:
                workers.append(_fork_worker(fn, [items[i] for i in indexes], indexes))
        for i in shares[0]:
            results[i] = fn(items[i])
        while workers:
            pid, fd, indexes = workers.pop(0)  # reaped by _collect, whatever it raises
            values = _collect(pid, fd)
            for i, value in zip(indexes, values):
                results[i] = value
        return results
    finally:
        _stop(workers)


def _shares(sizes: list[int], procs: int) -> list[list[int]]:
    """Item indexes per process, each item to the least-loaded share so far (in order, so a
    share keeps the items' locality)."""
    shares: list[list[int]] = [[] for _ in range(procs)]
    loads = [0] * procs
    for i, size in enumerate(sizes):
        k = loads.index(min(loads))
        shares[k].append(i)
        loads[k] += size + 4096  # an item costs something even when empty
    return shares


def _fork_worker(fn: Callable, items: list, indexes: list[int]) -> tuple[int, int, list[int]]:
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 1
        try:
            os.close(read_fd)
            code = _work(fn, items, write_fd, parent)
        finally:
            os._exit(code)  # no atexit handlers, no flushing the parent's buffers
    os.close(write_fd)
    return pid, read_fd, indexes


def _work(fn: Callable, items: list, write_fd: int, parent: int) -> int:
    import marshal
    import signal

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _end_with(parent)
        payload, code = b"R" + marshal.dumps([fn(x) for x in items]), 0
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        payload, code = b"E" + _pickled(exc), 1
    view = memoryview(payload)
    while view:
        view = view[os.write(write_fd, view):]
    return code


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt()


def _end_with(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when ``parent`` ends, even by SIGKILL: no
    orphan goes on writing into the cache or workspace after the command is gone."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM
    except (OSError, AttributeError):  # no prctl: the parent still stops us on errors
        pass
    if os.getppid() != parent:  # it ended before prctl took effect
        raise KeyboardInterrupt()


def _pickled(exc: BaseException) -> bytes:
    import pickle

    if not isinstance(exc, KeyboardInterrupt) and hasattr(exc, "add_note"):
        import traceback  # where in the worker it happened, for the report of a bug

        exc.add_note("".join(traceback.format_exception(exc)).rstrip())
    try:
        data = pickle.dumps(exc)
        pickle.loads(data)
        return data
    except Exception:  # noqa: BLE001 - an exception that won't travel: send its text
        return pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))


def _collect(pid: int, fd: int) -> list:
    """The worker's results; raises its error."""
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    payload = b"".join(chunks)
    if payload[:1] == b"R":
        import marshal

        return marshal.loads(payload[1:])
    if payload[:1] == b"E":
        import pickle

        raise pickle.loads(payload[1:])
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (2, 15):  # SIGINT, SIGTERM
        raise KeyboardInterrupt()
    raise RuntimeError(f"a worker process ended without a result (wait status {status})")


def _stop(workers: list[tuple[int, int, list[int]]]) -> None:
    """Stop and reap workers still running after an error here."""
    for pid, _fd, _ in workers:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
    for pid, fd, _ in workers:
        try:
            while os.read(fd, 1 << 20):  # drain, so a worker blocked on a full pipe can end
                pass
        finally:
            os.close(fd)
            os.waitpid(pid, 0)
