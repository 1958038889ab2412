"""`status`: compare the workspace with the `.dvc` files, reporting as DVC does."""
from __future__ import annotations

import os

from dataver.manifest import is_dir_oid

MODIFIED, DELETED, NOT_IN_CACHE, NEW = "modified", "deleted", "not in cache", "new"


def status(repo, targets: list[str] | None = None) -> dict[str, list[dict]]:
    """``{dvcfile: [{"changed outs": {out_path: state}}]}`` for outputs that differ, the shape of
    ``dvc status --json``; paths relative to the repo root. Empty when everything is up to date."""
    result: dict[str, list[dict]] = {}
    for item in repo.resolve_targets(targets):
        state = out_state(repo, item)
        if state is None:
            continue
        key = os.path.relpath(item.dvcfile.path, repo.root)
        changed = _entry(result.setdefault(key, []))
        changed[os.path.relpath(item.abspath, repo.root)] = state
    repo.state.flush()
    return result


def _entry(entries: list[dict]) -> dict:
    if not entries:
        entries.append({"changed outs": {}})
    return entries[0]["changed outs"]


def out_state(repo, item) -> str | None:
    """``modified``/``deleted``/``not in cache``/``new`` (never committed), or None if unchanged."""
    out = item.out
    if out.md5 is None:
        return NEW if os.path.lexists(item.abspath) else DELETED
    # An uncached output (`cache: false`) is still compared with its recorded hash, as DVC does.
    if out.cache and not _in_cache(repo, out.md5, out.hash_name):
        return NOT_IN_CACHE
    if not os.path.lexists(item.abspath):
        return DELETED
    current = current_oid(repo, item.abspath, out.hash_name, is_dir_oid(out.md5))
    return None if current == out.md5 else MODIFIED


def _in_cache(repo, oid: str, hash_name: str) -> bool:
    if not repo.odb.exists(oid, hash_name):
        return False
    if not is_dir_oid(oid):
        return True
    try:
        manifest = repo.odb.read_manifest(oid, hash_name)
    except FileNotFoundError:
        return False
    children = set(manifest.entries.values())
    return len(repo.odb.existing(children, hash_name)) == len(children)


def current_oid(repo, abspath: str, hash_name: str, expect_dir: bool) -> str | None:
    """The oid the workspace content at ``abspath`` would have (a `.dir` oid for directories)."""
    if os.path.isdir(abspath):
        manifest, _size, _files = repo.hasher.dir_manifest(abspath, repo.ignore, hash_name)
        return manifest.oid
    if not os.path.exists(abspath):  # a broken symlink
        return None
    return repo.hasher.hash_file(abspath, hash_name)[0]
