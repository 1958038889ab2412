"""A cheap check that a cache object is unchanged since it was stored or last verified.

Objects are immutable, yet their bytes can change: an in-place edit of a workspace file that is
a hardlink or symlink to the cache (DVC's best-known way to corrupt a cache), a tool that writes
into the cache, a disk fault. Hashing every object before each use would cost what adding it
cost, so instead each object carries a *tag* in its modification time: when dataver stores or
verifies an object it sets the sub-second part of the mtime to a value derived from the object
id and the file's size. Any write to the file sets the mtime to the current time, which carries
the right tag with odds of one in a million; a truncation changes the size the tag was computed
from. So one ``stat`` tells an unchanged object from a changed one, with no record to load.

The tag is in whole microseconds so that it survives file systems that keep timestamps to the
microsecond; the seconds stay the time of storing, so ``ls -l`` shows nothing odd. An object
without a valid tag (written by DVC, by an older dataver, or changed since) is not trusted until
it is hashed again. Where the tag cannot be written (a file owned by someone else in a shared
cache, a file system with coarse timestamps), the caller records the verified stat elsewhere.

What the tag cannot see: a change that keeps size and mtime (a disk fault below the file system,
a tool that restores the mtime after writing). ``dataver cache verify`` hashes everything.
"""
from __future__ import annotations

import os
import time
import zlib

_UNIT = 1000  # ns per tag step: microseconds
_STEPS = 1_000_000  # tag values per second


def tag_ns(oid: str, size: int) -> int:
    """The sub-second part, in ns, of the mtime of a verified object ``oid`` of ``size`` bytes."""
    return (zlib.crc32(f"{oid}:{size}".encode("ascii", "replace")) % _STEPS) * _UNIT


def is_tagged(st: os.stat_result, oid: str) -> bool:
    """Whether the stat ``st`` of object ``oid`` carries the tag of an unchanged object."""
    return st.st_mtime_ns % 1_000_000_000 == tag_ns(oid, st.st_size)


def tagged_mtime(oid: str, size: int) -> int:
    """An mtime (ns) of about now that carries the tag of object ``oid`` of ``size`` bytes: one
    second back, so it never lies in the future however large the tag."""
    return (time.time_ns() // 1_000_000_000 - 1) * 1_000_000_000 + tag_ns(oid, size)


def tag_fd(fd: int, oid: str, size: int) -> int:
    """Tag the open file ``fd`` as object ``oid`` of ``size`` bytes; returns the mtime set.
    Raises OSError where the time may not be set (a file owned by someone else)."""
    mtime = tagged_mtime(oid, size)
    os.utime(fd, ns=(mtime, mtime))
    return mtime


def tag_path(path: str, oid: str, size: int) -> int:
    """Tag the file ``path`` (not following symlinks) as :func:`tag_fd` does."""
    mtime = tagged_mtime(oid, size)
    os.utime(path, ns=(mtime, mtime), follow_symlinks=False)
    return mtime
