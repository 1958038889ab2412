"""`get-url`, `import-url` and `update` of URL imports (DVC 3.x compatible); `ls-url` is in ls_url.py.

An import-url `.dvc` file is a frozen stage whose one dependency is the URL with what identifies
the source's version (``md5`` of a local file or directory, ``etag`` on S3, ``checksum`` over
HTTP, see :mod:`dataver.ops.url_fs`) and whose one output is the downloaded copy::

    md5: <stage md5>
    frozen: true
    deps:
    - etag: 764efa88...
      size: 3
      hash: md5
      path: s3://bucket/key
      fs_config: {endpointurl: ...}     # only when --fs-config was given
    outs:
    - md5: 764efa88...
      size: 3
      hash: md5
      path: key

Data goes to a "sink": the cache (then the workspace), or with ``--to-remote`` straight to a
remote, one file at a time, never kept here.
"""
from __future__ import annotations

import os
import shutil
import tempfile

from dataver import dvcfile, scm
from dataver.errors import UserError
from dataver.manifest import Manifest
from dataver.ops.import_doc import ImportResult, check_dest, finish_import, stage_md5
from dataver.ops.url_fs import UrlSource, open_url, url_error, version_id

BATCH = 64  # remote files downloaded at once before they are hashed and stored


# --- get-url ------------------------------------------------------------------------------------
def get_url(url: str, out: str | None = None, jobs: int | None = None, force: bool = False,
            fs_config: dict | None = None, config=None) -> str:
    """Download the file or directory at ``url`` to ``out`` (default: its name, here; into
    ``out`` when that is an existing directory); nothing is tracked."""
    source = open_url(url, fs_config, config)
    info = source.info()
    name = os.path.basename(source.path.rstrip("/")) or "data"
    dest = os.path.abspath(out or name)
    if out and os.path.isdir(dest):
        dest = os.path.join(dest, name)
    check_dest(dest, force)
    _download_to(source, info, dest, jobs)
    return dest


def _download_to(source: UrlSource, info: dict, dest: str, jobs: int | None) -> None:
    """Download the source (a file or a directory, ``info`` its listing) to ``dest``, replacing
    what is there only once all of it arrived."""
    tmp = dest + f".{os.urandom(4).hex()}.tmp"
    try:
        if source.is_dir(info):
            os.makedirs(tmp)
            files = source.files_below()
            targets = [os.path.join(tmp, *rel.split("/")) for rel, _path, _info in files]
            for target in targets:
                os.makedirs(os.path.dirname(target), exist_ok=True)
            _get_many(source, [f[1] for f in files], targets, jobs)
        else:
            _get_many(source, [source.path], [tmp], jobs)
        _replace(tmp, dest)
    finally:
        _remove(tmp)


def download_source(repo, dvc_path: str, dest: str, jobs: int | None = None) -> None:
    """Download the source of the import-url `.dvc` file at ``dvc_path`` to ``dest`` as it is
    now, without caching it or changing the `.dvc` file: what `dvc pull` does for an import
    made with --no-download."""
    dep = dvcfile.load(dvc_path).data["deps"][0]
    source = _dep_source(repo, dvc_path, dep)
    _download_to(source, source.info(), dest, jobs)


def _replace(tmp: str, dest: str) -> None:
    _remove(dest)
    os.replace(tmp, dest)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


# --- sinks: where the downloaded data goes -------------------------------------------------------
class CacheSink:
    """Objects go into the repository's cache."""

    def __init__(self, repo):
        self.odb = repo.odb

    def add_file(self, path: str, size: int | None) -> str:
        # copied while hashed, as an unnamed file linked in when complete: nothing of a
        # half-stored object can remain after a crash
        return self.odb.add_file_hashing(path, size)

    def add_manifest(self, manifest: Manifest) -> str:
        return self.odb.add_manifest(manifest)

    def close(self) -> None:
        pass


class RemoteSink:
    """Objects go straight to a remote: each file is hashed where it lies (or in its temp
    download) and uploaded unless the remote has it; the `.dir` goes last."""

    def __init__(self, repo, name: str | None, jobs: int | None):
        from dataver.remote import open_remote

        self.remote = open_remote(repo, name, jobs)
        self.tmp_dir = repo.tmp_dir

    def _put(self, path: str, oid: str) -> str:
        from dataver.remote.base import object_key

        key = object_key(oid)
        backend = self.remote.backend
        try:
            if key not in backend.exists_many([key], 1):
                failures = backend.put_many([(path, key)], 1)
                if failures:
                    raise next(iter(failures.values()))
        except UserError:
            raise
        except Exception as exc:
            raise self.remote.error(exc, "uploading") from exc
        return oid

    def add_file(self, path: str, size: int | None) -> str:
        from dataver.hashing import md5_file

        return self._put(path, md5_file(path))

    def add_manifest(self, manifest: Manifest) -> str:
        os.makedirs(self.tmp_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, suffix=".dir")
        try:
            with os.fdopen(fd, "wb") as fobj:
                fobj.write(manifest.to_bytes())
            return self._put(tmp, manifest.oid)
        finally:
            os.unlink(tmp)

    def close(self) -> None:
        self.remote.close()


# --- fetching a source ---------------------------------------------------------------------------
def _dep_meta(repo, source: UrlSource, info: dict, files) -> dict:
    """The dependency's version fields (before ``hash``/``path``) for a remote source."""
    import json

    from dataver.hashing import md5_bytes

    if source.version_aware:  # DVC's form: each file's version, no tree of versions cached
        if files is None:
            return {**source.version_meta(info), "size": info.get("size"),
                    "version_id": version_id(info, source.url)}
        return {"files": [{"relpath": rel, **source.version_meta(finfo), "size": finfo.get("size"),
                           "version_id": version_id(finfo, source.url)} for rel, _path, finfo in files]}
    if files is None:
        return {**source.version_meta(info), "size": info.get("size")}
    # a directory: its files' versions as a `.dir`-like tree (sorted by relpath, as files are)
    entries = [{**source.version_meta(finfo), "relpath": rel} for rel, _path, finfo in files]
    data = json.dumps(entries, sort_keys=True).encode()
    oid = md5_bytes(data) + ".dir"
    repo.odb.add_bytes(data, oid)  # DVC keeps this tree of versions in the cache too
    return {"md5": oid, "size": sum(f[2].get("size") or 0 for f in files), "nfiles": len(files)}


class HashSink:
    """Objects are only hashed: the source's md5 without storing anything (--no-download)."""

    def add_file(self, path: str, size: int | None) -> str:
        from dataver.hashing import md5_file

        return md5_file(path)

    def add_manifest(self, manifest: Manifest) -> str:
        return manifest.oid

    def close(self) -> None:
        pass


def fetch(repo, source: UrlSource, sink, download: bool = True, jobs: int | None = None):
    """``(dep fields, (oid, size, nfiles) or None)``: the source's version and, when
    ``download``, its data stored in ``sink``. A source versioned by its content (local, SSH)
    is read even without ``download``, to hash it; others only by their listing."""
    info = source.info()
    files = source.files_below() if source.is_dir(info) else None
    if not source.content_hashed:
        dep = _dep_meta(repo, source, info, files)
        if not download:
            return dep, None
    stored = store(repo, source, info, files, sink if download else HashSink(), jobs)
    if source.content_hashed:  # the dependency's md5 is the output's
        oid, size, nfiles = stored
        dep = {"md5": oid, "size": size, **({"nfiles": nfiles} if nfiles is not None else {})}
    return dep, (stored if download else None)


def store(repo, source: UrlSource, info: dict, files, sink, jobs: int | None = None):
    """Put the source's data (``files`` below it, or the file itself when None) into ``sink``;
    ``(oid, size, nfiles or None)``."""
    items = [("", source.path, info)] if files is None else files
    if source.version_aware:  # the very versions recorded, whatever was written since
        items = [(rel, source.versioned(path, finfo), finfo) for rel, path, finfo in items]
    if source.is_local:  # hashed as it is copied into the sink: each byte read once
        oids = {rel: sink.add_file(path, finfo.get("size")) for rel, path, finfo in items}
        size = sum(finfo.get("size") or 0 for _rel, _path, finfo in items)
    else:
        oids, size = _download_into(repo, source, items, sink, jobs)
    return _stored(sink, oids, size, files is not None)


def _download_into(repo, source: UrlSource, items, sink, jobs: int | None):
    """Download ``items`` a batch at a time into temp files, each stored in ``sink`` and
    removed at once (temp space stays one batch); ``({relpath: oid}, total size)``."""
    oids, size = {}, 0
    os.makedirs(repo.tmp_dir, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix="import-url-", dir=repo.tmp_dir)
    try:
        for start in range(0, len(items), BATCH):
            batch = items[start:start + BATCH]
            targets = [os.path.join(tmp_dir, str(i)) for i in range(len(batch))]
            _get_many(source, [b[1] for b in batch], targets, jobs)
            for (rel, _path, _info), target in zip(batch, targets):
                length = os.path.getsize(target)
                oids[rel] = sink.add_file(target, length)
                size += length
                os.unlink(target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return oids, size


def _get_many(source: UrlSource, paths: list[str], targets: list[str],
              jobs: int | None = None) -> None:
    """Download ``paths`` to ``targets`` (up to ``jobs`` at once where the filesystem is
    asynchronous); a local source is copied."""
    if source.is_local:
        for path, target in zip(paths, targets):
            shutil.copyfile(path, target)
        return
    kwargs = {"batch_size": jobs} if jobs and getattr(source.fs, "async_impl", False) else {}
    try:
        source.fs.get(paths, targets, **kwargs)
    except Exception as exc:
        raise url_error(source.url, exc) from exc


def _stored(sink, oids: dict, size: int, is_dir: bool):
    if not is_dir:
        return oids[""], size, None
    return sink.add_manifest(Manifest(oids)), size, len(oids)


# --- import-url ----------------------------------------------------------------------------------
def import_url(repo, url: str, out: str | None = None, *, no_exec: bool = False,
               no_download: bool = False, to_remote: bool = False, remote: str | None = None,
               jobs: int | None = None, force: bool = False,
               fs_config: dict | None = None) -> ImportResult:
    """Download ``url`` into the cache (or straight to a remote with ``to_remote``) and track
    it with an import-url `.dvc` file; ``no_exec`` writes the file alone, ``no_download`` the
    file with the source's version but no data."""
    if no_exec and no_download:
        raise UserError("--no-exec and --no-download cannot be used together",
                        hint="--no-download also records the source's version; pick one")
    if remote and not to_remote:
        raise UserError("--remote can only be used with --to-remote",
                        hint="add --to-remote, or leave out -r")
    source = open_url(url, fs_config, repo.config)
    dest = output_path(source, out)
    repo.check_inside(dest)
    dvc_path = dvcfile.dvcfile_for(dest)
    if not to_remote:
        check_dest(dest, force)
    check_dest(dvc_path, force)
    with repo.lock:
        if no_exec:
            doc = _new_doc(dep_path(url, dvc_path), source.fs_config,
                           dvcfile.rel_out_path(dvc_path, dest), True)
            _save(repo, dvc_path, doc, dest, None)
        else:
            _fetch_and_write(repo, source, dvc_path, dest, no_download, to_remote, remote, jobs)
        repo.state.flush()
    return ImportResult(dvc_path, dest, "")


def output_path(source: UrlSource, out: str | None) -> str:
    """Where the data of ``source`` goes, as DVC places it: ``out`` (inside it when it is a
    folder that is not itself an output), else the source's name in the current directory."""
    name = os.path.basename(source.path.rstrip("/"))
    dest = os.path.abspath(out or name)
    if out and os.path.isdir(dest) and not os.path.exists(dvcfile.dvcfile_for(dest)):
        dest = os.path.join(dest, name)
    return dest


def shown_source(url: str) -> str:
    """The source as DVC's "Importing" line names it: a local path made absolute."""
    from dataver.remote.registry import scheme_of

    return url if scheme_of(url) or url.startswith("remote://") else os.path.abspath(url)


def dep_path(url: str, dvc_path: str) -> str:
    """What ``deps: path`` records: a relative local path relative to the `.dvc` file's
    directory; absolute paths and URLs as given."""
    from dataver.remote.registry import scheme_of

    if scheme_of(url) or os.path.isabs(url):
        return url
    return os.path.relpath(os.path.abspath(url), os.path.dirname(dvc_path)).replace(os.sep, "/")


def _new_doc(path: str, fs_config: dict | None, out_path: str, no_exec: bool, fields=None):
    """A fresh import-url document, keys in DVC's order (version fields before ``hash``)."""
    from ruamel.yaml.comments import CommentedMap

    doc = CommentedMap()
    if not no_exec:
        doc["md5"] = ""
    doc["frozen"] = True
    fields = dict(fields or {})
    files = fields.pop("files", None)
    dep = CommentedMap((k, v) for k, v in fields.items() if v is not None)
    dep["hash"] = "md5"
    dep["path"] = path
    if fs_config:
        dep["fs_config"] = CommentedMap(fs_config)
    if files is not None:  # a version-aware directory's files, after fs_config as DVC writes
        dep["files"] = files
    doc["deps"] = [dep]
    doc["outs"] = [CommentedMap(hash="md5", path=out_path)]
    return doc


def _fetch_and_write(repo, source, dvc_path, dest, no_download, to_remote, remote, jobs):
    sink = RemoteSink(repo, remote, jobs) if to_remote else CacheSink(repo)
    try:
        fields, stored = fetch(repo, source, sink, download=not no_download, jobs=jobs)
    finally:
        sink.close()
    doc = _new_doc(dep_path(source.url, dvc_path), source.fs_config,
                   dvcfile.rel_out_path(dvc_path, dest), False, fields)
    if stored is not None:
        oid, size, nfiles = stored
        doc["outs"][0] = dvcfile.new_out_map(doc["outs"][0]["path"], oid, size, nfiles, False)
    if source.version_aware:  # as DVC: the source keeps the data; pull gets it from there
        doc["outs"][0]["push"] = False
    doc["md5"] = stage_md5(doc)
    _save(repo, dvc_path, doc, dest, stored if not to_remote else None)


def _set_version(dep, fields: dict) -> None:
    """Record the source's version in an existing dependency as DVC merges its fresh one into
    the loaded one: values change in place, new keys go at the end, keys not written go."""
    for key in ("md5", "etag", "checksum", "size", "nfiles", "version_id", "files"):
        if fields.get(key) is None:
            dep.pop(key, None)
    for key, value in fields.items():
        if value is not None:
            dep[key] = value


def _save(repo, dvc_path: str, doc, dest: str, stored) -> None:
    """Check the data out when there is some here, then write the `.dvc` file and .gitignore."""
    if stored is not None:
        finish_import(repo, dest, dvc_path, doc, stored)
        return
    dvcfile.save(dvc_path, doc)
    if not isinstance(repo.scm, scm.NoScm):
        scm.ignore(dest)


# --- update ----------------------------------------------------------------------------------------
def url_dep(dfile):
    """The dependency of an import-url `.dvc` file, or None for any other file."""
    deps = dfile.deps
    if (len(deps) == 1 and isinstance(deps[0], dict) and "repo" not in deps[0]
            and isinstance(deps[0].get("path"), str) and len(dfile.outs) == 1):
        return deps[0]
    return None


def update_url(repo, dvc_path: str, no_download: bool = False, to_remote: bool = False,
               remote: str | None = None, jobs: int | None = None) -> ImportResult:
    """Re-check the source of an import-url `.dvc` file; download and rewrite it when the
    source's version changed (or data is missing here), as ``dvc update`` does."""
    data = dvcfile.load(dvc_path).data
    dep, out = data["deps"][0], data["outs"][0]
    dest = os.path.normpath(os.path.join(os.path.dirname(dvc_path), str(out["path"])))
    repo.check_inside(dest, where=dvc_path)
    source = _dep_source(repo, dvc_path, dep)
    versions = ("md5", "etag", "checksum", "version_id", "files")
    old = {k: dep.get(k) for k in versions}
    have_data = out.get("md5") and (to_remote or os.path.exists(dest))
    if not no_download and not to_remote and have_data:
        probe, _ = fetch(repo, source, None, download=False)
        if all(old.get(k) == probe.get(k) for k in versions) and data.get("md5"):
            return ImportResult(dvc_path, dest, "", changed=False)
    sink = None if no_download else RemoteSink(repo, remote, jobs) if to_remote else CacheSink(repo)
    try:
        fields, stored = fetch(repo, source, sink, download=not no_download, jobs=jobs)
    finally:
        if sink is not None:
            sink.close()
    _set_version(dep, fields)
    if stored is not None:
        dvcfile.update_out_map(out, stored[0], stored[1], stored[2], False)
    if "md5" not in data:
        data["md5"] = ""
    if not (to_remote and data["md5"]):  # DVC keeps the stage's old md5 on --to-remote
        data["md5"] = stage_md5(data)
    if no_download:  # DVC drops the output's hash after computing the stage's md5 with it
        for key in ("md5", "size", "nfiles"):
            out.pop(key, None)
        _remove(dest)
    _save(repo, dvc_path, data, dest, stored if not to_remote else None)
    shown = shown_source(os.path.normpath(source.path)) if source.is_local else source.url
    return ImportResult(dvc_path, dest, "", source=None if to_remote else shown)



def fetch_recorded(repo, dvc_path: str, dep, out_md5: str, jobs: int | None = None) -> int:
    """Store in the cache the versions a version-aware import's ``dep`` records (each file's
    ``version_id``), read from the source, and check they make the recorded output
    ``out_md5``; returns the objects stored (the files and a `.dir`)."""
    from dataver.ops.url_fs import check_relpath

    source = _dep_source(repo, dvc_path, dep)
    base = source.path.rstrip("/")
    if dep.get("files") is None:
        info, files = {"name": source.path, "size": dep.get("size"), "VersionId": dep.get("version_id")}, None
    else:
        info, files = None, []
        for entry in dep["files"]:
            rel = str(entry.get("relpath"))
            check_relpath(rel, source.url)  # the .dvc file is untrusted input
            files.append((rel, f"{base}/{rel}", {"name": f"{base}/{rel}", "size": entry.get("size"),
                                                  "VersionId": entry.get("version_id")}))
    try:
        oid, _size, nfiles = store(repo, source, info, files, CacheSink(repo), jobs)
    except UserError as exc:  # a version gone, say: name the .dvc file that records it
        rel = os.path.relpath(dvc_path)
        raise UserError(f"'{rel}' records versions of its source that cannot be read: {exc.message}",
                        hint=f"if they are gone, `dataver update {rel}` records the current ones") from None
    if oid != out_md5:
        raise UserError(f"the versions of '{source.url}' that '{os.path.relpath(dvc_path)}' records "
                        f"hash to {oid}, not to the output's {out_md5}",
                        hint="the source's old versions changed or went: `dataver update` records the current ones")
    return 1 if nfiles is None else nfiles  # files, as DVC counts them (not the .dir)


def _dep_source(repo, dvc_path: str, dep) -> UrlSource:
    """The source a `.dvc` file's dependency names (a relative local path is relative to the
    file's directory), opened with its recorded ``fs_config``."""
    from dataver.errors import UnsafePathError
    from dataver.remote.registry import scheme_of

    url = str(dep["path"])
    if "\0" in url:
        raise UnsafePathError("dependency path holds a NUL byte", path=os.path.relpath(dvc_path))
    local = not scheme_of(url) and not url.startswith("remote://")
    target = os.path.join(os.path.dirname(dvc_path), url) if local and not os.path.isabs(url) else url
    fs_config = dep.get("fs_config")
    source = open_url(target, dict(fs_config) if isinstance(fs_config, dict) else {}, repo.config)
    source.url = url
    return source
