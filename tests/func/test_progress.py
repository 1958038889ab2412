"""Progress bars of the commands, seen from a terminal: `add`, `commit`, `checkout`, `gc` and
`status` draw files, bytes and rate on stderr when it is a terminal (a pseudo-terminal here),
and nothing when it is not or with -q; stdout is the same either way; tqdm is loaded only when
a bar is drawn.

Bars wait DATAVER_PROGRESS_DELAY seconds (0.5 by default) before they appear: 0 here, so a
small dataset shows them."""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import struct
import subprocess
import sys
import termios
import threading

import pytest

from tests.conftest import git

FILES = 1100  # more than one chunk of stats (1,024 names), so even the scan shows a bar
FILE_SIZE = 16 << 10  # 17 MB in all: enough to share the caching among worker processes

FILES_DONE = r"\d+/\d+ files"
BYTES_DONE = r"\d+(\.\d+)?[kMG]?B/\d+(\.\d+)?[kMG]?B"
RATE = r"\[\d\d:\d\d<[\d:?]+, *[\d.]+[kMG]?( ?[a-z]+|B)/s\]"


def dataver(args, cwd, terminal: bool, delay: str = "0", importtime: bool = False):
    """Run dataver with stdout a pipe and stderr a pseudo-terminal (or a pipe); returns (exit
    code, stdout, stderr) with stderr as the terminal showed it (carriage returns kept)."""
    env = dict(os.environ, DATAVER_PROGRESS_DELAY=delay)
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "dataver", *args]
    if not terminal:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(master, chunks))
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=30)
    os.close(master)
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


def _drain(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every writer closed the terminal
            return
        if not chunk:
            return
        chunks.append(chunk)


def make_repo(path):
    """A git repo with `dataver init` and a `data` folder of FILES files (the same every time)."""
    path.mkdir()
    git(path, "init", "-q")
    assert dataver(["init", "-q"], path, terminal=False)[0] == 0
    for i in range(FILES):
        sub = path / "data" / f"d{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(i.to_bytes(4, "little") * (FILE_SIZE // 4))
    return path


def change_some(path, n=5):
    for i in range(n):
        with open(path / "data" / f"d{i % 10}" / f"f{i:05d}.bin", "ab") as fobj:
            fobj.write(b"changed")


def bar_lines(stderr: str, desc: str) -> list[str]:
    """The states of bar ``desc`` that the terminal was sent."""
    return [part.strip() for part in stderr.split("\r") if part.startswith(f"{desc}:")]


def assert_bar(stderr: str, desc: str, nbytes: bool = True, unit=FILES_DONE) -> None:
    lines = bar_lines(stderr, desc)
    assert lines, f"no {desc!r} bar in {stderr!r}"
    pattern = rf"{desc}: +\d+%\|.*\| " + (rf"{BYTES_DONE}, " if nbytes else "") + unit + " " + RATE
    assert any(re.fullmatch(pattern, line) for line in lines), lines


def left_on_screen(stderr: str) -> list[str]:
    """The lines the terminal shows in the end: a carriage return goes back to the start of
    the line, and what follows overwrites what was there."""
    lines = []
    for line in stderr.split("\n"):
        shown = ""
        for part in line.split("\r"):
            shown = part + shown[len(part):]
        lines.append(shown.rstrip())
    return lines


@pytest.fixture
def twins(tmp_path):
    """Two identical repos: one run on a terminal, one not."""
    return make_repo(tmp_path / "tty"), make_repo(tmp_path / "pipe")


def run_both(twins, args) -> str:
    """Run ``args`` in both repos; stdout must be the same; the pipe's stderr must hold no
    bar. Returns what the terminal got."""
    tty, pipe = twins
    code_tty, out_tty, err_tty = dataver(args, tty, terminal=True)
    code_pipe, out_pipe, err_pipe = dataver(args, pipe, terminal=False)
    assert (code_tty, out_tty) == (code_pipe, out_pipe), (err_tty, err_pipe)
    assert "\r" not in err_pipe and "files" not in err_pipe, err_pipe
    assert "%|" in err_tty
    assert not [line for line in left_on_screen(err_tty) if "%|" in line], "a bar was left"
    return err_tty


def test_every_slow_step_shows_a_bar_on_a_terminal_and_only_there(twins):
    err = run_both(twins, ["add", "data"])
    assert_bar(err, "Scanning", nbytes=False)
    assert_bar(err, "Caching")

    for repo in twins:
        change_some(repo)
    err = run_both(twins, ["status"])
    assert_bar(err, "Scanning", nbytes=False)
    assert_bar(err, "Hashing")

    err = run_both(twins, ["commit", "-f"])
    assert_bar(err, "Caching")

    for repo in twins:
        shutil.rmtree(repo / "data")
    err = run_both(twins, ["checkout", "--summary"])
    assert_bar(err, "Checking out", nbytes=False)

    err = run_both(twins, ["gc", "-w", "-f"])
    assert_bar(err, "Listing the cache", nbytes=False, unit=r"\d+/\d+ directories")
    # the 5 files changed and the old .dir
    assert_bar(err, "Removing unused objects", nbytes=False, unit=r"1/6 objects")


def test_a_single_large_file_shows_its_bytes(tmp_path):
    """One big file is one item: its bar counts the bytes as they are read."""
    from dataver.progress import BIG_FILE

    repo = make_repo(tmp_path / "repo")
    with open(repo / "model.ckpt", "wb") as fobj:
        for i in range(BIG_FILE // (1 << 20) + 1):
            fobj.write(bytes([i % 256]) * (1 << 20))
    code, out, err = dataver(["add", "model.ckpt"], repo, terminal=True)
    assert code == 0 and "git add model.ckpt.dvc" in out
    assert_bar(err, "Caching")
    assert any(re.search(r"\| \d+(\.\d+)?MB/65\.0MB, 0/1 files", line)
               for line in bar_lines(err, "Caching"))
    with open(repo / "model.ckpt", "ab") as fobj:
        fobj.write(b"more")
    code, out, err = dataver(["status"], repo, terminal=True)
    assert code == 0 and "modified:" in out
    assert_bar(err, "Hashing")


def test_quiet_draws_nothing_on_a_terminal(tmp_path):
    repo = make_repo(tmp_path / "repo")
    code, out, err = dataver(["add", "-q", "data"], repo, terminal=True)
    assert (code, out, err) == (0, "", "")
    change_some(repo)
    code, out, err = dataver(["status", "-q"], repo, terminal=True)
    assert (code, out, err) == (1, "", "")
    code, out, err = dataver(["-q", "commit", "-f"], repo, terminal=True)
    assert (code, out, err) == (0, "", "")
    # the control: the same on a terminal without -q draws
    change_some(repo)
    assert "Hashing:" in dataver(["status"], repo, terminal=True)[2]


def test_quick_commands_do_not_load_the_bar_library(tmp_path):
    repo = make_repo(tmp_path / "repo")
    assert dataver(["add", "-q", "data"], repo, terminal=False)[0] == 0
    for args, terminal, delay in ((["--version"], False, "0"), (["status"], False, "0"),
                                  (["--version"], True, "0.5"), (["status"], True, "0.5")):
        code, _out, err = dataver(args, repo, terminal, delay, importtime=True)
        assert code == 0 and "import time:" in err
        assert "tqdm" not in err, (args, terminal)
    # the control: a bar drawn (no delay) does load it, and the check above would see it
    change_some(repo)
    code, _out, err = dataver(["status"], repo, terminal=True, importtime=True)
    assert code == 0 and "| tqdm" in err
