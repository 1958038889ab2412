"""The run cache, in DVC 3.x's format: after a stage runs, its dvc.lock entry is also saved as
``<cache>/runs/<key[:2]>/<key>/<value>`` (YAML, the same bytes as the entry in dvc.lock), where
``key`` is the sha256 of the entry with its outputs reduced to their paths (so: command,
dependency hashes, params values, output paths) and ``value`` the sha256 of the whole entry;
both hash ``json.dumps(..., sort_keys=True)`` with every ``size``/``nfiles`` key left out.
Outputs not cached (``cache: false`` metrics and plots) are copied into the cache for it.

A stage about to run whose key has an entry with every output in the cache is restored from it
instead ("cached - skipping run"). Entries may come from a remote: they are validated before
any path or object id in them is used."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil

from dataver import dvcfile
from dataver.atomic import write_text_atomic
from dataver.errors import UserError
from dataver.hashing import LEGACY, MD5
from dataver.manifest import is_dir_oid, valid_oid
from dataver.ops.status import in_cache

RUNS = "runs"
_IGNORED_KEYS = ("size", "nfiles")  # as DVC: sizes do not take part in the hashes


def runs_dir(repo) -> str:
    """Where the run cache lives: ``runs/`` in the cache directory (DVC's legacy cache root)."""
    return os.path.join(repo.odb.root, RUNS)


def can_hash(stage) -> bool:
    """DVC's conditions for a stage to use the run cache: a command, dependencies and outputs,
    not always_changed, and no persistent output."""
    return bool(stage.cmd and stage.deps and stage.outs and not stage.always_changed
                and not any(out.persist for out in stage.outs))


def saves_for(stage, no_commit: bool) -> bool:
    """Whether a run of ``stage`` is saved to the run cache: as DVC, not with --no-commit nor
    when an output other than a metric or plot is not cached."""
    return can_hash(stage) and not no_commit and all(out.cache for out in stage.outs
                                                     if out.kind == "outs")


def _digest(entry) -> str:
    def strip(value):
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _IGNORED_KEYS}
        return value

    return hashlib.sha256(json.dumps(strip(entry), sort_keys=True).encode("utf-8")).hexdigest()


def entry_key(entry: dict) -> str:
    """The run-cache key of a lock entry: its hash with outputs reduced to their paths."""
    return _digest({**entry, "outs": [out["path"] for out in entry.get("outs", [])]})


def entry_value(entry: dict) -> str:
    """The name of a lock entry's file under its key's directory."""
    return _digest(entry)


def save(repo, stage, entry: dict) -> None:
    """Record ``entry`` (the stage's new dvc.lock entry) in the run cache, and put its
    uncached outputs into the cache so the entry can be restored."""
    key, value = entry_key(entry), entry_value(entry)
    for out in stage.outs:
        if not out.cache:
            _cache_copy(repo, stage.abspath(out.path))
    folder = os.path.join(runs_dir(repo), key[:2], key)
    path = os.path.join(folder, value)
    if os.path.exists(path):
        return
    os.makedirs(folder, exist_ok=True)
    write_text_atomic(path, dvcfile.dumps(entry))


def _cache_copy(repo, abspath: str) -> None:
    from dataver.ops import add as addops

    if os.path.isdir(abspath):
        addops._add_dir(repo, abspath, no_commit=False)
    elif os.path.isfile(abspath):
        oid = repo.hasher.hash_file(abspath, MD5)[0]
        repo.odb.add_file(abspath, oid)  # a copy: the workspace file stays as git tracks it


def lookup(repo, stage, key: str) -> dict | None:
    """The newest valid entry saved under ``key`` (DVC takes the newest by mtime), or None."""
    folder = os.path.join(runs_dir(repo), key[:2], key)
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    paths = [os.path.join(folder, n) for n in names if not n.endswith(".tmp")]
    for path in sorted(paths, key=_mtime, reverse=True):
        entry = _load(path, stage)
        try:
            if entry is not None and entry_key(entry) == key:
                return entry
        except (TypeError, ValueError):  # values JSON cannot hold (a YAML date): not DVC's
            continue
    return None


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def _load(path: str, stage) -> dict | None:
    """An entry file, or None when it is unreadable or does not fit the stage."""
    try:
        with open(path, "rb") as fobj:
            entry = dvcfile._parse_yaml(fobj.read(), path)
    except (OSError, UserError):
        return None
    return entry if fits(entry, stage) else None


def fits(entry, stage) -> bool:
    """Whether a lock-like ``entry`` can restore ``stage``: an entry from a remote is untrusted,
    so its outputs must be exactly the stage's, each with a well-formed object id."""
    outs = entry.get("outs") if isinstance(entry, dict) else None
    if not isinstance(outs, list) or not all(isinstance(o, dict) and valid_oid(o.get("md5"))
                                             for o in outs):
        return False
    return sorted(str(o.get("path")) for o in outs) == sorted(out.path for out in stage.outs)


def hash_name(out: dict) -> str:
    """The hash an entry's output uses: md5 for 3.x entries, the legacy one otherwise."""
    return MD5 if out.get("hash") == MD5 else LEGACY


def outs_cached(repo, entry: dict) -> bool:
    """Whether every output the entry lists is in the cache."""
    return all(in_cache(repo, str(o["md5"]), hash_name(o)) for o in entry.get("outs", []))


def checkout(repo, stage, entry: dict) -> None:
    """Put the entry's outputs in the workspace from the cache: cached ones as checkout does
    (cache.type links), uncached ones as plain copies, as git-tracked files are."""
    cached = {out.path: out.cache for out in stage.outs}
    for out in entry["outs"]:
        path, oid = str(out["path"]), str(out["md5"])
        abspath = stage.abspath(path)
        if cached.get(path, True) or is_dir_oid(oid):
            result = repo.materialize(abspath, oid, hash_name(out), bool(out.get("isexec")),
                                      force=True)
            if getattr(result, "missing", None) or getattr(result, "corrupt", None):
                raise UserError(f"failed to restore '{path}' of stage '{stage.addressing}' from "
                                "the run cache", hint="run `dataver repro --no-run-cache`")
        else:
            _copy_out(repo.odb.path(oid, hash_name(out)), abspath, bool(out.get("isexec")))


def _copy_out(src: str, dest: str, isexec: bool) -> None:
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = f"{dest}.{os.getpid()}.runcache.tmp"
    try:
        shutil.copyfile(src, tmp)
        if isexec:
            os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


# --- push / fetch --run-cache ---------------------------------------------------------------------
# On a remote the entries sit where DVC puts them: ``runs/<xx>/<key>/<value>`` under its URL.
_ENTRY_KEY = re.compile(r"^runs/([0-9a-f]{2})/([0-9a-f]{64})/[0-9a-f]{64}$")


def _valid_entry_key(key: str) -> bool:
    """Whether a (remote or local) name is a well-formed entry path; listings are untrusted."""
    match = _ENTRY_KEY.match(key)
    return match is not None and match.group(2).startswith(match.group(1))


def _local_entries(repo) -> set[str]:
    base = runs_dir(repo)
    found = set()
    for top, _dirs, files in os.walk(base):
        rel = os.path.relpath(top, repo.odb.root).replace(os.sep, "/")
        found |= {f"{rel}/{name}" for name in files if _valid_entry_key(f"{rel}/{name}")}
    return found


def _remote_entries(remote) -> set[str]:
    try:
        return {key for key in remote.backend.list(RUNS) if _valid_entry_key(key)}
    except FileNotFoundError:
        return set()


def push_entries(repo, remote) -> tuple[int, list]:
    """Upload the run-cache entries the remote lacks; returns how many were sent and the
    objects (:class:`dataver.transfer.Used`) their outputs need, to push with them."""
    missing = sorted(_local_entries(repo) - _remote_entries(remote))
    items = [(os.path.join(repo.odb.root, *key.split("/")), key) for key in missing]
    failures = remote.backend.put_many(items, remote.jobs) if items else {}
    if failures:
        key, exc = next(iter(failures.items()))
        raise UserError(f"failed to push run-cache entry '{key}' to remote '{remote.name}': {exc}",
                        hint="check the remote, then re-run with --run-cache")
    sent = [key for key in missing if key not in failures]
    return len(sent), _used_by(repo, sent)


def fetch_entries(repo, remote) -> tuple[int, list]:
    """Download the run-cache entries the cache lacks; returns how many came and the objects
    (:class:`dataver.transfer.Used`) their outputs need, to fetch with them."""
    missing = sorted(_remote_entries(remote) - _local_entries(repo))
    items = []
    for key in missing:
        dest = os.path.join(repo.odb.root, *key.split("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        items.append((key, f"{dest}.{os.getpid()}.tmp"))
    failures = remote.backend.get_many(items, remote.jobs) if items else {}
    got = []
    for key, tmp in items:
        if key in failures:
            continue
        os.replace(tmp, tmp[: -len(f".{os.getpid()}.tmp")])
        got.append(key)
    return len(got), _used_by(repo, got)


def _used_by(repo, keys: list[str]) -> list:
    """The objects the outputs of the given entries need (malformed entries contribute none)."""
    from dataver.transfer import Used

    used = []
    for key in keys:
        path = os.path.join(repo.odb.root, *key.split("/"))
        try:
            with open(path, "rb") as fobj:
                entry = dvcfile._parse_yaml(fobj.read(), path)
        except (OSError, UserError):
            continue
        outs = entry.get("outs") if isinstance(entry, dict) else None
        for out in outs if isinstance(outs, list) else []:
            if isinstance(out, dict) and valid_oid(out.get("md5")):
                used.append(Used(str(out.get("path")), str(out["md5"]), hash_name(out)))
    return used
