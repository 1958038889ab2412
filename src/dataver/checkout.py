"""Materialising outputs: diff a wanted manifest against disk and touch only what differs.

Safety: a workspace file is replaced or deleted only if its content is saved in the cache (or
with ``force``), so checkout never destroys data the user has not committed. An object is used
only if it is unchanged since it was stored (its tag, see :mod:`dataver.objtag`, else a hash):
a corrupt one is reported, never copied into the workspace.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver.errors import CheckoutConflictError, CorruptObjectError, MissingCacheError
from dataver.hashing import MD5
from dataver.linking import Linker, is_link_tmp, remove_stale_tmp
from dataver.manifest import Manifest
from dataver.objtag import is_tagged
from dataver.odb import REPAIR_HINT, ObjectStore
from dataver.parallel import spread_map
from dataver.paths import make_dirs, remove_tree, walk_files
from dataver.progress import SILENT
from dataver.state import Stat
from dataver.workspace import Hasher, IgnoreRules, scan_dir


@dataclass
class CheckoutResult:
    """What a checkout changed, by output-relative file path."""

    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (path, oid) absent from cache
    corrupt: list[tuple[str, str]] = field(default_factory=list)  # (path, oid) found corrupt

    def merge(self, other: "CheckoutResult") -> None:
        self.added += other.added
        self.modified += other.modified
        self.deleted += other.deleted
        self.missing += other.missing
        self.corrupt += other.corrupt


class Materializer:
    """Checks out files and directories from ``odb`` into the workspace."""

    def __init__(self, odb: ObjectStore, hasher: Hasher, linker: Linker, ignore: IgnoreRules | None):
        self.odb = odb
        self.hasher = hasher
        self.linker = linker
        self.ignore = ignore

    def _saved(self, oid: str, hash_name: str) -> bool:
        return self.odb.exists(oid, hash_name)

    def checkout_file(self, abspath: str, oid: str, hash_name: str = MD5, isexec: bool = False,
                      force: bool = False, relink: bool = False) -> CheckoutResult:
        result = CheckoutResult()
        src = self.odb.path(oid, hash_name)
        existed = os.path.lexists(abspath)
        if existed and os.path.isdir(abspath) and not os.path.islink(abspath):
            self._remove_dir_safely(abspath, force)
            existed = False
        elif existed:
            current = self._current_oid(abspath, hash_name)
            if current == oid and not relink:
                return result
            if current is not None and current != oid and not force and not self._saved(current, hash_name):
                raise _conflict(abspath)
        if not self.odb.sound(oid, hash_name):
            (result.corrupt if os.path.exists(src) else result.missing).append((abspath, oid))
            return result
        make_dirs(os.path.dirname(abspath))
        remove_stale_tmp(abspath)
        self.linker.link(src, abspath, isexec)
        self._remember(abspath, oid, hash_name)
        (result.modified if existed else result.added).append(abspath)
        return result

    def _current_oid(self, abspath: str, hash_name: str) -> str | None:
        if not os.path.exists(abspath):  # a broken symlink: nothing worth saving
            return None
        return self.hasher.hash_file(abspath, hash_name)[0]

    def _remember(self, abspath: str, oid: str, hash_name: str) -> None:
        st = Stat.of(os.stat(abspath))
        self.hasher.state.set(self.hasher._key(abspath), st, oid, hash_name)

    def checkout_dir(self, abspath: str, manifest: Manifest, hash_name: str = MD5,
                     force: bool = False, relink: bool = False, progress=None) -> CheckoutResult:
        """Make the directory ``abspath`` hold exactly ``manifest``'s files; ``progress``
        shows the scan of what is there and the writing of what differs."""
        result = CheckoutResult()
        _replace_symlinked_dirs(_symlinked_dirs(abspath, [""]), force)
        if os.path.lexists(abspath) and not os.path.isdir(abspath):
            current = self._current_oid(abspath, hash_name)
            if current is not None and not force and not self._saved(current, hash_name):
                raise _conflict(abspath)
            os.unlink(abspath)
        folders: list[str] = []
        current = self._scan(abspath, hash_name, folders, progress)  # without our stale temp files
        wanted = manifest.entries
        extra = [rel for rel in current if rel not in wanted]
        changed = [rel for rel in wanted if rel in current and (current[rel] != wanted[rel] or relink)]
        new = [rel for rel in wanted if rel not in current]
        if not force:
            unsaved = [rel for rel in extra + changed
                       if current[rel] != wanted.get(rel) and not self._saved(current[rel], hash_name)]
            if unsaved:
                raise _conflict(os.path.join(abspath, unsaved[0]), len(unsaved))
        _replace_symlinked_dirs(_symlinked_dirs(abspath, new), force)
        in_way = _dirs_in_way(abspath, new, current, force) if os.path.isdir(abspath) else []
        for rel in extra:
            _unlink(os.path.join(abspath, rel))
            result.deleted.append(rel)
        for rel in in_way:  # now empty but for empty folders (or, with force, ignored files)
            remove_tree(os.path.join(abspath, rel), _force_remove)
        _remove_empty_dirs(abspath, folders, wanted)
        todo = changed + new
        present = self.odb.existing((wanted[rel] for rel in todo), hash_name)
        missing = [rel for rel in todo if wanted[rel] not in present]
        result.missing += [(os.path.join(abspath, rel), wanted[rel]) for rel in missing]
        missing_set = set(missing)
        todo = [rel for rel in todo if rel not in missing_set]
        corrupt = self._write_files(abspath, [(rel, wanted[rel]) for rel in todo], hash_name,
                                    progress or SILENT)
        if corrupt:
            result.corrupt += [(os.path.join(abspath, rel), wanted[rel]) for rel in corrupt]
            todo = [rel for rel in todo if rel not in corrupt]
        in_current = set(current)
        for rel in todo:
            (result.modified if rel in in_current else result.added).append(rel)
        make_dirs(abspath)
        return result

    def _scan(self, abspath: str, hash_name: str, dirs: list[str] | None = None,
              progress=None) -> dict[str, str]:
        if not os.path.isdir(abspath):
            return {}
        dir_key = self.hasher._key(abspath)
        files = []
        for entry in scan_dir(abspath, dir_key, self.ignore, dirs, progress):
            if is_link_tmp(entry.relpath):  # left by an interrupted checkout: ours to delete
                _unlink(entry.abspath)
            else:
                files.append(entry)
        return self.hasher.hash_entries(dir_key, files, hash_name, progress)

    def _write_files(self, base: str, items: list[tuple[str, str]], hash_name: str,
                     progress=SILENT) -> set[str]:
        """Write the files ``items`` (relpath, oid) below ``base``; returns the relpaths not
        written because their object is corrupt."""
        if not items:
            return set()
        parents = {os.path.dirname(os.path.join(base, rel)) for rel, _ in items}
        for parent in sorted(parents):
            make_dirs(parent)  # deep trees: no recursion
        odb = self.odb

        def write_tagged(item: tuple[str, str]) -> bool:
            """Write one file if its object's tag vouches for it (one stat; runs in workers)."""
            rel, oid = item
            src = odb.path(oid, hash_name)
            if not is_tagged(os.stat(src), oid):
                return False
            self.linker.link(src, os.path.join(base, rel))
            return True

        with progress.phase("Checking out", len(items)):
            first = 0  # one file written here settles the link type before going parallel
            while first < len(items) and not write_tagged(items[first]):
                first += 1
            done = [False] * len(items)
            if first < len(items):
                progress.advance(first + 1)
                done[first:] = [True] + spread_map(write_tagged, items[first + 1:], progress=progress)
            unchecked = [item for item, ok in zip(items, done) if not ok]
            corrupt = self._write_verified(base, unchecked, hash_name, progress) if unchecked else set()
        facts = {}
        for rel, oid in items:
            if rel not in corrupt:
                facts[rel] = (Stat.of(os.stat(os.path.join(base, rel))), oid)
        self.hasher.state.update_dir(self.hasher._key(base), facts, hash_name)
        return corrupt

    def _write_verified(self, base: str, items: list[tuple[str, str]], hash_name: str,
                        progress=SILENT) -> set[str]:
        """Write files whose objects carry no valid tag, once each object is vouched for by a
        recorded stat or by hashing it; returns the relpaths whose object proved corrupt."""
        odb = self.odb
        suspect = {oid for _rel, oid in items if not odb.trusted(oid, hash_name)}
        bad = set(odb.verify_many(sorted(suspect), hash_name)) if suspect else set()
        good = [(rel, oid) for rel, oid in items if oid not in bad]
        with progress.phase("Checking out", len(good)):  # these were counted as checked
            spread_map(lambda item: self.linker.link(odb.path(item[1], hash_name),
                                                     os.path.join(base, item[0])), good,
                       progress=progress)
        return {rel for rel, oid in items if oid in bad}

    def _remove_dir_safely(self, abspath: str, force: bool) -> None:
        current = self._scan(abspath, MD5)
        if not force:
            unsaved = [rel for rel, oid in current.items() if not self._saved(oid, MD5)]
            if unsaved:
                raise _conflict(os.path.join(abspath, unsaved[0]), len(unsaved))
            hidden = _unscanned_file(abspath, current)
            if hidden:
                raise _conflict(hidden)
        remove_tree(abspath, _force_remove)


def _dirs_in_way(base: str, new: list[str], current, force: bool) -> list[str]:
    """Directories in the workspace where the manifest has files. Their scanned files are all
    extras (deleted first); anything a scan does not see (.dvcignore'd) is kept unless ``force``."""
    in_way = [rel for rel in new
              if os.path.isdir(os.path.join(base, rel)) and not os.path.islink(os.path.join(base, rel))]
    for rel in in_way if not force else []:
        prefix = rel + "/"
        hidden = _unscanned_file(os.path.join(base, rel),
                                 [r[len(prefix):] for r in current if r.startswith(prefix)])
        if hidden:
            raise _conflict(hidden)
    return in_way


def _unscanned_file(directory: str, scanned) -> str | None:
    """A file below ``directory`` that is not in ``scanned`` (relpaths), e.g. one .dvcignore
    hides: checkout must not delete what it never compared with the cache."""
    known = set(scanned)
    for path in walk_files(directory):
        if os.path.relpath(path, directory).replace(os.sep, "/") not in known:
            return path
    return None


def _symlinked_dirs(base: str, rels: list[str]) -> list[str]:
    """Directories on the way from ``base`` (included) to the files ``rels`` that are symlinks:
    writing through one would put the data wherever it points, possibly outside the repo."""
    found, seen = [], set()
    for rel in rels:
        parts = rel.split("/")[:-1] if rel else []
        for depth in range(len(parts) + 1):
            path = os.path.join(base, *parts[:depth])
            if path not in seen:
                seen.add(path)
                if os.path.islink(path):
                    found.append(path)
    return found


def _replace_symlinked_dirs(links: list[str], force: bool) -> None:
    """Refuse to write through symlinked directories, or with ``force`` remove the links (only
    the links: what they point to is left alone) so real directories are made in their place."""
    if links and not force:
        more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
        raise CheckoutConflictError(
            f"'{os.path.relpath(links[0])}'{more} is a symlink where the output has a directory; "
            "checking out would write wherever it points", hint="remove the link, or use -f to replace it")
    for link in links:
        if os.path.islink(link):  # a parent's removal may have taken it already
            os.unlink(link)


def _conflict(path: str, count: int = 1) -> CheckoutConflictError:
    more = f" (and {count - 1} more)" if count > 1 else ""
    return CheckoutConflictError(
        f"'{path}'{more} has changes that are not in the cache and would be overwritten",
        hint="commit them with `dataver add`/`commit`, or use -f to discard them",
    )


def missing_error(missing: list[tuple[str, str]],
                  corrupt: list[tuple[str, str]] = ()) -> MissingCacheError | CorruptObjectError:
    """The error for objects a checkout could not use: corrupt ones first, as
    the graver news, then missing ones."""
    if corrupt:
        path, oid = corrupt[0]
        others = len(corrupt) - 1 + len(missing)
        more = f" (and {others} more corrupt or missing)" if others else ""
        return CorruptObjectError(
            f"cache object {oid} for '{path}' is corrupt (its content changed after it was "
            f"stored){more}, so it was not checked out", hint=REPAIR_HINT)
    path, oid = missing[0]
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    return MissingCacheError(
        f"cache object {oid} for '{path}'{more} is missing", hint="run `dataver pull` to fetch it"
    )


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except PermissionError:
        os.chmod(os.path.dirname(path), 0o755)
        os.unlink(path)


def _force_remove(func, path, _exc) -> None:
    os.chmod(os.path.dirname(path), 0o755)
    func(path)


def _remove_empty_dirs(base: str, folders: list[str], wanted) -> None:
    """Remove the folders (not .dvcignore'd) below ``base`` that hold no file of the manifest and
    are empty once extra files are gone, deepest first, as DVC does: folders a version no longer
    has, and empty ones wherever they came from. Folders with ignored files stay."""
    keep: set[str] = set()
    for rel in wanted:
        parent = rel.rpartition("/")[0]
        while parent and parent not in keep:
            keep.add(parent)
            parent = parent.rpartition("/")[0]
    for rel in sorted((f for f in folders if f not in keep), key=lambda r: -r.count("/")):
        try:
            os.rmdir(os.path.join(base, rel))
        except OSError:  # not empty (ignored files), or already removed with a parent
            pass
