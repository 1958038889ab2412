"""What to push, pull or fetch for given targets, and moving it: ordered (a `.dir` manifest goes
after every file it lists), batched, concurrent, and verified (a downloaded object enters the
cache only if its md5 equals its name).

Callers describe what they need as :class:`Used` entries (``used_in_workspace`` for the current
`.dvc` files; the history code adds the same for other revisions), then call :func:`push`,
:func:`fetch`, :func:`cloud_status`.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, NamedTuple

from dataver.errors import CorruptObjectError, RemoteError
from dataver.hashing import MD5, md5_bytes, md5_file
from dataver.manifest import Manifest, is_dir_oid, valid_oid
from dataver.parallel import default_jobs
from dataver.progress import Progress
from dataver.remote.base import object_key

LIST_THRESHOLD = 1000  # more unknown objects than this: one listing beats per-object requests
BATCH = 2000  # objects per bulk call, so temp files and failures stay bounded


@dataclass(frozen=True)
class Used:
    """An object some output needs: a file oid, or a `.dir` oid (optionally only the entries at
    or below ``subpath``). ``path`` is the output's repo-relative path, for messages."""

    path: str
    oid: str
    hash_name: str = MD5
    subpath: str | None = None


class Obj(NamedTuple):
    """One object to move; ``name`` is the workspace path it belongs to (for messages), ``key``
    where it lives on a remote. A tuple: plans hold one per file, tens of thousands."""

    oid: str
    hash_name: str
    name: str
    key: str

    @classmethod
    def make(cls, oid: str, hash_name: str, name: str) -> "Obj":
        return cls(oid, hash_name, name, object_key(oid, hash_name))


@dataclass
class Plan:
    """Objects of some outputs: files first, then the `.dir` manifests listing them."""

    files: dict[str, Obj] = field(default_factory=dict)  # key -> Obj
    dirs: dict[str, Obj] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)  # dir key -> its file keys
    top: set[str] = field(default_factory=set)  # the outputs' own objects (.dir or single file)
    unreadable: list[Obj] = field(default_factory=list)  # .dir whose manifest is unavailable
    full: set[str] = field(default_factory=set)  # dirs expanded entirely (not just a subpath)

    def complete_dirs(self, present: set[str]) -> set[str]:
        """Fully expanded dirs that ``present`` holds together with every file they list."""
        return {k for k in self.full if k in present and self.children.get(k, set()) <= present}


@dataclass
class Result:
    """What a push/fetch did. ``failed`` holds (workspace path, oid, reason) per object."""

    transferred: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    def fail(self, obj: Obj, reason: str) -> None:
        self.failed.append((obj.name, obj.oid, reason))


class TransferError(RemoteError):
    """Some objects could not be transferred; ``result`` says what was done."""

    def __init__(self, message: str, result: Result, **kwargs):
        self.result = result
        super().__init__(message, **kwargs)


# --- what the targets need ------------------------------------------------------------------
def used_in_workspace(repo, targets: list[str] | None = None, for_push: bool = False) -> list[Used]:
    """The objects the current `.dvc` files need for ``targets`` (all outputs if None). A target
    inside a tracked directory selects only that part of it."""
    result = []
    for item, subpath in resolve_partial(repo, targets):
        out = item.out
        if out.md5 is None or not out.cache or (for_push and not out.push):
            continue
        path = os.path.relpath(item.abspath, repo.root).replace(os.sep, "/")
        result.append(Used(path, out.md5, out.hash_name, subpath))
    return result


def resolve_partial(repo, targets: list[str] | None):
    """See :func:`dataver.ops.targets.resolve_partial`."""
    from dataver.ops.targets import resolve_partial as resolve

    return resolve(repo, targets)


def make_plan(used: Iterable[Used], load: Callable[[Obj], Manifest | None],
              skip: set[str] = frozenset()) -> Plan:
    """Expand ``used`` into objects; ``load(dir_obj)`` returns its manifest or None. Dirs whose
    key is in ``skip`` are listed but not expanded."""
    plan = Plan()
    for entry in used:
        obj = Obj.make(entry.oid, entry.hash_name, entry.path)
        plan.top.add(obj.key)
        if not is_dir_oid(entry.oid):
            plan.files.setdefault(obj.key, obj)
            continue
        plan.dirs.setdefault(obj.key, obj)
        if obj.key in skip:
            continue
        manifest = load(obj)
        if manifest is None:
            plan.unreadable.append(obj)
            continue
        kids = plan.children.setdefault(obj.key, set())
        if not entry.subpath:
            plan.full.add(obj.key)
        prefix, hash_name = f"{entry.path}/", entry.hash_name
        base = object_key("00", hash_name)[:-3]  # the layout's key prefix
        for rel, oid in manifest.entries.items():
            if entry.subpath and not (rel == entry.subpath or rel.startswith(entry.subpath + "/")):
                continue
            key = f"{base}{oid[:2]}/{oid[2:]}"
            if key not in plan.files:
                plan.files[key] = Obj(oid, hash_name, prefix + rel, key)
            kids.add(key)
    return plan


def local_manifest(repo) -> Callable[[Obj], Manifest | None]:
    """A manifest loader reading the local cache only. Names in it serve only for messages and
    oids are validated, so the full path validation of checkout is not needed here."""
    def load(obj: Obj) -> Manifest | None:
        try:
            with open(repo.odb.path(obj.oid, obj.hash_name), "rb") as fobj:
                data = fobj.read()
        except FileNotFoundError:
            return None
        return _plan_manifest(data, obj, repo.odb.path(obj.oid, obj.hash_name))
    return load


def _plan_manifest(data: bytes, obj: Obj, where: str) -> Manifest:
    """Entries of manifest bytes whose md5 matched ``obj``: oids validated (they become paths)."""
    import json

    try:
        items = json.loads(data)
        entries = {str(item["relpath"]): item["md5"] for item in items}
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptObjectError(f"not a directory manifest ({exc})", path=where) from None
    oids = list(entries.values())
    if not all(isinstance(oid, str) for oid in oids) or not _OIDS.fullmatch("\n".join(oids)):
        bad = next(oid for oid in oids if not valid_oid(oid) or is_dir_oid(oid))
        raise CorruptObjectError(f"bad object id {bad!r} in directory manifest", path=where)
    return Manifest(entries)


_OIDS = re.compile(r"(?:[0-9a-f]{32}(?:\n[0-9a-f]{32})*)?")


def cached(repo, objs: Iterable[Obj]) -> set[str]:
    """Keys of ``objs`` present in the local cache (same layout as the remote, so a key is also
    a cache path): one directory listing per oid prefix instead of one stat per object."""
    by_dir: dict[str, list[Obj]] = {}
    for obj in objs:
        by_dir.setdefault(obj.key.rpartition("/")[0], []).append(obj)
    found = set()
    for rel_dir, group in by_dir.items():
        try:
            names = set(os.listdir(os.path.join(repo.odb.root, *rel_dir.split("/"))))
        except FileNotFoundError:
            continue
        found.update(obj.key for obj in group if obj.key.rpartition("/")[2] in names)
    return found


# --- what the remote has ----------------------------------------------------------------------
def top_live(remote, top: set[str]) -> set[str]:
    """Which of the outputs' own objects (``top``: `.dir` manifests, single files) the remote
    holds, asked live. If the index claims one that the remote lacks, the index is stale (someone
    ran gc on the remote) and is dropped. This is safe against gc by DVC or dataver: gc keeps a
    `.dir` only together with every file it lists."""
    live = remote.backend.exists_many(sorted(top), remote.jobs) if top else set()
    if remote.index.contains(top) - live:
        remote.index.clear()
    remote.index.add(live)
    return live


def remote_has(remote, plan: Plan, live: set[str]) -> set[str]:
    """Which objects of ``plan`` the remote holds, given ``live`` = :func:`top_live` of its top
    objects: files of complete dirs, then the index, then listing or per-object checks."""
    present = set(live)
    for key in remote.index.complete(live & set(plan.dirs)):
        present |= plan.children.get(key, set())
    rest = set(plan.files) - present - plan.top
    present |= remote.index.contains(rest)
    unknown = rest - present
    if len(unknown) > LIST_THRESHOLD and remote.backend.can_list:
        listed = list_remote(remote)
        present |= unknown & listed
    elif unknown:
        found = remote.backend.exists_many(sorted(unknown), remote.jobs)
        remote.index.add(found)
        present |= found
    return present


def list_remote(remote) -> set[str]:
    """Every valid 3.x object key on the remote (listing replaces the index: it is the truth)."""
    from dataver.remote.base import FILES_PREFIX, list_objects

    keys = {key for _oid, _hash, key in list_objects(remote.backend, FILES_PREFIX.rstrip("/"))}
    remote.index.replace(keys, FILES_PREFIX)
    return keys


# --- push -----------------------------------------------------------------------------------------
def push(repo, remote, used: list[Used], progress: Progress | None = None) -> Result:
    """Send what ``used`` needs and the remote lacks; files first, then `.dir` manifests."""
    progress = progress or Progress()
    result = Result()
    tops = {object_key(u.oid, u.hash_name) for u in used}
    live = _guard(remote, "checking", lambda: top_live(remote, tops))
    plan = make_plan(used, local_manifest(repo), skip=remote.index.complete(live))
    present = _guard(remote, "checking", lambda: remote_has(remote, plan, live))
    for obj in plan.unreadable:
        if obj.key not in present:
            result.fail(obj, "its directory manifest is missing from the cache")
    send = [o for k, o in sorted(plan.files.items()) if k not in present]
    sent = _upload(repo, remote, send, result, progress)
    ok = present | sent
    dirs = []
    for key, obj in sorted(plan.dirs.items()):
        if key in present or obj in plan.unreadable:
            continue
        if plan.children.get(key, set()) <= ok:
            dirs.append(obj)
        else:
            result.fail(obj, "not sent because some of its files failed")
    ok |= _upload(repo, remote, dirs, result, progress, phase=False)
    remote.index.mark_complete(plan.complete_dirs(ok))
    return _finish(result, remote, "push")


def _upload(repo, remote, objs: list[Obj], result: Result, progress: Progress, phase=True) -> set[str]:
    local = []
    for obj in objs:
        path = repo.odb.path(obj.oid, obj.hash_name)
        if os.path.exists(path):
            local.append((path, obj))
        else:
            result.fail(obj, "missing from the cache")
    if phase:
        progress.start("Pushing", len(local), sum(os.path.getsize(p) for p, _ in local))
    sent: set[str] = set()
    for start in range(0, len(local), BATCH):
        batch = local[start:start + BATCH]
        by_key = {o.key: o for _, o in batch}
        failures = remote.backend.put_many([(p, o.key) for p, o in batch], remote.jobs,
                                           (lambda _k, n: progress.advance(1, n)) if phase else None)
        _raise_fatal(remote, failures, "uploading")
        done = set(by_key) - set(failures)
        remote.index.add(done)
        sent |= done
        for key, exc in failures.items():
            result.fail(by_key[key], _reason(exc))
    result.transferred += len(sent)
    if phase and objs:
        progress.finish()
    return sent


# --- fetch ----------------------------------------------------------------------------------------
def fetch(repo, remote, used: list[Used], progress: Progress | None = None) -> Result:
    """Download into the cache what ``used`` needs and the cache lacks; every object is verified
    before it enters the cache. Manifests fetched for this go to the cache after their files."""
    progress = progress or Progress()
    result = Result()
    fetched_dirs: dict[str, str] = {}  # dir key -> verified temp file
    try:
        plan = make_plan(used, _remote_manifest(repo, remote, result, fetched_dirs))
        have = cached(repo, plan.files.values())
        want = [o for o in plan.files.values() if o.key not in have]
        got = _download(repo, remote, sorted(want, key=lambda o: o.key), result, progress)
        for key, tmp in fetched_dirs.items():
            repo.odb.adopt(tmp, plan.dirs[key].oid, plan.dirs[key].hash_name)
        result.transferred += len(got) + len(fetched_dirs)
        fetched_dirs.clear()
    finally:
        for tmp in fetched_dirs.values():
            _unlink(tmp)
    return _finish(result, remote, "fetch")


def _remote_manifest(repo, remote, result: Result, fetched: dict[str, str]):
    """A manifest loader: the local cache, else the remote (verified, kept in a temp file)."""
    load_local = local_manifest(repo)

    def load(obj: Obj) -> Manifest | None:
        manifest = load_local(obj)
        if manifest is not None:
            return manifest
        tmp = repo.odb.temp_path(obj.oid, obj.hash_name)
        failures = _guard(remote, "downloading", lambda: remote.backend.get_many([(obj.key, tmp)], 1))
        if failures:
            _raise_fatal(remote, failures, "downloading")
            _unlink(tmp)
            result.fail(obj, _reason(next(iter(failures.values())), remote))
            return None
        with open(tmp, "rb") as fobj:
            data = fobj.read()
        try:
            if md5_bytes(data) + ".dir" != obj.oid:
                raise CorruptObjectError("content does not match its name")
            manifest = _plan_manifest(data, obj, f"{remote.name}:{obj.key}")
        except CorruptObjectError as exc:
            _unlink(tmp)
            result.fail(obj, f"corrupt on remote '{remote.name}' ({exc.message})")
            return None
        fetched[obj.key] = tmp
        return manifest
    return load


def _download(repo, remote, objs: list[Obj], result: Result, progress: Progress) -> set[str]:
    """Get ``objs`` into temp files; each one is verified and moved into the cache as soon as
    it arrives (on a thread pool), so an interrupted fetch keeps what it verified."""
    progress.start("Fetching", len(objs))
    got: set[str] = set()
    with ThreadPoolExecutor(max_workers=min(default_jobs(), 8)) as pool:
        for start in range(0, len(objs), BATCH):
            batch = objs[start:start + BATCH]
            got |= _download_batch(repo, remote, batch, result, progress, pool)
    if objs:
        progress.finish()
    return got


def _download_batch(repo, remote, batch: list[Obj], result: Result, progress: Progress, pool) -> set[str]:
    temps = {o.key: repo.odb.temp_path(o.oid, o.hash_name) for o in batch}
    by_key = {o.key: o for o in batch}
    checks = {}

    def arrived(key: str, nbytes: int) -> None:
        progress.advance(1, nbytes)
        checks[key] = pool.submit(_verify_and_store, repo, by_key[key], temps[key])

    try:
        failures = _guard(remote, "downloading",
                          lambda: remote.backend.get_many(list(temps.items()), remote.jobs, arrived))
        good = set()
        for key, future in checks.items():
            if future.result():
                good.add(key)
            else:
                result.fail(by_key[key], f"corrupt on remote '{remote.name}' (content does not match its name)")
        remote.index.add(good)
        _raise_fatal(remote, failures, "downloading")
        remote.index.discard([k for k, e in failures.items() if isinstance(e, FileNotFoundError)])
        for key, exc in failures.items():
            result.fail(by_key[key], _reason(exc, remote))
        return good
    finally:
        for future in checks.values():
            future.cancel()
        for tmp in temps.values():
            _unlink(tmp)


def _verify_and_store(repo, obj: Obj, tmp: str) -> bool:
    """Move ``tmp`` into the cache as ``obj`` if its content hashes to the object's name."""
    if md5_file(tmp, obj.hash_name) != obj.oid:
        return False
    repo.odb.adopt(tmp, obj.oid, obj.hash_name)
    return True


# --- cloud status -----------------------------------------------------------------------------------
NEW, DELETED, MISSING = "new", "deleted", "missing"


def cloud_status(repo, remote, used: list[Used]) -> dict[str, str]:
    """``{workspace path: new|deleted|missing}`` for objects not in both the cache and the
    remote: ``new`` only in the cache, ``deleted`` only on the remote, ``missing`` in neither."""
    result = Result()
    fetched: dict[str, str] = {}
    plan = make_plan(used, _remote_manifest(repo, remote, result, fetched))
    for key, tmp in fetched.items():  # keep fetched manifests, as DVC does
        repo.odb.adopt(tmp, plan.dirs[key].oid, plan.dirs[key].hash_name)
    objs = {**plan.files, **plan.dirs}
    live = _guard(remote, "checking", lambda: top_live(remote, plan.top))
    present = _guard(remote, "checking", lambda: remote_has(remote, plan, live))
    remote.index.mark_complete(plan.complete_dirs(present))
    status = {}
    have = cached(repo, objs.values())
    for key, obj in objs.items():
        local = key in have
        if local and key in present:
            continue
        status[obj.name] = NEW if local else DELETED if key in present else MISSING
    return dict(sorted(status.items()))


# --- helpers -----------------------------------------------------------------------------------------
def _guard(remote, what: str, func):
    """Run ``func``; turn any exception from the backend into a RemoteError naming the remote."""
    try:
        return func()
    except (RemoteError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise remote.error(exc, what) from None


def _raise_fatal(remote, failures: dict, what: str) -> None:
    from dataver.remote.wrappers import is_fatal

    for exc in failures.values():
        if is_fatal(exc):
            raise remote.error(exc, what)


def _reason(exc: BaseException, remote=None) -> str:
    from dataver.remote.wrappers import describe

    if isinstance(exc, FileNotFoundError) and remote is not None:
        return f"missing on remote '{remote.name}'"
    return describe(exc)


def _finish(result: Result, remote, verb: str) -> Result:
    if not result.failed:
        return result
    name, oid, reason = result.failed[0]
    more = f" and {len(result.failed) - 1} more" if len(result.failed) > 1 else ""
    raise TransferError(f"failed to {verb} '{name}' ({oid}): {reason}{more}", result,
                        hint=f"{result.transferred} objects were transferred; re-run to retry")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
