"""Shared fixtures: an isolated environment (HOME, git identity, no GIT_* leakage), a fresh git
repo with `dataver init`, and helpers to run dataver and real dvc."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")


def dvc_bin() -> str | None:
    """The real `dvc` used by compat tests: $DATAVER_DVC, else .venv-dvc/bin/dvc, else PATH."""
    candidates = [os.environ.get("DATAVER_DVC"), os.path.join(ROOT, ".venv-dvc", "bin", "dvc"),
                  shutil.which("dvc")]
    for cand in candidates:
        if cand and os.path.exists(cand):
            return cand
    return None


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Scrub the user's git/dvc config so tests see a fresh machine."""
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(("GIT_", "DVC_", "DATAVER_")) and key != "DATAVER_DVC":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(home / "system-dvc"))
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(home / ".config" / "dvc"))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(home / "dvc-site-cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    monkeypatch.setenv("PYTHONPATH", SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    yield


def git(cwd, *args, check=True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


@pytest.fixture
def git_dir(tmp_path, monkeypatch):
    """An empty git work tree, as the current directory."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def repo_dir(git_dir):
    """A git work tree with `dataver init` done and committed."""
    from dataver.repo import Repo

    Repo.init(str(git_dir))
    git(git_dir, "commit", "-qm", "init")
    return git_dir


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """Run `python -m dataver` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "dataver", *args], cwd=cwd, capture_output=True,
                          text=True)


def run_dvc(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    """Run the real dvc; skipped-never: fails loudly if dvc is not installed."""
    exe = dvc_bin()
    if exe is None:
        raise AssertionError("real dvc not found: run scripts/test.sh (it installs .venv-dvc)")
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def tree(path) -> dict[str, bytes]:
    """Every file below ``path`` -> its bytes (for comparing workspaces)."""
    result = {}
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            result[os.path.relpath(full, path)] = open(full, "rb").read()
    return result


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory):
    """``get(type) -> Server``: each type's server starts on first use and runs until the end of
    the session (per xdist worker), shared by every test file that needs it."""
    from tests.remotes.servers import launcher

    started: dict = {}

    def get(kind: str):
        if kind not in started:
            started[kind] = launcher(kind)(str(tmp_path_factory.mktemp(f"server-{kind}")))
        return started[kind]

    yield get
    for server in started.values():
        server.stop()
