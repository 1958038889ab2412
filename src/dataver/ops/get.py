"""`get`, `import` and `update`: data from another repository (a local path or any git URL).

``get`` copies files out; ``import`` also caches them here and writes a `.dvc` file recording the
source (``deps: - path, repo: {url, rev, rev_lock}``, a frozen stage, as ``dvc import`` does);
``update`` moves an import to the source's newest commit (or another ``rev``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass

from dataver import dvcfile, scm
from dataver.errors import TargetError, UserError
from dataver.external import is_local_worktree, open_repo
from dataver.linking import tmp_path_for
from dataver.manifest import Manifest
from dataver.ops import locate as loc_ops


@dataclass
class ImportResult:
    """An import written (or, for ``update``, left alone when ``changed`` is False)."""

    dvcfile: str  # absolute path of the .dvc file
    path: str  # absolute path of the output
    rev_lock: str
    changed: bool = True


@dataclass
class _Source:
    """Files of one source path: ``(relpath, cache path or git bytes)``; relpath "" = itself."""

    files: list[tuple[str, str | bytes]]
    oid: str | None  # the output's object when the path is DVC data (a file or a .dir)
    hash_name: str
    manifest: Manifest | None  # for a directory of DVC data


def get(url: str, path: str, out: str | None = None, rev: str | None = None,
        force: bool = False, remote: str | None = None) -> str:
    """Copy ``path`` of the repository at ``url`` to ``out`` (default: its name, here)."""
    dest = os.path.abspath(out or os.path.basename(loc_ops.normalize(path)) or ".")
    _check_dest(dest, force)
    with open_repo(url, _default_rev(url, rev)) as (src, use_rev):
        source = collect(src, path, use_rev, remote)
        write_files(source, dest)
    return dest


def _default_rev(url: str | None, rev: str | None) -> str | None:
    # A local work tree is read as committed (HEAD), like a clone of it would be.
    return rev or ("HEAD" if url is not None and is_local_worktree(url) else None)


def _check_dest(dest: str, force: bool) -> None:
    if os.path.lexists(dest) and not force:
        raise UserError(f"'{os.path.relpath(dest)}' already exists locally",
                        hint="re-run with --force to overwrite it")


def collect(src, path: str, rev: str | None, remote: str | None) -> _Source:
    """What ``path`` consists of in ``src`` at ``rev``, with every object in the cache."""
    loc = loc_ops.locate(src, path, rev)
    if dvcfile.is_dvcfile(loc.key) and loc.item is None:
        raise UserError(f"'{loc.key}' is a .dvc file", hint="name the data file or directory it tracks")
    if loc.item is None:
        return _git_source(src, loc)
    out = loc.item.out
    if loc.subpath is None and not out.is_dir:
        return _Source([("", loc_ops.cached_file(src, loc, remote))], out.md5, out.hash_name, None)
    manifest = loc_ops.manifest_of(src, loc, remote)
    prefix = loc.subpath + "/" if loc.subpath else ""
    if loc.subpath and loc.subpath in manifest.entries:
        return _Source([("", loc_ops.cached_file(src, loc, remote))],
                       manifest.entries[loc.subpath], out.hash_name, None)
    entries = {rel[len(prefix):]: oid for rel, oid in manifest.entries.items() if rel.startswith(prefix)}
    if not entries:
        raise loc_ops.missing(loc.key, rev)
    if any(not src.odb.exists(oid, out.hash_name) for oid in entries.values()):
        loc_ops.fetch_objects(src, loc, remote)
    files = []
    for rel, oid in sorted(entries.items()):
        cached = src.odb.path(oid, out.hash_name)
        if not os.path.exists(cached):
            raise loc_ops.not_available(loc, remote)
        files.append((rel, cached))
    suspect = src.odb.untrusted(sorted(set(entries.values())), out.hash_name)
    bad = src.odb.verify_many(suspect, out.hash_name) if suspect else []
    if bad:  # never copy out bytes that changed since they were stored
        raise src.odb.corrupt_error(bad[0], out.hash_name)
    sub = Manifest(entries)
    return _Source(files, out.md5 if not loc.subpath else sub.oid, out.hash_name, sub)


def _git_source(src, loc) -> _Source:
    if loc.git_kind == "blob":
        data = src.at_rev(loc.rev).read_bytes(loc.key) if loc.rev else None
        return _Source([("", data if data is not None else _disk(src, loc.key))], None, "md5", None)
    raise UserError(f"'{loc.key}' is a git directory", hint="get the files inside it one by one, "
                    "or a DVC-tracked directory")


def _disk(src, key: str) -> str:
    return os.path.join(src.root, *key.split("/"))


def write_files(source: _Source, dest: str) -> None:
    """Write the source's files at ``dest`` (a file, or a directory of files), atomically each."""
    if os.path.isdir(dest) and not os.path.islink(dest):
        shutil.rmtree(dest)
    elif os.path.lexists(dest):
        os.unlink(dest)
    for rel, content in source.files:
        target = os.path.join(dest, *rel.split("/")) if rel else dest
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        tmp = tmp_path_for(target)  # a name errors.user_path maps back to ``target``
        if isinstance(content, bytes):
            with open(tmp, "wb") as fobj:
                fobj.write(content)
        else:
            shutil.copyfile(content, tmp)
        os.replace(tmp, target)
    if not source.files:
        os.makedirs(dest, exist_ok=True)


def stage_md5(data) -> str:
    """The ``md5`` DVC records for a frozen import stage: md5 of the stage as sorted JSON,
    without annotation, lock and size fields."""
    skip = {"md5", "desc", "type", "labels", "meta", "locked", "frozen", "metric", "persist",
            "isexec", "size", "nfiles"}

    def strip(value, top=False):
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in skip or (k == "md5" and not top)}
        return value

    plain = json.loads(json.dumps(data))
    return hashlib.md5(json.dumps(strip(plain, top=True), sort_keys=True).encode()).hexdigest()


def import_(repo, url: str, path: str, out: str | None = None, rev: str | None = None,
            force: bool = False, remote: str | None = None) -> ImportResult:
    """Cache ``path`` of the repository at ``url`` here and track it with an import `.dvc` file."""
    dest = os.path.abspath(out or os.path.basename(loc_ops.normalize(path)) or ".")
    repo.check_inside(dest)
    dvc_path = dvcfile.dvcfile_for(dest)
    for existing in (dest, dvc_path):
        _check_dest(existing, force)
    with repo.lock:
        rev_lock, stored = _fetch_into(repo, url, path, rev, remote)
        doc = _import_doc(url, loc_ops.normalize(path), rev, rev_lock, dvc_path, dest, stored)
        _finish(repo, dest, dvc_path, doc, stored)
        repo.state.flush()
    return ImportResult(dvc_path, dest, rev_lock)


def update(repo, targets: list[str] | None = None, rev: str | None = None,
           remote: str | None = None) -> list[ImportResult]:
    """Move imports to the newest commit of their source (or to ``rev``)."""
    with repo.lock:
        dvc_paths = _import_dvcfiles(repo, targets)
        results = [_update_one(repo, p, rev, remote) for p in dvc_paths]
        repo.state.flush()
    return results


def _import_dvcfiles(repo, targets):
    paths = []
    for item in repo.resolve_targets(targets):
        if _repo_dep(item.dvcfile) is not None:
            paths.append(item.dvcfile.path)
        elif targets:
            raise TargetError("is not an import", path=os.path.relpath(item.dvcfile.path),
                              hint="`dataver update` moves data made by `dataver import`")
    return list(dict.fromkeys(paths))


def _repo_dep(dfile):
    deps = dfile.deps
    if len(deps) == 1 and isinstance(deps[0], dict) and isinstance(deps[0].get("repo"), dict):
        return deps[0]
    return None


def _update_one(repo, dvc_path: str, rev: str | None, remote: str | None) -> ImportResult:
    dfile = repo.load_dvcfile(dvc_path)
    dep = _repo_dep(dfile)
    info = dep["repo"]
    out = dfile.outs[0]
    dest = dfile.out_abspath(out)
    want = rev or info.get("rev")
    with open_repo(info["url"], _default_rev(info["url"], want)) as (src, use_rev):
        sha = src.scm.resolve_rev(use_rev or "HEAD")
    if sha == info.get("rev_lock") and want == info.get("rev"):
        return ImportResult(dvc_path, dest, sha, changed=False)
    rev_lock, stored = _fetch_into(repo, info["url"], dep["path"], want, remote)
    if rev is not None:
        if "rev" not in info:
            info.insert(list(info.keys()).index("url") + 1, "rev", rev)
        info["rev"] = rev
    info["rev_lock"] = rev_lock
    oid, size, nfiles = stored
    dvcfile.update_out_map(out.data, oid, size, nfiles, False)
    _finish(repo, dest, dvc_path, dfile.data, stored)
    return ImportResult(dvc_path, dest, rev_lock)


def _fetch_into(repo, url: str, path: str, rev: str | None, remote: str | None):
    """``(rev_lock, (oid, size, nfiles))``: the source's data stored in ``repo``'s cache."""
    with open_repo(url, _default_rev(url, rev)) as (src, use_rev):
        rev_lock = src.scm.resolve_rev(use_rev or "HEAD")
        source = collect(src, path, use_rev, remote)
        return rev_lock, _store(repo, source)


def _store(repo, source: _Source) -> tuple[str, int, int | None]:
    """Copy the source's files into the cache (hashing as they are copied: verified and in 3.x
    form whatever the source's hash); a directory's manifest goes in last."""
    oids, size = {}, 0
    for rel, content in source.files:
        if isinstance(content, bytes):
            oid = hashlib.md5(content).hexdigest()
            repo.odb.add_bytes(content, oid)
            size += len(content)
        else:
            oid = repo.odb.add_file_hashing(content)
            size += os.path.getsize(content)
        oids[rel] = oid
    if source.manifest is None:
        return oids[""], size, None
    manifest = Manifest(oids)
    return repo.odb.add_manifest(manifest), size, len(oids)


def _import_doc(url, path, rev, rev_lock, dvc_path, dest, stored):
    from ruamel.yaml.comments import CommentedMap

    oid, size, nfiles = stored
    info = CommentedMap(url=url)
    if rev is not None:
        info["rev"] = rev
    info["rev_lock"] = rev_lock
    doc = CommentedMap(md5="", frozen=True)
    doc["deps"] = [CommentedMap(path=path, repo=info)]
    doc["outs"] = [dvcfile.new_out_map(dvcfile.rel_out_path(dvc_path, dest), oid, size, nfiles, False)]
    return doc


def _finish(repo, dest: str, dvc_path: str, doc, stored) -> None:
    """Check the data out, then write the `.dvc` file (its stage md5 refreshed) and .gitignore."""
    oid = stored[0]
    repo.materialize(dest, oid, "md5", force=True)
    doc["md5"] = stage_md5(doc)
    dvcfile.save(dvc_path, doc)
    if not isinstance(repo.scm, scm.NoScm):
        scm.ignore(dest)


