"""`du`: disk usage of a repository's files, git-tracked and DVC-tracked, as ``dvc du`` shows it.

A folder's size is the sum of the files below it; a tracked directory counts as the size of
its files in the workspace when it is there, else as the size its `.dvc` file records (no
manifest is read for it). `.dvc` files, `dvc.yaml` and `.dvcignore` are left out, as DVC's
file system hides them."""
from __future__ import annotations

import os

from dataver.errors import PathMissingError
from dataver.ops.locate import normalize
from dataver.ops.ls import build_tree, dvc_hidden


def du(repo, path: str | None = None, rev: str | None = None,
       summarize: bool = False) -> list[tuple[str, int]]:
    """``[(path, bytes)]``: each entry directly under ``path`` (sorted), then ``path`` itself
    with their sum; with ``summarize`` (or for a file) only ``path`` with its size."""
    key = normalize(path or "")
    tree = build_tree(repo, rev, None, key, recursive=False)
    if key and key not in tree:
        where = f" at revision '{rev}'" if rev else ""
        raise PathMissingError(f"'{key}' does not exist{where}", hint="check the path")
    sizes = _sizes(repo, tree, key, rev)
    shown = path or ""
    entry = tree.get(key)
    if summarize or (entry is not None and not entry.isdir):
        return [(shown, _size_of(repo, tree, sizes, key, rev))]
    prefix = key + "/" if key else ""
    children = sorted(k for k in tree if k.startswith(prefix) and "/" not in k[len(prefix):]
                      and not dvc_hidden(k))
    result = [(k, _size_of(repo, tree, sizes, k, rev)) for k in children]
    result.append((shown, sum(size for _k, size in result)))
    return result


def _sizes(repo, tree, key: str, rev) -> dict[str, int]:
    """Folder -> bytes below it, from one pass over the leaves (files, and tracked directories
    that ``key`` is not inside of, which count as one)."""
    units = [k for k, e in tree.items() if e.isout and e.isdir and e.md5
             and not (key == k or key.startswith(k + "/"))]
    unit_prefixes = tuple(u + "/" for u in units)
    sizes: dict[str, int] = {}
    for k, entry in tree.items():
        if dvc_hidden(k) or (unit_prefixes and k.startswith(unit_prefixes)):
            continue
        if entry.isdir and k not in units:
            continue
        size = _unit_size(repo, k, entry, rev) if k in units else entry.size or 0
        sizes[k] = size
        parts = k.split("/")
        for depth in range(len(parts)):
            parent = "/".join(parts[:depth])
            sizes[parent] = sizes.get(parent, 0) + size
    return sizes


def _size_of(repo, tree, sizes: dict[str, int], key: str, rev) -> int:
    entry = tree.get(key)
    if entry is not None and not entry.isdir:
        return entry.size or 0
    if entry is not None and entry.isout and entry.isdir and entry.md5 and key not in sizes:
        return _unit_size(repo, key, entry, rev)
    return sizes.get(key, 0)


def _unit_size(repo, key: str, entry, rev) -> int:
    """A tracked directory: its files on disk when it is in the workspace, else its recorded
    size."""
    from dataver.workspace import scan_dir

    abspath = os.path.join(repo.root, *key.split("/"))
    if rev is None and os.path.isdir(abspath):
        return sum(e.stat.size for e in scan_dir(abspath, key, repo.ignore))
    return entry.size or 0
