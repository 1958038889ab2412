"""A real Git LFS server for the migration tests: giftless (PyPI) from its own venv `.venv-lfs`,
served by Flask's threaded server on 127.0.0.1 with a free port and local-directory storage.

`start(workdir)` returns an :class:`LfsServer`; `tests/migrate/conftest.py` wraps it in the
session fixture ``lfs_server``. A missing giftless is a failure naming `scripts/setup.sh --test`,
never a skip. Objects live at ``<storage>/<org>/<repo>/<oid>``, so a test can delete one behind
the server's back to make "an LFS object missing from the server".
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable

from tests.remotes.launch import ROOT, ServerError, ServerProcess, free_port

VENV = os.path.join(ROOT, ".venv-lfs")
ORG = "dataver"

CONFIG = """\
AUTH_PROVIDERS:
  - giftless.auth.allow_anon:read_write
LEGACY_ENDPOINTS: true
TRANSFER_ADAPTERS:
  basic:
    factory: giftless.transfer.basic_streaming:factory
    options:
      storage_class: giftless.storage.local_storage:LocalStorage
      storage_options:
        path: {storage}
"""


@dataclass
class LfsServer:
    """A running giftless. ``url(name)`` is the `lfs.url` of repository ``name`` on it."""

    base_url: str
    storage: str
    stop: Callable[[], None] = lambda: None

    def url(self, name: str) -> str:
        """The LFS endpoint of repository ``name`` (git-lfs appends /objects/batch)."""
        return f"{self.base_url}/{ORG}/{name}"

    def object_path(self, name: str, oid: str) -> str:
        """Where the server stores object ``oid`` of repository ``name``."""
        return os.path.join(self.storage, ORG, name, oid)

    def has(self, name: str, oid: str) -> bool:
        return os.path.isfile(self.object_path(name, oid))

    def delete(self, name: str, oid: str) -> None:
        """Remove an object from the server's storage (the server then answers 404 for it)."""
        os.remove(self.object_path(name, oid))

    def oids(self, name: str) -> set[str]:
        """Every object the server holds for repository ``name``."""
        folder = os.path.join(self.storage, ORG, name)
        return set(os.listdir(folder)) if os.path.isdir(folder) else set()


def flask_exe() -> str:
    exe = os.path.join(VENV, "bin", "flask")
    if not os.access(exe, os.X_OK) or not os.path.isdir(_giftless_dir()):
        raise ServerError(f"giftless is not installed in {VENV}: run `bash scripts/setup.sh --test`")
    return exe


def _giftless_dir() -> str:
    lib = os.path.join(VENV, "lib")
    for name in os.listdir(lib) if os.path.isdir(lib) else []:
        cand = os.path.join(lib, name, "site-packages", "giftless")
        if os.path.isdir(cand):
            return cand
    return os.path.join(lib, "missing", "giftless")


def start(workdir: str) -> LfsServer:
    """Start giftless serving ``workdir/lfs-storage``; return once a batch request answers."""
    storage = os.path.join(workdir, "lfs-storage")
    os.makedirs(storage, exist_ok=True)
    config = os.path.join(workdir, "giftless.yaml")
    with open(config, "w") as fobj:
        fobj.write(CONFIG.format(storage=json.dumps(storage)))
    port = free_port()
    env = {"GIFTLESS_CONFIG_FILE": config, "PYTHONWARNINGS": "ignore::FutureWarning"}
    proc = ServerProcess([flask_exe(), "--app", "giftless.wsgi_entrypoint", "run", "--host",
                          "127.0.0.1", "--port", str(port), "--with-threads"],
                         os.path.join(workdir, "giftless.log"), cwd=workdir, env=env)
    base = f"http://127.0.0.1:{port}"
    proc.wait_ready(lambda: _batch_answers(f"{base}/{ORG}/probe"), "giftless")
    return LfsServer(base, storage, stop=proc.stop)


def _batch_answers(url: str) -> bool:
    """True once the app answers a batch request (404 "not found" for an unknown object counts)."""
    body = json.dumps({"operation": "download", "transfers": ["basic"],
                       "objects": [{"oid": "0" * 64, "size": 1}]}).encode()
    req = urllib.request.Request(f"{url}/objects/batch", data=body, method="POST", headers={
        "Content-Type": "application/vnd.git-lfs+json", "Accept": "application/vnd.git-lfs+json"})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code == 404
    except urllib.error.URLError:
        return False
