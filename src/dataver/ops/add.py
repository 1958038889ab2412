"""`add` and `commit`: hash outputs, store their objects in the cache, write `.dvc` files.

Order matters for crash safety: file objects first, then the `.dir` manifest, then the `.dvc`
file, then `.gitignore`. A crash at any point leaves a valid repo that the next run completes.
"""
from __future__ import annotations

import glob as globmod
import os
from dataclasses import dataclass

from dataver import dvcfile, scm
from dataver.errors import OverlapError, TargetError, UserError
from dataver.hashing import LEGACY, MD5
from dataver.manifest import Manifest, is_dir_oid
from dataver.ops.status import cache_only_grows, has_oid, in_cache, known_complete, mark_in_cache
from dataver.ops.targets import is_inside, owner_of
from dataver.parallel import spread_map
from dataver.progress import SILENT, file_phase
from dataver.workspace import FileEntry, is_exec, stat_file


@dataclass
class AddResult:
    """One output that was added or committed."""

    path: str  # absolute path of the output
    dvcfile: str  # absolute path of its .dvc file
    md5: str
    size: int
    nfiles: int | None
    changed: bool  # whether the .dvc file was written
    gitignore: str | None = None  # the .gitignore given a line for it, if one was


def add(repo, targets: list[str], glob: bool = False, no_commit: bool = False,
        out: str | None = None, relink: bool = True, progress=None, to_remote: bool = False,
        remote: str | None = None, remote_jobs: int | None = None,
        force: bool = False) -> list[AddResult]:
    """Track ``targets`` (files or directories): cache their content and write `.dvc` files.

    ``glob`` expands wildcards; ``no_commit`` writes the `.dvc` file without caching;
    ``out`` copies a single target to that path inside the repo (inside it, when it is a
    folder) and tracks the copy; what is there already is replaced only with ``force``.
    ``relink=False``: see :func:`commit`. ``progress`` (a :class:`dataver.progress.Progress`) shows the targets done, and the
    scanning, hashing and caching of each directory. ``to_remote`` sends a single target (a
    path or URL) straight to ``remote`` instead: see :mod:`dataver.ops.add_to_remote`.
    """
    from dataver.ops import add_to_remote as to_remote_mod

    to_remote_mod.check_options(targets, to_remote, remote, remote_jobs, no_commit)
    if to_remote:
        target = _expand(targets, glob)[0] if glob else targets[0]
        return [to_remote_mod.add_to_remote(repo, target, out, remote, remote_jobs, progress, force)]
    progress = progress or SILENT
    paths = _expand(targets, glob)
    source = None
    if out is not None:
        if len(paths) != 1:
            raise UserError("--out takes exactly one target")
        source, paths = paths[0], [out_path(paths[0], out, force)]
        repo.check_inside(paths[0])
    with repo.lock:
        repo.odb.clean_leftovers()
        tracked = repo.tracked()
        if source is not None:
            check_free(repo, paths[0], tracked)  # before anything there is replaced
            _copy_to_out(source, paths[0])
        for path in paths:
            _check_target(repo, path, tracked)
        with cache_only_grows(repo), progress.phase("Adding", len(paths), unit="targets"):
            results = []
            for path in paths:
                results.append(_add_one(repo, path, no_commit, existing=_owner_file(tracked, path),
                                        relink=relink, progress=progress))
                progress.advance()
        repo.state.flush()
    _stage(repo, results)
    return results


def commit(repo, targets: list[str] | None = None, force: bool = False, relink: bool = True,
           progress=None) -> list[AddResult]:
    """Record the current workspace content of tracked outputs in their `.dvc` files and cache.

    Outputs of `dvc.yaml` stages are skipped (:func:`dataver.pipeline.commit.commit` commits
    stages and then calls this); naming one explicitly is an error. ``relink=False`` leaves the
    workspace files as they are instead of linking them to the cache (DVC's --no-relink; it
    matters only with a hardlink or symlink cache.type). ``progress``: as for :func:`add`."""
    progress = progress or SILENT
    with repo.lock:
        repo.odb.clean_leftovers()
        items = _without_stages(repo.resolve_targets(targets), explicit=bool(targets))
        results = []
        with cache_only_grows(repo), progress.phase("Committing", len(items), unit="outputs"):
            for item in items:
                if not os.path.lexists(item.abspath):
                    raise TargetError("output does not exist", path=item.relpath,
                                      hint="restore it with `dataver checkout` or remove the .dvc file")
                results.append(_add_one(repo, item.abspath, no_commit=False, existing=item,
                                        relink=relink, progress=progress))
                progress.advance()
        repo.state.flush()
    _stage(repo, [r for r in results if r.changed])
    return results


def _without_stages(items, explicit: bool):
    staged = [item for item in items if isinstance(item.dvcfile, dvcfile.Stage)]
    if staged and explicit:
        raise TargetError(f"is an output of stage '{staged[0].dvcfile.name}' in dvc.yaml",
                          path=staged[0].relpath, hint="commit its stage with `dataver commit`")
    return [item for item in items if not isinstance(item.dvcfile, dvcfile.Stage)]


def _expand(targets: list[str], glob: bool) -> list[str]:
    paths: list[str] = []
    for target in targets:
        if glob and globmod.has_magic(target):
            matches = globmod.glob(target, recursive=True)  # unsorted, in the order DVC uses
            if not matches:
                raise TargetError("glob matched nothing", path=target)
            paths += [os.path.abspath(m) for m in matches]
        else:
            paths.append(os.path.abspath(target))
    return paths


def out_path(target: str, out: str, force: bool) -> str:
    """Where ``add -o OUT`` puts ``target``, as DVC places it: ``out``, or inside it when it is
    a folder. Refuses a path that exists unless ``force``."""
    from urllib.parse import urlparse

    from dataver.ops.import_doc import check_dest

    name = os.path.basename(os.path.normpath(urlparse(target).path if "://" in target else target))
    dest = os.path.abspath(os.path.join(out, name) if os.path.isdir(out) else out)
    check_dest(dest, force)
    return dest


def _copy_to_out(src: str, dest: str) -> None:
    """Copy ``src`` to ``dest``, replacing what is there only once the copy is complete."""
    import shutil
    import tempfile

    if not os.path.exists(src):
        raise TargetError("does not exist", path=os.path.relpath(src), hint="check the path")
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        raise UserError(f"'{os.path.relpath(parent)}' does not exist: nowhere to put "
                        f"'{os.path.relpath(dest)}'", hint="create that folder first, or choose another -o")
    staging = tempfile.mkdtemp(prefix=".dataver-add-", dir=parent)
    try:
        copy = os.path.join(staging, "copy")
        if os.path.isdir(src):
            shutil.copytree(src, copy, symlinks=False)
        else:
            shutil.copy2(src, copy)
        if os.path.isdir(dest) and not os.path.islink(dest):
            shutil.rmtree(dest)
        elif os.path.isdir(copy) and os.path.lexists(dest):  # a folder in place of a file
            os.unlink(dest)
        os.replace(copy, dest)  # a file over a file: in one step
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_target(repo, path: str, tracked) -> None:
    repo.check_inside(path)
    rel = os.path.relpath(path)
    if not os.path.lexists(path):
        raise TargetError("does not exist", path=rel, hint="check the path")
    stat_file(path)  # raises a clear error on a symlink loop
    _check_no_symlinked_dir(repo.root, path, rel)
    _refuse_backslash(os.path.basename(path), rel)
    dvcfile.check_name_fits(path, rel)
    if dvcfile.is_dvcfile(path):
        raise TargetError("is a .dvc file and cannot be tracked", path=rel)
    check_free(repo, path, tracked)


def check_free(repo, path: str, tracked) -> None:
    """Refuse ``path`` as a new output when a stage or another output has it, holds it or lies
    inside it, or git tracks it."""
    rel = os.path.relpath(path)
    stage = next((t.dvcfile for t in tracked if t.abspath == path and isinstance(t.dvcfile, dvcfile.Stage)),
                 None)
    if stage is not None:  # as DVC: a pipeline output cannot also be a .dvc output
        raise OverlapError(f"output '{rel}' is already specified in stage '{stage.name}' "
                           f"of '{os.path.relpath(stage.path)}'", hint="track it there, not with add")
    owner = owner_of(tracked, path)
    if owner is not None:
        raise OverlapError(
            f"'{rel}' is inside output '{owner.relpath}' tracked by '{os.path.relpath(owner.dvcfile.path)}'",
            hint=f"add or commit '{owner.relpath}' instead",
        )
    for item in tracked:
        if is_inside(item.abspath, path):
            raise OverlapError(
                f"'{rel}' contains output '{item.relpath}' tracked by '{os.path.relpath(item.dvcfile.path)}'",
                hint=f"remove '{os.path.relpath(item.dvcfile.path)}' first (`dataver remove`)",
            )
    if repo.scm.is_tracked(path):
        raise TargetError(
            "is already tracked by git", path=rel,
            hint=f"run `git rm -r --cached '{rel}'` and commit, then add it again",
        )


def _check_no_symlinked_dir(root: str, path: str, rel: str) -> None:
    """Like DVC, refuse a symlink to a directory, and anything inside a symlinked directory:
    checkout would otherwise have to write through the link."""
    if os.path.islink(path) and os.path.isdir(path):
        link = path
    else:
        link = os.path.dirname(path)
        while len(link) > len(root) and not os.path.islink(link):
            link = os.path.dirname(link)
        if len(link) <= len(root):
            return
    raise TargetError(
        f"cannot track '{rel}': '{os.path.relpath(link)}' is a symlink to a directory",
        hint="add the directory it points to, or replace the link with a real directory")


def _refuse_backslash(name: str, where: str) -> None:
    # DVC on Linux takes such names, but dataver refuses "\\" in .dvc and manifest paths (a
    # separator on Windows), so it must not write one it would refuse to read back.
    if "\\" in name:
        raise TargetError("has a backslash in its name, which dataver cannot track", path=where,
                          hint="rename it")


def _owner_file(tracked, path: str):
    """The tracked output at exactly ``path`` when its `.dvc` file is not the one beside it
    (e.g. one with a ``wdir:``): DVC re-adds into that file rather than writing a second one."""
    return next((t for t in tracked if t.abspath == path and not isinstance(t.dvcfile, dvcfile.Stage)
                 and t.dvcfile.path != dvcfile.dvcfile_for(path)), None)


def _add_one(repo, path: str, no_commit: bool, existing=None, relink: bool = True,
             progress=SILENT) -> AddResult:
    """Cache ``path`` and record it in ``existing``'s `.dvc` file (else the one beside it), and
    in the .gitignore beside it unless git ignores it already (DVC's add and commit both do)."""
    dvc_path = existing.dvcfile.path if existing else dvcfile.dvcfile_for(path)
    recorded = existing.out if existing is not None else _recorded_out(dvc_path, path)
    legacy = _unchanged_legacy_out(repo, path, recorded, progress)
    if legacy is not None:  # DVC 3 leaves an unchanged 2.x output as it is
        oid, size, nfiles, changed = legacy.md5, legacy.size or 0, legacy.nfiles, False
    else:
        previous = recorded.md5 if recorded is not None and recorded.hash_name == MD5 else None
        oid, size, nfiles, changed = _record(repo, path, dvc_path, no_commit, previous, progress,
                                             relink)
    written = None
    # Like DVC: no entry when git already ignores the output (a pattern, or a re-add).
    if (not isinstance(repo.scm, scm.NoScm) and not scm.is_listed(path)
            and not repo.scm.is_ignored(path)):
        written = scm.ignore(path)
    return AddResult(path, dvc_path, oid, size, nfiles, changed or written is not None, written)


def _recorded_out(dvc_path: str, path: str):
    """The output ``dvc_path`` records for ``path`` (None if there is no such file or entry)."""
    if not os.path.exists(dvc_path):
        return None
    dfile = dvcfile.read(dvc_path)
    return next((o for o in dfile.outs if dfile.out_abspath(o) == os.path.normpath(path)), None)


def _record(repo, path: str, dvc_path: str, no_commit: bool, previous: str | None = None,
            progress=SILENT, relink: bool = True):
    """Hash and cache ``path``, then write its `.dvc` entry; (oid, size, nfiles, changed).
    ``previous``: the oid recorded for it so far, if any."""
    if os.path.isdir(path):
        oid, size, nfiles = _add_dir(repo, path, no_commit, previous, progress)
        isexec = False
    else:
        oid, size = _add_file(repo, path, no_commit, progress)
        nfiles, isexec = None, is_exec(path)
    if not no_commit and relink and _links_to_cache(repo, oid, path):
        repo.materialize(path, oid, MD5, isexec, force=True, relink=True, progress=progress)
    return oid, size, nfiles, _write_dvcfile(dvc_path, path, oid, size, nfiles, isexec, repo)


def _unchanged_legacy_out(repo, path: str, out, progress=SILENT):
    """``out`` if it is a DVC 2.x (md5-dos2unix) output whose content is unchanged."""
    if out is None or out.hash_name != LEGACY or out.md5 is None:
        return None
    if not repo.odb.exists(out.md5, LEGACY):
        return None
    return out if has_oid(repo, path, LEGACY, out.md5, progress) else None


def _links_to_cache(repo, oid: str, path: str) -> bool:
    """Whether the first working cache.type is a hardlink/symlink: then, as in DVC, the added
    workspace files are replaced by (read-only) links to their cache copies."""
    kind = repo.linker.settle(repo.odb.path(oid), path)
    return kind in ("hardlink", "symlink")


def _add_file(repo, path: str, no_commit: bool, progress=SILENT) -> tuple[str, int]:
    st = stat_file(path)
    key = repo.hasher._key(path)
    oid = repo.state.get(key, st)
    if oid is None:
        if no_commit:
            oid, _ = repo.hasher.hash_file(path, progress=progress)
        else:
            with file_phase(progress, "Caching", st.size) as counter:
                oid = repo.odb.add_file_hashing(path, st.size, progress=counter)
    elif not no_commit:
        repo.odb.add_file(path, oid)
    repo.state.set(key, st, oid)
    return oid, st.size


def _add_dir(repo, path: str, no_commit: bool, previous: str | None = None,
             progress=SILENT) -> tuple[str, int, int]:
    dir_key, files, stamp, known = repo.hasher.scan_stamped(path, repo.ignore, progress=progress)
    for entry in files:
        _refuse_backslash(entry.relpath, entry.abspath)
    size = sum(e.stat.size for e in files)
    # unchanged since it was last hashed, and all of it still cached: nothing to store
    if known is not None and (no_commit or in_cache(repo, known, MD5)):
        return known, size, len(files)
    if no_commit:
        oids = repo.hasher.hash_entries(dir_key, files, progress=progress)
    else:
        oids = _store_entries(repo, dir_key, files, previous, progress)
    manifest = Manifest(oids)
    if no_commit:
        oid = manifest.oid
    else:
        oid = repo.odb.add_manifest(manifest)  # after every file it lists
        mark_in_cache(repo, oid, MD5)
    repo.hasher.remember_dir(dir_key, stamp, oid)
    return oid, size, len(files)


def _store_entries(repo, dir_key: str, files: list[FileEntry], previous: str | None,
                   progress=SILENT) -> dict[str, str]:
    """Put every file into the cache, reading each unknown file once (hash while copying);
    ``progress`` shows it as "Caching".

    Files the state database knows, whose object is already cached, cost nothing more: the
    objects are checked with one listing per cache directory, not a stat each, and not at all
    when the ``previous`` version of the directory lists them and is known complete in the cache.
    """
    result, unknown = repo.hasher.known_oids(dir_key, files)
    _check_readable(unknown)
    odb = repo.odb
    present = _cached(repo, set(result.values()), previous)
    work = [(entry, result.get(entry.relpath)) for entry in files
            if result.get(entry.relpath) not in present]

    def store(item: tuple[FileEntry, str | None]) -> str:
        entry, oid = item
        if oid is not None:
            odb.add_file(entry.abspath, oid)
            return oid
        return odb.add_file_hashing(entry.abspath, entry.stat.size)

    sizes = [entry.stat.size for entry, _ in work]
    with progress.phase("Caching", len(work), sum(sizes)):
        oids = spread_map(store, work, sizes, progress)
    for (entry, _), oid in zip(work, oids):
        result[entry.relpath] = oid
    repo.hasher.remember_files(dir_key, files, result, read=unknown)
    return result


def _cached(repo, oids: set[str], previous: str | None) -> set[str]:
    """Which of ``oids`` the cache holds."""
    listed: set[str] = set()
    if previous is not None and is_dir_oid(previous) and known_complete(repo, previous, MD5):
        try:
            listed = oids.intersection(repo.odb.read_manifest(previous).entries.values())
        except (FileNotFoundError, UserError):  # gone since the stamp was taken: list them
            listed = set()
    return listed | repo.odb.existing(oids - listed)


def _check_readable(files: list[FileEntry]) -> None:
    """Refuse before caching anything if a file to be read is unreadable (nothing half-done)."""
    eff = os.access in os.supports_effective_ids
    denied = [e.abspath for e in files if not os.access(e.abspath, os.R_OK, effective_ids=eff)]
    if denied:
        more = f" (and {len(denied) - 1} more)" if len(denied) > 1 else ""
        raise TargetError(f"permission denied reading '{os.path.relpath(denied[0])}'{more}",
                          hint="fix the permissions (chmod) or list the files in .dvcignore")


def _write_dvcfile(dvc_path: str, out_path: str, oid: str, size: int, nfiles, isexec: bool,
                   repo=None) -> bool:
    """Record the output in ``dvc_path``: its existing entry keeps its ``path`` as written (and the
    file its ``wdir``), as DVC keeps them; else a new file with the path relative to it."""
    if os.path.exists(dvc_path):
        if _records(dvcfile.read(dvc_path), out_path, oid, size, nfiles, isexec):
            return False  # nothing to write, and no need to load ruamel.yaml to find that out
        dfile = dvcfile.load(dvc_path)
        entry = next((o.data for o in dfile.outs if dfile.out_abspath(o) == os.path.normpath(out_path)), None)
        if entry is not None:
            before = dvcfile.dumps(dfile.data)
            if repo is not None and ("files" in entry or "cloud" in entry):
                _update_versioned(repo, entry, oid, size, nfiles, isexec)
            else:
                dvcfile.update_out_map(entry, oid, size, nfiles, isexec)
            if dvcfile.dumps(dfile.data) == before:
                return False
            dvcfile.save(dvc_path, dfile.data)
            return True
    rel = dvcfile.rel_out_path(dvc_path, out_path)
    dvcfile.save(dvc_path, dvcfile.new_document(dvcfile.new_out_map(rel, oid, size, nfiles, isexec)))
    return True


def _update_versioned(repo, entry, oid: str, size: int, nfiles, isexec: bool) -> None:
    """Record new content in an entry pushed to a cloud-versioned remote, in its own form (see
    :func:`dataver.ops.versioned.refresh_files`)."""
    from dataver.ops.versioned import refresh_files

    if "files" in entry:
        try:
            return refresh_files(repo, entry, oid)
        except FileNotFoundError:  # --no-commit: no manifest in the cache to list files from
            del entry["files"]
    else:
        refresh_files(repo, entry, oid)
    dvcfile.update_out_map(entry, oid, size, nfiles, isexec)


def _records(dfile, out_path: str, oid: str, size: int, nfiles, isexec: bool) -> bool:
    """Whether ``dfile`` already records exactly this content for the output at ``out_path``."""
    raw = next((o.data for o in dfile.outs if dfile.out_abspath(o) == os.path.normpath(out_path)), None)
    if raw is None:
        return False
    return (raw.get("md5") == oid and raw.get("size") == size and raw.get("nfiles") == nfiles
            and raw.get("hash") == MD5 and (raw.get("isexec") is True if isexec else "isexec" not in raw))


def _stage(repo, results: list[AddResult]) -> None:
    if not results or not repo.config.get_bool("core", "autostage"):
        return
    paths = []
    for res in results:
        paths.append(res.dvcfile)
        gitignore = os.path.join(os.path.dirname(res.path), ".gitignore")
        if os.path.exists(gitignore):
            paths.append(gitignore)
    repo.scm.add(paths)
