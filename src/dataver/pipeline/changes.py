"""Whether a stage must run, by DVC's rules: no dvc.lock entry; the command changed; (unless
frozen) always_changed, a dependency's content or a parameter's value changed; an output
changed, is missing, or (when cached) is not in the cache."""
from __future__ import annotations

import os

from dataver.hashing import LEGACY, MD5
from dataver.ops.status import has_oid, in_cache
from dataver.pipeline import params as paramsmod


def _hash_name(entry: dict) -> str:
    return MD5 if entry.get("hash") == MD5 else LEGACY


def _by_path(entries) -> dict:
    return {str(e.get("path")): e for e in entries or [] if hasattr(e, "get")}


def _content_changed(repo, abspath: str, entry) -> bool:
    if entry is None or not entry.get("md5") or not os.path.lexists(abspath):
        return True
    return not has_oid(repo, abspath, _hash_name(entry), str(entry["md5"]))


def why(repo, stage, locked: dict | None) -> str | None:
    """Why ``stage`` must run (a short phrase), or None when it is up to date."""
    if locked is None:
        return "it has no dvc.lock entry"
    if _plain(stage.cmd) != _plain(locked.get("cmd")):
        return "its command changed"
    if not stage.frozen:
        if stage.always_changed:
            return "it is always_changed"
        deps = _by_path(locked.get("deps"))
        for dep in stage.deps:
            if _content_changed(repo, stage.abspath(dep), deps.get(dep)):
                return f"dependency '{dep}' changed"
        if stage.params:
            current = paramsmod.values(stage.wdir, stage.params, strict=False)
            if paramsmod.changed(current, locked.get("params"), stage.params):
                return "its params changed"
    outs = _by_path(locked.get("outs"))
    for out in stage.outs:
        entry = outs.get(out.path)
        if _content_changed(repo, stage.abspath(out.path), entry):
            return f"output '{out.path}' changed"
        if out.cache and not in_cache(repo, str(entry["md5"]), _hash_name(entry)):
            return f"output '{out.path}' is not in the cache"
    return None


def _plain(value):
    return [str(v) for v in value] if isinstance(value, list) else value
