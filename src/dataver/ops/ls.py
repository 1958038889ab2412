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
       dvc_only: bool = False, remote: str | None = None,
       maxdepth: int | None = None) -> list[LsEntry]:
    """Entries under ``path`` (root-relative) sorted by path; a file lists itself by name.
    ``maxdepth`` limits ``recursive`` (and only it, as in DVC): files down to that depth and
    the directories at it; 0 lists ``path`` itself."""
    key = normalize(path or "")
    maxdepth = maxdepth if recursive else None
    tree = build_tree(repo, rev, remote, key, recursive)
    info = _top_entry(repo, tree, key, rev)
    if not info.isdir or maxdepth == 0:
        return [_named(info, key.rpartition("/")[2] or ".")]
    prefix = key + "/" if key else ""
    holders = _output_holders(tree) if dvc_only else set()
    result = []
    for entry_key, entry in tree.items():
        if not entry_key.startswith(prefix):
            continue
        rel = entry_key[len(prefix):]
        if not recursive and "/" in rel:
            continue
        if recursive and _beyond(rel, entry.isdir, maxdepth):
            continue
        if dvc_only and not (entry.isout or entry_key in holders):
            continue
        result.append(_named(entry, rel))
    return sorted(result, key=lambda e: e.path)


def dvc_hidden(key: str) -> bool:
    """Whether DVC's file system hides ``key`` from `du` and `get`: `.dvc` files, dvc.yaml and
    .dvcignore."""
    name = key.rpartition("/")[2]
    return name.endswith(".dvc") or name in ("dvc.yaml", ".dvcignore")


def _beyond(rel: str, isdir: bool, maxdepth: int | None) -> bool:
    """Whether a recursive listing leaves ``rel`` out: directories are walked into, not
    listed, except those at the depth limit; nothing below the limit is listed."""
    depth = rel.count("/") + 1
    if maxdepth is not None and depth > maxdepth:
        return True
    return isdir and (maxdepth is None or depth < maxdepth)


def _top_entry(repo, tree, key: str, rev: str | None) -> LsEntry:
    """The entry of the listed path itself (the root when ``key`` is empty)."""
    if not key:
        return LsEntry(False, True, False, _root_size(repo, rev), None)
    info = tree.get(key)
    if info is None:
        where = f" at revision '{rev}'" if rev else ""
        raise PathMissingError(f"'{key}' does not exist{where}", hint="check the path")
    return info


def _root_size(repo, rev: str | None) -> int | None:
    """The root's size as DVC shows it: its git tree object's at a revision, else the folder's."""
    if not rev:
        return _disk_size(repo.root)
    top = [(mode, key) for key, (_kind, _obj, mode, _size) in repo.at_rev(rev).entries.items()
           if "/" not in key]
    return sum(_tree_entry_size(mode, name) for mode, name in top)


@dataclass
class TreeNode:
    """One row of ``ls --tree``: a name, its entry, and (for a directory walked into) its
    children sorted by name."""

    name: str
    entry: LsEntry
    children: list[TreeNode] | None = None


def ls_tree(repo, path: str | None = None, rev: str | None = None, dvc_only: bool = False,
            remote: str | None = None, maxdepth: int | None = None) -> TreeNode:
    """``path`` (default: the root, named ".") with everything below it, ``maxdepth`` levels
    deep at most; ``dvc_only`` keeps DVC data and the directories that hold some."""
    key = normalize(path or "")
    tree = build_tree(repo, rev, remote, key, recursive=True)
    top = _top_entry(repo, tree, key, rev)
    holders = _output_holders(tree) if dvc_only else set()
    below: dict[str, list[str]] = {}
    for entry_key in sorted(tree):
        parent = entry_key.rpartition("/")[0]
        if dvc_only and not (tree[entry_key].isout or entry_key in holders):
            continue
        below.setdefault(parent, []).append(entry_key)
    return _tree_node(tree, below, key, top, path or ".", maxdepth)


def _tree_node(tree, below, key: str, entry: LsEntry, name: str, depth_left) -> TreeNode:
    node = TreeNode(name, entry)
    if entry.isdir and (depth_left is None or depth_left > 0):
        left = None if depth_left is None else depth_left - 1
        node.children = [_tree_node(tree, below, k, tree[k], k.rpartition("/")[2], left)
                         for k in below.get(key, [])]
    return node


def _named(info: LsEntry, name: str) -> LsEntry:
    return LsEntry(info.isout, info.isdir, info.isexec, info.size, info.md5, name)


def _output_holders(tree) -> set[str]:
    """Folders with DVC data somewhere below them (kept by ``--dvc-only``)."""
    holders = set()
    for key, entry in tree.items():
        if entry.isout:
            parts = key.split("/")
            holders.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    return holders


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
