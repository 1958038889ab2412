"""Status of `dvc.yaml` stages (read-only pipeline support): outputs and dependencies compared
with the hashes in `dvc.lock`, in the shape `dvc status --json` gives them:
``{"prep": [{"changed deps": {...}}, {"changed outs": {...}}, "changed command"]}``.
Stages of the root dvc.yaml are keyed by name, others by ``sub/dvc.yaml:name``."""
from __future__ import annotations

import os

from dataver.ops.status import DELETED, MODIFIED, NOT_IN_CACHE, has_oid, in_cache


def stage_key(repo, stage) -> str:
    rel = os.path.relpath(stage.path, repo.root).replace(os.sep, "/")
    return stage.name if rel == "dvc.yaml" else f"{rel}:{stage.name}"


def out_state(repo, item, listings: dict[str, str] | None = None, progress=None) -> str | None:
    """A stage output's state: never locked counts as modified (or deleted), as DVC says; an
    output with ``cache: false`` is compared by hash only."""
    out = item.out
    exists = os.path.lexists(item.abspath)
    if out.md5 is None:
        return MODIFIED if exists else DELETED
    if out.cache and not in_cache(repo, out.md5, out.hash_name, listings):
        return NOT_IN_CACHE
    return _compare(repo, item.abspath, out, progress) if exists else DELETED


def _compare(repo, abspath: str, entry, progress=None) -> str | None:
    if entry.md5 is None:
        return MODIFIED
    return None if verified_has_oid(repo, abspath, entry.hash_name, entry.md5, progress) else MODIFIED


_VERIFIED: set = set()  # (path, hash name, oid) found to match in this process


def verified_has_oid(repo, abspath: str, hash_name: str, oid: str, progress=None) -> bool:
    """:func:`has_oid`, remembered: ten stages that depend on one 20,000-file folder scan it
    once. Whatever changes the workspace (a stage about to run) calls :func:`forget_verified`."""
    key = (abspath, hash_name, oid)
    if key in _VERIFIED:
        return True
    found = has_oid(repo, abspath, hash_name, oid, progress)
    if found:
        _VERIFIED.add(key)
    return found


def forget_verified() -> None:
    """Drop what :func:`verified_has_oid` remembers (the workspace is about to change)."""
    _VERIFIED.clear()


def stage_entries(repo, stage, changed_outs: dict[str, str]) -> list:
    """The status list of one stage (empty when it is up to date)."""
    deps = {}
    for dep in stage.deps:
        abspath = stage.out_abspath(dep)
        state = _compare(repo, abspath, dep) if os.path.lexists(abspath) else DELETED
        if state is not None:
            deps[os.path.relpath(abspath, repo.root)] = state
    if stage.params:
        from dataver.pipeline.params import status
        from dataver.pipeline.stage import parse_params_section

        for file, state in status(stage.params_wdir, parse_params_section(stage.params),
                                  stage.data.get("params")).items():
            deps[os.path.relpath(os.path.join(stage.params_wdir, file), repo.root)] = state
    entries: list = []
    if deps:
        entries.append({"changed deps": deps})
    if changed_outs:
        entries.append({"changed outs": changed_outs})
    if stage.command_changed:
        entries.append("changed command")
    return entries
