"""dataver and real DVC share remotes: what one pushes, the other pulls in a fresh clone, on a
local directory, S3 (`rclone serve s3`), SSH (sshd), WebDAV (`rclone serve webdav`) and HTTP; and
`remote add/modify` write the same bytes."""
from __future__ import annotations

import json
import os

import pytest

from dataver.cli.main import main
from tests.conftest import git, run_dvc, tree

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module", params=["local", "s3", "ssh", "webdav", "http"])
def server(request, server_pool):
    return server_pool(request.param)


def dataver(*args) -> None:
    assert main(["-q", *args]) == 0, args


def configure(tool, conf) -> None:
    """Set up remote 'r' (default) with ``tool`` ("dataver" or "dvc"); secrets in config.local."""
    run = dataver if tool == "dataver" else (lambda *a: run_dvc(*a))
    run("remote", "add", "-d", "-f", "r", conf["url"])
    for key, value in conf.items():
        if key != "url":
            local = ["--local"] if key in ("secret_access_key", "password") else []
            run("remote", "modify", *local, "r", key, value)


def make_data(root) -> None:
    (root / "data" / "sub").mkdir(parents=True)
    for i in range(20):
        (root / "data" / f"{i:02}.jpg").write_bytes(os.urandom(100 + i))
    (root / "data" / "sub" / "ann.json").write_text(json.dumps({"a": 1}))
    (root / "weights.bin").write_bytes(os.urandom(1 << 20))


@pytest.mark.parametrize("pusher,puller", [("dataver", "dvc"), ("dvc", "dataver")])
def test_push_with_one_tool_pull_with_the_other(server, repo_dir, tmp_path, monkeypatch,
                                                pusher, puller):
    conf = server.remote()
    if server.type == "webdav" and pusher == "dvc":  # DVC needs the WebDAV root to exist
        fs, root = server.filesystem()
        fs.makedirs(f"{root}/{conf['url'].rsplit('/', 1)[1]}", exist_ok=True)
    configure(pusher, conf)
    make_data(repo_dir)
    dataver("add", "data", "weights.bin")
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "data")
    if pusher == "dataver":
        dataver("push")
    else:
        run_dvc("push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo_dir), str(clone))
    monkeypatch.chdir(clone)
    configure(puller, conf)
    if puller == "dataver":
        dataver("pull")
    else:
        run_dvc("pull")
    assert tree(clone / "data") == tree(repo_dir / "data")
    assert (clone / "weights.bin").read_bytes() == (repo_dir / "weights.bin").read_bytes()
    # the other tool sees the remote as complete
    if puller == "dataver":
        assert "in sync" in run_dvc("status", "-c").stdout
    else:
        assert main(["status", "-c", "-q"]) == 0


CONFIG_SCRIPTS = [
    [["remote", "add", "-d", "store", "s3://bucket/path"],
     ["remote", "modify", "store", "endpointurl", "http://127.0.0.1:9000"],
     ["remote", "modify", "--local", "store", "secret_access_key", "s3cr3t"],
     ["remote", "modify", "store", "region", "eu-west-1"]],
    [["remote", "add", "backup", "../elsewhere/store"],
     ["remote", "add", "-d", "--local", "mine", "/abs/path"],
     ["remote", "add", "comma", "../a,b"],
     ["remote", "modify", "backup", "jobs", "4"],
     ["remote", "rename", "backup", "second"],
     ["remote", "default", "comma"]],
    [["remote", "add", "-d", "a", "s3://x/y"],
     ["remote", "add", "b", "ssh://user@host:2222/srv/data"],
     ["remote", "modify", "b", "password", "pa ss"],
     ["remote", "modify", "b", "port", "2222"],
     ["remote", "modify", "--unset", "b", "port"],
     ["remote", "add", "-f", "a", "s3://z"],
     ["remote", "remove", "a"]],
]


@pytest.mark.parametrize("script", range(len(CONFIG_SCRIPTS)))
def test_remote_config_bytes_match_dvc(tmp_path, monkeypatch, script):
    results = {}
    for tool in ("dataver", "dvc"):
        root = tmp_path / tool / "repo"
        root.mkdir(parents=True)
        git(root, "init", "-q")
        monkeypatch.chdir(root)
        run_dvc("init", "-q")
        for step in CONFIG_SCRIPTS[script]:
            if tool == "dataver":
                dataver(*step)
            else:
                run_dvc(*step)
        results[tool] = {name: (root / ".dvc" / name).read_bytes() if (root / ".dvc" / name).exists()
                         else None for name in ("config", "config.local")}
    assert results["dataver"] == results["dvc"]
