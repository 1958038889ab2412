"""Applying a forward migration's plan to the index and the work tree.

Every step can run again over its own result (a run killed half-way is finished by running the
same plan again): manifests and `.dvc` files are rewritten with the same bytes, `.gitignore`
entries are added only when absent, `.gitattributes` get their planned content, index removals
of absent entries are no-ops, and the checkout makes each output what its `.dvc` file says.

Work-tree files are deleted only after the cache holds their verified content (the conversion
is done when the plan exists) and only if git called them unchanged (the clean-tree check): the
LFS file, annex symlink or big file there is replaced by the same bytes from the cache. A file
git still vouches for as the converted content (:mod:`.unchanged`) is not rewritten when the
checkout would make a plain copy anyway: the state database learns its md5 instead.
"""
from __future__ import annotations

import os

from dataver import dvcfile
from dataver.atomic import write_bytes_atomic, write_text_atomic
from dataver.errors import LinkError
from dataver.hashing import MD5
from dataver.manifest import Manifest
from dataver.migrate import gitops
from dataver.migrate.unchanged import vouched_files
from dataver.state import Stat


def apply_plan(repo, git_root: str, plan: dict, progress) -> int:
    """Write everything ``plan`` says (see :func:`dataver.migrate.forward._convert_and_plan`);
    returns how many converted files were left in place rather than rewritten."""
    outputs = plan["outputs"]
    manifests = {}
    for out in outputs:  # .dir objects: their files are all in the cache by now
        if out["dir"]:
            cut = len(out["path"]) + 1
            manifest = Manifest({path[cut:]: md5 for path, md5, _size, _x in out["files"]})
            repo.odb.add_manifest(manifest)
            manifests[out["path"]] = manifest
    kept = _keepable(repo, git_root, plan)  # asked before unstaging: the index describes them
    gitops.unstage(git_root, plan["remove"])
    for path in plan["remove"]:
        if path not in kept:
            _remove(repo, _abs(git_root, path))
    for out in outputs:
        _write_dvcfile(git_root, out, manifests.get(out["path"]))
    _ignore_all([_abs(git_root, out["path"]) for out in outputs])
    for path, content in plan["attributes"].items():
        target = _abs(git_root, path)
        if content is None:
            if os.path.lexists(target):
                os.unlink(target)
        else:
            write_bytes_atomic(target, content.encode("utf-8", "surrogateescape"))
    _remember_kept(repo, git_root, outputs, kept)
    with progress.phase("Checking out", len(outputs), unit="outputs"):
        for out in outputs:
            _checkout(repo, git_root, out, manifests.get(out["path"]), progress)
            progress.advance()
    repo.state.flush()
    return len(kept)


def _abs(git_root: str, path: str) -> str:
    return os.path.join(git_root, *path.split("/"))


def _keepable(repo, git_root: str, plan: dict) -> dict[str, os.stat_result]:
    """The converted work-tree files that can stay as they are (path -> stat): those git
    vouches for, when the checkout would write an independent copy (with hardlinks or symlinks
    the work tree must point into the cache; a reflink is as cheap as keeping)."""
    wanted = {path: (size, bool(isexec) and not out["dir"])  # a folder's files are not executable
              for out in plan["outputs"] for path, _md5, size, isexec in out["files"]}
    if not wanted or not _checkout_copies(repo, git_root, plan["outputs"][0]):
        return {}
    return vouched_files(git_root, wanted, plan["options"]["kind"])


def _checkout_copies(repo, git_root: str, out: dict) -> bool:
    path, md5, _size, _isexec = out["files"][0]
    try:
        return repo.linker.settle(repo.odb.path(md5, MD5), _abs(git_root, path)) == "copy"
    except (LinkError, OSError):  # the checkout reports it
        return False


def _remember_kept(repo, git_root: str, outputs: list[dict],
                   kept: dict[str, os.stat_result]) -> None:
    """Record what the kept files hold, so that neither the checkout nor a later `status`
    reads them."""
    if not kept:
        return
    state, key = repo.state, repo.hasher._key
    for out in outputs:
        files = [(path, md5) for path, md5, _size, _x in out["files"] if path in kept]
        if not files:
            continue
        out_abs = _abs(git_root, out["path"])
        if out["dir"]:
            cut = len(out["path"]) + 1
            state.update_dir(key(out_abs), {path[cut:]: (Stat.of(kept[path]), md5)
                                            for path, md5 in files}, MD5)
        else:
            state.set(key(out_abs), Stat.of(kept[files[0][0]]), files[0][1], MD5)


def _remove(repo, abspath: str) -> None:
    """Delete a converted file from the work tree (never through a symlinked folder)."""
    if not os.path.lexists(abspath) or (os.path.isdir(abspath) and not os.path.islink(abspath)):
        return
    repo.check_inside(abspath)
    os.unlink(abspath)


def _write_dvcfile(git_root: str, out: dict, manifest: Manifest | None) -> None:
    """The `.dvc` file, exactly as `dataver add` (and `dvc add`) would write it."""
    out_abs = _abs(git_root, out["path"])
    dvc_path = dvcfile.dvcfile_for(out_abs)
    rel = dvcfile.rel_out_path(dvc_path, out_abs)
    if manifest is not None:
        size = sum(size for _p, _md5, size, _x in out["files"])
        entry = dvcfile.new_out_map(rel, manifest.oid, size, len(out["files"]), False)
    else:
        _path, md5, size, isexec = out["files"][0]
        entry = dvcfile.new_out_map(rel, md5, size, None, isexec)
    dvcfile.save(dvc_path, dvcfile.new_document(entry))


def _ignore_all(abspaths: list[str]) -> None:
    """Add each output's ``/name`` line to the `.gitignore` beside it, as `dvc add` does, each
    `.gitignore` written once however many outputs it gets."""
    from dataver.scm import _gitignore_entry  # the escaping `dvc add` applies, in one place

    by_file: dict[str, list[str]] = {}
    for path in abspaths:
        gitignore, entry = _gitignore_entry(path)
        by_file.setdefault(gitignore, []).append(entry)
    for gitignore, entries in by_file.items():
        content = ""
        if os.path.exists(gitignore):
            with open(gitignore, encoding="utf-8") as fobj:
                content = fobj.read()
        present = set(content.splitlines())
        new = [e for e in dict.fromkeys(entries) if e not in present]
        if new:
            if content and not content.endswith("\n"):
                content += "\n"
            write_text_atomic(gitignore, content + "\n".join(new) + "\n")


def _checkout(repo, git_root: str, out: dict, manifest: Manifest | None, progress) -> None:
    abspath = _abs(git_root, out["path"])
    if manifest is not None:
        repo.materialize(abspath, manifest.oid, MD5, force=True, manifest=manifest, progress=progress)
    else:
        _path, md5, _size, isexec = out["files"][0]
        repo.materialize(abspath, md5, MD5, isexec, force=True)
