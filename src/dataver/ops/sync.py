"""`push`, `fetch`, `pull` and `status -c`: the porcelain over :mod:`dataver.transfer`.

Each takes ``used`` (a list of :class:`dataver.transfer.Used`) when the caller already knows what
is needed (other revisions, from the history code); otherwise the current `.dvc` files of
``targets`` decide.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver import transfer
from dataver.ops import import_pull
from dataver.progress import Progress


@dataclass
class PullResult:
    """A fetch followed by a checkout."""

    fetched: transfer.Result
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    corrupt: list[tuple[str, str]] = field(default_factory=list)  # (path, oid) not checked out


def _remote(repo, name, jobs):
    from dataver.remote import open_remote

    remote = open_remote(repo, name, jobs)
    remote.check()
    return remote


def by_remote(used: list[transfer.Used], remote: str | None) -> dict[str | None, list[transfer.Used]]:
    """``used`` grouped by the remote each goes to (None: the default remote), as DVC does: an
    output with its own ``remote:`` uses that one; with ``-r NAME`` every output uses NAME except
    those whose own remote is another, which are left out. At least one group (maybe empty)."""
    groups: dict[str | None, list[transfer.Used]] = {}
    for item in used:
        if remote is not None and item.remote is not None and item.remote != remote:
            continue
        groups.setdefault(remote if remote is not None else item.remote, []).append(item)
    if not groups:
        return {remote: []}
    return {name: groups[name] for name in sorted(groups, key=lambda n: (n is not None, n or ""))}


def _each_remote(repo, used, remote, jobs, work) -> transfer.Result:
    """``work(remote, used)`` per group of :func:`by_remote`; one Result for all. A failed group
    does not stop the others; the first failure is raised at the end, with the whole Result."""
    total, errors = transfer.Result(), []
    groups = by_remote(used, remote)
    for name, part in groups.items():
        rem = _remote(repo, name, jobs)
        try:
            res = work(rem, part)
        except transfer.TransferError as exc:
            res = exc.result
            errors.append(exc)
        finally:
            rem.close()
        total.transferred += res.transferred
        total.failed += res.failed
    if errors and len(groups) > 1:  # the message of the first, the counts of all
        raise transfer.TransferError(errors[0].message, total, path=errors[0].path,
                                     hint=f"{total.transferred} objects were transferred; re-run to retry")
    if errors:
        raise errors[0]
    return total


def push(repo, targets=None, remote=None, jobs=None, progress: Progress | None = None,
         used=None, run_cache: bool = False) -> transfer.Result:
    """Upload what the targets need and the remote lacks (each output's own remote, if set);
    with ``run_cache``, also the run-cache entries the remote lacks and their outputs' objects."""
    with repo.lock:
        used = used if used is not None else transfer.used_in_workspace(repo, targets, for_push=True)
        entries = 0
        if run_cache:
            entries, extra = _run_cache(repo, remote, jobs, "push_entries")
            used = used + [u for u in extra if repo.odb.exists(u.oid, u.hash_name)]
        result = _each_remote(repo, used, remote, jobs, _mover(repo, "push", progress))
        result.transferred += entries
        return result


def _run_cache(repo, remote, jobs, method: str):
    """``(entries moved, objects they need)`` of :mod:`dataver.pipeline.runcache`'s ``method``
    (``push_entries`` or ``fetch_entries``) on the remote the command uses."""
    from dataver.pipeline import runcache

    rem = _remote(repo, remote, jobs)
    try:
        return getattr(runcache, method)(repo, rem)
    finally:
        rem.close()


def fetch(repo, targets=None, remote=None, jobs=None, progress: Progress | None = None,
          used=None, run_cache: bool = False, max_size: int | None = None,
          types: list[str] | None = None) -> transfer.Result:
    """Download into the cache what the targets need and the cache lacks (from each output's
    own remote, if set); with ``run_cache``, first the run-cache entries the cache lacks and
    what objects of theirs the remote has (one it lacks only makes its entry unusable).
    ``max_size``/``types``: only outputs below that size or of those types (see
    :func:`output_filter`)."""
    keep = output_filter(repo, max_size, types)
    if keep is not None and used is not None:
        from dataver.errors import UserError

        raise UserError("--max-size and --type apply to the workspace's outputs only",
                        hint="leave out the revision options (-a, -T, -A, --rev) or the filters")
    with repo.lock:
        from_sources = 0
        if used is None:  # version-aware imports: their data comes from the source, not a remote
            resolved = transfer.resolve_partial(repo, targets)
            from_sources = import_pull.fetch_versioned_imports(repo, resolved, jobs)
            used = transfer.used_in_workspace(repo, targets, keep=keep, resolved=resolved)
        if run_cache:
            entries, extra = _run_cache(repo, remote, jobs, "fetch_entries")
            extra = [u for u in extra if not repo.odb.exists(u.oid, u.hash_name)]
            try:
                got = _each_remote(repo, extra, remote, jobs,
                                   lambda rem, part: transfer.fetch(repo, rem, part, progress))
            except transfer.TransferError as exc:
                got = exc.result
            result = fetch(repo, targets, remote, jobs, progress, used)
            result.transferred += entries + got.transferred
            return result
        used = [u for u in used if not repo.odb.exists(u.oid, u.hash_name)] if from_sources else used
        if not used:
            return transfer.Result(transferred=from_sources)
        result = _each_remote(repo, used, remote, jobs, _mover(repo, "fetch", progress))
        result.transferred += from_sources
        return result


def output_filter(repo, max_size: int | None = None, types: list[str] | None = None):
    """``keep(item)`` for fetch's --max-size and --type, as DVC filters: an output is left out
    when its recorded size is ``max_size`` or more (0/None: no limit; an output without a
    recorded size stays), or when it is not declared under one of ``types`` (``metrics``,
    ``plots``) of its stage in dvc.yaml. None when there is nothing to filter."""
    if not max_size and not types:
        return None
    kinds: dict[str, str] = {}
    if types:
        from dataver.pipeline.stage import load_stages

        kinds = {s.abspath(o.path): o.kind for s in load_stages(repo) for o in s.outs}

    def keep(item) -> bool:
        size = item.out.size
        if max_size and size and size >= max_size:
            return False
        return not types or kinds.get(os.path.normpath(item.abspath)) in types
    return keep


def _mover(repo, verb: str, progress):
    """``work(remote, used)`` doing ``verb`` (push or fetch) by content on an ordinary remote, by
    recorded version on a cloud-versioned one (see :mod:`dataver.ops.versioned`)."""
    from dataver.ops import versioned

    def work(rem, part):
        module = transfer if versioned.remote_mode(repo, rem.name) is None else versioned
        return getattr(module, verb)(repo, rem, part, progress)
    return work


def pull(repo, targets=None, remote=None, jobs=None, progress: Progress | None = None,
         force: bool = False, run_cache: bool = False) -> PullResult:
    """Fetch, then check out the targets (a file inside a tracked directory alone, if named);
    imports made with --no-download are downloaded from their source (see
    :mod:`dataver.ops.import_pull`). Checkout runs even when some objects failed, then the
    fetch error is raised."""
    error = None
    try:
        fetched = fetch(repo, targets, remote, jobs, progress, run_cache=run_cache)
    except transfer.TransferError as exc:
        fetched, error = exc.result, exc
    result = PullResult(fetched)
    with repo.lock:
        for item, subpath in transfer.resolve_partial(repo, targets):
            if item.out.md5 is None or not item.out.cache:
                continue
            _checkout_one(repo, item, subpath, force, result, progress)
        repo.state.flush()
        written = import_pull.pull_imports(repo, targets, force, jobs)
        result.fetched.transferred += len(written)
        result.added += written
    if error is not None:
        raise error
    if result.corrupt:
        from dataver.checkout import missing_error

        raise missing_error([], result.corrupt)
    return result


def _checkout_one(repo, item, subpath, force, result: PullResult, progress=None) -> None:
    out = item.out
    if subpath is None:
        try:
            res = repo.materialize(item.abspath, out.md5, out.hash_name, out.isexec, force,
                                   progress=progress)
        except FileNotFoundError:
            return
        base = item.abspath
    else:
        from dataver.dvcfile_files import out_manifest

        try:
            manifest = out_manifest(repo.odb, out, item.dvcfile.path)
        except FileNotFoundError:
            return
        res = None
        for rel, oid in manifest.entries.items():
            if rel == subpath or rel.startswith(subpath + "/"):
                one = repo.materializer.checkout_file(os.path.join(item.abspath, *rel.split("/")),
                                                      oid, out.hash_name, False, force)
                res = one if res is None else (res.merge(one) or res)
        if res is None:
            return
        base = item.abspath

    def rel(p: str) -> str:
        return os.path.relpath(p if os.path.isabs(p) else os.path.join(base, p))

    result.added += [rel(p) for p in res.added]
    result.modified += [rel(p) for p in res.modified]
    result.deleted += [rel(p) for p in res.deleted]
    result.corrupt += [(rel(p), oid) for p, oid in res.corrupt]


def cloud_status(repo, targets=None, remote=None, jobs=None, used=None) -> dict[str, str]:
    """``{path: new|deleted|missing}`` for objects not both in the cache and on the remote (each
    output's own remote, if set; DVC 3.67.1 leaves such outputs out of `status -c`)."""
    from dataver.ops import versioned

    with repo.lock:
        used = used if used is not None else transfer.used_in_workspace(repo, targets)
        status: dict[str, str] = {}
        # cards are optional, as DVC knows no such object: status -c is about data
        for name, part in by_remote(transfer.without_cards(used), remote).items():
            versioned.refuse_status(repo, name)
            rem = _remote(repo, name, jobs)
            try:
                status.update(transfer.cloud_status(repo, rem, part))
            finally:
                rem.close()
        return dict(sorted(status.items()))


def remote_name(repo, remote=None) -> str:
    """The name of the remote an operation will use (for messages)."""
    from dataver.remote import default_remote_name

    return remote or default_remote_name(repo.config)
