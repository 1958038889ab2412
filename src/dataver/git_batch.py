"""Git processes: one long-lived `git cat-file --batch` per repository (resolving revisions and
reading git objects costs a pipe round trip instead of a new git process each: a few
milliseconds apiece, which add up to a large part of a `diff` between two revisions), and
:func:`run` for other git commands.

Processes are started with ``os.posix_spawnp`` and plain pipes rather than ``subprocess``:
importing subprocess (with signal, threading, selectors and locale) is ~7 ms, a tenth of an
``api.read``.
"""
from __future__ import annotations

import os
import weakref
from _thread import allocate_lock

# Up to this many request bytes are written before reading any answer: a pipe buffers at least
# this much, so the write cannot wait on git while git waits on us to read its output.
_DIRECT_WRITE = 4096


class CatFile:
    """Object lookups by any name git understands (``v1^{commit}``, ``<sha>``, ``<rev>:<path>``).
    The process starts on first use and ends with :meth:`close` (or when this is collected)."""

    def __init__(self, root: str):
        self.root = root
        self._proc: _Process | None = None
        self._lock = allocate_lock()  # one request/response exchange at a time

    def _start(self) -> _Process:
        if self._proc is None:
            self._proc = _Process(["git", "-C", self.root, "cat-file", "--batch"])
            weakref.finalize(self, self._proc.stop)
        return self._proc

    def get_many(self, names: list[str]) -> list[tuple[str, str, bytes] | None]:
        """``(sha, type, content)`` for each name, None for one git does not know. Names that
        cannot be sent on one line are answered None without asking."""
        asked = [n for n in names if _sendable(n)]
        with self._lock:
            proc = self._start()
            request = "".join(f"{n}\n" for n in asked).encode("utf-8", "surrogateescape")
            writer = proc.send(request)
            try:
                answers = {n: _read_one(proc.stdout) for n in asked}
            finally:
                if writer is not None:
                    writer.join()
        return [answers.get(n) for n in names]

    def close(self) -> None:
        """End the git process (idempotent)."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None


class Completed:
    """What :func:`run` returns (the attributes of ``subprocess.CompletedProcess`` it needs)."""

    __slots__ = ("returncode", "stdout", "stderr")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run(root: str, args: list[str]) -> Completed:
    """Run ``git -C root *args`` to the end, with no input. stderr goes to an anonymous memory
    file (Linux), so however much git writes there it cannot block while stdout is read;
    elsewhere this falls back to subprocess."""
    argv = ["git", "-C", root, *args]
    if not hasattr(os, "memfd_create"):
        import subprocess

        proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, check=False)
        return Completed(proc.returncode, proc.stdout, proc.stderr)
    err_fd = os.memfd_create("git-stderr")  # close-on-exec: the child gets only its dup2 copy
    try:
        proc = _Process(argv, stdin=None, stderr=err_fd)
        try:
            with proc.stdout:
                out = proc.stdout.read()
        except BaseException:  # Ctrl-C while git runs: end it too, leave no zombie
            os.kill(proc.pid, 9)
            os.waitpid(proc.pid, 0)
            raise
        status = os.waitpid(proc.pid, 0)[1]
        os.lseek(err_fd, 0, os.SEEK_SET)
        with os.fdopen(err_fd, "rb", closefd=False) as err_file:
            err = err_file.read()
    finally:
        os.close(err_fd)
    return Completed(os.waitstatus_to_exitcode(status), out, err)


class _Process:
    """A child process with stdout on a pipe (``self.stdout``); stdin on a pipe
    (``self.stdin``) unless ``stdin`` is None (then /dev/null); stderr to the file descriptor
    ``stderr`` (default /dev/null)."""

    def __init__(self, argv: list[str], stdin: bool | None = True, stderr: int | None = None):
        # os.pipe() descriptors are non-inheritable: only the dup2'ed copies reach the child
        in_read, in_write = os.pipe() if stdin else (None, None)
        out_read, out_write = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, out_write, 1)]
        actions.append((os.POSIX_SPAWN_DUP2, in_read, 0) if stdin else
                       (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
        actions.append((os.POSIX_SPAWN_DUP2, stderr, 2) if stderr is not None else
                       (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0))
        try:
            self.pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
        except BaseException:
            for fd in (in_write, out_read):
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            for fd in (in_read, out_write):
                if fd is not None:
                    os.close(fd)
        self.stdin = os.fdopen(in_write, "wb") if stdin else None
        self.stdout = os.fdopen(out_read, "rb")
        self._stopped = False

    def send(self, data: bytes):
        """Write ``data`` to the child; returns the thread still writing it, if it is long (a
        long request and the child's answers would otherwise fill both pipes and wait on each
        other)."""
        if len(data) <= _DIRECT_WRITE:
            _write(self.stdin, data)
            return None
        import threading  # only for long requests: most lookups are a line or two

        writer = threading.Thread(target=_write, args=(self.stdin, data))
        writer.start()
        return writer

    def stop(self) -> None:
        """Close both pipes (the child sees the end of its input, and cannot block writing
        output no one reads), wait for it to end (killing it after 5 s), reap it."""
        if self._stopped:
            return
        self._stopped = True
        for pipe in (self.stdin, self.stdout):
            try:
                pipe.close()
            except OSError:  # the child already died: closing flushes nothing
                pass
        if not _wait(self.pid, 5.0):
            os.kill(self.pid, 9)  # SIGKILL, without importing signal
            os.waitpid(self.pid, 0)


def _wait(pid: int, timeout: float) -> bool:
    """Reap ``pid`` if it ends within ``timeout`` seconds; whether it did."""
    import time

    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _sendable(name: str) -> bool:
    return bool(name) and "\n" not in name and not name.startswith("-")


def _write(stdin, data: bytes) -> None:
    try:
        stdin.write(data)
        stdin.flush()
    except (OSError, ValueError):  # git died: the reader sees the end of its output and says so
        pass


def _read_one(stdout) -> tuple[str, str, bytes] | None:
    header = stdout.readline()
    if not header:
        raise OSError("git cat-file ended unexpectedly")
    parts = header.split()
    if len(parts) != 3:  # "<name> missing" or "<name> ambiguous"
        return None
    size = int(parts[2])
    data = stdout.read(size + 1)[:-1]  # content, then a newline
    return parts[0].decode(), parts[1].decode(), data
