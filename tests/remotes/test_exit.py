"""A command that used a remote exits with its own exit code: the client libraries' native
threads (obstore's tokio runtime, fsspec's event loop) must not turn a successful command into
an abort while the interpreter finalizes (seen as SIGABRT in about 1 no-op push in 20)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.remotes.conftest import configure_remote

RUNS = 40


@pytest.mark.remote
def test_no_op_push_to_s3_always_exits_cleanly(repo_dir, server_pool):
    conf = server_pool("s3").remote()
    configure_remote("r", conf)
    for i in range(50):
        (repo_dir / "data" / f"f{i}").parent.mkdir(exist_ok=True)
        (repo_dir / "data" / f"f{i}").write_text(str(i))
    cmd = [sys.executable, "-m", "dataver"]
    assert subprocess.run([*cmd, "add", "-q", "data"], cwd=repo_dir).returncode == 0
    assert subprocess.run([*cmd, "push", "-q"], cwd=repo_dir).returncode == 0
    codes = [subprocess.run([*cmd, "push", "-q"], cwd=repo_dir, capture_output=True).returncode
             for _ in range(RUNS)]
    assert codes == [0] * RUNS
