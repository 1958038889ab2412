"""What to push, pull or fetch for given targets, and moving it: ordered (a `.dir` manifest goes
after every file it lists), batched, concurrent, and verified: a downloaded object enters the
cache only if its md5 equals its name, and an object is sent only if it is unchanged since it
was stored (its tag, :mod:`dataver.objtag`, else a hash) and a `.dir` manifest only if
checkout would accept it.

Callers describe what they need as :class:`Used` entries (``used_in_workspace`` for the current
`.dvc` files; the history code adds the same for other revisions), then call :func:`push`,
:func:`fetch`, :func:`cloud_status`.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, NamedTuple

from dataver.errors import CorruptObjectError, RemoteError
from dataver.hashing import MD5, md5_bytes, md5_file
from dataver.manifest import Manifest, is_dir_oid
from dataver.parallel import default_jobs
from dataver.progress import Progress
from dataver.remote.base import object_key

LIST_THRESHOLD = 1000  # more unknown objects than this: one listing beats per-object requests
BATCH = 2000  # objects per bulk call, so temp files and failures stay bounded


@dataclass(frozen=True)
class Used:
    """An object some output needs: a file oid, or a `.dir` oid (optionally only the entries at
    or below ``subpath``). ``path`` is the output's repo-relative path, for messages; ``remote``
    the output's own remote (its ``remote:`` field), None for the one the command uses.
    ``out``: the output itself where known (a cloud-versioned remote needs its recorded versions)."""

    path: str
    oid: str
    hash_name: str = MD5
    subpath: str | None = None
    remote: str | None = None
    out: object = field(default=None, compare=False, hash=False, repr=False)


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
    why: dict[str, str] = field(default_factory=dict)  # dir key -> why its manifest is unusable
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
def used_in_workspace(repo, targets: list[str] | None = None, for_push: bool = False,
                      keep=None, resolved=None) -> list[Used]:
    """The objects the current `.dvc` files need for ``targets`` (all outputs if None). A target
    inside a tracked directory selects only that part of it. Stored data cards come along
    (see :func:`card_used`). ``keep(item)``, if given, says which outputs count; ``resolved``
    is ``resolve_partial(repo, targets)`` when the caller has it already."""
    result = []
    for item, subpath in resolved if resolved is not None else resolve_partial(repo, targets):
        out = item.out
        if out.md5 is None or not out.cache or (for_push and not out.push):
            continue
        if keep is not None and not keep(item):
            continue
        path = os.path.relpath(item.abspath, repo.root).replace(os.sep, "/")
        result.append(Used(path, out.md5, out.hash_name, subpath, out.remote, out))
        if subpath is None:
            result += card_used(path, out)
    return result


CARD = " (data card)"  # ends the path of a card object's Used entry


def card_used(path: str, out) -> list[Used]:
    """The data card object stored for ``out`` (none or one). Cards travel with their data, but
    are optional: one missing from the cache or the remote (DVC does not carry them) fails
    nothing, since it can be computed again."""
    from dataver.dvcfile import card_oid

    oid = card_oid(out)
    return [] if oid is None else [Used(path + CARD, oid, MD5, remote=out.remote)]


def without_cards(used: list[Used]) -> list[Used]:
    """``used`` less card objects (what `status -c` reports on)."""
    return [u for u in used if not u.path.endswith(CARD)]


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
        try:
            manifest = load(obj)
        except CorruptObjectError as exc:
            plan.why[obj.key] = exc.message
            manifest = None
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
    """A manifest loader reading the local cache only (None when absent). A manifest whose
    content changed since it was stored (moved aside), or that checkout would refuse (unsafe
    or duplicate paths...), raises CorruptObjectError: nothing is planned from it."""
    def load(obj: Obj) -> Manifest | None:
        try:
            return repo.odb.read_manifest(obj.oid, obj.hash_name)
        except (FileNotFoundError, NotADirectoryError):
            return None
    return load


def _plan_manifest(data: bytes, obj: Obj, where: str) -> Manifest:
    """The manifest in bytes whose md5 matched ``obj``, validated as checkout validates it."""
    try:
        return Manifest.from_bytes(data, where)
    except CorruptObjectError as exc:
        raise CorruptObjectError(f"directory manifest {obj.oid}: {exc.message}", path=where) from None


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
    _adopt_leftovers(repo, remote)
    tops = {object_key(u.oid, u.hash_name) for u in used}
    live = _guard(remote, "checking", lambda: top_live(remote, tops))
    plan = make_plan(used, local_manifest(repo), skip=remote.index.complete(live))
    present = _guard(remote, "checking", lambda: remote_has(remote, plan, live))
    for obj in plan.unreadable:
        if obj.key not in present or obj.key in plan.why:  # never vouch for what we refuse
            result.fail(obj, plan.why.get(obj.key, "its directory manifest is missing from the cache"))
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
    return _finish(result, remote, "push", repo.root)


def _upload(repo, remote, objs: list[Obj], result: Result, progress: Progress, phase=True) -> set[str]:
    """Send ``objs`` in batches. Every object is hashed before it is sent, so push never sends
    bad bytes under a good name, whatever happened to the cache (the tag of
    :mod:`dataver.objtag` cannot see a change that kept the file's size and mtime). Hashing
    the next batch overlaps sending this one, and fills the page cache the upload reads from."""
    local = _in_cache(repo, objs, result)
    if phase:
        progress.start("Pushing", len(local), sum(st.st_size for _obj, st in local))
    batches = [[obj for obj, _st in local[i:i + BATCH]] for i in range(0, len(local), BATCH)]
    sent: set[str] = set()
    with ThreadPoolExecutor(max_workers=1) as checker:
        checking = checker.submit(_sound, repo, batches[0], result) if batches else None
        for i in range(len(batches)):
            batch = checking.result()
            if i + 1 < len(batches):
                checking = checker.submit(_sound, repo, batches[i + 1], result)
            by_key = {o.key: o for o in batch}
            items = [(repo.odb.path(o.oid, o.hash_name), o.key) for o in batch]
            if remote.backend.writes_temp_files:  # where a kill could leave temp files
                repo.odb.leftovers.note_remote(remote.url, {k.rpartition("/")[0] for k in by_key})
            failures = remote.backend.put_many(items, remote.jobs,
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


def _in_cache(repo, objs: list[Obj], result: Result) -> list[tuple[Obj, os.stat_result]]:
    """Those of ``objs`` present in the cache, with their stat; the others fail."""
    found = []
    for obj in objs:
        try:
            found.append((obj, os.stat(repo.odb.path(obj.oid, obj.hash_name))))
        except (FileNotFoundError, NotADirectoryError):
            result.fail(obj, "missing from the cache")
    return found


def _sound(repo, objs: list[Obj], result: Result) -> list[Obj]:
    """Those of ``objs`` whose content hashes to their name; each other one fails."""
    bad = _verify(repo.odb, objs)
    for obj in objs:
        if obj.key in bad:
            result.fail(obj, "corrupt in the cache (its content changed after it was stored; "
                             "`dataver cache verify --repair` replaces it)")
    return [obj for obj in objs if obj.key not in bad]


def _verify(odb, objs: list[Obj]) -> set[str]:
    """Hash ``objs`` (see ObjectStore.verify_many); the keys of the corrupt ones."""
    by_hash: dict[str, list[Obj]] = {}
    for obj in objs:
        by_hash.setdefault(obj.hash_name, []).append(obj)
    bad: set[str] = set()
    for hash_name, group in by_hash.items():
        corrupt = set(odb.verify_many([o.oid for o in group], hash_name))
        bad |= {o.key for o in group if o.oid in corrupt}
    return bad


# --- fetch ----------------------------------------------------------------------------------------
def fetch(repo, remote, used: list[Used], progress: Progress | None = None) -> Result:
    """Download into the cache what ``used`` needs and the cache lacks; every object is verified
    before it enters the cache. Manifests fetched for this go to the cache after their files."""
    progress = progress or Progress()
    result = Result()
    _adopt_leftovers(repo, remote)
    fetched_dirs: dict[str, str] = {}  # dir key -> verified temp file
    try:
        plan = make_plan(used, _remote_manifest(repo, remote, result, fetched_dirs))
        for obj in plan.unreadable:
            if obj.key in plan.why:
                result.fail(obj, plan.why[obj.key])
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
    return _finish(result, remote, "fetch", repo.root)


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
def _adopt_leftovers(repo, remote) -> None:
    """Remove what killed runs left in the cache and on ``remote``, and name this run's remote
    temp files after its registration, so a later run can do the same for it."""
    repo.odb.clean_leftovers(remote)
    remote.backend.temp_suffix = repo.odb.leftovers.temp_suffix



def _guard(remote, what: str, func):
    """Run ``func``; turn any exception from the backend into a RemoteError naming the remote."""
    try:
        return func()
    except (RemoteError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise remote.error(exc, what) from exc


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


def _finish(result: Result, remote, verb: str, root: str | None = None) -> Result:
    result.failed = [f for f in result.failed if not f[0].endswith(CARD)]  # optional
    if not result.failed:
        return result
    name, oid, reason = result.failed[0]
    if root is not None:  # named as DVC names paths: relative to the working directory
        name = os.path.relpath(os.path.join(root, name))
    more = f" and {len(result.failed) - 1} more" if len(result.failed) > 1 else ""
    raise TransferError(f"failed to {verb} '{name}' ({oid}): {reason}{more}", result,
                        hint=f"{result.transferred} objects were transferred; re-run to retry")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
