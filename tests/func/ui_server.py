"""The `dataver ui` app served for real in tests: uvicorn on a free 127.0.0.1 port in a thread,
over a repo made by tests/func/visual_data.py (v1 and v2 with known changes, a "many" output of
MANY images, a stored card, a remote holding every version, a branch ``feature/x`` and symlinks
out of the repository in the workspace). Shared by test_ui.py (HTTP) and test_ui_browser.py."""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import threading
import time

import pytest

from tests.conftest import git, isolate
from tests.func import visual_data as vd

MANY = 120  # files of the "many" output: three pages of thumbnails
OUTSIDE = "outside-secret.txt"


class Server:
    """The app of the repo at ``root`` served by uvicorn in a thread on a free port."""

    def __init__(self, root: str):
        import uvicorn

        from dataver.ui.app import create_app

        self.app = create_app(root)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        """(status, headers, body) of GET ``path``, sent exactly as written (no client-side
        normalising of ``..`` or ``%2e``), redirects not followed."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def page(self, path: str, status: int = 200) -> str:
        code, _headers, body = self.get(path)
        text = body.decode("utf-8")
        assert code == status, f"{path}: {code}\n{text[:2000]}"
        return text


def make_repo(base) -> str:
    """v1 and v2 of the visual dataset (tags v1, v2), an output "many" of MANY images, a
    stored card committed on top, a remote holding everything, and in the workspace a symlink
    out of the repository inside the output (not added)."""
    from dataver.cli.main import main
    from dataver.repo import Repo

    root = base / "repo"
    root.mkdir()
    git(root, "init", "-q")
    Repo.init(str(root)).close()
    git(root, "commit", "-qm", "init")
    os.chdir(root)
    vd.commit_versions(root)
    many = root / "many"
    many.mkdir()
    for i in range(MANY):
        (many / f"m_{i:03d}.png").write_bytes(vd.image_bytes(200 + i))
    assert main(["add", "-q", "many"]) == 0
    assert main(["card", "--save", "-q", "data"]) == 0
    assert main(["remote", "add", "-q", "-d", "store", str(base / "store")]) == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "many images, card of data")
    assert main(["push", "-q", "--all-commits"]) == 0
    git(root, "branch", "feature/x", "v1")
    (base / OUTSIDE).write_text("secret outside the repository\n")
    os.symlink(base / OUTSIDE, root / "data" / "notes" / "leak.txt")
    os.symlink("/etc", root / "etc-link")
    return str(root)


def repo_made(tmp_path_factory):
    """For a module-scoped ``repo`` fixture: the path of a repo from :func:`make_repo`, made
    in an environment like conftest's isolated_env (function-scoped, so not usable here)."""
    base = tmp_path_factory.mktemp("ui")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp_path_factory.mktemp("home"))
        cwd = os.getcwd()
        try:
            yield make_repo(base)
        finally:
            os.chdir(cwd)


def served(root: str):
    """For a module-scoped ``server`` fixture: a :class:`Server` of ``root``, stopped after."""
    srv = Server(root)
    try:
        yield srv
    finally:
        srv.stop()


def md5_of(path) -> str:
    with open(path, "rb") as fobj:
        return hashlib.md5(fobj.read()).hexdigest()


def error_line(html: str) -> str:
    found = re.search(r'id="error-message">([^<]*)<', html)
    assert found, html[:2000]
    return found.group(1)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The generated two-version repo (module scope: the UI tests only read it)."""
    yield from repo_made(tmp_path_factory)


@pytest.fixture(scope="module")
def server(repo):
    """A `dataver ui` server on ``repo``."""
    yield from served(repo)
