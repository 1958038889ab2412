"""Progress reporting. Operations call a ``Progress``; the CLI decides whether anything is shown
(bars on a terminal only, never with -q). The default does nothing and costs next to nothing.

An operation reports in phases ("Hashing" 20,000 files, 640 MB) and advances a phase as work
finishes. Phases nest (``add`` of several targets: one phase over the targets, and the
scanning and caching of each directory inside it); a bar shows the innermost one.

The hot per-file loops (scanning, hashing, caching, checking out: see
:class:`dataver.parallel.Tally`) count only when :attr:`Progress.live`, so with the silent
default they make no call at all; elsewhere (a call per output, or per object gc removes) a
call to the silent default is an empty method.
"""
from __future__ import annotations

import os
import sys
import time

DELAY = 0.5  # seconds a phase runs before its bar is drawn: quick steps stay silent
REDRAW = 0.1  # seconds between redraws: at most 10 a second
DELAY_ENV = "DATAVER_PROGRESS_DELAY"  # overrides DELAY (tests draw at once with 0)
BIG_FILE = 64 << 20  # bytes: hashing a file this big takes ~0.1 s or more, worth a bar of its own


class Progress:
    """Silent progress: the interface operations call."""

    live = False  # whether anything may be drawn: callers count per file only when it is

    def start(self, desc: str, total_files: int, total_bytes: int = 0, unit: str = "files") -> None:
        """A new phase begins (e.g. "Pushing" 120 files, 3 GB), inside the current one if any.
        ``unit`` names what ``total_files`` counts."""

    def advance(self, files: int = 1, nbytes: int = 0) -> None:
        """``files`` more done, ``nbytes`` more processed in the current phase. Thread-safe.
        ``advance(0)`` lets a bar redraw (time goes on) while nothing finishes."""

    def finish(self) -> None:
        """The current phase ended (its bar, if drawn, is cleared)."""

    def phase(self, desc: str, total_files: int, total_bytes: int = 0,
              unit: str = "files") -> "_Phase":
        """``with progress.phase(...):`` start a phase, and finish it however the block ends:
        an error message must not land on the line of a bar."""
        return _Phase(self, desc, total_files, total_bytes, unit)


SILENT = Progress()  # for code whose caller passed no Progress


class _Phase:
    """The context manager :meth:`Progress.phase` returns."""

    __slots__ = ("progress", "args")

    def __init__(self, progress: Progress, *args) -> None:
        self.progress = progress
        self.args = args

    def __enter__(self) -> Progress:
        self.progress.start(*self.args)
        return self.progress

    def __exit__(self, *exc) -> None:
        self.progress.finish()


class _NoPhase:
    """What :func:`file_phase` gives for a file that gets no phase of its own."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        pass


_NO_PHASE = _NoPhase()


def file_phase(progress: Progress | None, desc: str, size: int):
    """``with file_phase(progress, "Hashing", size) as counter:`` a phase of its own for one
    file of ``size`` bytes, whose reading advances ``counter`` by the bytes read. ``counter``
    is None (nothing to count) unless ``progress`` is live and the file big: a phase per small
    file would only make the bar around it flicker."""
    if progress is None or not progress.live or size < BIG_FILE:
        return _NO_PHASE
    return _Phase(progress, desc, 1, size, "files")


class _State:
    """What a :class:`TtyProgress` knows of one phase."""

    __slots__ = ("desc", "total", "total_bytes", "unit", "files", "nbytes", "began", "due", "bar")

    def __init__(self, desc: str, total: int, total_bytes: int, unit: str, began: float,
                 delay: float) -> None:
        self.desc, self.total, self.total_bytes, self.unit = desc, total, total_bytes, unit
        self.files = self.nbytes = 0
        self.began = began
        self.due = began + delay  # when it may be drawn next
        self.bar = None  # a tqdm bar once drawn


# Bytes (when the phase knows how many) drive the bar, the rate and the time left: with large
# files they say more about what remains than a file count. The files count follows them.
_TIMES = " [{elapsed}<{remaining}, {rate_fmt}]"
_BYTES_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}B/{total_fmt}B{postfix}" + _TIMES
_COUNT_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n}/{total}{unit}" + _TIMES


class TtyProgress(Progress):
    """Bars on a terminal (tqdm): one self-overwriting line on stderr for the innermost phase,
    with files and bytes done, rate and time left.

    A phase is drawn only once it has run ``delay`` seconds, then at most every
    :data:`REDRAW` seconds, and only from :meth:`advance` (no timer thread: a thread in this
    process would keep :mod:`dataver.parallel` from forking workers). tqdm is imported on the
    first draw, so a command that finishes quickly never loads it.
    """

    live = True

    def __init__(self, stream=None, delay: float = DELAY):
        import _thread  # built in: the threading module costs a no-op `status` ~1 ms

        self.stream = stream or sys.stderr
        self.delay = delay
        self.lock = _thread.allocate_lock()  # push/pull advance from their transfer threads
        self.phases: list[_State] = []  # the innermost last
        self.broken = False  # tqdm missing, or stderr gone: stay silent, never fail the command

    def start(self, desc: str, total_files: int, total_bytes: int = 0, unit: str = "files") -> None:
        with self.lock:
            self.phases.append(_State(desc, total_files, total_bytes, unit, time.monotonic(),
                                      self.delay))

    def advance(self, files: int = 1, nbytes: int = 0) -> None:
        with self.lock:
            if not self.phases:
                return
            state = self.phases[-1]
            state.files += files
            state.nbytes += nbytes
            now = time.monotonic()
            # A phase done before it was ever drawn ends now: no bar that appears full.
            if now >= state.due and (state.bar is not None or state.files < state.total):
                state.due = now + REDRAW
                try:
                    self._draw(state)
                except (ImportError, OSError, ValueError):  # no tqdm; stderr closed or broken
                    self.broken = True

    def finish(self) -> None:
        with self.lock:
            if self.phases:
                self._clear(self.phases.pop())

    def _draw(self, state: _State) -> None:
        if state.bar is None:
            if self.broken:
                return
            for outer in self.phases[:-1]:  # gives way; drawn anew when this phase ends
                self._clear(outer)
            state.bar = self._new_bar(state)
        bar = state.bar
        if state.total_bytes:
            bar.n = state.nbytes
            bar.set_postfix_str(f"{state.files}/{state.total} {state.unit}", refresh=False)
        else:
            bar.n = state.files
        bar.refresh()

    def _new_bar(self, state: _State):
        tqdm = _tqdm()  # raises ImportError without it: see _draw
        if state.total_bytes:
            options = dict(total=state.total_bytes, unit="B", unit_scale=True, unit_divisor=1024,
                           bar_format=_BYTES_FORMAT)
        else:
            # unit_scale: a rate of "41.9k files/s" (the counts themselves stay exact)
            options = dict(total=state.total, unit=f" {state.unit}", unit_scale=True,
                           bar_format=_COUNT_FORMAT)
        # delay=1: tqdm must not draw an empty bar as it is made (the caller draws it filled)
        bar = tqdm(desc=state.desc, file=self.stream, leave=False, dynamic_ncols=True,
                   smoothing=0, disable=False, delay=1, **options)
        bar.delay = 0  # drawn from now on, and cleared when closed
        # Elapsed time and rate count from the phase's start, not from this first draw.
        bar.start_t -= time.monotonic() - state.began
        return bar

    def _clear(self, state: _State) -> None:
        bar, state.bar = state.bar, None
        if bar is not None:
            try:
                bar.close()  # leave=False: the line is cleared
            except (OSError, ValueError):
                self.broken = True


def _tqdm():
    """tqdm's bar class, set up for this process (imported on the first draw: ~40 ms)."""
    from tqdm.std import tqdm

    if tqdm.monitor_interval:  # not set up yet
        import threading

        # No monitor thread (it would keep dataver.parallel from forking workers), and a
        # plain thread lock (tqdm's default also makes a multiprocessing one).
        tqdm.monitor_interval = 0
        tqdm.set_lock(threading.RLock())
    return tqdm


def for_cli(quiet: bool) -> Progress:
    """Bars on stderr when it is a terminal and ``quiet`` is not set; else silence."""
    if quiet or not _is_terminal(sys.stderr):
        return Progress()
    return TtyProgress(delay=_delay())


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get(DELAY_ENV, DELAY)))
    except ValueError:
        return DELAY
