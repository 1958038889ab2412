"""`get`, `import` and `update`: data from another repository (a local path or any git URL).

``get`` copies files out; ``import`` also caches them here and writes a `.dvc` file recording the
source (``deps: - path, repo: {url, rev, rev_lock}``, a frozen stage, as ``dvc import`` does);
``update`` moves an import to the source's newest commit (or another ``rev``).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass

from dataver import dvcfile
from dataver.errors import TargetError, UserError
from dataver.external import (is_local_worktree, open_repo, recorded_overrides, recorded_source,
                              source_overrides)
from dataver.linking import tmp_path_for
from dataver.manifest import Manifest
from dataver.ops import locate as loc_ops
from dataver.ops.import_doc import ImportResult, check_dest, finish_import
from dataver.ops.import_status import repo_dep

_repo_dep = repo_dep  # the name dataver.ops.import_pull imports


@dataclass
class _Source:
    """Files of one source path: ``(relpath, cache path or git bytes)``; relpath "" = itself."""

    files: list[tuple[str, str | bytes]]
    oid: str | None  # the output's object when the path is DVC data (a file or a .dir)
    hash_name: str
    manifest: Manifest | None  # for a directory of DVC data


def get(url: str, path: str, out: str | None = None, rev: str | None = None,
        force: bool = False, remote: str | None = None, jobs: int | None = None,
        config: str | None = None, remote_config: dict | None = None) -> str:
    """Copy ``path`` of the repository at ``url`` to ``out`` (default: its name, here).
    ``config`` (a file), ``remote`` and ``remote_config`` are merged over the source's config;
    ``jobs`` downloads at once."""
    dest = os.path.abspath(out or os.path.basename(loc_ops.normalize(path)) or ".")
    check_dest(dest, force)
    overrides = source_overrides(config, remote, remote_config)
    with open_repo(url, _default_rev(url, rev), **overrides) as (src, use_rev):
        source = collect(src, path, use_rev, remote, jobs)
        write_files(source, dest)
    return dest


def _default_rev(url: str | None, rev: str | None) -> str | None:
    # A local work tree is read as committed (HEAD), like a clone of it would be.
    return rev or ("HEAD" if url is not None and is_local_worktree(url) else None)


def collect(src, path: str, rev: str | None, remote: str | None,
            jobs: int | None = None) -> _Source:
    """What ``path`` consists of in ``src`` at ``rev``, with every object in the cache."""
    loc = loc_ops.locate(src, path, rev)
    if dvcfile.is_dvcfile(loc.key) and loc.item is None:
        raise UserError(f"'{loc.key}' is a .dvc file", hint="name the data file or directory it tracks")
    if loc.item is None:
        return _git_source(src, loc, remote, jobs)
    out = loc.item.out
    if loc.subpath is None and not out.is_dir:
        return _Source([("", loc_ops.cached_file(src, loc, remote, jobs))], out.md5, out.hash_name,
                       None)
    manifest = loc_ops.manifest_of(src, loc, remote, jobs)
    prefix = loc.subpath + "/" if loc.subpath else ""
    if loc.subpath and loc.subpath in manifest.entries:
        return _Source([("", loc_ops.cached_file(src, loc, remote, jobs))],
                       manifest.entries[loc.subpath], out.hash_name, None)
    entries = {rel[len(prefix):]: oid for rel, oid in manifest.entries.items() if rel.startswith(prefix)}
    if not entries:
        raise loc_ops.missing(loc.key, rev)
    if any(not src.odb.exists(oid, out.hash_name) for oid in entries.values()):
        loc_ops.fetch_objects(src, loc, remote, jobs)
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


def _git_source(src, loc, remote: str | None, jobs: int | None) -> _Source:
    if loc.git_kind == "blob":
        data = src.at_rev(loc.rev).read_bytes(loc.key) if loc.rev else None
        return _Source([("", data if data is not None else _disk(src, loc.key))], None, "md5", None)
    return _git_dir_source(src, loc, remote, jobs)


def _git_dir_source(src, loc, remote: str | None, jobs: int | None) -> _Source:
    """A directory git tracks: its git files, less DVC's own (`.dvc` files, dvc.yaml,
    .dvcignore, `.dvc/`), and the data of every output below it, as `dvc get` copies one."""
    from dataver.ops.ls import dvc_hidden

    prefix = loc.key + "/" if loc.key else ""
    if loc.rev:
        tree = src.at_rev(loc.rev)
        keys = [k for k, (kind, *_rest) in tree.entries.items() if kind == "blob"]
    else:
        tree = None
        keys = [os.path.relpath(os.path.join(src.scm.root, rel), src.root).replace(os.sep, "/")
                for rel in src.scm.ls_files()]
    keys = [k for k in keys if k.startswith(prefix) and not dvc_hidden(k)
            and not k.startswith(".dvc/")]
    found: dict[str, str | bytes] = {}
    if tree is not None:
        found.update((k[len(prefix):], data) for k, data in tree.read_many(keys).items()
                     if data is not None)
    else:
        found.update((k[len(prefix):], _disk(src, k)) for k in keys if os.path.isfile(_disk(src, k)))
    for item in loc_ops.tracked_at(src, loc.rev):
        out_key = os.path.relpath(item.abspath, src.root).replace(os.sep, "/")
        if out_key.startswith(prefix):
            rel = out_key[len(prefix):]
            for sub, content in collect(src, out_key, loc.rev, remote, jobs).files:
                found[f"{rel}/{sub}" if sub else rel] = content
    return _Source(sorted(found.items()), None, "md5", None)


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


def import_(repo, url: str, path: str, out: str | None = None, rev: str | None = None,
            force: bool = False, remote: str | None = None, jobs: int | None = None,
            no_exec: bool = False, no_download: bool = False, config: str | None = None,
            remote_config: dict | None = None) -> ImportResult:
    """Cache ``path`` of the repository at ``url`` here and track it with an import `.dvc` file.
    ``no_exec`` writes the `.dvc` file alone (no revision locked, no data); ``no_download``
    locks the revision but fetches no data (the output has no hash yet), as DVC does.
    ``config``, ``remote`` and ``remote_config`` are used on the source and recorded."""
    dest = os.path.abspath(out or os.path.basename(loc_ops.normalize(path)) or ".")
    repo.check_inside(dest)
    dvc_path = dvcfile.dvcfile_for(dest)
    for existing in (dest, dvc_path):
        check_dest(existing, force)
    source = recorded_source(config, remote, remote_config)
    with repo.lock:
        if no_exec or no_download:
            rev_lock = None if no_exec else _locate_only(url, path, rev, source)
            doc = _import_doc(url, loc_ops.normalize(path), rev, rev_lock, dvc_path, dest, None,
                              source)
            finish_import(repo, dest, dvc_path, doc, None)
            return ImportResult(dvc_path, dest, rev_lock)
        overrides = source_overrides(config, remote, remote_config)
        rev_lock, stored = _fetch_into(repo, url, path, rev, remote, jobs, overrides)
        doc = _import_doc(url, loc_ops.normalize(path), rev, rev_lock, dvc_path, dest, stored,
                          source)
        finish_import(repo, dest, dvc_path, doc, stored)
        repo.state.flush()
    return ImportResult(dvc_path, dest, rev_lock)


def _locate_only(url: str, path: str, rev: str | None, source: dict) -> str:
    """The commit ``path`` is imported from, checking that it exists there (no data read)."""
    with open_repo(url, _default_rev(url, rev), **recorded_overrides(source)) as (src, use_rev):
        loc_ops.locate(src, path, use_rev)
        return src.scm.resolve_rev(use_rev or "HEAD")


def update(repo, targets: list[str] | None = None, rev: str | None = None,
           remote: str | None = None, no_download: bool = False, to_remote: bool = False,
           jobs: int | None = None, recursive: bool = False) -> list[ImportResult]:
    """Move imports to the newest commit of their source (or to ``rev``); URL imports (see
    :mod:`dataver.ops.import_url`) are downloaded again when their source changed.
    ``recursive``: targets are directories, whose imports are updated (other files skipped)."""
    from dataver.ops import import_url

    with repo.lock:
        results = []
        for path, is_url in _import_dvcfiles(repo, targets, recursive):
            if is_url:
                results.append(import_url.update_url(repo, path, no_download, to_remote,
                                                      remote, jobs))
            else:
                results.append(_update_one(repo, path, rev, remote))
        repo.state.flush()
    return results


def _import_dvcfiles(repo, targets, recursive: bool = False) -> list[tuple[str, bool]]:
    """``(path, is a URL import)`` of each import `.dvc` file named by ``targets`` (all: None)."""
    from dataver.ops.import_url import url_dep

    paths = []
    for item in repo.resolve_targets(targets):
        if repo_dep(item.dvcfile) is not None:
            paths.append((item.dvcfile.path, False))
        elif url_dep(item.dvcfile) is not None:
            paths.append((item.dvcfile.path, True))
        elif targets and not recursive:
            raise TargetError("is not an import", path=os.path.relpath(item.dvcfile.path),
                              hint="`dataver update` moves data made by `dataver import` "
                                   "or `dataver import-url`")
    return list(dict.fromkeys(paths))


def _update_one(repo, dvc_path: str, rev: str | None, remote: str | None) -> ImportResult:
    dfile = repo.load_dvcfile(dvc_path)
    dep = repo_dep(dfile)
    info = dep["repo"]
    out = dfile.outs[0]
    dest = dfile.out_abspath(out)
    want = rev or info.get("rev")
    overrides = recorded_overrides(info)
    with open_repo(info["url"], _default_rev(info["url"], want), **overrides) as (src, use_rev):
        sha = src.scm.resolve_rev(use_rev or "HEAD")
    if sha == info.get("rev_lock") and want == info.get("rev") and out.md5 is not None:
        return ImportResult(dvc_path, dest, sha, changed=False)
    # (an output without a hash, from --no-exec or --no-download, is downloaded in any case)
    rev_lock, stored = _fetch_into(repo, info["url"], dep["path"], want, remote, None, overrides)
    if rev is not None:
        if "rev" not in info:
            info.insert(list(info.keys()).index("url") + 1, "rev", rev)
        info["rev"] = rev
    info["rev_lock"] = rev_lock
    oid, size, nfiles = stored
    dvcfile.update_out_map(out.data, oid, size, nfiles, False)
    if "md5" not in dfile.data:  # a --no-exec import: DVC appends the stage md5 at the end
        dfile.data["md5"] = ""
    finish_import(repo, dest, dvc_path, dfile.data, stored)
    return ImportResult(dvc_path, dest, rev_lock, source=f"{dep['path']} ({info['url']})")


def _fetch_into(repo, url: str, path: str, rev: str | None, remote: str | None,
                jobs: int | None = None, overrides: dict | None = None):
    """``(rev_lock, (oid, size, nfiles))``: the source's data stored in ``repo``'s cache."""
    with open_repo(url, _default_rev(url, rev), **(overrides or {})) as (src, use_rev):
        rev_lock = src.scm.resolve_rev(use_rev or "HEAD")
        source = collect(src, path, use_rev, remote, jobs)
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
    if [rel for rel, _content in source.files] == [""]:  # a file, not a directory
        return oids[""], size, None
    manifest = Manifest(oids)
    return repo.odb.add_manifest(manifest), size, len(oids)


def _import_doc(url, path, rev, rev_lock, dvc_path, dest, stored, source):
    """The import stage as DVC writes it; without ``stored`` data the output has no hash, and
    without ``rev_lock`` (``--no-exec``) the stage has no md5 either."""
    from ruamel.yaml.comments import CommentedMap

    info = CommentedMap(url=url)
    if rev is not None:
        info["rev"] = rev
    if rev_lock is not None:
        info["rev_lock"] = rev_lock
    info.update(source)
    doc = CommentedMap(md5="", frozen=True) if rev_lock is not None else CommentedMap(frozen=True)
    doc["deps"] = [CommentedMap(path=path, repo=info)]
    out_path = dvcfile.rel_out_path(dvc_path, dest)
    if stored is None:
        doc["outs"] = [CommentedMap(hash="md5", path=out_path)]
    else:
        oid, size, nfiles = stored
        doc["outs"] = [dvcfile.new_out_map(out_path, oid, size, nfiles, False)]
    return doc
