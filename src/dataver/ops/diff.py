"""`diff`: added, deleted, modified and renamed data between two revisions (or a revision and the
workspace), including files inside tracked directories, reported as ``dvc diff`` does.

Each side is flattened to ``key -> Entry`` where keys are root-relative ``/`` paths: one entry per
output and one per file inside a tracked directory (from its `.dir` manifest in the cache). A
directory whose manifest is not available contributes only its own entry, as in DVC. Workspace
outputs are hashed through the state database, so unchanged files are not read again.
"""
from __future__ import annotations

import os
from collections import defaultdict, deque
from dataclasses import dataclass, field

from dataver import dvcfile
from dataver.errors import TargetError
from dataver.revtree import RevTree

STATES = ("added", "deleted", "renamed", "modified", "not in cache")


# One path on one side of a diff: a plain tuple ``(oid, hash_name, isdir, owner)``, where owner
# is the key of the tracked directory a file comes from. Plain tuples because a diff of two
# 20,000-file directories builds and compares them by the ten thousand.
Entry = tuple
OID, HASH, ISDIR, OWNER = range(4)


def _entry(oid, hash_name, isdir, owner=None) -> Entry:
    return (oid, hash_name, isdir, owner)


@dataclass
class Change:
    """One reported path. For ``renamed``, ``old_path`` is set; for ``modified``, ``old_hash``."""

    path: str
    hash: str | None
    old_path: str | None = None
    old_hash: str | None = None


@dataclass
class DiffResult:
    """The changes, each list sorted by path (old path for renames) as ``dvc diff`` prints them."""

    added: list[Change] = field(default_factory=list)
    deleted: list[Change] = field(default_factory=list)
    modified: list[Change] = field(default_factory=list)
    renamed: list[Change] = field(default_factory=list)
    not_in_cache: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(self.lists().values())

    def lists(self) -> dict[str, list[Change]]:
        return {"added": self.added, "deleted": self.deleted, "modified": self.modified,
                "renamed": self.renamed, "not in cache": self.not_in_cache}

    def to_dict(self, show_hash: bool = False, hide_missing: bool = False) -> dict:
        """The ``dvc diff --json`` structure (empty dict when nothing changed)."""
        if not self:
            return {}
        result = {}
        for state, changes in self.lists().items():
            if state == "not in cache" and hide_missing:
                continue
            result[state] = [_entry_dict(state, c, show_hash) for c in changes]
        return result


def _entry_dict(state: str, change: Change, show_hash: bool) -> dict:
    if state == "renamed":
        entry: dict = {"path": {"old": change.old_path, "new": change.path}}
    else:
        entry = {"path": change.path}
    if show_hash:
        entry["hash"] = ({"old": change.old_hash, "new": change.hash} if state == "modified"
                         else change.hash)
    return entry


def diff(repo, a_rev: str = "HEAD", b_rev: str | None = None,
         targets: list[str] | None = None) -> DiffResult:
    """Compare ``a_rev`` with ``b_rev`` (default: the workspace). ``targets`` (paths relative to
    the working directory) limit the comparison to those outputs, or paths inside them."""
    if not repo.scm.has_commits():
        return DiffResult()
    old_tree = RevTree(repo, a_rev)
    new_tree = RevTree(repo, b_rev) if b_rev else None
    if new_tree is not None and new_tree.sha == old_tree.sha:
        return DiffResult()
    old_items = old_tree.tracked()
    new_items = new_tree.tracked() if new_tree is not None else repo.tracked()
    roots = _roots(repo, targets, old_items, new_items) if targets else None
    # Outputs DVC does not cache (`cache: false` stage outputs) hold no versioned data.
    old_items, new_items = _cached_outs(old_items), _cached_outs(new_items)
    old = committed_index(repo, _select(old_items, roots, repo.root))
    if new_tree is None:
        new = workspace_index(repo, _select(new_items, roots, repo.root))
        repo.state.flush()
    else:
        new = committed_index(repo, _select(new_items, roots, repo.root))
    return compare(repo, old, new, roots, with_missing=new_tree is None)


def key_of(root: str, abspath: str) -> str:
    return os.path.relpath(abspath, root).replace(os.sep, "/")


def _under(key: str, root: str) -> bool:
    return key == root or key.startswith(root + "/")


def _roots(repo, targets, old_items, new_items) -> list[str]:
    """Root keys named by targets; a target absent from both sides is an error, as in DVC.
    A stage (``name``, ``path/dvc.yaml:name``) names its outputs, and wins over a path."""
    roots: list[str] = []
    for target in targets:
        found = _stage_roots(repo, target, old_items + new_items) or \
            _path_roots(repo, target, old_items + new_items)
        if not found:
            raise TargetError("is not tracked at either revision", path=target,
                              hint="name a .dvc file, a stage or a tracked output")
        roots += found
    return list(dict.fromkeys(roots))


def _path_roots(repo, target: str, items) -> list[str]:
    key = key_of(repo.root, os.path.abspath(target))
    roots = []
    for item in items:
        out_key = key_of(repo.root, item.abspath)
        if key == key_of(repo.root, item.dvcfile.path):
            roots.append(out_key)
        elif _under(key, out_key):
            roots.append(key)
    return roots


def _stage_roots(repo, target: str, items) -> list[str]:
    """Output keys of the stages ``target`` names: ``name`` of ./dvc.yaml or
    ``path/dvc.yaml:name``; a foreach group ``name`` names all its ``name@key`` stages."""
    file, sep, name = target.rpartition(":")
    if not sep:
        file, name = dvcfile.PIPELINE_FILE, target
    if not name or not dvcfile.is_pipeline_file(file) or (not sep and "/" in target):
        return []
    path = os.path.abspath(file)
    return [key_of(repo.root, item.abspath) for item in items
            if isinstance(item.dvcfile, dvcfile.Stage) and item.dvcfile.path == path
            and (item.dvcfile.name == name or item.dvcfile.name.startswith(name + "@"))]


def _cached_outs(items):
    return [item for item in items if item.out.cache]


def _select(items, roots, root):
    if roots is None:
        return items
    return [i for i in items if any(_under(r, key_of(root, i.abspath)) or
                                    _under(key_of(root, i.abspath), r) for r in roots)]


def committed_index(repo, items) -> tuple[dict[str, Entry], set[str]]:
    """Entries of committed outputs, and the keys of directories whose manifest is unavailable."""
    entries: dict[str, Entry] = {}
    unknown: set[str] = set()
    for item in items:
        out = item.out
        if out.md5 is None:
            continue
        key = key_of(repo.root, item.abspath)
        entries[key] = _entry(out.md5, out.hash_name, out.is_dir)
        if out.is_dir:
            try:
                manifest = repo.odb.read_manifest(out.md5, out.hash_name)
            except FileNotFoundError:
                unknown.add(key)
                continue
            _add_children(entries, key, manifest, out.hash_name)
    return entries, unknown


def workspace_index(repo, items) -> tuple[dict[str, Entry], set[str]]:
    """Entries for the outputs as they are on disk now (hashed through the state db)."""
    entries: dict[str, Entry] = {}
    for item in items:
        key = key_of(repo.root, item.abspath)
        hash_name = item.out.hash_name
        if os.path.isdir(item.abspath):
            manifest, _size, _files = repo.hasher.dir_manifest(item.abspath, repo.ignore, hash_name)
            entries[key] = _entry(manifest.oid, hash_name, True)
            _add_children(entries, key, manifest, hash_name)
        elif os.path.lexists(item.abspath):
            try:
                oid = repo.hasher.hash_file(item.abspath, hash_name)[0]
            except FileNotFoundError:  # a broken symlink is absent data
                continue
            entries[key] = _entry(oid, hash_name, False)
    return entries, set()


def _add_children(entries: dict, key: str, manifest, hash_name: str) -> None:
    prefix = key + "/"
    entries.update({prefix + rel: (oid, hash_name, False, key) for rel, oid in manifest.entries.items()})


def compare(repo, old_index, new_index, roots, with_missing: bool) -> DiffResult:
    """Classify every key; pair additions with deletions of the same content as renames."""
    (old, old_unknown), (new, new_unknown) = old_index, new_index
    unknown = old_unknown | new_unknown
    result = DiffResult()
    added, deleted, unchanged = [], [], []
    for key, o in old.items():
        n = new.get(key)
        if n is None:
            deleted.append((key, o))
        elif o[0] != n[0] or o[1] != n[1] or o[2] != n[2]:
            result.modified.append(Change(_path(key, o), n[OID], old_hash=o[OID]))
        elif with_missing:
            unchanged.append((key, o))
    added = [(key, n) for key, n in new.items() if key not in old]
    if unknown or roots is not None:
        def keep(key: str, entry: Entry) -> bool:
            return entry[OWNER] not in unknown and (roots is None or any(_under(key, r) for r in roots))

        added, deleted, unchanged = ([p for p in pairs if keep(*p)] for pairs in (added, deleted, unchanged))
        result.modified = [c for c in result.modified if _keep_change(c, old, new, keep)]
    for (okey, o), (nkey, n) in _renames(added, deleted, result):
        result.renamed.append(Change(_path(nkey, n), o[OID], old_path=_path(okey, o)))
    if with_missing:
        # Unchanged entries count too: DVC reports committed data missing from the cache.
        olds = unchanged + [(c.path.rstrip("/"), old[c.path.rstrip("/")]) for c in result.modified] + deleted
        result.not_in_cache = [Change(_path(k, o), o[OID]) for k, o in olds
                               if o[OID] and not _cached(repo, o)]
    for changes_list in result.lists().values():
        changes_list.sort(key=lambda c: c.old_path or c.path)
    return result


def _keep_change(change: Change, old, new, keep) -> bool:
    key = change.path.rstrip("/")
    return keep(key, old[key]) and keep(key, new[key])


def _renames(added, deleted, result):
    """Pair each addition with the first (in key order) unpaired deletion of the same content;
    unpaired ones go to ``result.added`` / ``result.deleted``. Yields the pairs."""
    def order(pair):
        return pair[0].split("/")

    queues: dict = defaultdict(deque)
    for key, entry in sorted(deleted, key=order):
        queues[entry[:ISDIR]].append((key, entry))
    for key, entry in sorted(added, key=order):
        queue = queues.get(entry[:ISDIR]) if entry[OID] else None
        if queue:
            yield queue.popleft(), (key, entry)
        else:
            result.added.append(Change(_path(key, entry), entry[OID]))
    for queue in queues.values():
        result.deleted += [Change(_path(key, entry), entry[OID]) for key, entry in queue]


def _path(key: str, entry: Entry) -> str:
    return key + "/" if entry[ISDIR] else key


def _cached(repo, entry: Entry) -> bool:
    # DVC counts a directory as cached when its .dir object is, whatever its files.
    return repo.odb.exists(entry[OID], entry[HASH])

