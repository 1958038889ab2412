"""Temp files of killed processes (dataver.leftovers): a later run removes them from the cache and
from the remote they were uploading to, and never touches those of a process still alive."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from dataver.leftovers import REGISTRY, clean_dead
from dataver.remote.local import LocalBackend
from tests.conftest import SRC, git, run_cli

OID = "0cc175b9c0f1b6a831c399e269772661"


def start_writer(cache, remote=None) -> subprocess.Popen:
    """A process that registers in ``cache``, makes a cache temp file (and, with ``remote``, an
    upload temp file there, noted in its registration), prints their paths, then waits."""
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {SRC!r})
        from dataver.odb import ObjectStore
        from dataver.remote.local import LocalBackend
        odb = ObjectStore({str(cache)!r})
        paths = [odb.temp_path({OID!r})]
        remote = {str(remote) if remote else None!r}
        if remote:
            key = "files/md5/0c/c175b9c0f1b6a831c399e269772661"
            odb.leftovers.note_remote(remote, ["files/md5/0c"])
            paths.append(os.path.join(remote, key) + odb.leftovers.temp_suffix())
        for path in paths:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
        print("\\n".join(paths), flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    proc.paths = [proc.stdout.readline().strip() for _ in range(2 if remote else 1)]
    return proc


class FakeRemote:
    """What clean_dead needs of an open remote: its url, backend and jobs."""

    def __init__(self, root):
        self.url = str(root)
        self.backend = LocalBackend(str(root))
        self.jobs = 1


def kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_temp_files_of_a_live_process_are_left_alone(tmp_path):
    cache = tmp_path / "cache"
    proc = start_writer(cache)
    try:
        assert clean_dead(str(cache)) == 0
        assert all(os.path.exists(p) for p in proc.paths)
    finally:
        kill(proc)
    assert clean_dead(str(cache)) == 1
    assert not any(os.path.exists(p) for p in proc.paths)
    assert os.listdir(cache / REGISTRY) == []


def test_remote_temp_files_are_removed_with_that_remote_only(tmp_path):
    cache, remote = tmp_path / "cache", tmp_path / "remote"
    proc = start_writer(cache, remote)
    kill(proc)
    cache_tmp, remote_tmp = proc.paths
    other = FakeRemote(tmp_path / "other")
    assert clean_dead(str(cache), other) == 1  # the cache's; the remote's waits for its remote
    assert not os.path.exists(cache_tmp) and os.path.exists(remote_tmp)
    assert len(os.listdir(cache / REGISTRY)) == 1
    assert clean_dead(str(cache), FakeRemote(remote)) == 1
    assert not os.path.exists(remote_tmp) and os.listdir(cache / REGISTRY) == []


def test_registration_that_never_got_its_name_is_removed(tmp_path):
    registry = tmp_path / "cache" / REGISTRY
    registry.mkdir(parents=True)
    (registry / "0123abcd.new").write_text("")
    clean_dead(str(tmp_path / "cache"))
    assert os.listdir(registry) == []


def test_a_recorded_folder_cannot_climb_out_of_the_remote(tmp_path):
    cache, remote = tmp_path / "cache", tmp_path / "remote"
    outside = tmp_path / "precious.a1b2c3d40000.tmp"
    outside.write_text("keep")
    registry = cache / REGISTRY
    registry.mkdir(parents=True)
    (registry / "a1b2c3d4").write_text(f"{remote}\t..\n")
    remote.mkdir()
    clean_dead(str(cache), FakeRemote(remote))
    assert outside.read_text() == "keep"


@pytest.mark.parametrize("command", ["push", "fetch"])
def test_the_next_push_or_fetch_cleans_what_a_killed_one_left(repo_dir, tmp_path, command):
    remote = tmp_path / "remote"
    (repo_dir / "a.txt").write_text("a")
    assert run_cli("add", "a.txt", cwd=repo_dir).returncode == 0
    assert run_cli("remote", "add", "-d", "r", str(remote), cwd=repo_dir).returncode == 0
    git(repo_dir, "add", "-A")
    proc = start_writer(repo_dir / ".dvc" / "cache", remote)
    kill(proc)
    assert all(os.path.exists(p) for p in proc.paths)
    assert run_cli(command, cwd=repo_dir).returncode == 0
    assert not any(os.path.exists(p) for p in proc.paths)
    assert os.listdir(repo_dir / ".dvc" / "cache" / REGISTRY) == []
