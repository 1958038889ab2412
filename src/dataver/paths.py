"""Validation of relative paths that come from untrusted input (manifests, .dvc files), and the
file system's limits on the length of names and paths."""
from __future__ import annotations

import os
import posixpath
import re
import sys

from dataver.errors import PathTooLongError, UnsafePathError

_DRIVE = re.compile(r"^[A-Za-z]:")


def check_relpath(relpath: object, where: str) -> str:
    """Return ``relpath`` if it is a safe relative POSIX path inside its base, else raise.

    Refuses non-strings, empty paths, NUL bytes, absolute paths, drive letters, backslashes that
    would act as separators on Windows, and any ``..``, ``.`` or empty component (a canonical
    manifest never has them, and ``a/./b`` would name the same file as ``a/b``).
    """
    if not isinstance(relpath, str) or not relpath:
        raise UnsafePathError(f"invalid path {display(repr(relpath))}", path=where,
                              hint="the file is corrupt")
    bad = (
        "\x00" in relpath
        or relpath.startswith("/")
        or _DRIVE.match(relpath) is not None
        or "\\" in relpath
        or any(part in ("..", ".", "") for part in relpath.split("/"))
    )
    if bad:
        raise UnsafePathError(
            f"path {display(relpath)!r} escapes the workspace", path=where, hint="refusing to use it"
        )
    return relpath


def check_out_path(path: object, where: str) -> str:
    """Validate an output ``path`` from a .dvc file: relative, may not climb above the repo root.

    DVC allows ``../`` in output paths only to reach the parent of the .dvc file; dataver accepts
    components that stay inside the repo, which the caller checks after resolving.
    """
    if not isinstance(path, str) or not path or "\x00" in path:
        raise UnsafePathError(f"invalid output path {display(repr(path))}", path=where,
                              hint="fix the .dvc file")
    if path.startswith("/") or _DRIVE.match(path):
        raise UnsafePathError(
            f"output path {display(path)!r} is absolute", path=where,
            hint="use a path relative to the .dvc file"
        )
    if "\\" in path:  # a separator on Windows: the same file would be somewhere else there
        raise UnsafePathError(f"output path {display(path)!r} has a backslash", path=where,
                              hint="separate folders with '/'")
    return posixpath.normpath(path)


# Limits of Linux (and of most file systems elsewhere): a name holds at most NAME_MAX bytes, a
# path handed to the kernel at most PATH_MAX - 1.
NAME_MAX = 255
PATH_MAX = 4096
_SHORTENED = 9  # "~" and 8 hex digits of the full name's md5


def temp_base(path: str, tail_len: int) -> str:
    """``path``, or the same path with its last name shortened so that ``tail_len`` more bytes
    still fit in NAME_MAX: a temp name is the destination's name plus a tail, and a destination
    may be named with all 255 bytes. A shortened name is a prefix plus ``~`` and 8 hex digits
    of the full name's md5, so the temp names of two long names sharing a prefix stay apart and
    each destination always gets the same base (to find what a killed process left)."""
    head, name = path.rpartition("/")[::2]
    if len(name) * 4 + tail_len <= NAME_MAX:  # no need to encode: the usual, short name
        return path
    raw = os.fsencode(name)
    if len(raw) + tail_len <= NAME_MAX:
        return path
    import hashlib

    keep = max(NAME_MAX - tail_len - _SHORTENED, 1)
    prefix = raw[:keep].decode("utf-8", "ignore")  # never split a character
    digest = hashlib.md5(raw).hexdigest()[:8]
    return f"{head}/{prefix}~{digest}" if "/" in path else f"{prefix}~{digest}"


def byte_len(text: str) -> int:
    """The length of ``text`` as a file name or path, in bytes (what the limits count)."""
    return len(os.fsencode(text))


def name_too_long(name: str, extra: int = 0) -> bool:
    """Whether ``name`` (one path component) plus ``extra`` bytes exceeds NAME_MAX."""
    return byte_len(name) + extra > NAME_MAX


def fits(path: str) -> bool:
    """Whether the kernel takes ``path`` (absolute) whole: shorter than PATH_MAX bytes."""
    return len(path) * 4 < PATH_MAX or byte_len(path) < PATH_MAX


def check_fits(base: str, relpaths, where: str) -> None:
    """Raise PathTooLongError unless every ``base/relpath`` can be created here: no name longer
    than NAME_MAX bytes and no path of PATH_MAX bytes or more. A checkout calls this before it
    writes anything, so one that could not complete does not start.

    Only relpaths long enough to break a limit are looked at closely: for the usual dataset
    this is one ``len`` per entry."""
    room = (PATH_MAX - 1 - byte_len(base) - 1) // 4
    short = min(NAME_MAX // 4, room)
    for rel in relpaths:
        if len(rel) <= short:
            continue
        for name in rel.split("/"):
            if name_too_long(name):
                raise PathTooLongError(
                    f"name {display(name)!r} in {where} is longer than this file system allows "
                    f"({byte_len(name)} bytes, at most {NAME_MAX})",
                    hint="rename it where it was added, or use a system that allows such names")
        if not fits(f"{base}/{rel}"):
            raise PathTooLongError(
                f"path {display(rel)!r} in {where} is too long for this system "
                f"(at most {PATH_MAX - 1} bytes with the output's own path)",
                hint="check it out in a shorter folder, or shorten its folders where it was added")


def check_creatable(abspath: str, manifest=None) -> None:
    """Raise PathTooLongError unless the output at ``abspath`` (with the files of ``manifest``,
    for a directory) can be created on this system: checked before anything is written."""
    rel = os.path.relpath(abspath)
    check_fits(os.path.dirname(abspath), [os.path.basename(abspath)], where=f"'{display(rel)}'")
    if manifest is not None:
        check_fits(abspath, manifest.entries, where=f"directory '{display(rel)}'")


def make_dirs(path: str) -> None:
    """``os.makedirs(path, exist_ok=True)`` without recursion: os.makedirs calls itself once per
    missing folder, and Python's recursion limit (1000) is below the depth a path of PATH_MAX
    bytes can reach (2047 folders)."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except FileExistsError:
            if not os.path.isdir(folder):  # a file in the way: say so, as os.makedirs does
                raise


def walk_files(top: str):
    """The paths of everything but folders below ``top``, as ``os.walk`` lists them (symlinked
    folders neither listed nor entered; folders that cannot be read skipped), without recursion:
    os.walk calls itself once per level in Python 3.11 and fails below 1000 levels."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue
        for entry in entries:
            if not _is_dir(entry):
                yield entry.path
            elif not entry.is_symlink():
                stack.append(entry.path)


def _is_dir(entry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def remove_tree(top: str, onerror=None) -> None:
    """``shutil.rmtree(top, onerror=onerror)`` without recursion (shutil's calls itself once
    per level in Python 3.11): files first, then each folder once it is empty, deepest first.
    ``onerror(func, path, exc_info)`` is called for what fails, as shutil calls it; without it
    the error is raised."""
    if os.path.islink(top):
        raise OSError(f"Cannot call rmtree on a symbolic link: {top!r}")
    stack = [(top, False)]
    while stack:
        folder, emptied = stack.pop()
        if emptied:
            _remove(os.rmdir, folder, onerror)
            continue
        stack.append((folder, True))
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            _failed(os.scandir, folder, onerror)
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, False))
            else:
                _remove(os.unlink, entry.path, onerror)


def _remove(func, path: str, onerror) -> None:
    try:
        func(path)
    except OSError:
        _failed(func, path, onerror)


def _failed(func, path: str, onerror) -> None:
    """In an ``except`` block: hand the error to ``onerror``, or raise it without one."""
    if onerror is None:
        raise  # the error being handled by the caller
    onerror(func, path, sys.exc_info())


def display(text: str, limit: int = 80) -> str:
    """``text``, its middle elided when longer than ``limit`` characters (a message naming a
    path of 10,000 characters is still one readable line)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit * 2 // 3]}...{text[-(limit // 3):]}"
