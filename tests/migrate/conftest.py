"""Fixtures for the migration tests: a real LFS server (giftless) for the whole session."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lfs_server(tmp_path_factory):
    """A running giftless on 127.0.0.1 (see tests/migrate/lfs_server.py); stopped at session end.
    Not installed -> the test fails with a message naming `scripts/setup.sh --test`."""
    from tests.migrate.lfs_server import start

    server = start(str(tmp_path_factory.mktemp("giftless")))
    yield server
    server.stop()
