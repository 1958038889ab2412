"""Content hashing: streaming md5, DVC 2.x legacy md5-dos2unix, and hashing many files at once."""
from __future__ import annotations

import errno
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


def md5_file(path: str | os.PathLike, name: str = MD5, progress=None) -> str:
    """Stream ``path`` through md5. ``name`` is ``md5`` (raw bytes) or ``md5-dos2unix`` (DVC 2.x).
    ``progress``: advanced by the bytes read, as they are read."""
    digest = new_md5()
    if name == LEGACY:
        with open(path, "rb") as fobj:
            _update_dos2unix(digest, fobj, progress)
        return digest.hexdigest()
    return md5_stream(path, progress=progress)


def md5_stream(path: str | os.PathLike, out_fd: int | None = None, size: int | None = None,
               progress=None) -> str:
    """md5 of the raw bytes of ``path``; with ``out_fd`` (empty, open for reading and writing),
    every byte is also written there, and the md5 is that of exactly the bytes written. ``size``:
    the file's size if the caller knows it (saves a ``stat`` per file; it only chooses how to
    copy). ``progress``: advanced by the bytes hashed, as they are (pass one only for a large
    file: see :func:`dataver.progress.file_phase`)."""
    digest = new_md5()
    with open(path, "rb", buffering=0) as fobj:
        if out_fd is not None and size is None:
            size = os.fstat(fobj.fileno()).st_size
        if out_fd is not None and size >= _KERNEL_COPY_SIZE:
            _hash_kernel_copy(fobj.fileno(), out_fd, digest, progress)
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
                if progress is not None:
                    progress.advance(0, n)
        finally:
            give_buffer(buf)
    return digest.hexdigest()


_KERNEL_COPY_SIZE = 64 << 20
_MAP_CHUNK = 32 << 20  # a multiple of the page size: each mapping starts where one ended


def write_all(fd: int, data) -> None:
    """Write all of ``data`` (bytes or a memoryview) to ``fd``."""
    done = 0
    while done < len(data):
        done += os.write(fd, data[done:])


def _hash_kernel_copy(src_fd: int, out_fd: int, digest, progress=None) -> None:
    """Copy ``src_fd`` to ``out_fd`` in the kernel (copy_file_range), chunk by chunk, while this
    thread hashes each chunk of the copy once it is written, through a read-only mapping. A
    large file's bytes never pass through a Python buffer, copying overlaps hashing, and the
    digest is that of the stored bytes even if the source changes meanwhile."""
    import mmap
    import queue
    import threading

    copied: queue.Queue = queue.Queue()  # offsets copied so far, then None, or an exception
    stop: list[bool] = []

    def copy() -> None:
        offset = 0
        try:
            while not stop:
                done = copy_range(src_fd, out_fd, offset, _MAP_CHUNK)
                offset += done
                if done:
                    copied.put(offset)
                if done < _MAP_CHUNK:
                    break
        except BaseException as exc:  # noqa: BLE001 - re-raised by the hashing thread
            copied.put(exc)
            return
        copied.put(None)

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    hashed = 0
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    try:
        while (item := copied.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            with mmap.mmap(out_fd, item - hashed, flags, mmap.PROT_READ, offset=hashed) as chunk:
                digest.update(chunk)
            if progress is not None:
                progress.advance(0, item - hashed)
            hashed = item
    finally:
        stop.append(True)
        thread.join()


def copy_range(src_fd: int, out_fd: int, offset: int, count: int) -> int:
    """Copy ``count`` bytes at ``offset`` (fewer at the end of the file) to the same offset of
    ``out_fd``, in the kernel where it can (copy_file_range), else by hand; the number copied."""
    done = 0
    while done < count:
        at = offset + done
        step = 0
        if _Kernel.copy_file_range:
            try:
                step = os.copy_file_range(src_fd, out_fd, count - done, at, at)
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY:
                    raise
                _Kernel.copy_file_range = False
        if not _Kernel.copy_file_range:
            data = os.pread(src_fd, min(count - done, CHUNK), at)
            step = len(data)
            _write_all_at(out_fd, data, at)
        if not step:
            break
        done += step
    return done


def _write_all_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


class _Kernel:
    copy_file_range = hasattr(os, "copy_file_range")


# copy_file_range errors that mean "not here" (across file systems, say): copy by hand instead
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


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


def _update_dos2unix(digest, fobj, progress=None) -> None:
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
        if progress is not None:
            progress.advance(0, len(chunk))


def md5_files(paths: list[str], sizes: list[int], name: str = MD5, progress=None) -> dict[str, str]:
    """Hash many files in parallel (``sizes``: theirs, to share the work); ``{path: md5}``.
    ``progress`` advances per file hashed."""
    from dataver.parallel import spread_map

    return dict(zip(paths, spread_map(lambda p: md5_file(p, name), paths, sizes, progress)))
