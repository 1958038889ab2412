"""Each test server answers plain fsspec (put, get, ls, rm) with its well-kept backend, before any
dataver code is involved: if one of these fails, the remote conformance suite cannot be trusted."""
from __future__ import annotations

import os
import sys

import pytest

from .launch import ServerError, ServerProcess, find_exe

KINDS = ["ssh", "webdav", "http", "gs", "azure"]


@pytest.fixture(params=KINDS)
def plain_server(request, server_pool):
    """(kind, server) for every kind; servers are shared with the conformance suite."""
    return request.param, server_pool(request.param)


def _payload(tmp_path, name: str, size: int) -> tuple[str, bytes]:
    data = os.urandom(size)
    path = tmp_path / name
    path.write_bytes(data)
    return str(path), data


def test_put_get_roundtrip(plain_server, tmp_path):
    kind, server = plain_server
    fs, root = server.filesystem()
    src, data = _payload(tmp_path, "big.bin", 3 * 1024 * 1024 + 7)
    dest = f"{root}/rt/ab/cdef"
    if kind in ("ssh", "webdav"):  # real directories: parents must exist before a put
        fs.makedirs(f"{root}/rt/ab", exist_ok=True)
    fs.put_file(src, dest)
    assert fs.info(dest)["size"] == len(data)
    out = tmp_path / "back.bin"
    fs.get_file(dest, str(out))
    assert out.read_bytes() == data


def test_missing_object_is_not_found(plain_server):
    _kind, server = plain_server
    fs, root = server.filesystem()
    assert not fs.exists(f"{root}/no/such/object")
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{root}/no/such/object")


# plain HTTP has no listing or delete (DVC's HTTP remote cannot traverse either)
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "http"])
def test_list_and_remove(kind, server_pool):
    fs, root = server_pool(kind).filesystem()
    base = f"{root}/lr"
    fs.makedirs(f"{base}/x", exist_ok=True)
    for name in ("x/1", "x/2", "3"):
        fs.pipe_file(f"{base}/{name}", name.encode())
    found = sorted(p.rstrip("/").rsplit("/lr/", 1)[1] for p in fs.find(base))
    assert found == ["3", "x/1", "x/2"]
    fs.rm_file(f"{base}/x/1")
    assert sorted(p.rsplit("/lr/", 1)[1] for p in fs.find(base)) == ["3", "x/2"]
    assert fs.cat_file(f"{base}/x/2") == b"x/2"


def test_http_upload_methods_and_range(tmp_path):
    """DVC's HTTP remote uploads with POST by default and PUT on request; reads may use ranges."""
    from . import server_http

    server = server_http.start(str(tmp_path / "srv"))
    try:
        fs, root = server.filesystem()
        src, data = _payload(tmp_path, "f.bin", 100_000)
        for method in ("post", "put"):
            fs.put_file(src, f"{root}/{method}/obj", method=method)
            assert fs.cat_file(f"{root}/{method}/obj") == data
        assert fs.cat_file(f"{root}/post/obj", start=10, end=20) == data[10:20]
        assert os.path.getsize(tmp_path / "srv" / "served" / "data" / "put" / "obj") == len(data)
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["http", "webdav"])
def test_http_refuses_missing_credentials(kind, server_pool):
    server = server_pool(kind)
    import urllib.error
    import urllib.request

    host = server.base_url.split("//", 1)[1].split("/", 1)[0]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://{host}/data/", timeout=5)
    assert err.value.code == 401


def test_ssh_refuses_unknown_key(server_pool):
    server = server_pool("ssh")
    import asyncssh
    from sshfs import SSHFileSystem

    port = int(server.base_url.split(":")[2].split("/")[0])
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(PermissionError):  # sshfs maps asyncssh's PermissionDenied
        SSHFileSystem("127.0.0.1", port=port, username=server.options["user"],
                      client_keys=[stranger], known_hosts=None, agent_path=None,
                      skip_instance_cache=True)


def test_launcher_fails_loudly_when_server_exits(tmp_path):
    proc = ServerProcess([sys.executable, "-c", "print('boom'); raise SystemExit(3)"],
                         str(tmp_path / "log"))
    with pytest.raises(ServerError, match="exited with code 3[\\s\\S]*boom"):
        proc.wait_port(1, "fake server", timeout=30)


def test_launcher_fails_loudly_when_binary_missing():
    with pytest.raises(ServerError, match="no-such-server-binary not found"):
        find_exe("no-such-server-binary")
