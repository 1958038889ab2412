"""`data status`: the file-level view of what changed, as ``dvc data status`` reports it.

Three sides are compared: the outputs recorded at git HEAD, the outputs the `.dvc` files record
now, and the workspace. Keys are root-relative posix paths; an output that is a directory is
shown with a trailing ``/``. Without ``granular`` only outputs are compared; with it, the files
inside tracked directories too (their manifests read from the cache; a directory whose manifest
is not there makes its files ``unknown``). Unchanged directories are answered from the state db
(the same stamps `status` uses), so a no-op run reads no file and no manifest.
"""
from __future__ import annotations

import os
from collections import deque

from dataver.manifest import is_dir_oid

MODIFIED, ADDED, DELETED, RENAMED, UNKNOWN, UNCHANGED = (
    "modified", "added", "deleted", "renamed", "unknown", "unchanged")
_KINDS = (MODIFIED, ADDED, DELETED, RENAMED, UNKNOWN)


class Entry:
    """One key of a side: an oid (None: recorded without one), whether it is a directory."""

    __slots__ = ("oid", "hash_name", "isdir")

    def __init__(self, oid: str | None, hash_name: str, isdir: bool):
        self.oid, self.hash_name, self.isdir = oid, hash_name, isdir


def data_status(repo, targets: list[str] | None = None, granular: bool = False,
                untracked_files: str = "no", not_in_remote: bool = False,
                remote: str | None = None, jobs: int | None = None, git: bool = True) -> dict:
    """The full status, keys in DVC's order: ``not_in_cache``, ``not_in_remote``,
    ``committed``, ``uncommitted``, ``untracked``, ``unchanged`` and ``git`` (is_empty,
    is_dirty). Lists are sorted."""
    filters = _filter_keys(repo, targets)
    items = [i for i in repo.tracked() if _wanted(_key(repo, i.abspath), filters, True)]
    index = _index(repo, items, granular)
    uncommitted, unchanged_ws, not_in_cache = _uncommitted(repo, items, index, granular, filters)
    missing_remote = _not_in_remote(repo, items, granular, filters, remote, jobs) \
        if not_in_remote else []
    committed: dict = {}
    unchanged = unchanged_ws
    git_root = getattr(repo.scm, "root", None)
    empty = False
    if git_root is not None:
        head_items = _head_items(repo)
        empty = head_items is None
        head = _index(repo, [i for i in head_items or []
                             if _wanted(_key(repo, i.abspath), filters, True)], granular)
        committed, unchanged_c = _diff(head, index, filters)
        unchanged = unchanged_ws & unchanged_c
    repo.state.flush()
    git = _git_info(repo, untracked_files, targets) \
        if git_root is not None and (git or untracked_files == "all") else {}
    return {
        "not_in_cache": sorted(not_in_cache),
        "not_in_remote": sorted(missing_remote),
        "committed": committed,
        "uncommitted": uncommitted,
        "untracked": git.get("untracked", []),
        "unchanged": sorted(unchanged),
        "git": {"is_empty": empty, "is_dirty": git.get("is_dirty", False)},
    }


# --- sides --------------------------------------------------------------------------------------
def _key(repo, abspath: str) -> str:
    return os.path.relpath(abspath, repo.root).replace(os.sep, "/")


def _filter_keys(repo, targets) -> list[tuple[str, ...]]:
    keys = sorted({tuple(_key(repo, os.path.abspath(t)).split("/")) for t in targets or ()}, key=len)
    pruned: list[tuple[str, ...]] = []
    for key in keys:
        if not any(key[:len(p)] == p for p in pruned):
            pruned.append(key)
    return pruned


def _wanted(key: str, filters, parents: bool = False) -> bool:
    """Whether ``key`` is inside a target (``parents``: or on the way to one)."""
    if not filters:
        return True
    parts = tuple(key.split("/"))
    return any(parts[:len(f)] == f or (parents and f[:len(parts)] == parts) for f in filters)


def _head_items(repo):
    """The outputs recorded at HEAD, or None when the repository has no commit yet."""
    from dataver.revtree import RevTree

    if not repo.scm.has_commits():
        return None
    return RevTree(repo, "HEAD").tracked()


def _index(repo, items, granular: bool) -> dict[str, Entry | None]:
    """key -> Entry for each output (and, with ``granular``, each file of a tracked directory,
    under ``dir/``-prefixed keys; a directory whose manifest is missing maps its key + "/*" to
    None, meaning its files are unknown)."""
    index: dict[str, Entry | None] = {}
    for item in items:
        out = item.out
        key = _key(repo, item.abspath)
        isdir = out.is_dir or (out.md5 is None and os.path.isdir(item.abspath))
        index[key] = Entry(out.md5, out.hash_name, isdir)
        if granular and out.is_dir:
            manifest = _manifest(repo, out.md5, out.hash_name)
            if manifest is None:
                index[key + "/*"] = None
                continue
            for rel, oid in manifest.entries.items():
                index[f"{key}/{rel}"] = Entry(oid, out.hash_name, False)
    return index


def _manifest(repo, oid: str, hash_name: str):
    from dataver.errors import UserError

    try:
        return repo.odb.read_manifest(oid, hash_name)
    except (FileNotFoundError, UserError):
        return None


def _shown(key: str, entry: Entry) -> str:
    return key + "/" if entry.isdir else key


# --- comparing --------------------------------------------------------------------------------------
def _diff(old: dict, new: dict, filters) -> tuple[dict, set[str]]:
    """(changes by kind, unchanged keys) between two sides, by oid only."""
    changes: dict[str, list] = {}
    unchanged: set[str] = set()
    adds, dels = [], []
    unknown_dirs = {k[:-2] for k, v in {**old, **new}.items() if k.endswith("/*") and v is None}
    for key in sorted(old.keys() | new.keys()):
        if key.endswith("/*") or not _wanted(key, filters):
            continue
        o, n = old.get(key), new.get(key)
        owner = next((d for d in unknown_dirs if key.startswith(d + "/")), None)
        if owner is not None:
            if n is not None:  # the file and the folders between it and the output: unknown
                parts = key[len(owner) + 1:].split("/")
                unknown = changes.setdefault(UNKNOWN, [])
                unknown += [f"{owner}/{'/'.join(parts[:i])}/" for i in range(1, len(parts))
                            if f"{owner}/{'/'.join(parts[:i])}/" not in unknown]
                unknown.append(_shown(key, n))
            continue
        typ = _typ(o.oid if o else None, n.oid if n else None)
        if typ is None:
            continue
        if typ == UNCHANGED:
            unchanged.add(_shown(key, n or o))
        elif typ == ADDED:
            adds.append((key, n))
        elif typ == DELETED:
            dels.append((key, o))
        else:
            changes.setdefault(typ, []).append(_shown(key, n or o))
    _renames(adds, dels, changes)
    return _ordered(changes), unchanged


def _typ(old_oid, new_oid) -> str | None:
    if old_oid is None and new_oid is None:
        return None
    if old_oid is None:
        return ADDED
    if new_oid is None:
        return DELETED
    return UNCHANGED if old_oid == new_oid else MODIFIED


def _renames(adds, dels, changes) -> None:
    """Pair each added key with a deleted one of the same oid (both in path order): renamed."""
    by_oid: dict[str, deque] = {}
    for key, entry in dels:
        by_oid.setdefault(entry.oid, deque()).append((key, entry))
    for key, entry in adds:
        queue = by_oid.get(entry.oid) if entry.oid else None
        if queue:
            old_key, old = queue.popleft()
            changes.setdefault(RENAMED, []).append(
                {"old": _shown(old_key, old), "new": _shown(key, entry)})
        else:
            changes.setdefault(ADDED, []).append(_shown(key, entry))
    for queue in by_oid.values():
        for key, entry in queue:
            changes.setdefault(DELETED, []).append(_shown(key, entry))


def _ordered(changes: dict) -> dict:
    result = {}
    for kind in _KINDS:
        if changes.get(kind):
            values = changes[kind]
            result[kind] = sorted(values, key=lambda v: (v["new"], v["old"])) \
                if kind == RENAMED else sorted(values)
    return result


def _uncommitted(repo, items, index, granular: bool, filters):
    """(changes, unchanged keys, keys not in the cache) between the `.dvc` files and the
    workspace."""
    workspace: dict[str, Entry | None] = {}
    for item in items:
        out, key = item.out, _key(repo, item.abspath)
        recorded = index[key]
        if not os.path.lexists(item.abspath):
            continue
        isdir = os.path.isdir(item.abspath)
        if granular and isdir:
            manifest = repo.hasher.dir_manifest(item.abspath, repo.ignore, out.hash_name)[0]
            workspace[key] = Entry(manifest.oid, out.hash_name, True)
            for rel, oid in manifest.entries.items():
                workspace[f"{key}/{rel}"] = Entry(oid, out.hash_name, False)
            continue
        if out.md5 is not None and _same(repo, item, out):
            workspace[key] = Entry(out.md5, out.hash_name, recorded.isdir)
        else:  # differs from a recorded oid, or new: its own oid is needed only to find renames
            workspace[key] = Entry(None if out.md5 is None else "?" + key, out.hash_name, isdir)
    deleted = any(k not in workspace and e is not None and e.oid for k, e in index.items()
                  if not k.endswith("/*"))
    for item in items:
        ws = workspace.get(_key(repo, item.abspath))
        if ws is not None and ws.oid is None:
            ws.oid = _workspace_oid(repo, item) if deleted else "?"
    if granular:  # the files of a directory recorded without a readable manifest: unknown
        for key, entry in index.items():
            if key.endswith("/*") and entry is None:
                workspace[key] = None
    changes, unchanged = _diff(index, workspace, filters)
    return changes, unchanged, _not_in_cache(repo, index, filters)


def _same(repo, item, out) -> bool:
    from dataver.ops.status import has_oid

    return has_oid(repo, item.abspath, out.hash_name, out.md5)


def _workspace_oid(repo, item) -> str:
    if os.path.isdir(item.abspath):
        return repo.hasher.dir_manifest(item.abspath, repo.ignore, item.out.hash_name)[0].oid
    if not os.path.exists(item.abspath):
        return "?"
    return repo.hasher.hash_file(item.abspath, item.out.hash_name)[0]


def _not_in_cache(repo, index, filters) -> list[str]:
    """Shown keys whose recorded object the cache lacks (one listing per oid prefix)."""
    paths: dict[str, str] = {}
    for key, entry in index.items():
        if entry is None or entry.oid is None or key.endswith("/*") or not _wanted(key, filters):
            continue
        paths[_shown(key, entry)] = repo.odb.path(entry.oid, entry.hash_name)
    listed: dict[str, set[str]] = {}
    missing = []
    for shown, path in paths.items():
        parent, name = os.path.split(path)
        if parent not in listed:
            try:
                listed[parent] = set(os.listdir(parent))
            except OSError:
                listed[parent] = set()
        if name not in listed[parent]:
            missing.append(shown)
    return missing


def _not_in_remote(repo, items, granular: bool, filters, remote, jobs) -> list[str]:
    """Keys of pushable outputs (with ``granular``, also their files) the remote lacks."""
    from dataver.remote import open_remote
    from dataver.transfer import Obj

    pushable = [i for i in items if i.out.push and i.out.cache and i.out.md5]
    objs: dict[str, Obj] = {}
    for key, entry in _index(repo, pushable, granular).items():
        if entry is None or entry.oid is None or key.endswith("/*") or not _wanted(key, filters):
            continue
        objs[_shown(key, entry)] = Obj.make(entry.oid, entry.hash_name, key)
    if not objs:
        return []
    rem = open_remote(repo, remote, jobs)
    try:
        rem.check()
        present = rem.backend.exists_many(sorted({o.key for o in objs.values()}), rem.jobs)
    finally:
        rem.close()
    return [shown for shown, obj in objs.items() if obj.key not in present]


# --- git ------------------------------------------------------------------------------------------
def _git_info(repo, untracked_files: str, targets) -> dict:
    """``untracked`` (paths relative to the working directory) and ``is_dirty``, from git."""
    mode = "all" if untracked_files == "all" else "no"
    out = repo.scm.run("status", "--porcelain", "-z", f"--untracked-files={mode}").stdout
    records = [r for r in out.decode("utf-8", "surrogateescape").split("\0") if r]
    untracked = []
    for record in records:
        if record.startswith("?? "):
            untracked.append(record[3:])
    if targets:
        wanted = [os.path.relpath(os.path.abspath(t), repo.scm.root) for t in targets]
        untracked = [u for u in untracked
                     if any(u == w or u.startswith(w + "/") for w in wanted)]
    git_root = repo.scm.root
    return {"untracked": sorted(os.path.relpath(os.path.join(git_root, u)) for u in untracked),
            "is_dirty": bool(records)}
