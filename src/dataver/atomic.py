"""Atomic small-file writes: a temp file in the same directory, then ``os.replace``. A crash or
Ctrl-C leaves either the old file or the new one, never a half-written one."""
from __future__ import annotations

import os

from dataver.paths import temp_base


def write_text_atomic(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, ``\\n`` line ends kept as they are)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``; the temp file never outlives an exception or interrupt."""
    tail = f".{os.getpid()}.{os.urandom(3).hex()}.dataver.tmp"  # unique per thread too
    tmp = temp_base(path, len(tail)) + tail  # the name of a long path shortened to fit
    try:
        with open(tmp, "wb") as fobj:
            fobj.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def load_marshal(path: str):
    """The object marshalled in the file at ``path``, or None when it is missing or unreadable.
    For machine-local caches under ``.dvc/tmp``: anything odd is a miss, rebuilt by the caller."""
    import marshal

    try:
        with open(path, "rb") as fobj:
            return marshal.loads(fobj.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None


def save_marshal(path: str, obj) -> None:
    """Write ``obj`` marshalled to ``path`` atomically, creating its directory. Best effort: a
    read-only or full disk only costs the speed-up such a cache file gives."""
    import marshal

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_bytes_atomic(path, marshal.dumps(obj))
    except OSError:
        pass
