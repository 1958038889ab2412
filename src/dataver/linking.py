"""Materialising a cache object at a workspace path: reflink, hardlink, symlink or copy, tried in
the configured order with fallback (as DVC does). Every link lands via a temp name + rename."""
from __future__ import annotations

import errno
import os
import re
import shutil
import stat

from dataver.errors import LinkError
from dataver.hashing import copy_range
from dataver.paths import temp_base

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EPERM, errno.ENOSYS,
                errno.EMLINK}


_TMP_SUFFIX = ".dvtmp"
_TMP_NAME = re.compile(r"\.[0-9a-f]{8}\.dvtmp$")
_TMP_TAIL = len(".01234567.dvtmp")


def tmp_path_for(dest: str) -> str:
    """The temp name a link is made under before it is renamed to ``dest``: ``dest`` plus
    ``.<8 hex>.dvtmp``, with the name of ``dest`` shortened when that would not fit in a name
    (see paths.temp_base; errors.user_path maps either back to ``dest``, or to the start of
    its name)."""
    return f"{temp_base(dest, _TMP_TAIL)}.{os.urandom(4).hex()}{_TMP_SUFFIX}"


def is_link_tmp(name: str) -> bool:
    """Whether ``name`` is a temp file of ours (left behind only if a process was killed)."""
    return name.endswith(_TMP_SUFFIX) and _TMP_NAME.search(name) is not None


def remove_stale_tmp(dest: str) -> None:
    """Delete temp files a killed checkout left next to ``dest``."""
    import glob

    for path in glob.glob(glob.escape(temp_base(dest, _TMP_TAIL)) + ".*" + _TMP_SUFFIX):
        if is_link_tmp(path):
            _unlink_quiet(path)


class LinkUnsupported(OSError):
    """This link type does not work between the cache and the workspace."""


def reflink(src: str, dst: str) -> None:
    """Copy-on-write clone (btrfs, xfs, ...); raises LinkUnsupported elsewhere."""
    import fcntl

    with open(src, "rb") as fin:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.ioctl(fd, FICLONE, fin.fileno())
        except OSError as exc:
            os.close(fd)
            os.unlink(dst)
            raise LinkUnsupported(exc.errno, "reflink not supported") from None
        os.close(fd)


def hardlink(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            raise LinkUnsupported(exc.errno, "hardlink not supported") from None
        raise


def symlink(src: str, dst: str) -> None:
    try:
        os.symlink(src, dst)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            raise LinkUnsupported(exc.errno, "symlink not supported") from None
        raise


def copy(src: str, dst: str) -> None:
    """Copy ``src`` to the new file ``dst`` in the kernel (copy_file_range); the new file gets
    0o666 & ~umask, like DVC's copies."""
    sfd = os.open(src, os.O_RDONLY)
    try:
        dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            copy_fd(sfd, dfd)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)


_COPY_CHUNK = 1 << 30


def copy_fd(src_fd: int, dst_fd: int) -> None:
    """Copy everything from ``src_fd`` to the empty ``dst_fd`` (in the kernel where it can)."""
    offset = 0
    while (done := copy_range(src_fd, dst_fd, offset, _COPY_CHUNK)) == _COPY_CHUNK:
        offset += done


class _Unnamed:
    """O_TMPFILE support (Linux): a file written without a name and linked into place once
    complete, so neither a crash nor an error leaves a partial or a stray temp file behind."""

    proc_fd: int | None = None  # /proc/self/fd of the process that opened it
    usable = hasattr(os, "O_TMPFILE")

    @classmethod
    def forget_proc_fd(cls) -> None:
        # In a forked worker the inherited descriptor still names the parent's fd table: a
        # link through it would pick up whatever the parent has open under that number.
        if cls.proc_fd is not None:
            os.close(cls.proc_fd)
            cls.proc_fd = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Unnamed.forget_proc_fd)


def open_unnamed(directory: str, mode: int = 0o666) -> int | None:
    """A read-write fd for a new file without a name in ``directory`` (readable, so what was
    written can be hashed back through a mapping); None where unsupported (then write a temp
    file and rename it)."""
    if not _Unnamed.usable:
        return None
    try:
        if _Unnamed.proc_fd is None:
            _Unnamed.proc_fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
        return os.open(directory or ".", os.O_TMPFILE | os.O_RDWR, mode)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.EACCES, errno.ENOTDIR) and _Unnamed.proc_fd is not None:
            raise  # the directory itself is the problem
        _Unnamed.usable = False  # no /proc, or a file system without O_TMPFILE
        return None


def link_unnamed(fd: int, dest: str, replace: bool = True) -> bool:
    """Give the unnamed file ``fd`` the name ``dest``. An existing ``dest`` is replaced
    atomically, or with ``replace=False`` left alone (returns False)."""
    try:
        os.link(str(fd), dest, src_dir_fd=_Unnamed.proc_fd, follow_symlinks=True)
        return True
    except FileExistsError:
        if not replace:
            return False
    tmp = tmp_path_for(dest)
    os.link(str(fd), tmp, src_dir_fd=_Unnamed.proc_fd, follow_symlinks=True)
    try:
        os.replace(tmp, dest)
    except BaseException:
        _unlink_quiet(tmp)
        raise
    return True


def _copy_into_place(src: str, dest: str, isexec: bool) -> bool:
    """Copy ``src`` to ``dest`` through an unnamed file; False if the platform can't."""
    dfd = open_unnamed(os.path.dirname(dest))
    if dfd is None:
        return False
    try:
        sfd = os.open(src, os.O_RDONLY)
        try:
            copy_fd(sfd, dfd)
        finally:
            os.close(sfd)
        if isexec:
            os.fchmod(dfd, os.fstat(dfd).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        link_unnamed(dfd, dest)
    finally:
        os.close(dfd)
    return True


LINKERS = {"reflink": reflink, "hardlink": hardlink, "symlink": symlink, "copy": copy}


class Linker:
    """Links cache objects into the workspace with the first link type that works."""

    def __init__(self, types: list[str]):
        self.types = list(types) or ["copy"]
        self._working: str | None = None

    def settle(self, cache_path: str, dest: str) -> str:
        """Find (once) the first configured link type that works from the cache to ``dest``'s
        directory, by linking ``cache_path`` to a temp name there; later links use it directly.
        Raises LinkError (naming ``dest``) when none works."""
        probe = tmp_path_for(dest)
        last_error: OSError | None = None
        for kind in self.types if self._working is None else ():
            if kind == "copy":  # always works; no need to copy (maybe gigabytes) to find out
                self._working = kind
                break
            try:
                LINKERS[kind](cache_path, probe)
            except LinkUnsupported as exc:
                last_error = exc
                continue
            finally:
                _unlink_quiet(probe)
            self._working = kind
            break
        if self._working is None:
            raise self._no_link_error(dest, last_error)
        return self._working

    def link(self, cache_path: str, dest: str, isexec: bool = False) -> str:
        """Place ``cache_path`` at ``dest`` atomically; returns the link type used."""
        if self._working == "copy" and _copy_into_place(cache_path, dest, isexec):
            return "copy"
        tmp = tmp_path_for(dest)
        candidates = [self._working] if self._working else self.types
        last_error: OSError | None = None
        for kind in candidates:
            try:
                LINKERS[kind](cache_path, tmp)
                if isexec and kind in ("copy", "reflink"):
                    os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                elif isexec:  # a link shares the cache object's mode: DVC makes it 0o544
                    os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR)
                os.replace(tmp, dest)
                if kind == "hardlink":
                    # rename(2) between two links to one file does nothing and keeps both names:
                    # relinking a file that already is a hardlink of the object would leave tmp
                    _unlink_quiet(tmp)
            except LinkUnsupported as exc:
                last_error = exc
                continue
            except BaseException:  # (an error naming ``tmp`` names ``dest``: errors.user_path)
                _unlink_quiet(tmp)
                raise
            self._working = kind
            return kind
        raise self._no_link_error(dest, last_error)

    def _no_link_error(self, dest: str, last_error: OSError | None) -> LinkError:
        reason = os.strerror(last_error.errno) if last_error and last_error.errno else "unsupported"
        return LinkError(
            f"no link type of cache.type={','.join(self.types)} works from the cache to '{dest}' "
            f"({reason})", hint="add copy to cache.type, e.g. cache.type = hardlink,copy")


def make_writable_copy(path: str) -> None:
    """Replace ``path`` (a link into the cache) with an independent writable copy (unprotect)."""
    tmp = tmp_path_for(path)
    shutil.copyfile(path, tmp)
    mode = os.stat(path).st_mode
    os.chmod(tmp, (mode | stat.S_IWUSR | stat.S_IRUSR) & 0o777)
    os.replace(tmp, path)


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
