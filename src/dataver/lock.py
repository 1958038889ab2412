"""Repository lock: ``.dvc/tmp/lock`` held with flock, the file and call DVC's lock uses, so
dataver and dvc never write the same repo at once."""
from __future__ import annotations

import fcntl
import os
import time

from dataver.errors import LockError


class RepoLock:
    """Exclusive lock on a repo; waits up to ``timeout`` seconds for another process."""

    def __init__(self, tmp_dir: str, timeout: float = 3.0):
        self.path = os.path.join(tmp_dir, "lock")
        self.timeout = timeout
        self._fd: int | None = None
        self._depth = 0

    def __enter__(self) -> "RepoLock":
        if self._depth == 0:
            self._acquire()
        self._depth += 1
        return self

    def _acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockError(
                        "the repository is locked by another dataver or dvc process",
                        path=self.path, hint="wait for it to finish",
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f" {os.getpid()}\n".encode())
        self._fd = fd

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
