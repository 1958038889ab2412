"""`gc`: remove cache objects, and with ``cloud`` remote objects, that nothing in use needs.

What is in use comes from the current `.dvc` files (``used`` lets the history code add other
revisions). Safety first: if the manifest of a used directory cannot be read (not in the cache,
nor on the remote for ``cloud``), gc stops before deleting anything, since it could not tell
which files that directory needs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver import transfer
from dataver.errors import UserError
from dataver.hashing import LEGACY, MD5
from dataver.manifest import valid_oid
from dataver.progress import SILENT
from dataver.remote.base import FILES_PREFIX, object_key


class GcError(UserError):
    """gc refused to run because it could not tell what is in use."""


@dataclass
class GcResult:
    """Objects removed (or, with ``dry``, that would be) from the cache and the remote."""

    local: list[str] = field(default_factory=list)  # cache paths
    remote: list[str] = field(default_factory=list)  # remote keys
    remote_name: str | None = None
    legacy_local: int = 0  # how many of ``local`` are DVC 2.x objects (the legacy cache)
    legacy_remote: int = 0  # how many of ``remote`` are DVC 2.x objects


def gc(repo, cloud: bool = False, remote: str | None = None, dry: bool = False,
       jobs: int | None = None, used=None, not_in_remote: bool = False,
       progress=None) -> GcResult:
    """Remove unused objects. ``used`` defaults to every output of the current `.dvc` files.
    ``not_in_remote`` keeps of the used objects only those that the remote (``remote`` or the
    default) lacks, asked live, not from its index: what it holds can be fetched again (DVC's
    meaning of ``gc --not-in-remote``). ``progress`` (a
    :class:`dataver.progress.Progress`) shows the listing of the cache and the removal from it."""
    if cloud and not_in_remote:
        raise UserError("`--not-in-remote` and `--cloud` are mutually exclusive")
    progress = progress or SILENT
    with repo.lock:
        used = used if used is not None else transfer.used_in_workspace(repo, None)
        rem = None
        if cloud or not_in_remote:
            from dataver.remote import open_remote

            rem = open_remote(repo, remote, jobs)
            if cloud and not rem.backend.can_list:
                rem.close()
                raise GcError(f"remote '{rem.name}' ({rem.url}) cannot list its objects (plain "
                              "HTTP), so gc -c cannot tell what to remove; nothing was removed",
                              hint="run gc without -c, and clean the server by its own means")
            rem.check()
        try:
            keep = _used_keys(repo, rem, used)
            if not_in_remote:
                keep -= _on_remote(rem, sorted(keep))
            result = GcResult(remote_name=rem.name if rem else None)
            result.local = _gc_cache(repo, keep, dry, progress)
            files = os.path.join(repo.odb.root, "files") + os.sep
            result.legacy_local = sum(1 for path in result.local if not path.startswith(files))
            if not dry:  # temp files left by killed processes
                repo.odb.clean_leftovers(rem)
                repo.odb.remove_stale_tmp()
            if cloud:
                result.remote = _gc_remote(rem, keep, dry)
                result.legacy_remote = sum(1 for key in result.remote if not key.startswith(FILES_PREFIX))
            return result
        finally:
            if rem is not None:
                rem.close()


def _used_keys(repo, rem, used) -> set[str]:
    failed = transfer.Result()
    fetched: dict[str, str] = {}
    if rem is None:
        plan = transfer.make_plan(used, transfer.local_manifest(repo))
    else:
        plan = transfer.make_plan(used, transfer._remote_manifest(repo, rem, failed, fetched))
        for key, tmp in fetched.items():
            repo.odb.adopt(tmp, plan.dirs[key].oid, plan.dirs[key].hash_name)
    if plan.unreadable:
        obj = plan.unreadable[0]
        raise GcError(f"cannot read the directory manifest {obj.oid} of '{obj.name}'; "
                      "nothing was removed",
                      hint="fetch it first (`dataver fetch`), or restore the .dvc file")
    return set(plan.files) | set(plan.dirs)


def _gc_cache(repo, keep: set[str], dry: bool, progress=SILENT) -> list[str]:
    unused = [(oid, hash_name) for oid, hash_name in _cache_objects(repo.odb.root, progress)
              if object_key(oid, hash_name) not in keep]
    unused.sort(key=lambda item: not item[0].endswith(".dir"))  # manifests first: see _gc_remote
    removed = [repo.odb.path(oid, hash_name) for oid, hash_name in unused]
    if not dry:
        with progress.phase("Removing unused objects", len(unused), unit="objects"):
            for oid, hash_name in unused:
                repo.odb.remove(oid, hash_name)
                progress.advance()
    return removed + repo.odb.remove_corrupt(dry)  # and corrupt objects a repair moved aside


def _on_remote(rem, keys: list[str]) -> set[str]:
    try:
        if len(keys) > transfer.LIST_THRESHOLD and rem.backend.can_list:
            return set(keys) & transfer.list_remote(rem)
        return rem.backend.exists_many(keys, rem.jobs) if keys else set()
    except Exception as exc:
        raise rem.error(exc, "checking which objects it has") from exc


def _cache_objects(root: str, progress=SILENT) -> list[tuple[str, str]]:
    """``(oid, hash_name)`` of every object in the cache, both layouts; temp files skipped.
    ``progress`` counts the prefix directories listed."""
    dirs = []  # (prefix, its path, hash name)
    for base, hash_name in ((os.path.join(root, "files", "md5"), MD5), (root, LEGACY)):
        try:
            prefixes = sorted(os.listdir(base))
        except FileNotFoundError:
            continue
        dirs += [(prefix, os.path.join(base, prefix), hash_name) for prefix in prefixes
                 if len(prefix) == 2 and os.path.isdir(os.path.join(base, prefix))]
    found = []
    with progress.phase("Listing the cache", len(dirs), unit="directories"):
        for prefix, path, hash_name in dirs:
            with os.scandir(path) as entries:
                found += [(prefix + e.name, hash_name) for e in entries if valid_oid(prefix + e.name)]
            progress.advance()
    return found


def _gc_remote(rem, keep: set[str], dry: bool) -> list[str]:
    from dataver.remote.base import list_objects

    try:
        stored = [key for _oid, _hash, key in list_objects(rem.backend)]
    except Exception as exc:
        raise rem.error(exc, "listing") from exc
    unused = sorted(key for key in stored if key not in keep)
    if dry or not unused:
        return unused
    # A gc killed mid-way must never leave a manifest without its files, nor an index that
    # still lists deleted objects: either would make push and `status -c` take the remote for
    # complete. So the index forgets first, and manifests go before files.
    rem.index.discard(unused)
    manifests = [key for key in unused if key.endswith(".dir")]
    failures = rem.backend.delete_many(manifests, rem.jobs) if manifests else {}
    if not failures:
        failures = rem.backend.delete_many([k for k in unused if not k.endswith(".dir")], rem.jobs)
    if failures:
        key, exc = next(iter(failures.items()))
        raise rem.error(exc, f"deleting {key}")
    return unused
