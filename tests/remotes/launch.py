"""Shared plumbing for the test-server launchers (`server_<type>.py`): free ports, a supervised
child process with its log kept for error messages, and a bounded wait until the server answers.

A launcher that cannot start its server raises `ServerError` with the command and the tail of its
log: a missing server is a test failure, never a skip."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT = 60.0  # seconds: generous for a loaded 2-core CI machine, still bounded


class ServerError(RuntimeError):
    """A test server could not be started (missing binary, crashed, or never became ready)."""


@dataclass
class RemoteServer:
    """A running server as the tests see it.

    url: the DVC remote URL of an empty directory on the server (what `remote add` gets);
    options: DVC remote options for it (`remote modify NAME KEY VALUE`), secrets included;
    env: environment variables a client needs (e.g. STORAGE_EMULATOR_HOST);
    fs_factory: () -> (fsspec filesystem, root path inside it), for tests that bypass dataver;
    stop: stops the server and its helpers (idempotent)."""

    url: str
    options: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    fs_factory: Callable[[], tuple] | None = None
    stop: Callable[[], None] = lambda: None

    def filesystem(self):
        """A plain fsspec filesystem on this server and the root path of the remote in it."""
        if self.fs_factory is None:
            raise ServerError(f"no fsspec factory for {self.url}")
        return self.fs_factory()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_exe(name: str, *extra_dirs: str) -> str:
    """The path of executable ``name``: next to this Python (venv bin), in ``extra_dirs``, or on PATH."""
    dirs = [os.path.dirname(sys.executable), *extra_dirs]
    for folder in dirs:
        cand = os.path.join(folder, name)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    found = shutil.which(name)
    if found is None:
        raise ServerError(f"{name} not found (looked in {', '.join(dirs)} and PATH): "
                          "run scripts/setup.sh --test")
    return found


class ServerProcess:
    """A child process whose output goes to a log file; started in its own process group so that
    stop() also ends anything it spawned."""

    def __init__(self, argv: list[str], log_path: str, cwd: str | None = None,
                 env: dict[str, str] | None = None):
        self.argv = argv
        self.log_path = log_path
        full_env = dict(os.environ, **(env or {}))
        self._log = open(log_path, "wb")
        try:
            self.proc = subprocess.Popen(argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        except OSError as exc:
            self._log.close()
            raise ServerError(f"cannot run {argv[0]}: {exc}") from exc

    def log_tail(self, limit: int = 2000) -> str:
        """The last ``limit`` characters the server printed."""
        with open(self.log_path, "rb") as fobj:
            return fobj.read().decode("utf-8", "replace")[-limit:]

    def fail(self, what: str) -> ServerError:
        """A ServerError describing ``what`` went wrong, with the command and its log tail."""
        self.stop()
        return ServerError(f"{what}: {' '.join(self.argv)}\n--- log ---\n{self.log_tail()}")

    def wait_ready(self, probe: Callable[[], bool], what: str,
                   timeout: float = START_TIMEOUT) -> None:
        """Poll ``probe`` until it returns True; fail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self.fail(f"{what} exited with code {self.proc.returncode}")
            try:
                if probe():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise self.fail(f"{what} not ready after {timeout:.0f}s")

    def wait_port(self, port: int, what: str, timeout: float = START_TIMEOUT) -> None:
        """Wait until 127.0.0.1:port accepts TCP connections."""
        self.wait_ready(lambda: _port_open(port), what, timeout)

    def stop(self) -> None:
        """Terminate the process group; kill it if it does not go within a few seconds."""
        if self.proc.poll() is None:
            _signal_group(self.proc, "terminate")
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc, "kill")
                self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _signal_group(proc: subprocess.Popen, how: str) -> None:
    import signal

    sig = signal.SIGTERM if how == "terminate" else signal.SIGKILL
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
