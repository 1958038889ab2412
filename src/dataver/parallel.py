"""Running per-file work in parallel: a thread pool, or worker processes where the OS allows.

Per-file work (hash, copy into the cache, copy out to the workspace) is a few syscalls and some
Python per file. Threads overlap the syscalls, but they hand the GIL back and forth around every
one of them, and on 20,000 small files that hand-over costs as much CPU as the work itself.
Forked workers each run their share serially, with a GIL of their own.

Progress: given a :class:`Tally` (only when a bar may be drawn), each way of running counts
finished items as they finish, at most every :data:`REPORT_EVERY` seconds; a forked worker
sends its count to this process through the pipe its results come back on. Without one, the
work runs exactly as it would with no progress at all.
"""
from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Callable

_SMALL_WORK = 16 << 20
_FEW_ITEMS = 8  # of unknown size
REPORT_EVERY = 0.1  # seconds between counts of finished items (a bar redraws at most as often)


class Tally:
    """Counts finished items into a Progress: ``files[i]`` files (default 1) and ``nbytes[i]``
    bytes (default 0) for item ``i``. Made only when the Progress is live."""

    __slots__ = ("progress", "files", "nbytes", "reported", "next_at")

    def __init__(self, progress, files: list[int] | None = None, nbytes: list[int] | None = None):
        self.progress = progress
        self.files = files
        self.nbytes = nbytes
        self.reported = 0  # items counted so far, of a run that finishes them in order
        self.next_at = 0.0

    def due(self) -> bool:
        """Whether it is time to count again (then the next time is set)."""
        now = time.monotonic()
        if now < self.next_at:
            return False
        self.next_at = now + REPORT_EVERY
        return True

    def add(self, indexes) -> None:
        """Count the items ``indexes`` as finished (none: only lets time show on the bar)."""
        files = len(indexes) if self.files is None else sum([self.files[i] for i in indexes])
        nbytes = 0 if self.nbytes is None else sum([self.nbytes[i] for i in indexes])
        self.progress.advance(files, nbytes)

    def upto(self, done: int, order: list[int] | None = None, now: bool = False) -> bool:
        """The first ``done`` items of a run (in the order ``order``, else 0, 1, ...) have
        finished: count the new ones if it is time (or ``now``). Whether it counted."""
        if not now and not self.due():
            return False
        start, self.reported = self.reported, done
        self.add(range(start, done) if order is None else order[start:done])
        return True


def tally_for(progress, files: list[int] | None = None, nbytes: list[int] | None = None):
    """A :class:`Tally` for ``progress`` if it may draw, else None (nothing is counted)."""
    return Tally(progress, files, nbytes) if progress is not None and progress.live else None


def default_jobs() -> int:
    """Worker threads for hashing and copying: I/O bound, so more than the core count."""
    return max(4, min(32, (os.cpu_count() or 1) * 4))


def spread_map(fn: Callable, items: list, sizes: list[int] | None = None, progress=None) -> list:
    """``[fn(x) for x in items]``, spread for speed. ``sizes``: the bytes each item touches,
    if known (else a few items count as small work). ``progress`` (a live Progress) advances
    by one file and its size per finished item while the work runs.

    Small work (under 16 MiB) runs here: a thread pool (~10 ms to start) or a fork costs more
    than it saves there. Larger work goes to one worker process per core when :func:`can_fork`
    (results must then be marshal-able: str, int, tuples...), else to a thread pool. ``fn``
    must not touch open databases: a worker is a copy of this process.
    """
    tally = tally_for(progress, nbytes=sizes)
    small = len(items) < _FEW_ITEMS if sizes is None else sum(sizes) < _SMALL_WORK
    if small or len(items) < 2:
        return serial_map(fn, items, tally)
    if sizes is None:
        sizes = [1] * len(items)
    procs = min(fork_procs(), len(items))
    if procs > 1:
        return fork_map(fn, items, sizes, procs, tally)
    return parallel_map(fn, items, tally=tally)


def serial_map(fn: Callable, items: list, tally: Tally | None = None) -> list:
    """``[fn(x) for x in items]`` here, counting finished items into ``tally``."""
    if tally is None:
        return [fn(x) for x in items]
    results = []
    for x in items:
        results.append(fn(x))
        tally.upto(len(results))
    tally.upto(len(results), now=True)
    return results


def parallel_map(fn: Callable, items: list, jobs: int | None = None,
                 tally: Tally | None = None) -> list:
    """``[fn(x) for x in items]`` in a thread pool. On the first error, or Ctrl-C/SIGTERM, the
    queued work is cancelled and running calls finish (cleaning their temp files) before the
    exception propagates: an interrupted command stops promptly and leaves nothing half-written."""
    if len(items) <= 1 or jobs == 1:
        return serial_map(fn, items, tally)
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
                if tally is not None:
                    tally.upto(len(results))
        while pending:
            results.append(pending.popleft().result())
            if tally is not None:
                tally.upto(len(results))
        if tally is not None:
            tally.upto(len(results), now=True)
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


def fork_map(fn: Callable, items: list, sizes: list[int], procs: int,
             tally: Tally | None = None) -> list:
    """``[fn(x) for x in items]`` with the items shared by size among ``procs`` processes: this
    one and ``procs - 1`` forked workers. Each result comes back through a pipe (marshal).
    With a ``tally``, the workers also send how many items they have done, as they go.

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
                workers.append(_fork_worker(fn, [items[i] for i in indexes], indexes,
                                            tally is not None))
        if tally is None:
            for i in shares[0]:
                results[i] = fn(items[i])
        else:  # collects the workers too
            _share_counting(fn, items, shares[0], results, workers, tally)
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


def _fork_worker(fn: Callable, items: list, indexes: list[int],
                 count: bool = False) -> tuple[int, int, list[int]]:
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 1
        try:
            os.close(read_fd)
            code = _work(fn, items, write_fd, parent, count)
        finally:
            os._exit(code)  # no atexit handlers, no flushing the parent's buffers
    os.close(write_fd)
    return pid, read_fd, indexes


def _work(fn: Callable, items: list, write_fd: int, parent: int, count: bool) -> int:
    import marshal
    import signal

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _end_with(parent)
        results = _work_counting(fn, items, write_fd) if count else [fn(x) for x in items]
        payload, code = b"R" + marshal.dumps(results), 0
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        payload, code = b"E" + _pickled(exc), 1
    view = memoryview(payload)
    while view:
        view = view[os.write(write_fd, view):]
    return code


def _work_counting(fn: Callable, items: list, write_fd: int) -> list:
    """A worker's ``[fn(x) for x in items]``, sending the parent ``b"P"`` and the number of
    items done (8 bytes) every :data:`REPORT_EVERY` seconds, ahead of the results."""
    results = []
    next_at = time.monotonic() + REPORT_EVERY
    for x in items:
        results.append(fn(x))
        now = time.monotonic()
        if now >= next_at:
            os.write(write_fd, b"P" + len(results).to_bytes(8, "little"))  # atomic: < PIPE_BUF
            next_at = now + REPORT_EVERY
    return results


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
    return _decode(b"".join(chunks), status)


def _decode(payload: bytes, status: int) -> list:
    """A worker's results from what it sent and its wait status; raises its error."""
    if payload[:1] == b"R":
        import marshal

        return marshal.loads(payload[1:])
    if payload[:1] == b"E":
        import pickle

        raise pickle.loads(payload[1:])
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (2, 15):  # SIGINT, SIGTERM
        raise KeyboardInterrupt()
    raise RuntimeError(f"a worker process ended without a result (wait status {status})")


def _share_counting(fn: Callable, items: list, own: list[int], results: list,
                    workers: list[tuple[int, int, list[int]]], tally: Tally) -> None:
    """fork_map's work here when progress is counted: this process's share, reading the
    workers' counts now and then in between, then each worker's results as they come in.
    Reaped workers leave ``workers``."""
    feeds = {fd: _Feed(indexes) for _pid, fd, indexes in workers}
    for n, i in enumerate(own, 1):
        results[i] = fn(items[i])
        if tally.upto(n, own):
            _read_feeds(workers, feeds, results, tally, 0)
    tally.upto(len(own), own, now=True)
    while workers:
        _read_feeds(workers, feeds, results, tally, REPORT_EVERY)
        tally.add(())  # time goes on even while nothing finishes


class _Feed:
    """What one worker sent so far, when it counts: ``b"P"`` and a count of items done (8
    bytes), any number of times, then ``b"R"`` or ``b"E"`` and its payload up to the end."""

    __slots__ = ("indexes", "done", "head", "chunks")

    def __init__(self, indexes: list[int]):
        self.indexes = indexes
        self.done = 0  # items counted
        self.head = b""  # a count cut short by a read
        self.chunks: list[bytes] | None = None  # the payload, once it began

    def take(self, chunk: bytes, tally: Tally) -> None:
        if self.chunks is not None:
            self.chunks.append(chunk)
            return
        data, pos = self.head + chunk, 0
        while data[pos:pos + 1] == b"P" and len(data) - pos >= 9:
            done = int.from_bytes(data[pos + 1:pos + 9], "little")
            tally.add(self.indexes[self.done:done])
            self.done, pos = done, pos + 9
        rest = data[pos:]
        if rest[:1] in (b"R", b"E"):
            self.chunks, self.head = [rest], b""
        else:
            self.head = rest

    def payload(self) -> bytes:
        return b"".join(self.chunks) if self.chunks is not None else self.head


def _read_feeds(workers: list[tuple[int, int, list[int]]], feeds: dict, results: list,
                tally: Tally, timeout: float) -> None:
    """Read what the workers sent (waiting up to ``timeout`` seconds for any); a worker that
    is done is reaped and its results put in place, or its error raised."""
    import select

    poller = select.poll()
    for _pid, fd, _indexes in workers:
        poller.register(fd, select.POLLIN)
    for fd, _event in poller.poll(timeout * 1000):
        feed = feeds[fd]
        chunk = os.read(fd, 1 << 20)
        if chunk:
            feed.take(chunk, tally)
            continue
        worker = next(w for w in workers if w[1] == fd)
        workers.remove(worker)  # reaped here, whatever happens next
        try:
            os.close(fd)
        finally:
            _, status = os.waitpid(worker[0], 0)
        values = _decode(feed.payload(), status)
        for i, value in zip(feed.indexes, values):
            results[i] = value
        tally.add(feed.indexes[feed.done:])


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
