"""The public Python API: ``open``, ``read`` and ``get_url`` with DVC's signatures, and the
:class:`Repo` facade (every command as a method that returns data and never prints).

Data is read from the cache, else fetched from the remote (verified) into the cache first, so a
large file is streamed from disk and never read whole into memory by ``open``.
"""
from __future__ import annotations

import builtins
import io
import os
from contextlib import ExitStack

from dataver.errors import (  # noqa: F401 - re-exported for callers
    CloneError, ConfigError, DataverError, NotARepoError, PathMissingError, RemoteError, ScmError,
    UserError,
)
from dataver.external import open_repo
from dataver.ops import locate as _locate
from dataver.repo import Repo  # noqa: F401 - the facade

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = ["open", "read", "get_url", "card", "card_diff", "params_show", "metrics_show", "Repo", "DataverError", "UserError", "PathMissingError",
           "ScmError", "CloneError", "RemoteError", "NotARepoError", "ConfigError"]


def open(  # noqa: A001 - mirrors dvc.api.open
    path: str,
    repo: str | None = None,
    rev: str | None = None,
    remote: str | None = None,
    mode: str = "r",
    encoding: str | None = None,
    config: dict[str, Any] | None = None,
    remote_config: dict[str, Any] | None = None,
) -> IO[Any]:
    """Open ``path`` (relative to the root of ``repo``) as committed at ``rev``.

    ``repo`` is a local path or any git URL (default: the repository around the working
    directory); ``rev`` any git revision (default: the workspace of a local repository, where a
    missing file is read from the cache; HEAD of a cloned one).
    ``mode`` is ``"r"`` (text, with ``encoding``) or ``"rb"``. Works for tracked files, files
    inside tracked directories, and plain git files. Use it in a ``with`` statement.
    ``config`` (DVC's layout, e.g. ``{"remote": {NAME: {"url": ...}}, "core": {"remote": NAME}}``)
    is merged over the repository's config; ``remote_config`` into the section of ``remote``
    (or of the default remote). Neither is saved.
    """
    if mode not in ("r", "rb", "rt"):
        raise ValueError(f"mode {mode!r} is not supported: use 'r' or 'rb'")
    # Data in the cache needs no remote: a remote section without a url fails only if used.
    overrides = {"config": config, "remote": remote, "remote_config": remote_config,
                 "remotes_checked": False}
    binary = _open_binary(path, repo, rev, remote, overrides)
    if mode == "rb":
        return binary
    return io.TextIOWrapper(binary, encoding=encoding or "utf-8")


def read(
    path: str,
    repo: str | None = None,
    rev: str | None = None,
    remote: str | None = None,
    mode: str = "r",
    encoding: str | None = None,
    config: dict[str, Any] | None = None,
    remote_config: dict[str, Any] | None = None,
) -> str | bytes:
    """The whole content of ``path``: ``str`` for mode ``"r"``, ``bytes`` for ``"rb"``
    (arguments as for :func:`open`)."""
    with open(path, repo=repo, rev=rev, remote=remote, mode=mode, encoding=encoding,
              config=config, remote_config=remote_config) as fobj:
        return fobj.read()


def get_url(path: str, repo: str | None = None, rev: str | None = None,
            remote: str | None = None, config: dict[str, Any] | None = None,
            remote_config: dict[str, Any] | None = None) -> str:
    """The URL of ``path``'s object on its output's own remote (``remote:``), else on ``remote``
    (default: the default remote), as ``dvc.api.get_url``; for a tracked directory, the URL of
    its `.dir` object. Does not check that the object is there. ``config`` and ``remote_config`` as for :func:`open`."""
    overrides = {"config": config, "remote": remote, "remote_config": remote_config}
    with open_repo(repo, rev, **overrides) as (dv_repo, use_rev):
        loc = _locate.locate(dv_repo, path, use_rev)
        if loc.item is None:
            raise PathMissingError(f"'{loc.key}' is not tracked by DVC",
                                   hint="get_url works for DVC-tracked data only")
        remote = loc.item.out.remote or remote  # as DVC: the output's own remote comes first
        if loc.subpath is None and loc.item.out.is_dir:
            oid = loc.item.out.md5
        else:
            oid = _locate.file_oid(dv_repo, loc, remote)
        return _remote_url(dv_repo, remote) + "/" + _object_key(oid, loc.hash_name)


def card(path: str, repo: str | None = None, rev: str | None = None, deep: bool = False,
         remote: str | None = None) -> dict[str, Any]:
    """The data card (docs/cards.md) of the output ``path`` (relative to the root of ``repo``,
    or its `.dvc` file) at ``rev`` (default: the workspace of a local repository, HEAD of a
    cloned one). A card stored with that version is returned as it is; otherwise it is computed
    from the cache (objects missing there are fetched from ``remote``, default the default one).
    ``deep`` decodes every image fully."""
    with open_repo(repo, rev, remote=remote) as (dv_repo, use_rev):
        target = os.path.join(dv_repo.root, *path.split("/"))
        return dv_repo.card([target], rev=use_rev, deep=deep)[0]


def card_diff(path: str | None = None, a_rev: str = "HEAD", b_rev: str | None = None,
              repo: str | None = None, fail_if: list[str] | None = None) -> list[dict[str, Any]]:
    """Card diffs between ``a_rev`` and ``b_rev`` (default: the workspace) of the output
    ``path`` (relative to the root of ``repo``; None: every output), one per output. Each lists
    in ``"failed"`` the ``fail_if`` expressions (docs/cards.md) that hold."""
    with open_repo(repo, None) as (dv_repo, _rev):
        targets = None if path is None else [os.path.join(dv_repo.root, *path.split("/"))]
        return dv_repo.card_diff(a_rev, b_rev, targets, fail_if=fail_if)


def params_show(*targets: str, repo: str | None = None, rev: str | None = None,
                deps: bool = False) -> dict[str, Any]:
    """The parameters of ``repo`` at ``rev`` (default: the workspace of a local repository),
    merged into one dict as ``dvc.api.params_show`` returns them: those the stages list (only
    those with ``deps``), the top-level params files and params.yaml, or the ``targets`` files
    (relative to the repository root). A key found in two files is named ``file:key``. A file
    that cannot be read raises a UserError."""
    from dataver.pipeline.params_diff import gather

    return _merged(gather, targets, repo, rev, deps_only=deps)


def metrics_show(*targets: str, repo: str | None = None, rev: str | None = None) -> dict[str, Any]:
    """The metrics of ``repo`` at ``rev`` merged into one dict as ``dvc.api.metrics_show``
    returns them: of the metrics files dvc.yaml declares, or of the ``targets`` (relative to
    the repository root). A key found in two files is named ``file:key``."""
    from dataver.pipeline.metrics import gather

    return _merged(gather, targets, repo, rev)


def _merged(gather, targets, repo, rev, **kwargs) -> dict[str, Any]:
    """One revision's files gathered by ``gather``, merged by top-level key."""
    from collections import Counter

    from dataver.pipeline.metrics import side
    from dataver.pipeline.params_diff import root_relative_targets

    with open_repo(repo, rev) as (dv_repo, use_rev):
        files = gather(side(dv_repo, use_rev), root_relative_targets(targets), **kwargs)
    for rel, result in files.items():
        if "error" in result:
            raise UserError(f"cannot read it: {result['error'].msg}", path=rel)
    # a file that holds no mapping (a CSV is one YAML string) has no keys to merge
    files = {rel: result for rel, result in files.items() if isinstance(result["data"], dict)}
    counts = Counter(key for result in files.values() for key in result["data"])
    merged: dict[str, Any] = {}
    for rel, result in files.items():
        merged.update({(key if counts[key] == 1 else f"{rel}:{key}"): value
                       for key, value in result["data"].items()})
    return merged


def _object_key(oid: str, hash_name: str) -> str:
    from dataver.remote.base import object_key

    return object_key(oid, hash_name)


def _remote_url(repo, remote: str | None) -> str:
    from dataver.remote import default_remote_name

    name = remote or default_remote_name(repo.config)
    conf = repo.config.remotes().get(name)
    if conf is None:
        raise repo.config.missing_remote(name)  # names the file of core.remote
    return str(conf["url"]).rstrip("/")


def _open_binary(path: str, repo: str | None, rev: str | None, remote: str | None,
                 overrides: dict) -> IO[bytes]:
    with ExitStack() as stack:
        dv_repo, use_rev = stack.enter_context(open_repo(repo, rev, **overrides))
        loc = _locate.locate(dv_repo, path, use_rev)
        if loc.item is None:
            return _open_git_file(dv_repo, loc)
        on_disk = os.path.join(dv_repo.root, *loc.key.split("/"))
        if use_rev is None and os.path.isfile(on_disk):
            return builtins.open(on_disk, "rb")  # the workspace, as DVC reads it without a rev
        # The cache file is opened before a temporary clone is removed: the open descriptor
        # keeps the data readable (POSIX), so nothing is copied.
        return builtins.open(_locate.cached_file(dv_repo, loc, remote), "rb")
    raise AssertionError("unreachable")


def _open_git_file(repo, loc) -> IO[bytes]:
    if loc.git_kind != "blob":
        raise _locate.is_a_directory(loc.key)
    if loc.rev:
        return io.BytesIO(repo.at_rev(loc.rev).read_bytes(loc.key) or b"")
    return builtins.open(os.path.join(repo.root, *loc.key.split("/")), "rb")
