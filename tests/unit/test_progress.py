"""Progress: the silent default, the terminal bars (when and what they draw), and counting
finished items while the work is spread over worker processes or threads."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time

import pytest

from dataver import parallel
from dataver.parallel import Tally, fork_map, parallel_map, serial_map, spread_map
from dataver.progress import BIG_FILE, SILENT, Progress, TtyProgress, file_phase


class Recorder(Progress):
    """A live Progress that records every call: ("start", desc, files, bytes) / ("advance",
    files, bytes, time) / ("finish",)."""

    live = True

    def __init__(self):
        self.calls = []

    def start(self, desc, total_files, total_bytes=0, unit="files"):
        self.calls.append(("start", desc, total_files, total_bytes))

    def advance(self, files=1, nbytes=0):
        self.calls.append(("advance", files, nbytes, time.monotonic()))

    def finish(self):
        self.calls.append(("finish",))

    def done(self) -> tuple[int, int]:
        """Files and bytes advanced in all."""
        steps = [c for c in self.calls if c[0] == "advance"]
        return sum(c[1] for c in steps), sum(c[2] for c in steps)

    def running_totals(self) -> list[int]:
        """The files count after each advance that counted any."""
        totals, total = [], 0
        for call in self.calls:
            if call[0] == "advance" and call[1]:
                total += call[1]
                totals.append(total)
        return totals


def test_silent_progress_is_not_live_and_its_phase_ends_on_error():
    assert not Progress.live and not SILENT.live
    with pytest.raises(ValueError):
        with SILENT.phase("Hashing", 3, 100) as progress:
            progress.advance(1, 10)
            raise ValueError("boom")
    recorder = Recorder()
    with pytest.raises(ValueError):
        with recorder.phase("Hashing", 3):
            raise ValueError("boom")
    assert recorder.calls == [("start", "Hashing", 3, 0), ("finish",)]


def test_no_tally_unless_live():
    assert parallel.tally_for(None) is None
    assert parallel.tally_for(SILENT) is None
    assert isinstance(parallel.tally_for(Recorder()), Tally)


def test_bar_shows_files_bytes_rate_and_is_cleared():
    stream = io.StringIO()
    progress = TtyProgress(stream=stream, delay=0)
    with progress.phase("Caching", 10, 10 << 20):
        for _ in range(10):
            progress.advance(1, 1 << 20)
    out = stream.getvalue()
    assert out.startswith("\rCaching:")
    assert re.search(r"\d+(\.\d+)?MB/10\.0MB, \d+/10 files "
                     r"\[\d\d:\d\d<\d\d:\d\d, [\d.]+[kMG]?B/s\]", out), out
    assert out.endswith("\r")  # the line is blanked at the end: nothing is left on it
    assert out.rstrip("\r").rsplit("\r", 1)[1].strip() == ""


def test_bar_without_bytes_counts_what_the_phase_counts():
    stream = io.StringIO()
    progress = TtyProgress(stream=stream, delay=0)
    with progress.phase("Removing unused objects", 4, unit="objects"):
        progress.advance()
    assert re.search(r"Removing unused objects: +25%\|.*\| 1/4 objects \[.*objects/s\]",
                     stream.getvalue())


def test_short_phase_draws_nothing_and_loads_no_library():
    """A phase that ends before the delay is silent, and tqdm is not even imported."""
    code = """
import io, sys
from dataver.progress import TtyProgress
stream = io.StringIO()
progress = TtyProgress(stream=stream, delay=5)
with progress.phase("Hashing", 1000, 1 << 30):
    for _ in range(1000):
        progress.advance(1, 1 << 20)
assert stream.getvalue() == "", stream.getvalue()
assert "tqdm" not in sys.modules
progress = TtyProgress(stream=stream, delay=0)
with progress.phase("Hashing", 1000, 1 << 30):
    progress.advance(1, 1 << 20)
assert "tqdm" in sys.modules and "Hashing" in stream.getvalue()
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_bar_drawn_once_the_delay_passed_at_most_ten_times_a_second():
    stream = io.StringIO()
    progress = TtyProgress(stream=stream, delay=0.2)
    began = time.monotonic()
    with progress.phase("Hashing", 10**9):
        while time.monotonic() - began < 0.7:
            progress.advance()
    draws = stream.getvalue().count("\rHashing:")
    assert 3 <= draws <= 7, draws  # ~0.5 s drawn, every 0.1 s


def test_a_phase_already_done_is_not_drawn_full():
    stream = io.StringIO()
    progress = TtyProgress(stream=stream, delay=0)
    with progress.phase("Adding", 1, unit="targets"):
        progress.advance()
    assert stream.getvalue() == ""


def test_inner_phase_takes_the_line_then_gives_it_back():
    stream = io.StringIO()
    progress = TtyProgress(stream=stream, delay=0)
    with progress.phase("Adding", 3, unit="targets"):
        progress.advance()
        with progress.phase("Scanning", 10):
            progress.advance(2)
        time.sleep(0.11)
        progress.advance()
    out = stream.getvalue()
    first_outer, inner = out.index("Adding:"), out.index("Scanning:")
    assert first_outer < inner < out.index("Adding:", inner)
    assert "2/3 targets" in out[inner:]


def test_serial_and_thread_runs_count_as_items_finish():
    def slow(x):
        time.sleep(0.01)
        return x * 2

    for run in (lambda tally: serial_map(slow, list(range(40)), tally),
                lambda tally: parallel_map(slow, list(range(40)), 2, tally)):
        recorder = Recorder()
        assert run(Tally(recorder, nbytes=[10] * 40)) == [x * 2 for x in range(40)]
        assert recorder.done() == (40, 400)
        assert len(recorder.running_totals()) >= 3  # as it went, not once at the end


def test_forked_workers_report_while_they_run():
    """The workers' counts arrive through their pipes while they still work, not only with
    their results: here this process's share is done at once and the workers' items each take
    20 ms, so the count must pass through values between the two."""
    parent = os.getpid()

    def work(x):
        if os.getpid() != parent:
            time.sleep(0.02)
        return x + 1

    recorder = Recorder()
    items = list(range(60))
    assert fork_map(work, items, [1] * 60, 2, Tally(recorder, nbytes=[3] * 60)) == \
        [x + 1 for x in items]
    assert recorder.done() == (60, 180)
    totals = recorder.running_totals()
    assert any(30 < total < 60 for total in totals), totals


def test_spread_map_counts_one_file_and_its_size_per_item(monkeypatch):
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    recorder = Recorder()
    sizes = [1 << 20] * 40  # enough to spread
    assert spread_map(lambda x: x, list(range(40)), sizes, recorder) == list(range(40))
    assert recorder.done() == (40, 40 << 20)


def test_silent_progress_runs_the_plain_way(monkeypatch):
    """No live Progress: no counting at all (the workers are not asked for counts)."""
    seen = []
    real = parallel._fork_worker

    def spy(fn, items, indexes, count=False):
        seen.append(count)
        return real(fn, items, indexes, count)

    monkeypatch.setattr(parallel, "_fork_worker", spy)
    monkeypatch.setattr(parallel, "fork_procs", lambda: 2)
    spread_map(lambda x: x, list(range(40)), [1 << 20] * 40, SILENT)
    assert seen == [False]


def test_only_a_big_file_gets_a_phase_of_its_own():
    recorder = Recorder()
    with file_phase(recorder, "Hashing", BIG_FILE - 1) as counter:
        assert counter is None
    with file_phase(SILENT, "Hashing", BIG_FILE) as counter:
        assert counter is None
    with file_phase(None, "Hashing", BIG_FILE) as counter:
        assert counter is None
    assert recorder.calls == []
    with file_phase(recorder, "Hashing", BIG_FILE) as counter:
        assert counter is recorder
    assert recorder.calls == [("start", "Hashing", 1, BIG_FILE), ("finish",)]


def test_hashing_a_file_counts_its_bytes(tmp_path):
    from dataver.hashing import LEGACY, md5_file, md5_stream

    path = tmp_path / "f"
    path.write_bytes(b"x" * (3 << 20) + b"y")
    for name in ("md5", LEGACY):
        recorder = Recorder()
        md5_file(path, name, recorder)
        assert recorder.done() == (0, (3 << 20) + 1)
        assert len(recorder.calls) == 4  # per 1 MiB read
    recorder = Recorder()
    out = os.open(tmp_path / "copy", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        md5_stream(path, out, None, recorder)
    finally:
        os.close(out)
    assert recorder.done() == (0, (3 << 20) + 1)
