"""Opening another repository by URL or path: a local work tree is used in place (its cache
serves data); anything else (a bare repo, file://, ssh, https) is cloned into a temporary
directory with `git clone`, whose remote config then serves data. A git repository without
`.dvc/` is opened as :class:`dataver.git_only.GitOnlyRepo`: its git files only."""
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

    if url is not None and is_local_worktree(url) and not Repo.find_root(url):
        from dataver.git_only import GitOnlyRepo  # plain git: DVC serves its git files

        with GitOnlyRepo(os.path.abspath(url)) as repo:
            yield repo, rev
        return
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
            from dataver.git_only import GitOnlyRepo

            with GitOnlyRepo(path) as repo:
                yield repo, "HEAD"
            return
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



def source_overrides(config: str | dict | None = None, remote: str | None = None,
                     remote_config: dict | None = None) -> dict:
    """``open_repo`` keyword arguments for DVC's ``--config FILE`` (or a config dict, as an
    import records it), ``--remote NAME`` and ``--remote-config NAME=VALUE...``: merged over
    the source repository's config, in that order, for this command only."""
    overrides: dict = {}
    if isinstance(config, str):
        overrides["config"] = _config_file(config)
    elif config:
        overrides["config"] = config
    if remote:
        overrides["remote"] = remote
    if remote_config:
        overrides["remote_config"] = remote_config
    return overrides


def _config_file(path: str) -> dict:
    """A config file as DVC's nested ``config=`` dict (``{"remote": {NAME: {...}}, ...}``)."""
    from dataver.config import load_file
    from dataver.errors import ConfigError

    if not os.path.isfile(path):
        raise ConfigError("config file does not exist", path=path,
                          hint="give the path of a DVC config file")
    nested: dict = {}
    for section, values in load_file(path).items():
        name, _, remote_name = section.partition(":")
        if name == "remote" and remote_name:  # load_file's "remote:NAME"
            nested.setdefault("remote", {})[remote_name] = values
        else:
            nested[section] = values
    return nested


def parse_options(items: list[str] | None) -> dict | None:
    """``--remote-config NAME=VALUE...`` as a dict; None when there are none."""
    from dataver.ops.url_fs import parse_fs_config

    return parse_fs_config(items, "--remote-config") or None


def recorded_source(config: str | None, remote: str | None, remote_config: dict | None) -> dict:
    """What an import records of its source's config next to ``url`` and ``rev_lock``, as DVC
    writes it: ``config`` (the file), ``remote`` (a name, or the ``--remote-config`` options);
    a name with options becomes a config dict (not allowed together with a file)."""
    from dataver.errors import UserError

    if remote and remote_config:
        if config:
            raise UserError("cannot give --config together with both --remote and --remote-config",
                            hint="drop one of them")
        return {"config": {"core": {"remote": remote}, "remote": {remote: dict(remote_config)}}}
    recorded: dict = {"config": config} if config else {}
    if remote or remote_config:
        recorded["remote"] = remote or dict(remote_config)
    return recorded


def recorded_overrides(info) -> dict:
    """``open_repo`` keyword arguments from an import's recorded ``config`` and ``remote``."""
    remote = info.get("remote")
    config = info.get("config")
    if isinstance(config, dict):
        config = _plain(config)
    if isinstance(remote, dict):
        return source_overrides(config, None, _plain(remote))
    return source_overrides(config, remote, None)


def _plain(value):
    """ruamel's mappings as plain dicts (the config code checks for ``dict``)."""
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
