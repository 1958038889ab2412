"""`checkout`: make outputs in the workspace match their `.dvc` files."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver.checkout import CheckoutResult, missing_error
from dataver.dvcfile_files import out_manifest
from dataver.errors import MissingCacheError, TargetError
from dataver.manifest import Manifest, is_dir_oid
from dataver.ops.targets import resolve_partial, with_deps as with_deps_of
from dataver.paths import check_creatable
from dataver.progress import SILENT


@dataclass
class CheckoutSummary:
    """Per-file changes made by a checkout, with paths relative to the working directory."""

    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.deleted)


def checkout(repo, targets: list[str] | None = None, force: bool = False, relink: bool = False,
             recursive: bool = False, allow_missing: bool = False, with_deps: bool = False,
             progress=None) -> CheckoutSummary:
    """Restore the outputs named by ``targets`` (all if None) from the cache.

    Only files that differ are written. A file whose current content is not in the cache is not
    overwritten unless ``force``. Missing cache objects raise MissingCacheError after everything
    else was checked out (unless ``allow_missing``). ``with_deps``: also the outputs of the
    stages that stage targets depend on. ``progress`` (a
    :class:`dataver.progress.Progress`) shows the outputs done, and the scanning and writing
    of each directory.
    """
    progress = progress or SILENT
    if with_deps and targets:
        targets = with_deps_of(repo, targets)
    summary = CheckoutSummary()
    missing: list[tuple[str, str]] = []
    corrupt: list[tuple[str, str]] = []
    with repo.lock:
        plans = []
        for item, subpath in resolve_partial(repo, targets):
            out = item.out
            if out.md5 is None or not out.cache:
                continue
            if is_dir_oid(out.md5) and out.files is None and not repo.odb.exists(out.md5, out.hash_name):
                missing.append((item.abspath, out.md5))
                summary.failed.append(item.relpath)
                continue
            # Read (and validate) every manifest before writing anything: a corrupt or crafted
            # one stops the checkout while the workspace is still untouched. A directory
            # recorded as a ``files:`` list is checked out from the list, as DVC does.
            manifest = out_manifest(repo.odb, out, item.dvcfile.path) if is_dir_oid(out.md5) else None
            check_creatable(item.abspath, manifest)  # names too long for this file system
            plans.append((item, subpath, manifest))
        with progress.phase("Checking out", len(plans), unit="outputs"):
            for item, subpath, manifest in plans:
                out = item.out
                if subpath is None:
                    base = item.abspath
                    res = repo.materialize(base, out.md5, out.hash_name, out.isexec, force, relink,
                                           manifest=manifest, progress=progress)
                else:
                    base, res = _checkout_part(repo, item, subpath, manifest, force, relink,
                                               progress)
                _record(summary, base, res)
                missing += res.missing
                corrupt += res.corrupt
                progress.advance()
        repo.state.flush()
    if corrupt or (missing and not allow_missing):
        raise missing_error([(os.path.relpath(p), o) for p, o in missing],
                            [(os.path.relpath(p), o) for p, o in corrupt])
    return summary


def _checkout_part(repo, item, subpath: str, manifest, force: bool, relink: bool, progress):
    """Check out only ``subpath`` (a file or folder) of a tracked directory, as DVC does for a
    target inside an output; returns (the path checked out, its CheckoutResult)."""
    if manifest is None:
        raise TargetError("is inside a tracked file, not a directory", path=item.relpath)
    entries = manifest.entries
    out = item.out
    base = os.path.join(item.abspath, *subpath.split("/"))
    if subpath in entries:
        return base, repo.materializer.checkout_file(base, entries[subpath], out.hash_name,
                                                     False, force, relink)
    prefix = subpath + "/"
    part = {rel[len(prefix):]: oid for rel, oid in entries.items() if rel.startswith(prefix)}
    if not part:
        raise TargetError(f"is not part of output '{item.relpath}'", path=os.path.relpath(base),
                          hint="check the path")
    return base, repo.materializer.checkout_dir(base, Manifest(part), out.hash_name, force, relink,
                                                progress)


def _record(summary: CheckoutSummary, base: str, res: CheckoutResult) -> None:
    base_rel = os.path.relpath(base)  # once: manifest relpaths are clean, so joining suffices

    def rel(p: str) -> str:
        if os.path.isabs(p):
            return os.path.relpath(p)
        return p if base_rel == "." else os.path.join(base_rel, p)

    summary.added += [rel(p) for p in res.added]
    summary.modified += [rel(p) for p in res.modified]
    summary.deleted += [rel(p) for p in res.deleted]
    summary.failed += [rel(p) for p, _ in res.missing + res.corrupt]


__all__ = ["checkout", "CheckoutSummary", "MissingCacheError"]
