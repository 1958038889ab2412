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
from dataclasses import dataclass
from typing import Callable

from tests.remotes.servers import Server, free_port  # noqa: F401 - re-exported for launchers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT = 60.0  # seconds: generous for a loaded 2-core CI machine, still bounded


class ServerError(RuntimeError):
    """A test server could not be started (missing binary, crashed, or never became ready)."""


@dataclass
class FsServer(Server):
    """A :class:`tests.remotes.servers.Server` that also hands out a plain fsspec filesystem on
    itself (``fs_factory() -> (filesystem, root path of base_url in it)``), for tests that check
    the server without dataver."""

    fs_factory: Callable[[], tuple] | None = None

    def filesystem(self):
        """A plain fsspec filesystem on this server and the root path of ``base_url`` in it."""
        if self.fs_factory is None:
            raise ServerError(f"no fsspec factory for {self.base_url}")
        return self.fs_factory()


# base URL -> local directory it serves, for servers whose protocol cannot list or delete (plain
# HTTP): tests look behind the server's back there; dataver never does.
SERVED_DIRS: dict[str, str] = {}


def serve_dir(url: str, local: str) -> None:
    """Record that ``url`` serves the files of directory ``local``."""
    SERVED_DIRS[url.rstrip("/")] = local


def served_path(url: str) -> str | None:
    """The local directory behind remote ``url``, if a launcher recorded one (see serve_dir)."""
    for base, local in SERVED_DIRS.items():
        if url == base or url.startswith(base + "/"):
            return os.path.join(local, *url[len(base):].split("/"))
    return None


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
                                         start_new_session=True, preexec_fn=_die_with_parent)
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


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, so no server outlives a killed
    pytest worker (Linux prctl PR_SET_PDEATHSIG; elsewhere stop() is the only way)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


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
