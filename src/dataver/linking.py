"""Materialising a cache object at a workspace path: reflink, hardlink, symlink or copy, tried in
the configured order with fallback (as DVC does). Every link lands via a temp name + rename."""
from __future__ import annotations

import errno
import os
import re
import shutil
import stat

from dataver.errors import LinkError

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EPERM, errno.ENOSYS,
                errno.EMLINK}


_TMP_SUFFIX = ".dvtmp"
_TMP_NAME = re.compile(r"\.[0-9a-f]{8}\.dvtmp$")


def tmp_path_for(dest: str) -> str:
    """The temp name a link is made under before it is renamed to ``dest``."""
    return f"{dest}.{os.urandom(4).hex()}{_TMP_SUFFIX}"


def is_link_tmp(name: str) -> bool:
    """Whether ``name`` is a temp file of ours (left behind only if a process was killed)."""
    return name.endswith(_TMP_SUFFIX) and _TMP_NAME.search(name) is not None


def remove_stale_tmp(dest: str) -> None:
    """Delete temp files a killed checkout left next to ``dest``."""
    import glob

    for path in glob.glob(glob.escape(dest) + ".*" + _TMP_SUFFIX):
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
    # sendfile / copy_file_range on Linux; the new file gets 0o666 & ~umask, like DVC's copies.
    shutil.copyfile(src, dst)


LINKERS = {"reflink": reflink, "hardlink": hardlink, "symlink": symlink, "copy": copy}


class Linker:
    """Links cache objects into the workspace with the first link type that works."""

    def __init__(self, types: list[str]):
        self.types = list(types) or ["copy"]
        self._working: str | None = None

    @property
    def protected(self) -> bool:
        """Whether workspace files share the (read-only) cache inode."""
        return self._working in ("hardlink", "symlink") or (
            self._working is None and self.types[0] in ("hardlink", "symlink")
        )

    def link(self, cache_path: str, dest: str, isexec: bool = False) -> str:
        """Place ``cache_path`` at ``dest`` atomically; returns the link type used."""
        tmp = tmp_path_for(dest)
        candidates = [self._working] if self._working else self.types
        last_error: OSError | None = None
        for kind in candidates:
            try:
                LINKERS[kind](cache_path, tmp)
                if isexec and kind in ("copy", "reflink"):
                    os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                os.replace(tmp, dest)
            except LinkUnsupported as exc:
                last_error = exc
                continue
            except BaseException as exc:
                _unlink_quiet(tmp)
                if isinstance(exc, PermissionError) and exc.filename == tmp:
                    # name the file the user knows, not our temp name
                    raise PermissionError(exc.errno, exc.strerror, dest) from None
                raise
            self._working = kind
            return kind
        reason = os.strerror(last_error.errno) if last_error and last_error.errno else "unsupported"
        raise LinkError(
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
