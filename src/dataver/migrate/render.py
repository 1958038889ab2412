"""A converted commit's tree, computed from git objects alone: the *overlay* that turns the
original tree into the migrated one (``path -> new bytes``, or ``None`` for a path that goes).

The rules are the forward migration's, through the same functions: outputs grouped by
:func:`dataver.migrate.layout.plan_outputs`, `.gitattributes` edited by
:func:`dataver.migrate.attributes.plan_attributes`, `.dvc` files built with the same
:mod:`dataver.dvcfile` calls `dataver add` uses (so their bytes are `dvc add`'s), `.gitignore`
entries appended in output order with `dvc add`'s escaping, as :mod:`dataver.migrate.apply`
appends them in the work tree. The same set of paths therefore renders to the same bytes whether
the forward migration writes them into the work tree or the rewrite into a commit.

What is rendered is remembered: a `.dvc` text by its values, a folder's `.dir` manifest until
the folder's content changes, so a history of 200 commits over the same 10,000 outputs builds
each of them about once.
"""
from __future__ import annotations

import posixpath

from dataver import dvcfile
from dataver.manifest import Manifest
from dataver.migrate.attributes import NAME as ATTRIBUTES, plan_attributes
from dataver.migrate.layout import plan_outputs

GITIGNORE = ".gitignore"


class TreeRenderer:
    """Overlays for the commits of one migration. ``sums``: source id -> (md5, size) of every
    converted object; ``read_blobs(shas) -> {sha: bytes}`` reads git blobs; ``init_files``:
    the files of a DVC repository (``.dvc/config`` ...) a commit with outputs must hold, added
    where the tree lacks them."""

    def __init__(self, repo, kind: str, group_by: str | None, sums: dict[str, tuple[str, int]],
                 read_blobs, init_files: dict[str, bytes] | None = None):
        self.repo = repo
        self.kind = kind
        self.group_by = group_by
        self.sums = sums
        self.read_blobs = read_blobs
        self.init_files = init_files or {}
        self._blob_cache: dict[str, bytes] = {}
        self._dvc_cache: dict[tuple, bytes] = {}
        self.manifest_oids: set[str] = set()  # every `.dir` object stored (for --push)
        self._manifests: dict[str, tuple[tuple, tuple[str, int, int]]] = {}  # last one per folder

    def overlay(self, entries, found, remaining=(), dropped=(), worktree_root: str | None = None,
                ignored=None) -> dict[str, bytes | None]:
        """The overlay of one tree. ``entries``: its ``(path, mode, blob, size)`` rows;
        ``found``: the :class:`~dataver.migrate.sources.Found` to convert; ``remaining``: paths
        that stay pointers (excluded, or kept by ``--on-missing keep``); ``dropped``: paths
        removed without an output (``--on-missing drop``). ``worktree_root``/``ignored``: for
        the checked-out commit, look at the work tree as the forward migration does."""
        if not found and not dropped:
            return {}
        converted = {f.path for f in found}
        removed = converted | set(dropped)
        specials = {e[0]: e[2] for e in entries
                    if posixpath.basename(e[0]) in (ATTRIBUTES, GITIGNORE)}
        attributes = {}
        if self.kind == "lfs" and converted:
            files = {p: self._blob(b) for p, b in specials.items()
                     if posixpath.basename(p) == ATTRIBUTES}
            attributes = plan_attributes(files, converted, set(remaining))
        tracked = {e[0] for e in entries}
        deleted = {p for p, new in attributes.items() if new is None}
        staying = tracked - removed - deleted
        outputs = plan_outputs(list(found), staying, worktree_root or "", self.group_by, ignored,
                               worktree=worktree_root is not None, leaving=deleted | set(dropped))
        result: dict[str, bytes | None] = dict.fromkeys(removed)
        for out in outputs:
            result[out.dvcfile] = self._dvcfile(out)
        result.update(self._gitignores(outputs, specials))
        result.update(attributes)
        if outputs:
            for path, data in self.init_files.items():
                if path not in tracked:
                    result[path] = data
        return result

    # --- pieces --------------------------------------------------------------------------------
    def _blob(self, sha: str) -> bytes:
        if sha not in self._blob_cache:
            self._blob_cache.update(self.read_blobs([sha]))
        return self._blob_cache[sha]

    def _dvcfile(self, out) -> bytes:
        """The `.dvc` file of one output, as `dataver add` writes it."""
        name = posixpath.basename(out.path)
        if out.is_dir:
            md5, size, nfiles = self._manifest(out)
            key = (name, md5, size, nfiles, False)
        else:
            item = out.files[0]
            md5, size = self.sums[item.id]
            key = (name, md5, size, None, item.isexec)
        text = self._dvc_cache.get(key)
        if text is None:
            text = self._dvc_cache[key] = dvc_text(*key)
        return text

    def _manifest(self, out) -> tuple[str, int, int]:
        """``(oid, total size, nfiles)`` of a directory output; its `.dir` object stored once."""
        cut = len(out.path) + 1
        pairs = tuple(sorted((f.path[cut:], self.sums[f.id][0], self.sums[f.id][1])
                             for f in out.files))
        last = self._manifests.get(out.path)
        if last is not None and last[0] == pairs:
            return last[1]
        manifest = Manifest({rel: md5 for rel, md5, _size in pairs})
        oid = self.repo.odb.add_manifest(manifest)
        self.manifest_oids.add(oid)
        known = (oid, sum(size for _r, _m, size in pairs), len(pairs))
        self._manifests[out.path] = (pairs, known)
        return known

    def _gitignores(self, outputs, specials: dict[str, str]) -> dict[str, bytes]:
        """Each `.gitignore` beside outputs, with their ``/name`` lines appended when absent."""
        from dataver.scm import _gitignore_entry  # `dvc add`'s escaping, in one place

        by_file: dict[str, list[str]] = {}
        for out in outputs:
            gitignore, entry = _gitignore_entry(out.path)
            by_file.setdefault(gitignore, []).append(entry)
        result = {}
        for gitignore, entries in by_file.items():
            content = ""
            if gitignore in specials:
                content = self._blob(specials[gitignore]).decode("utf-8", "surrogateescape")
            changed = with_ignore_lines(content, entries)
            if changed is not None:
                result[gitignore] = changed.encode("utf-8", "surrogateescape")
        return result


def dvc_text(name: str, md5: str, size: int, nfiles: int | None, isexec: bool) -> bytes:
    """The `.dvc` file of one output named ``name`` (beside it), as `dataver add` writes it."""
    return dvcfile.dumps(dvcfile.new_document(dvcfile.new_out_map(name, md5, size, nfiles,
                                                                  isexec))).encode("utf-8")


def with_ignore_lines(content: str, entries: list[str]) -> str | None:
    """``content`` of a `.gitignore` with the ``entries`` it lacks appended (in order, once
    each), or None when it has them all."""
    present = set(content.splitlines())
    new = [e for e in dict.fromkeys(entries) if e not in present]
    if not new:
        return None
    if content and not content.endswith("\n"):
        content += "\n"
    return content + "\n".join(new) + "\n"
