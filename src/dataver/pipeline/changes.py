"""Whether a stage must run, by DVC's rules: no dvc.lock entry; the command changed; (unless
frozen) always_changed, a dependency's content or a parameter's value changed; an output
changed, is missing, or (when cached) is not in the cache."""
from __future__ import annotations

import os

from dataver.hashing import LEGACY, MD5
from dataver.ops.stage_status import verified_has_oid
from dataver.ops.status import in_cache
from dataver.pipeline import params as paramsmod


def _hash_name(entry: dict) -> str:
    return MD5 if entry.get("hash") == MD5 else LEGACY


def _by_path(entries) -> dict:
    return {str(e.get("path")): e for e in entries or [] if hasattr(e, "get")}


def _content_changed(repo, abspath: str, entry) -> bool:
    if entry is None or not entry.get("md5") or not os.path.lexists(abspath):
        return True
    return not verified_has_oid(repo, abspath, _hash_name(entry), str(entry["md5"]))


class Missing:
    """How ``--allow-missing`` judges missing data: ``upstream`` maps the absolute path of each
    output of the stages a stage depends on to its dvc.lock md5 (a missing dependency counts
    as changed only when that md5 differs from the one locked for the dependency)."""

    def __init__(self, upstream: dict[str, str] | None = None):
        self.upstream = upstream or {}


def why(repo, stage, locked: dict | None, always: bool = True,
        missing: Missing | None = None) -> str | None:
    """Why ``stage`` must run (a short phrase), or None when it is up to date; ``always=False``
    does not count always_changed; with ``missing`` (DVC's --allow-missing), outputs and
    dependencies that are merely absent (or outputs not in the cache) do not count."""
    if locked is None:
        return "it has no dvc.lock entry"
    reason = inputs_changed(repo, stage, locked, always, missing)
    if reason is not None:
        return reason
    outs = _by_path(locked.get("outs"))
    for out in stage.outs:
        entry, abspath = outs.get(out.path), stage.abspath(out.path)
        uncached = bool(entry and entry.get("md5") and out.cache
                        and not in_cache(repo, str(entry["md5"]), _hash_name(entry)))
        if missing is not None and entry and entry.get("md5") and (uncached or not os.path.lexists(abspath)):
            continue
        if _content_changed(repo, abspath, entry):
            return f"output '{out.path}' changed"
        if uncached:
            return f"output '{out.path}' is not in the cache"
    return None


def inputs_changed(repo, stage, locked: dict, always: bool = True,
                   missing: Missing | None = None) -> str | None:
    """Why the stage's inputs differ from its dvc.lock entry ``locked`` (command; unless frozen,
    always_changed, a dependency, a parameter), or None when they match."""
    if _plain(stage.cmd) != _plain(locked.get("cmd")):
        return "its command changed"
    if stage.frozen:
        return None
    if stage.always_changed and always:
        return "it is always_changed"
    deps = _by_path(locked.get("deps"))
    for dep in stage.deps:
        abspath, entry = stage.abspath(dep), deps.get(dep)
        if missing is not None and not os.path.lexists(abspath):
            produced = missing.upstream.get(abspath)
            if produced is None or produced == (entry or {}).get("md5"):
                continue
        if _content_changed(repo, abspath, entry):
            return f"dependency '{dep}' changed"
    if stage.params:
        current = paramsmod.values(stage.wdir, stage.params, strict=False)
        if paramsmod.changed(current, locked.get("params"), stage.params):
            return "its params changed"
    return None


def _plain(value):
    return [str(v) for v in value] if isinstance(value, list) else value
