"""Opening another repository by URL or path: a local work tree is used in place (its cache
serves data); anything else (a bare repo, file://, ssh, https) is cloned into a temporary
directory with `git clone`, whose remote config then serves data."""
from __future__ import annotations

import os
from contextlib import contextmanager

from dataver.errors import CloneError, NotARepoError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Iterator


def is_local_worktree(url: str) -> bool:
    return os.path.isdir(url) and os.path.exists(os.path.join(url, ".git"))


@contextmanager
def open_repo(url: str | None = None, rev: str | None = None,
              **config) -> Iterator[tuple[object, str | None]]:
    """Yield ``(Repo, rev)``: the repository at ``url`` (default: the current one) and the
    revision to read (None: its workspace; a clone is read at HEAD, which is ``rev`` checked
    out). Temporary clones are removed after. ``config`` holds Repo's config overrides
    (``config``, ``remote``, ``remote_config``)."""
    from dataver.repo import Repo

    if url is None or is_local_worktree(url) or (os.path.isdir(url) and Repo.find_root(url)):
        with Repo(url, **config) as repo:
            yield repo, rev
        return
    import shutil  # lazy, as below: only a remote repository needs them (start-up time)
    import tempfile

    tmp = tempfile.mkdtemp(prefix="dataver-clone-")
    try:
        path = clone(url, os.path.join(tmp, "repo"), rev)
        if not os.path.isdir(os.path.join(path, ".dvc")):
            raise NotARepoError(f"'{url}' is not a DVC repository (no .dvc directory)",
                                hint="check the URL")
        with Repo(path, **config) as repo:
            yield repo, "HEAD"  # as committed: a clone's workspace has no data
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def clone(url: str, dest: str, rev: str | None = None) -> str:
    """`git clone` ``url`` into ``dest`` and check out ``rev``; one-line CloneError on failure."""
    import subprocess

    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    proc = subprocess.run(["git", "clone", "-q", "--", url, dest], capture_output=True, env=env)
    if proc.returncode != 0:
        if os.path.isdir(url) and not _in_git_repo(url):  # git would say it "does not exist"
            raise NotARepoError(f"'{url}' exists but is neither a git nor a DVC repository",
                                hint="run `git init` and `dataver init` in it, or give the path "
                                     "or URL of a repository")
        raise CloneError(f"cannot clone '{url}': {_last_line(proc.stderr)}",
                         hint="check the URL and your access to it")
    if rev:
        proc = subprocess.run(["git", "checkout", "-q", "--detach", rev, "--"], cwd=dest,
                              capture_output=True, env=env)
        if proc.returncode != 0:
            raise CloneError(f"unknown Git revision '{rev}' in '{url}'",
                             hint="check the name with `git ls-remote`")
    return dest


def _in_git_repo(path: str) -> bool:
    """Whether git sees ``path`` as (inside) a repository, bare or not."""
    import subprocess

    proc = subprocess.run(["git", "-C", path, "rev-parse", "--git-dir"], capture_output=True)
    return proc.returncode == 0


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1].removeprefix("fatal: ") if lines else "git failed"
