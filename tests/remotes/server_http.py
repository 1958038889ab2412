"""A plain HTTP server on 127.0.0.1 for the HTTP remote tests: `http_upload_server.py` (stdlib)
in its own process, serving a temp directory with basic auth; uploads by POST (DVC's default) or
PUT. Remote URL: ``http://127.0.0.1:PORT/data`` with options ``auth basic``, ``user``,
``password``. It cannot list or delete, like most HTTP servers DVC users push to."""
from __future__ import annotations

import os
import secrets
import sys
import urllib.error
import urllib.request

from .launch import FsServer, ServerProcess, free_port, serve_dir

USER = "dataver"
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "http_upload_server.py")


def start(base: str) -> FsServer:
    """Start the server with state under ``base``; the remote root is ``base/served/data``."""
    password = secrets.token_hex(8)
    port = free_port()
    served = os.path.join(base, "served")
    os.makedirs(os.path.join(served, "data"))
    proc = ServerProcess([sys.executable, SCRIPT, served, str(port), USER, password],
                         os.path.join(base, "http.log"))
    proc.wait_ready(lambda: _answers(port), "http upload server")

    def fs_factory():
        import aiohttp
        from fsspec.implementations.http import HTTPFileSystem

        headers = {"Authorization": aiohttp.encode_basic_auth(USER, password)}
        return HTTPFileSystem(client_kwargs={"headers": headers}), f"http://127.0.0.1:{port}/data"

    url = f"http://127.0.0.1:{port}/data"
    serve_dir(url, os.path.join(served, "data"))
    return FsServer("http", url, {"auth": "basic", "user": USER, "password": password},
                    unreachable={"url": f"http://127.0.0.1:{free_port()}/data/x"},
                    bad_credentials={"password": "wrong-password"},
                    stop=proc.stop, fs_factory=fs_factory)


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
    except urllib.error.HTTPError:
        return True  # 401: it is up and asks for credentials
    except (urllib.error.URLError, OSError):
        return False
    return True
