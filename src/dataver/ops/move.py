"""`move`: rename a tracked output and its `.dvc` file, as `dvc move` does.

If the `.dvc` file is named after the output (``data`` -> ``data.dvc``) it follows the output
(``dst.dvc`` next to ``dst``); otherwise it stays and only its ``path`` changes. The `.gitignore`
entry moves too. With ``core.autostage`` the new `.dvc` file, the old one's deletion and the
`.gitignore` files are staged. The `.dvc` file keeps the recorded hash even if the data was changed (as DVC does): `status`
then reports the moved output as modified until it is committed.
"""
from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from dataver import dvcfile, scm
from dataver.config import is_url
from dataver.errors import TargetError


@dataclass
class MoveResult:
    """Absolute paths before and after the move."""

    src: str
    dst: str
    old_dvcfile: str
    new_dvcfile: str


def move(repo, src: str, dst: str) -> MoveResult:
    """Move the output ``src`` to ``dst`` (into it, if ``dst`` is a directory)."""
    src_abs = os.path.abspath(src)
    dst_abs = os.path.abspath(dst)
    if os.path.isdir(dst_abs):
        dst_abs = os.path.join(dst_abs, os.path.basename(src_abs))
    repo.check_inside(dst_abs)
    with repo.lock:
        item = _find_output(repo, src_abs, src)
        if os.path.lexists(dst_abs):
            raise TargetError("already exists", path=dst, hint="remove it or choose another name")
        if not os.path.isdir(os.path.dirname(dst_abs)):  # as DVC: no directories are created
            raise TargetError(f"directory '{os.path.relpath(os.path.dirname(dst_abs))}' does not exist",
                              path=dst, hint="create it first")
        old = item.dvcfile.path
        renamed = os.path.splitext(os.path.basename(old))[0] == os.path.basename(src_abs)
        if renamed:  # before anything moves: `dst.dvc` must be a name the disk takes
            dvcfile.check_name_fits(dst_abs, dst)
        new = dvcfile.dvcfile_for(dst_abs) if renamed else old
        if renamed and os.path.lexists(new):
            raise TargetError(f"'{os.path.relpath(new)}' already exists",
                              hint="remove it or choose another name")
        result = _apply(repo, item, dst_abs, new)
    _stage(repo, result)
    return result


def _find_output(repo, src_abs: str, src: str):
    for item in repo.tracked():
        if item.abspath == src_abs:
            if isinstance(item.dvcfile, dvcfile.Stage):  # as DVC: only data sources move
                raise TargetError(f"is an output of stage '{item.dvcfile.name}' in dvc.yaml", path=src,
                                  hint="only outputs of .dvc files can be moved; edit dvc.yaml instead")
            return item
    raise TargetError("is not an output of any .dvc file", path=src,
                      hint="give the tracked file or directory itself")


def _apply(repo, item, dst_abs: str, new: str) -> MoveResult:
    old = item.dvcfile.path
    data = dvcfile.load(old).data  # fresh: a commit above may have rewritten it
    entry = next(o for o in data["outs"] if posixpath.normpath(o["path"]) == item.out.path)
    if new != old:  # as `dvc move`: a new file, written as DVC writes one it creates
        entry["path"] = dvcfile.rel_out_path(new, dst_abs)
        _rebase_deps(data, item.dvcfile.wdir, os.path.dirname(new))
        data = dvcfile.fresh_document(data, data["outs"])
    else:  # edited in place; a path stays relative to the file's wdir
        entry["path"] = os.path.relpath(dst_abs, item.dvcfile.wdir).replace(os.sep, "/")
    if os.path.lexists(item.abspath):
        os.rename(item.abspath, dst_abs)
    dvcfile.save(new, data)
    if new != old:
        os.unlink(old)
    if not isinstance(repo.scm, scm.NoScm):
        scm.unignore(item.abspath)
        scm.ignore(dst_abs)
    return MoveResult(item.abspath, dst_abs, old, new)


def _rebase_deps(data, old_dir: str, new_dir: str) -> None:
    """Relative local dependency paths (imports) stay pointing at the same place."""
    for dep in data.get("deps") or []:
        path = dep.get("path") if isinstance(dep, dict) else None
        if isinstance(path, str) and not is_url(path) and not os.path.isabs(path):
            target = os.path.normpath(os.path.join(old_dir, path))
            dep["path"] = os.path.relpath(target, new_dir).replace(os.sep, "/")


def _stage(repo, result: MoveResult) -> None:
    if not repo.config.get_bool("core", "autostage") or isinstance(repo.scm, scm.NoScm):
        return
    paths = [result.new_dvcfile]
    for out in (result.src, result.dst):
        gitignore = os.path.join(os.path.dirname(out), ".gitignore")
        if os.path.exists(gitignore) or repo.scm.is_tracked(gitignore):
            paths.append(gitignore)
    if result.old_dvcfile != result.new_dvcfile and repo.scm.is_tracked(result.old_dvcfile):
        paths.append(result.old_dvcfile)
    repo.scm.add(sorted(set(paths)))
