"""Fixtures for the remote conformance suite: one real server per remote type (session scope,
parametrized over ``servers.SERVERS``) and a repo whose default remote is a fresh location on it."""
from __future__ import annotations

import pytest

from tests.remotes.servers import SERVERS


@pytest.fixture(scope="session", params=sorted(SERVERS))
def remote(request, server_pool):
    """A running server of each remote type (see tests/remotes/servers.py)."""
    return server_pool(request.param)


def configure_remote(name: str, conf: dict, default: bool = True) -> None:
    """`dataver remote add` + `remote modify` (secrets with --local), through the CLI."""
    from dataver.cli.main import main

    args = ["remote", "add", "-q", "-f", name, conf["url"]] + (["-d"] if default else [])
    assert main(args) == 0
    for key, value in conf.items():
        if key == "url":
            continue
        level = ["--local"] if key in ("secret_access_key", "password", "account_key") else []
        assert main(["remote", "modify", *level, name, key, value]) == 0


@pytest.fixture
def remote_repo(remote, repo_dir):
    """A git+dataver repo (the cwd) whose default remote 'r' is an empty location on ``remote``.
    Returns the remote's config dict."""
    conf = remote.remote()
    configure_remote("r", conf)
    return conf


@pytest.fixture(scope="session")
def versioned_s3(server_pool):
    """moto's S3 server with a bucket that keeps object versions (tests/remotes/server_moto.py),
    for cloud-versioned remotes."""
    return server_pool("s3-versioned")
