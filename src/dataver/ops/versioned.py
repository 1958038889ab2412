"""push and fetch for cloud-versioned remotes (``version_aware = true`` or ``worktree = true``),
as DVC 3 does them.

Such a remote holds files at their workspace paths (``<url>/<path in the repo>``), not by content,
and the bucket keeps every version. `push` uploads each file the `.dvc` file has no version of for
that remote, then records the version id and etag the bucket returned (``cloud:``; a directory
switches to the ``files:`` form, see :mod:`dataver.dvcfile_files`). `fetch` downloads exactly the
recorded versions, verifies each against its md5 and stores it in the cache as usual; a directory's
``.dir`` manifest is rebuilt from its ``files:`` list, so checkout and status work unchanged.
A ``worktree`` remote is pushed the same way: DVC 3.67.1 deletes nothing from it either (a file
removed from a directory stays on the remote as its latest version).
"""
from __future__ import annotations

import os

from dataver import dvcfile, transfer
from dataver.dvcfile_files import (cloud_version, drop_stale_cloud, files_manifest, out_manifest,
                                   set_cloud, to_files)
from dataver.errors import ConfigError, RemoteError
from dataver.hashing import MD5
from dataver.progress import Progress


def remote_mode(repo, name: str | None) -> str | None:
    """``"worktree"``, ``"version_aware"`` or None (a content-addressed remote) for remote
    ``name`` (None: the default remote)."""
    from dataver.config import _to_bool
    from dataver.remote import default_remote_name

    name = name or default_remote_name(repo.config)
    conf = repo.config.remotes().get(name) or {}
    for option in ("worktree", "version_aware"):
        if option in conf and _to_bool(f'remote "{name}"', option, conf[option]):
            return option
    return None


def refuse_status(repo, name: str | None) -> None:
    """`status -c` cannot compare a versioned remote (DVC 3.67.1 refuses it, in these words)."""
    if remote_mode(repo, name) is not None:
        raise ConfigError("'status' is unsupported for cloud versioned remotes",
                          hint="use `dataver pull`/`push`: they compare recorded versions")


class _Target:
    """One output on a versioned remote: where it lives there (``key``), its files as
    ``[(relpath or "" for a single file, md5, recorded (version_id, etag) or None)]``, and the
    workspace's tracked ``item`` when a current `.dvc` file records it (push writes there)."""

    def __init__(self, out, key: str, files: list[tuple[str, str, tuple[str, str] | None]],
                 item=None):
        self.out = out
        self.key = key
        self.files = files
        self.item = item

    def file_key(self, rel: str) -> str:
        return f"{self.key}/{rel}" if rel else self.key


def _targets(repo, remote, used: list[transfer.Used]) -> tuple[list[_Target], transfer.Result]:
    """The outputs ``used`` names, with their files. What cannot be handled fails in the
    Result."""
    result = transfer.Result()
    by_path = {os.path.relpath(item.abspath, repo.root).replace(os.sep, "/"): item
               for item, _sub in transfer.resolve_partial(repo, None)}
    found = []
    for use in used:
        if use.path.endswith(transfer.CARD):  # DVC knows no cards; they are optional
            continue
        item = by_path.get(use.path)
        obj = transfer.Obj.make(use.oid, use.hash_name, use.path)
        current = item is not None and item.out.md5 == use.oid  # else another revision's
        out = item.out if current else use.out
        if out is None:
            result.fail(obj, f"remote '{remote.name}' is versioned, and the versions of this "
                             "output are not known here")
            continue
        if not current or isinstance(item.dvcfile, dvcfile.Stage):
            item = None  # versions can be read, not recorded (git history; dvc.lock)
        if not out.is_dir:
            files = [("", out.md5, cloud_version(out.data, remote.name))]
        else:
            try:
                entries = _dir_entries(repo, out, remote.name)
            except FileNotFoundError:
                result.fail(obj, "its directory manifest is missing from the cache")
                continue
            files = [f for f in entries if not use.subpath or f[0] == use.subpath
                     or f[0].startswith(use.subpath + "/")]
        found.append(_Target(out, use.path, files, item))
    return found, result


def _dir_entries(repo, out, remote: str) -> list[tuple[str, str, tuple[str, str] | None]]:
    if out.files is not None:
        return [(f["relpath"], f["md5"], cloud_version(f, remote)) for f in out.files]
    return [(rel, md5, None) for rel, md5 in sorted(repo.odb.read_manifest(out.md5).entries.items())]


# --- fetch --------------------------------------------------------------------------------------
def fetch(repo, remote, used: list[transfer.Used], progress: Progress | None = None) -> transfer.Result:
    """Download the recorded versions of what ``used`` needs and the cache lacks."""
    progress = progress or Progress()
    targets, result = _targets(repo, remote, used)
    want: dict[tuple[str, str], tuple[str, str]] = {}  # (key, version) -> (oid, name)
    planned: set[str] = set()
    for target in targets:
        for rel, md5, version in target.files:
            name = target.file_key(rel)
            if md5 in planned or repo.odb.exists(md5):
                continue
            if version is None:
                result.fail(transfer.Obj.make(md5, MD5, name),
                            f"no version of it is recorded for remote '{remote.name}' (push it first)")
                continue
            want[(name, version[0])] = (md5, name)
            planned.add(md5)
    got = _download(repo, remote, want, result, progress)
    result.transferred += got
    for target in targets:
        out = target.out
        if out.files is not None and not repo.odb.exists(out.md5):
            manifest, _size = files_manifest(out.files, target.key)
            if all(repo.odb.exists(md5) for md5 in manifest.entries.values()):
                repo.odb.add_manifest(manifest)  # as DVC stores it: checkout reads it there
    return transfer._finish(result, remote, "fetch", repo.root)


def _download(repo, remote, want: dict[tuple[str, str], tuple[str, str]],
              result: transfer.Result, progress: Progress) -> int:
    """Get each ``(key, version) -> (oid, name)`` into the cache, verified; how many arrived."""
    if not want:
        return 0
    backend = _versioned_backend(remote)
    temps = {wanted: repo.odb.temp_path(oid) for wanted, (oid, _name) in want.items()}
    good = 0
    progress.start("Fetching", len(want))
    try:
        failures = transfer._guard(remote, "downloading", lambda: backend.get_versioned(
            [(key, version, temps[(key, version)]) for key, version in sorted(want)], remote.jobs,
            lambda _k, n: progress.advance(1, n)))
        transfer._raise_fatal(remote, failures, "downloading")
        for wanted, (oid, name) in sorted(want.items()):
            obj, version = transfer.Obj.make(oid, MD5, name), wanted[1]
            if wanted in failures:
                exc = failures[wanted]
                reason = (f"version {version} is missing on remote '{remote.name}'"
                          if isinstance(exc, FileNotFoundError) else transfer._reason(exc, remote))
                result.fail(obj, reason)
            elif transfer._verify_and_store(repo, obj, temps[wanted]):
                good += 1
            else:
                result.fail(obj, f"corrupt on remote '{remote.name}' (version {version} does "
                                 "not match its md5)")
    finally:
        progress.finish()
        for tmp in temps.values():
            transfer._unlink(tmp)
    return good


def _versioned_backend(remote):
    backend = remote.backend
    if not backend.supports_versions:
        raise RemoteError(f"remote '{remote.name}' ({remote.url}) is versioned, which dataver "
                          "supports on S3 only", hint="set version_aware/worktree false")
    return backend


# --- push ---------------------------------------------------------------------------------------
def push(repo, remote, used: list[transfer.Used], progress: Progress | None = None) -> transfer.Result:
    """Upload the files of ``used`` that have no version on ``remote`` yet, then record the new
    versions in their `.dvc` files (each file rewritten once, after its uploads)."""
    progress = progress or Progress()
    targets, result = _targets(repo, remote, used)
    send: dict[str, transfer.Obj] = {}
    for target in targets:
        if target.item is None and any(version is None for _r, _m, version in target.files):
            result.fail(transfer.Obj.make(target.out.md5, MD5, target.key),
                        f"only outputs of the current `.dvc` files can be pushed to versioned "
                        f"remote '{remote.name}' (their versions are recorded there)")
            continue
        for rel, md5, version in target.files:
            if version is None:
                send.setdefault(target.file_key(rel), transfer.Obj(md5, MD5, target.file_key(rel),
                                                                   target.file_key(rel)))
    objs = transfer._sound(repo, [o for o, _st in transfer._in_cache(repo, list(send.values()), result)],
                           result)
    versions = _upload(remote, repo, objs, result, progress)
    result.transferred += len(versions)
    for dvc_path, group in _by_dvcfile(targets).items():
        _record(repo, remote.name, dvc_path, group, versions)
    return transfer._finish(result, remote, "push", repo.root)


def _upload(remote, repo, objs: list[transfer.Obj], result: transfer.Result,
            progress: Progress) -> dict[str, tuple[str, str]]:
    if not objs:
        return {}
    backend = _versioned_backend(remote)
    progress.start("Pushing", len(objs))
    try:
        done, failures = transfer._guard(remote, "uploading", lambda: backend.put_versioned(
            [(repo.odb.path(o.oid), o.key) for o in objs], remote.jobs,
            lambda _k, n: progress.advance(1, n)))
    finally:
        progress.finish()
    transfer._raise_fatal(remote, failures, "uploading")
    for obj in objs:
        if obj.key in failures:
            result.fail(obj, transfer._reason(failures[obj.key]))
    return done


def _by_dvcfile(targets: list[_Target]) -> dict[str, list[_Target]]:
    groups: dict[str, list[_Target]] = {}
    for target in targets:
        if target.item is not None:
            groups.setdefault(target.item.dvcfile.path, []).append(target)
    return groups


def _record(repo, remote: str, dvc_path: str, targets: list[_Target],
            versions: dict[str, tuple[str, str]]) -> None:
    """Write the versions of ``targets`` into ``dvc_path`` (comments and other keys kept)."""
    dfile = dvcfile.load(dvc_path)
    changed = False
    for target in targets:
        entry = next((o.data for o in dfile.outs
                      if dfile.out_abspath(o) == target.item.abspath), None)
        out = target.out
        if entry is None:
            continue
        if not out.is_dir:
            new = versions.get(target.key)
            if new is not None:
                set_cloud(entry, remote, *new)
                changed = True
            continue
        pushed = {rel: versions[target.file_key(rel)] for rel, _m, _v in target.files
                  if target.file_key(rel) in versions}
        if pushed:
            manifest = out_manifest(repo.odb, out, dvc_path)
            to_files(entry, manifest, _sizes(repo, manifest, entry.get("files")))
            by_rel = {item["relpath"]: item for item in entry["files"]}
            for rel, new in pushed.items():
                set_cloud(by_rel[rel], remote, *new)
            changed = True
    if changed:
        dvcfile.save(dvc_path, dfile.data)


def _sizes(repo, manifest, files) -> dict[str, int]:
    """Each file's size: from the ``files:`` list where recorded, else its cache object."""
    known = {f.get("relpath"): f.get("size") for f in files or [] if isinstance(f, dict)}
    sizes = {}
    for rel, md5 in manifest.entries.items():
        size = known.get(rel)
        sizes[rel] = size if isinstance(size, int) else os.stat(repo.odb.path(md5)).st_size
    return sizes


def refresh_files(repo, entry, oid: str) -> None:
    """After `add`/`commit` of an output recorded in the ``files:`` form: record the new content
    in that form too, keeping the versions of unchanged files (as DVC does). A single file only
    loses its ``cloud`` records when its content changed."""
    if "files" not in entry:
        drop_stale_cloud(entry, oid)
        return
    manifest = repo.odb.read_manifest(oid)
    to_files(entry, manifest, {rel: os.stat(repo.odb.path(md5)).st_size
                               for rel, md5 in manifest.entries.items()})
