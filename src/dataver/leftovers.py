"""Temp files a killed command leaves behind, and their removal by the next run.

Writes that must never be seen half-done go to a temp file that is renamed into place once
complete: objects fetched into the cache, uploads to remotes that can rename (local, SSH,
WebDAV). A command killed mid-way (SIGKILL, a power cut) leaves its temp files behind, and no
name tells whether a temp file belongs to a dead process or to one still running.

So a process that is about to make such files first registers: it creates
``<cache>/.dataver-running/<token>`` and holds an ``flock`` on it for as long as it lives (the
kernel drops the lock when the process dies, however it dies). Every temp file it makes carries
its token in its name (``<name>.<token><4 hex>.tmp``), and before each batch of uploads it
appends the remote's URL and the folders it writes in to its registration. The next command
that writes the cache or that remote (push, pull, fetch, gc, add, commit) finds registrations
that no process holds, deletes their tokens' temp files (listing the cache's folders, and the
recorded folders of the remote it has open), then the registration itself once nothing of it
is left. The registry lives in the cache, so every repository sharing a cache cleans it.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re

REGISTRY = ".dataver-running"
_TOKEN = re.compile(r"^[0-9a-f]{8}$")


def temp_name_pattern(token: str) -> re.Pattern:
    """What a temp file made under ``token`` is called (after its destination's name)."""
    return re.compile(rf"\.{token}[0-9a-f]{{4}}\.tmp$")


class Registration:
    """This process's registration in the cache ``root`` (made on first use)."""

    def __init__(self, root: str):
        self.root = root
        self.token = os.urandom(4).hex()
        self._fd: int | None = None
        self._owner = os.getpid()  # a forked worker uses its parent's token, never registers
        self._noted: set[tuple[str, str]] = set()
        self._unwritable = False

    @property
    def path(self) -> str:
        return os.path.join(self.root, REGISTRY, self.token)

    def temp_suffix(self) -> str:
        """A suffix for a new temp file of this process: ``.<token><4 hex>.tmp``."""
        self._register()
        return f".{self.token}{os.urandom(2).hex()}.tmp"

    def note_remote(self, url: str, folders) -> None:
        """Record that temp files may appear in ``folders`` of the remote at ``url``."""
        new = [(url, f) for f in sorted(set(folders)) if (url, f) not in self._noted]
        if not new:
            return
        self._register()
        if self._fd is not None:
            os.write(self._fd, "".join(f"{u}\t{f}\n" for u, f in new).encode("utf-8", "surrogateescape"))
        self._noted.update(new)

    def _register(self) -> None:
        if self._fd is not None or self._owner != os.getpid() or self._unwritable:
            return
        tmp = f"{self.path}.new"
        for _attempt in range(3):  # a cleaner may take the .new file in the instant before flock
            try:
                os.makedirs(os.path.dirname(tmp), exist_ok=True)
                fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
            except OSError:
                self._unwritable = True  # a cache we may not write: no temp files in it either
                return
            # Locked before it gets its name, so no other process sees it unheld while we live.
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                os.replace(tmp, self.path)
            except FileNotFoundError:
                os.close(fd)
                continue
            self._fd = fd
            return

    def close(self) -> None:
        """End the registration (this process has no temp files left)."""
        if self._fd is not None and self._owner == os.getpid():
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.close(self._fd)
        self._fd = None


def clean_dead(root: str, remote=None) -> int:
    """Delete the temp files of dead processes registered in the cache ``root`` (and, with
    ``remote``, those they left on it); returns how many files were deleted. Cheap when there is
    nothing to do: one listing of the registry."""
    folder = os.path.join(root, REGISTRY)
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return 0
    removed = 0
    for name in names:
        if not _TOKEN.match(name):
            if name.endswith(".new"):
                _remove_unheld(os.path.join(folder, name))
            continue
        removed += _clean_one(root, os.path.join(folder, name), name, remote)
    return removed


def _clean_one(root: str, path: str, token: str, remote) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return 0  # its process is alive
            raise
        pattern = temp_name_pattern(token)
        removed = _clean_cache(root, pattern)
        pending = _remote_folders(fd)
        if remote is not None and getattr(remote.backend, "writes_temp_files", False):
            removed += _clean_remote(remote, pattern, pending.pop(remote.url, set()))
        if any(pending.values()):
            _rewrite(fd, pending)  # other remotes: cleaned when a command opens them
        else:
            os.unlink(path)
        return removed
    finally:
        os.close(fd)


def _clean_cache(root: str, pattern: re.Pattern) -> int:
    removed = 0
    bases = [os.path.join(root, "files", "md5"), root]
    folders = list(bases) + [os.path.join(b, p) for b in bases for p in _listdir(b) if len(p) == 2]
    for folder in folders:
        for name in _listdir(folder):
            if pattern.search(name):
                removed += _unlink(os.path.join(folder, name))
    return removed


def _clean_remote(remote, pattern: re.Pattern, folders: set[str]) -> int:
    doomed = []
    for folder in sorted(folders):
        try:
            doomed += [key for key in remote.backend.list(folder) if pattern.search(key)]
        except Exception:  # noqa: BLE001 - unreachable now: leave it to a later run
            return 0
    if doomed:
        remote.backend.delete_many(doomed, remote.jobs)
    return len(doomed)


def _remote_folders(fd: int) -> dict[str, set[str]]:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    result: dict[str, set[str]] = {}
    for line in b"".join(chunks).decode("utf-8", "surrogateescape").splitlines():
        url, sep, folder = line.partition("\t")
        if sep and ".." not in folder.split("/"):  # untrusted like any file: stay below the root
            result.setdefault(url, set()).add(folder)
    return result


def _rewrite(fd: int, pending: dict[str, set[str]]) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    lines = [f"{url}\t{f}\n" for url, folders in sorted(pending.items()) for f in sorted(folders)]
    os.write(fd, "".join(lines).encode("utf-8", "surrogateescape"))


def _remove_unheld(path: str) -> None:
    """A registration that died before it got its name (``<token>.new``), if unheld."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def _unlink(path: str) -> int:
    try:
        os.unlink(path)
        return 1
    except FileNotFoundError:
        return 0
    except PermissionError:
        os.chmod(path, 0o644)
        os.unlink(path)
        return 1
