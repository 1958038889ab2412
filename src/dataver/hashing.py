"""Content hashing: streaming md5, DVC 2.x legacy md5-dos2unix, and parallel hashing.

hashlib releases the GIL for buffers over 2 KiB, so a thread pool hashes several files at once.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Callable, Iterable

CHUNK = 1 << 20  # 1 MiB, the chunk size DVC 2.x used for dos2unix hashing
LEGACY = "md5-dos2unix"
MD5 = "md5"

# Characters a text block may contain; anything else counts towards "binary".
_TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"


def is_text_block(block: bytes) -> bool:
    """Guess whether ``block`` is text, the way DVC 2.x decided whether to convert CRLF."""
    if not block:
        return True
    if b"\x00" in block:
        return False
    nontext = block.translate(None, _TEXT_CHARS)
    return len(nontext) / len(block) <= 0.30


def new_md5(data: bytes = b""):
    """A hashlib md5 object. hashlib is imported on first use: loading OpenSSL is ~3 ms of
    start-up that a no-op `status` or an `api.read` from the cache never needs."""
    import hashlib

    return hashlib.md5(data)


def md5_bytes(data: bytes) -> str:
    """md5 hex digest of ``data``."""
    return new_md5(data).hexdigest()


def fingerprint(data: bytes) -> str:
    """A digest for change-detection stamps, never for content addresses: blake2b from CPython's
    own module, which loads without OpenSSL."""
    try:
        from _blake2 import blake2b
    except ImportError:  # an interpreter built without it
        from hashlib import blake2b
    return blake2b(data, digest_size=16).hexdigest()


def md5_file(path: str | os.PathLike, name: str = MD5) -> str:
    """Stream ``path`` through md5. ``name`` is ``md5`` (raw bytes) or ``md5-dos2unix`` (DVC 2.x)."""
    digest = new_md5()
    if name == LEGACY:
        with open(path, "rb") as fobj:
            _update_dos2unix(digest, fobj)
        return digest.hexdigest()
    return md5_stream(path)


def md5_stream(path: str | os.PathLike, out_fd: int | None = None, size: int | None = None) -> str:
    """md5 of the raw bytes of ``path``; with ``out_fd``, every byte is also written there (a
    copy that reads the file once). ``size``: the file's size if the caller knows it (saves a
    ``stat`` per file; it only chooses how to copy)."""
    digest = new_md5()
    with open(path, "rb", buffering=0) as fobj:
        if out_fd is not None and size is None:
            size = os.fstat(fobj.fileno()).st_size
        if out_fd is not None and size >= _OVERLAP_SIZE:
            _copy_overlapped(fobj, out_fd, digest)
            return digest.hexdigest()
        buf = take_buffer()
        try:
            view = memoryview(buf)
            while True:
                n = fobj.readinto(buf)
                if not n:
                    break
                digest.update(view[:n])
                if out_fd is not None:
                    _write_all(out_fd, view[:n])
        finally:
            give_buffer(buf)
    return digest.hexdigest()


_OVERLAP_SIZE = 64 << 20


def _write_all(fd: int, data: memoryview) -> None:
    done = 0
    while done < len(data):
        done += os.write(fd, data[done:])


def _copy_overlapped(fobj, out_fd: int, digest) -> None:
    """Hash ``fobj`` into ``digest`` while a second thread writes each chunk to ``out_fd``.
    md5 and write both release the GIL, so a large file costs about the longer of the two
    instead of their sum. The bytes written are exactly the bytes hashed (same buffer)."""
    import queue
    import threading

    queued: queue.Queue = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def write() -> None:
        while (chunk := queued.get()) is not None:
            if not failed:  # after a failure, only drain so the reader never blocks
                try:
                    _write_all(out_fd, chunk)
                except BaseException as exc:  # noqa: BLE001 - re-raised by the reader
                    failed.append(exc)

    # one buffer being filled, one being written, two queued: none is reused while in use
    buffers = [bytearray(CHUNK) for _ in range(4)]
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        turn = 0
        while not failed:
            buf = buffers[turn % len(buffers)]
            turn += 1
            n = fobj.readinto(buf)
            if not n:
                break
            view = memoryview(buf)[:n]
            digest.update(view)
            queued.put(view)
    finally:
        queued.put(None)
        writer.join()
    if failed:
        raise failed[0]


# Read buffers are reused: a fresh 1 MiB bytearray is zero-filled on creation, which costs more
# than hashing a 32 KB file. list.pop/append are atomic, so worker threads can share the pool.
_BUFFERS: list[bytearray] = []


def take_buffer() -> bytearray:
    """A CHUNK-sized buffer for streaming a file; hand it back with :func:`give_buffer`."""
    try:
        return _BUFFERS.pop()
    except IndexError:
        return bytearray(CHUNK)


def give_buffer(buf: bytearray) -> None:
    _BUFFERS.append(buf)


def _update_dos2unix(digest, fobj) -> None:
    # DVC 2.x decided text-or-binary once, from the file's first 512 bytes, then replaced CRLF in
    # each 1 MiB read (a CRLF split across two reads stays). DVC 3 re-decides per chunk, so it
    # disagrees with 2.x on a few large files; 2.x wrote these hashes, so its rule is the one here.
    text = None
    while True:
        chunk = fobj.read(CHUNK)
        if not chunk:
            return
        if text is None:
            text = is_text_block(chunk[:512])
        digest.update(chunk.replace(b"\r\n", b"\n") if text else chunk)


def default_jobs() -> int:
    """Worker threads for hashing and copying: I/O bound, so more than the core count."""
    return max(4, min(32, (os.cpu_count() or 1) * 4))


_SMALL_WORK = 16 << 20


def jobs_for(total_bytes: int, jobs: int | None = None) -> int:
    """Worker threads for work on ``total_bytes``: one (no pool) below 16 MiB, where a thread
    pool's start-up (~10 ms) costs more than the parallel work saves; else ``jobs`` or the
    default."""
    return 1 if total_bytes < _SMALL_WORK else jobs or default_jobs()


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


def md5_files(
    paths: Iterable[str],
    name: str = MD5,
    jobs: int | None = None,
    on_done: Callable[[str, str], None] | None = None,
) -> dict[str, str]:
    """Hash many files in parallel; returns ``{path: md5}``. ``on_done(path, md5)`` runs per file."""
    paths = list(paths)
    if not paths:
        return {}
    result = dict(zip(paths, parallel_map(lambda p: md5_file(p, name), paths, jobs)))
    if on_done:
        for path, oid in result.items():
            on_done(path, oid)
    return result
