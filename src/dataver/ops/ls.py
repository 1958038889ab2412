"""`ls`: list a repository's files, git-tracked and DVC-tracked (including the contents of tracked
directories), at a revision or in the workspace, with the fields of ``dvc ls --json``."""
from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass

from dataver.errors import PathMissingError
from dataver.ops.locate import normalize, tracked_at


@dataclass
class LsEntry:
    """One listed path; the field order is ``dvc ls --json``'s."""

    isout: bool
    isdir: bool
    isexec: bool
    size: int | None
    md5: str | None
    path: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def ls(repo, path: str | None = None, rev: str | None = None, recursive: bool = False,
       dvc_only: bool = False, remote: str | None = None) -> list[LsEntry]:
    """Entries under ``path`` (root-relative) sorted by path; a file lists itself by name."""
    key = normalize(path or "")
    tree = build_tree(repo, rev, remote, key, recursive)
    info = tree.get(key) if key else LsEntry(False, True, False, None, None)
    if info is None:
        where = f" at revision '{rev}'" if rev else ""
        raise PathMissingError(f"'{key}' does not exist{where}", hint="check the path")
    if not info.isdir:
        return [_named(info, key.rpartition("/")[2])]
    prefix = key + "/" if key else ""
    result = []
    for entry_key, entry in tree.items():
        if not entry_key.startswith(prefix):
            continue
        rel = entry_key[len(prefix):]
        if (recursive and entry.isdir) or (not recursive and "/" in rel):
            continue
        if dvc_only and not (entry.isout or _holds_output(tree, entry_key)):
            continue
        result.append(_named(entry, rel))
    return sorted(result, key=lambda e: e.path)


def _named(info: LsEntry, name: str) -> LsEntry:
    return LsEntry(info.isout, info.isdir, info.isexec, info.size, info.md5, name)


def _holds_output(tree, key: str) -> bool:
    prefix = key + "/"
    return any(k.startswith(prefix) and e.isout for k, e in tree.items())


def _expand(out_key: str, key: str, recursive: bool) -> bool:
    """Whether listing ``key`` needs the manifest of the tracked directory ``out_key``."""
    if key == out_key or key.startswith(out_key + "/"):
        return True
    return recursive and (key == "" or out_key.startswith(key + "/"))


def build_tree(repo, rev: str | None, remote: str | None, key: str = "",
               recursive: bool = True) -> dict[str, LsEntry]:
    """Root-relative path -> entry, for every file and directory (git's and DVC's); tracked
    directories are expanded (their manifest read) only where listing ``key`` needs it."""
    tree = {k: v for k, v in _git_entries(repo, rev).items()
            if k != ".dvc" and not k.startswith(".dvc/")}  # DVC hides its own directory
    for item in tracked_at(repo, rev):
        out_key = os.path.relpath(item.abspath, repo.root).replace(os.sep, "/")
        _add_parents(tree, out_key)
        out = item.out
        size = _disk_size(item.abspath) if rev is None else None
        if size is None:  # not in the workspace (or at a revision): the size recorded for it
            size = out.size
        tree[out_key] = LsEntry(True, out.is_dir, out.isexec, size, out.md5)
        if out.is_dir and _expand(out_key, key, recursive):
            _add_manifest(repo, tree, out_key, item, rev, remote)
    return tree


def _add_manifest(repo, tree, key, item, rev, remote) -> None:
    from dataver.ops.locate import Located, manifest_of

    manifest = manifest_of(repo, Located(key, rev, item, ""), remote)
    for rel, oid in manifest.entries.items():
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            sub = key + "/" + "/".join(parts[:depth])
            if sub not in tree:
                size = _disk_size(os.path.join(repo.root, *sub.split("/"))) if rev is None else None
                tree[sub] = LsEntry(True, True, False, size, None)
        full = f"{key}/{rel}"
        size = _disk_size(os.path.join(repo.root, *full.split("/"))) if rev is None else None
        tree[full] = LsEntry(True, False, False, size, oid)


def _add_parents(tree, key: str) -> None:
    parts = key.split("/")
    for depth in range(1, len(parts)):
        tree.setdefault("/".join(parts[:depth]), LsEntry(False, True, False, None, None))


def _disk_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _tree_entry_size(mode: str, name: str) -> int:
    """Bytes an entry takes in its git tree object: ``<mode> <name>\\0`` and a 20-byte sha
    (trees' mode is written without its leading zero)."""
    return len(mode.lstrip("0")) + 2 + len(name.encode("utf-8", "surrogateescape")) + 20


def _git_entries(repo, rev: str | None) -> dict[str, LsEntry]:
    tree: dict[str, LsEntry] = {}
    if rev:
        tree_sizes: dict[str, int] = {}
        for key, (kind, _obj, mode, size) in repo.at_rev(rev).entries.items():
            is_dir = kind == "tree"
            tree[key] = LsEntry(False, is_dir, mode == "100755", size, None)
            parent, _, name = key.rpartition("/")
            tree_sizes[parent] = tree_sizes.get(parent, 0) + _tree_entry_size(mode, name)
        for key, entry in tree.items():  # a folder's size is its git tree object's, as DVC shows
            if entry.isdir:
                entry.size = tree_sizes.get(key, 0)
        return tree
    git_root = getattr(repo.scm, "root", None)
    if git_root is None:
        return tree
    for rel in repo.scm.ls_files():
        abspath = os.path.join(git_root, rel)
        key = os.path.relpath(abspath, repo.root).replace(os.sep, "/")
        if key.startswith("../"):
            continue
        try:
            st = os.lstat(abspath)
        except OSError:
            continue
        _add_parents(tree, key)
        tree[key] = LsEntry(False, False, bool(st.st_mode & stat.S_IXUSR), st.st_size, None)
    for key, entry in tree.items():
        if entry.isdir:
            entry.size = _disk_size(os.path.join(repo.root, *key.split("/")))
    return tree
