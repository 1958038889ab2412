"""Progress reporting. Operations call a ``Progress``; the CLI decides whether anything is shown
(bars only on a TTY, never with -q). The default does nothing."""
from __future__ import annotations

import sys
import threading
import time


class Progress:
    """Silent progress: the interface operations call."""

    def start(self, desc: str, total_files: int, total_bytes: int = 0) -> None:
        """A new phase begins (e.g. "Pushing" 120 files, 3 GB)."""

    def advance(self, files: int = 1, nbytes: int = 0) -> None:
        """``files`` more done, ``nbytes`` more transferred. Thread-safe."""

    def finish(self) -> None:
        """The current phase ended."""


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n}"


class TtyProgress(Progress):
    """One self-overwriting line on stderr: files done/total, bytes, rate; at most 10 redraws/s."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()
        self.desc, self.total, self.total_bytes = "", 0, 0
        self.done = self.nbytes = 0
        self.began = self.drawn = 0.0

    def start(self, desc: str, total_files: int, total_bytes: int = 0) -> None:
        with self.lock:
            self.desc, self.total, self.total_bytes = desc, total_files, total_bytes
            self.done = self.nbytes = 0
            self.began, self.drawn = time.monotonic(), 0.0
            self._draw()

    def advance(self, files: int = 1, nbytes: int = 0) -> None:
        with self.lock:
            self.done += files
            self.nbytes += nbytes
            now = time.monotonic()
            if now - self.drawn >= 0.1 or self.done >= self.total:
                self.drawn = now
                self._draw()

    def _draw(self) -> None:
        width = 24
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * width)
        elapsed = max(time.monotonic() - self.began, 1e-6)
        size = f" {_size(self.nbytes)}" + (f"/{_size(self.total_bytes)}" if self.total_bytes else "")
        rate = f" {_size(self.nbytes / elapsed)}/s" if self.nbytes else ""
        line = f"\r{self.desc} [{bar:<{width}}] {self.done}/{self.total} files{size}{rate}"
        self.stream.write(line + "\033[K")
        self.stream.flush()

    def finish(self) -> None:
        with self.lock:
            if self.total:
                self._draw()
            self.stream.write("\r\033[K")
            self.stream.flush()


def for_cli(quiet: bool) -> Progress:
    """A TTY progress bar unless quiet or stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        return Progress()
    return TtyProgress()
