"""`status`: compare the workspace with the `.dvc` files, reporting as DVC does."""
from __future__ import annotations

import os
from contextlib import contextmanager

from dataver.hashing import MD5
from dataver.manifest import is_dir_oid
from dataver.progress import SILENT

MODIFIED, DELETED, NOT_IN_CACHE, NEW = "modified", "deleted", "not in cache", "new"


def status(repo, targets: list[str] | None = None, with_deps: bool = False,
           progress=None, check_updates: bool = True) -> dict[str, list[dict]]:
    """``{dvcfile: [{"changed outs": {out_path: state}}]}`` for outputs that differ, the shape of
    ``dvc status --json``; paths relative to the repo root. Empty when everything is up to date.
    ``with_deps``: also the stages that stage targets depend on. ``progress`` (a :class:`dataver.progress.Progress`) shows the outputs checked, and the
    scanning and hashing of each directory. ``check_updates``: an import whose source moved
    on is ``{"changed deps": {"PATH (URL)": "update available"}}`` (see ops.import_status)."""
    from dataver.ops import stage_status
    from dataver.ops.targets import resolve_partial, unique, with_deps as add_deps

    progress = progress or SILENT
    stage_status.forget_verified()  # what an earlier call in this process saw may be stale
    if with_deps and targets:
        targets = add_deps(repo, targets)
    result: dict[str, list[dict]] = {}
    stages: dict[str, tuple] = {}  # dvc.yaml stages: key -> (stage, changed outs)
    listings: dict[str, str] = {}  # the cache listing stamp, taken once: status adds nothing
    # A path inside a tracked directory reports that whole output, as DVC does.
    items = unique([item for item, _sub in resolve_partial(repo, targets)])
    with progress.phase("Checking", len(items), unit="outputs"):
        for item in items:
            if check_updates:
                _update_status(repo, item, result)
            _item_status(repo, item, listings, result, stages, progress)
            progress.advance()
    for key, (stage, outs) in stages.items():
        entries = stage_status.stage_entries(repo, stage, outs)
        if entries:
            result[key] = entries
    repo.state.flush()
    return result


def _item_status(repo, item, listings: dict[str, str], result: dict, stages: dict,
                 progress) -> None:
    """Put the state of output ``item`` into ``result`` (or ``stages``) if it changed."""
    from dataver import dvcfile
    from dataver.ops import stage_status

    if isinstance(item.dvcfile, dvcfile.Stage):
        key = stage_status.stage_key(repo, item.dvcfile)
        outs = stages.setdefault(key, (item.dvcfile, {}))[1]
        state = stage_status.out_state(repo, item, listings, progress)
        if state is not None:
            outs[os.path.relpath(item.abspath, repo.root)] = state
        return
    state = out_state(repo, item, listings, progress)
    if state is not None:
        key = os.path.relpath(item.dvcfile.path, repo.root)
        changed = _entry(result.setdefault(key, []))
        changed[os.path.relpath(item.abspath, repo.root)] = state


def _update_status(repo, item, result: dict) -> None:
    """An import's ``changed deps`` entry, first in its list as in DVC, if its source moved."""
    from dataver import dvcfile
    from dataver.ops.import_status import update_status

    found = {} if isinstance(item.dvcfile, dvcfile.Stage) else update_status(item.dvcfile)
    if found:
        result.setdefault(os.path.relpath(item.dvcfile.path, repo.root), []).append(
            {"changed deps": found})


def _entry(entries: list[dict]) -> dict:
    for entry in entries:
        if "changed outs" in entry:
            return entry["changed outs"]
    entries.append({"changed outs": {}})
    return entries[-1]["changed outs"]


def out_state(repo, item, listings: dict[str, str] | None = None, progress=None) -> str | None:
    """``modified``/``deleted``/``not in cache``, or None if unchanged. ``listings``: see
    :func:`in_cache`."""
    out = item.out
    if out.md5 is None:  # never recorded (an import made with --no-download): as DVC says
        return MODIFIED if os.path.lexists(item.abspath) else DELETED
    # An uncached output (`cache: false`) is still compared with its recorded hash, as DVC does.
    if out.cache and not in_cache(repo, out.md5, out.hash_name, listings):
        return NOT_IN_CACHE
    if not os.path.lexists(item.abspath):
        return DELETED
    return None if has_oid(repo, item.abspath, out.hash_name, out.md5, progress) else MODIFIED


def in_cache(repo, oid: str, hash_name: str, listings: dict[str, str] | None = None) -> bool:
    """Whether object ``oid`` (and, for a `.dir`, every file it lists) is in the cache.
    ``listings`` (hash name -> listing stamp) lets a command that adds nothing to the cache take
    the stamp once for all its outputs. The object itself must be sound, as DVC checks: one
    whose content changed since it was stored counts as not in the cache (the files a `.dir`
    lists are checked when checkout or push use them, and by `cache verify`)."""
    if not repo.odb.sound(oid, hash_name):
        return False
    if not is_dir_oid(oid):
        return True
    # Objects leave the cache only by unlinking, which changes their prefix directory's mtime:
    # while no prefix directory changed, a directory found complete before is complete still.
    stamp = listings.get(hash_name) if listings is not None else None
    if stamp is None:
        stamp = repo.odb.listing_stamp(hash_name)
        if listings is not None:
            listings[hash_name] = stamp
    if known_complete(repo, oid, hash_name, stamp):
        return True
    try:
        manifest = repo.odb.read_manifest(oid, hash_name)
    except FileNotFoundError:
        return False
    children = set(manifest.entries.values())
    if len(repo.odb.existing(children, hash_name)) != len(children):
        return False
    repo.state.set_stamp(_cache_key(hash_name, oid), stamp, oid)
    return True


def known_complete(repo, oid: str, hash_name: str, stamp: str | None = None) -> bool:
    """Whether directory ``oid`` was found complete in the cache and, by the cache's listing
    ``stamp`` (taken now if not given), nothing has left the cache since. Never lists it."""
    if stamp is None:
        stamp = repo.odb.listing_stamp(hash_name)
    return repo.state.get_stamp(_cache_key(hash_name, oid), stamp) == oid


@contextmanager
def cache_only_grows(repo):
    """Around work (under the repo lock) that only adds objects to the cache: directories known
    complete in the cache before it are complete after it, so their stamps are carried over
    instead of being invalidated by the new objects."""
    repo.state.flush()  # stamps pending from here on were all recorded during the work
    before = repo.odb.listing_stamp(MD5)
    yield
    after = repo.odb.listing_stamp(MD5)
    if after != before:
        repo.state.carry_stamps(_cache_key(MD5), before, after)


def mark_in_cache(repo, oid: str, hash_name: str) -> None:
    """Record that directory ``oid`` and every file it lists were just stored in the cache."""
    repo.state.set_stamp(_cache_key(hash_name, oid), repo.odb.listing_stamp(hash_name), oid)


def _cache_key(hash_name: str, oid: str = "") -> str:
    """State-db stamp key saying directory ``oid`` is complete in the cache (without ``oid``:
    the prefix of all of them)."""
    return f"cache:{hash_name}:{oid}"


def has_oid(repo, abspath: str, hash_name: str, oid: str, progress=None) -> bool:
    """Whether the workspace content at ``abspath`` has ``oid`` (a `.dir` oid for a directory)."""
    if os.path.isdir(abspath):
        return is_dir_oid(oid) and repo.hasher.dir_has_oid(abspath, repo.ignore, oid, hash_name,
                                                           progress)
    if not os.path.exists(abspath):  # a broken symlink
        return False
    return repo.hasher.hash_file(abspath, hash_name, progress)[0] == oid
