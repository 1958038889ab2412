"""One long-lived `git cat-file --batch` process per repository: resolving revisions and reading
git objects costs a pipe round trip instead of a new git process each (a few milliseconds apiece,
which add up to a large part of a `diff` between two revisions)."""
from __future__ import annotations

import subprocess
import threading
import weakref


class CatFile:
    """Object lookups by any name git understands (``v1^{commit}``, ``<sha>``, ``<rev>:<path>``).
    The process starts on first use and ends with :meth:`close` (or when this is collected)."""

    def __init__(self, root: str):
        self.root = root
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()  # one request/response exchange at a time

    def _start(self) -> subprocess.Popen:
        if self._proc is None:
            self._proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.root,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL)
            weakref.finalize(self, _stop, self._proc)
        return self._proc

    def get_many(self, names: list[str]) -> list[tuple[str, str, bytes] | None]:
        """``(sha, type, content)`` for each name, None for one git does not know. Names that
        cannot be sent on one line are answered None without asking."""
        asked = [n for n in names if _sendable(n)]
        with self._lock:
            proc = self._start()
            request = "".join(f"{n}\n" for n in asked).encode("utf-8", "surrogateescape")
            # write from a thread: a long request and git's answers would otherwise fill both
            # pipes and wait on each other
            writer = threading.Thread(target=_write, args=(proc, request))
            writer.start()
            try:
                answers = {n: _read_one(proc) for n in asked}
            finally:
                writer.join()
        return [answers.get(n) for n in names]

    def close(self) -> None:
        """End the git process (idempotent)."""
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None


def _sendable(name: str) -> bool:
    return bool(name) and "\n" not in name and not name.startswith("-")


def _write(proc: subprocess.Popen, data: bytes) -> None:
    try:
        proc.stdin.write(data)
        proc.stdin.flush()
    except (OSError, ValueError):  # git died: the reader sees the end of its output and says so
        pass


def _read_one(proc: subprocess.Popen) -> tuple[str, str, bytes] | None:
    header = proc.stdout.readline()
    if not header:
        raise OSError("git cat-file ended unexpectedly")
    parts = header.split()
    if len(parts) != 3:  # "<name> missing" or "<name> ambiguous"
        return None
    size = int(parts[2])
    data = proc.stdout.read(size + 1)[:-1]  # content, then a newline
    return parts[0].decode(), parts[1].decode(), data


def _stop(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()
        proc.wait(timeout=5)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()
    finally:
        proc.stdout.close()
