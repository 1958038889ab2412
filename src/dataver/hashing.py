"""Content hashing: streaming md5, DVC 2.x legacy md5-dos2unix, and hashing many files at once."""
from __future__ import annotations

import os

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
                    write_all(out_fd, view[:n])
        finally:
            give_buffer(buf)
    return digest.hexdigest()


_OVERLAP_SIZE = 64 << 20


def write_all(fd: int, data) -> None:
    """Write all of ``data`` (bytes or a memoryview) to ``fd``."""
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
                    write_all(out_fd, chunk)
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


def read_whole(path: str, buf: bytearray) -> int | None:
    """Read all of ``path`` into ``buf``; the length read, or None when it does not fit."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        view = memoryview(buf)
        done = 0
        while done < len(buf):
            got = os.readv(fd, [view[done:]])
            if not got:
                return done
            done += got
        return None
    finally:
        os.close(fd)


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


def md5_files(paths: list[str], sizes: list[int], name: str = MD5) -> dict[str, str]:
    """Hash many files in parallel (``sizes``: theirs, to share the work); ``{path: md5}``."""
    from dataver.parallel import spread_map

    return dict(zip(paths, spread_map(lambda p: md5_file(p, name), paths, sizes)))
