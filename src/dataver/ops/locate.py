"""Finding a path's data at a revision: which output holds it, which object it is, and getting
that object into the cache (from the remote when the cache lacks it).

Used by the Python API (open/read/get_url) and by `ls`/`get`/`import`.
"""
from __future__ import annotations

import os
import posixpath
from dataver.errors import PathMissingError, RemoteError, UserError
from dataver.hashing import MD5


class Located:
    """Where ``key`` (a root-relative path) lives at one revision.

    ``item`` is the output containing it and ``subpath`` its path inside a tracked directory
    (None for the output itself); ``item`` is None for a path git tracks instead."""

    __slots__ = ("key", "rev", "item", "subpath", "git_kind")

    def __init__(self, key: str, rev: str | None, item: object | None, subpath: str | None,
                 git_kind: str | None = None):
        self.key = key
        self.rev = rev
        self.item = item
        self.subpath = subpath
        self.git_kind = git_kind  # "blob" or "tree" when git tracks the path

    @property
    def hash_name(self) -> str:
        return self.item.out.hash_name if self.item is not None else MD5


def normalize(path: str) -> str:
    """A root-relative ``/`` path from user input (``./a/b/`` -> ``a/b``)."""
    norm = posixpath.normpath(path.replace(os.sep, "/")).strip("/")
    return "" if norm == "." else norm


def tracked_at(repo, rev: str | None):
    """Outputs at ``rev`` (None: the current `.dvc` files)."""
    return repo.at_rev(rev).tracked() if rev else repo.tracked()


def locate(repo, path: str, rev: str | None = None, items=None) -> Located:
    """Find ``path`` (relative to the repo root) at ``rev``; raises PathMissingError."""
    key = normalize(path)
    items = tracked_at(repo, rev) if items is None else items
    for item in items:
        out_key = os.path.relpath(item.abspath, repo.root).replace(os.sep, "/")
        if key == out_key:
            return Located(key, rev, item, None)
        if key.startswith(out_key + "/"):
            return Located(key, rev, item, key[len(out_key) + 1:])
    kind = git_kind(repo, key, rev)
    if kind is None:
        raise missing(key, rev)
    return Located(key, rev, None, None, kind)


def git_kind(repo, key: str, rev: str | None) -> str | None:
    """"blob"/"tree" if the path exists outside tracked data (in git at ``rev`` or on disk)."""
    if rev:
        tree = repo.at_rev(rev)
        return "tree" if key == "" else (tree.entries.get(key) or (None,))[0]
    abspath = os.path.join(repo.root, *key.split("/")) if key else repo.root
    if os.path.isdir(abspath):
        return "tree"
    return "blob" if os.path.isfile(abspath) else None


def missing(key: str, rev: str | None) -> PathMissingError:
    where = f" at revision '{rev}'" if rev else ""
    return PathMissingError(f"'{key}' does not exist{where}",
                            hint="check the path (relative to the repository root)")


def manifest_of(repo, loc: Located, remote: str | None = None, jobs: int | None = None):
    """The manifest of the tracked directory holding ``loc`` (fetched if the cache lacks it)."""
    out = loc.item.out
    try:
        return repo.odb.read_manifest(out.md5, out.hash_name)
    except FileNotFoundError:
        pass
    fetch_objects(repo, loc, remote, jobs)
    try:
        return repo.odb.read_manifest(out.md5, out.hash_name)
    except FileNotFoundError:
        raise not_available(loc, remote) from None


def file_oid(repo, loc: Located, remote: str | None = None) -> str:
    """The object id of the file at ``loc``; raises if it is a directory or absent."""
    out = loc.item.out
    if out.md5 is None:
        raise UserError(f"'{loc.key}' has no committed data", hint="run `dataver commit` first")
    if loc.subpath is None:
        if out.is_dir:
            raise is_a_directory(loc.key)
        return out.md5
    entries = manifest_of(repo, loc, remote).entries
    oid = entries.get(loc.subpath)
    if oid is None:
        prefix = loc.subpath + "/"
        if any(rel.startswith(prefix) for rel in entries):
            raise is_a_directory(loc.key)
        raise missing(loc.key, loc.rev)
    return oid


def is_a_directory(key: str) -> UserError:
    return PathMissingError(f"'{key}' is a directory, not a file", hint="name a file inside it")


def cached_file(repo, loc: Located, remote: str | None = None, jobs: int | None = None) -> str:
    """The cache path of the file at ``loc``, fetching it from the remote if needed."""
    oid = file_oid(repo, loc, remote)
    path = repo.odb.path(oid, loc.hash_name)
    if not os.path.exists(path):
        fetch_objects(repo, loc, remote, jobs)
        if not os.path.exists(path):
            raise not_available(loc, remote)
    if not repo.odb.sound(oid, loc.hash_name):  # never hand out bytes that changed since stored
        raise repo.odb.corrupt_error(oid, loc.hash_name)
    return path


def fetch_objects(repo, loc: Located, remote: str | None = None, jobs: int | None = None) -> None:
    """Fetch what ``loc`` needs (a file, or one file inside a directory) into the cache: from
    the output's own remote (its ``remote:``) if it has one, as DVC's API reads it, else ``remote``."""
    from dataver.transfer import Used

    out = loc.item.out
    out_key = os.path.relpath(loc.item.abspath, repo.root).replace(os.sep, "/")
    remote = out.remote or remote
    try:
        repo.fetch(used=[Used(out_key, out.md5, out.hash_name, loc.subpath)], remote=remote,
                   jobs=jobs)
    except RemoteError as exc:
        raise not_available(loc, remote, exc) from None


def not_available(loc: Located, remote: str | None, exc: Exception | None = None) -> UserError:
    reason = f": {exc.message}" if isinstance(exc, UserError) else ""
    return RemoteError(f"data of '{loc.key}' is not in the cache and could not be fetched{reason}",
                       hint="push it from the source repository or configure a remote"
                       if remote is None else None)
