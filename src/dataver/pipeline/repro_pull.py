"""What `repro --pull` fetches, as DVC 3.67.1 does: the run cache's entries first; for a stage
whose only change is missing data, its locked outputs (then it does not run); for a stage about
to run, its missing dependencies and the objects of a matching run-cache entry. A remote that
lacks something is no error here: the stage simply runs."""
from __future__ import annotations

import os

from dataver.errors import UserError, warn
from dataver.manifest import valid_oid
from dataver.pipeline.runcache import hash_name
from dataver.transfer import Used


def _fetch(repo, used: list, remote) -> bool:
    """Fetch ``used`` objects; whether all of them came."""
    try:
        repo.fetch(used=used, remote=remote)
    except UserError:
        return False
    return True


def pull_run_cache(repo, remote) -> None:
    """Bring the remote's run-cache entries (and what objects of theirs it has) into the cache."""
    try:
        repo.fetch(used=[], remote=remote, run_cache=True)
    except UserError as exc:
        warn(f"Failed to pull run cache: {exc}")


def _used(entry: dict, stage, cached_only: bool) -> list:
    """The objects of an entry's outputs (``cached_only``: not those git tracks)."""
    cached = {out.path: out.cache for out in stage.outs}
    outs = [o for o in entry.get("outs") or [] if hasattr(o, "get") and valid_oid(o.get("md5"))]
    return [Used(os.path.relpath(stage.abspath(str(o.get("path")))), str(o["md5"]), hash_name(o))
            for o in outs if cached.get(str(o.get("path")), True) or not cached_only]


def pull_outputs(repo, stage, locked: dict, remote) -> bool:
    """Fetch and check out the locked outputs of ``stage``; whether every one is now in place
    (DVC: "Pulling data for stage", else "Unable to pull data" and the stage runs)."""
    used = _used(locked, stage, cached_only=True)
    if not _fetch(repo, used, remote):
        return False
    cached = {out.path: out.cache for out in stage.outs}
    for out in locked.get("outs") or []:
        path = str(out.get("path"))
        abspath = stage.abspath(path)
        if path not in cached or os.path.lexists(abspath):
            continue  # a path the stage no longer declares is not restored
        if not cached[path] or not valid_oid(out.get("md5")):
            return False  # git tracks it (no remote has it), or a malformed entry
        result = repo.materialize(abspath, str(out["md5"]), hash_name(out), bool(out.get("isexec")))
        if result.missing or result.corrupt:
            return False
    return True


def pull_missing_deps(repo, stage, remote) -> None:
    """Pull the dependencies of ``stage`` that are absent (tracked outputs a remote may hold)."""
    for dep in stage.deps:
        abspath = stage.abspath(dep)
        if not os.path.lexists(abspath):
            try:
                repo.pull([os.path.relpath(abspath)], remote=remote)
            except UserError:
                continue


def fetch_entry(repo, entry: dict, stage, remote) -> None:
    """Fetch the objects of a run-cache entry's outputs (those the remote has)."""
    _fetch(repo, _used(entry, stage, cached_only=False), remote)
