"""`unprotect`: make outputs linked from the cache (hardlink/symlink, mode 0444) editable.

Each file that is a symlink or has other hard links is replaced, via a temp copy and a rename,
by an independent copy; every file then gets the normal writable mode (0666 & ~umask, or 0664
with ``cache.shared = group``), as DVC does. Unlike DVC, an executable file keeps its exec bits.
"""
from __future__ import annotations

import os
import stat

from dataver.errors import TargetError
from dataver.linking import make_writable_copy


def unprotect(repo, targets: list[str]) -> list[str]:
    """Unprotect every file of each target (files or directories); returns the absolute paths."""
    paths = []
    for target in targets:
        abspath = os.path.abspath(target)
        if not os.path.exists(abspath):
            raise TargetError("can't unprotect non-existing data", path=target,
                              hint="check the path, or run `dataver checkout` first")
        paths.append(abspath)
    with repo.lock:
        for abspath in paths:
            unprotect_path(repo, abspath)
        repo.state.flush()
    return paths


def file_mode(repo) -> int:
    """The mode of a writable workspace file, as DVC sets it."""
    if repo.config.get("cache", "shared") == "group":
        return 0o664
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def unprotect_path(repo, abspath: str) -> None:
    """Unprotect one file, or every file below a directory."""
    mode = file_mode(repo)
    if os.path.isdir(abspath) and not os.path.islink(abspath):
        for dirpath, _dirs, files in os.walk(abspath):
            for name in files:
                _unprotect_file(repo, os.path.join(dirpath, name), mode)
    else:
        _unprotect_file(repo, abspath, mode)


def _unprotect_file(repo, path: str, mode: int) -> None:
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return
    is_link = stat.S_ISLNK(before.st_mode) or before.st_nlink > 1
    if stat.S_ISLNK(before.st_mode) and not os.path.exists(path):
        raise TargetError("broken symlink", path=path, hint="run `dataver checkout` to restore it")
    exec_bits = os.stat(path).st_mode & 0o111
    if is_link:
        oid = _known_oid(repo, path)
        make_writable_copy(path)
        if oid is not None:  # same bytes: the state DB need not re-read them
            _remember(repo, path, oid)
    os.chmod(path, mode | exec_bits)


def _known_oid(repo, path: str):
    from dataver.state import Stat

    try:
        return repo.state.get(repo.hasher._key(path), Stat.of(os.stat(path)))
    except OSError:
        return None


def _remember(repo, path: str, oid: str) -> None:
    from dataver.state import Stat

    repo.state.set(repo.hasher._key(path), Stat.of(os.stat(path)), oid)
