"""`remove`: stop tracking outputs — delete their `.dvc` file and `.gitignore` entry; or take
a stage out of dvc.yaml and dvc.lock (see :mod:`dataver.pipeline.remove`).

As in DVC: without ``outs`` the workspace data stays, unprotected (links into the cache become
writable copies); with ``outs`` it is deleted too. The cache is never touched (that is `gc`).
DVC does not stage anything for `remove`, even with ``core.autostage``; neither do we.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from dataver import dvcfile, scm
from dataver.errors import TargetError
from dataver.ops.unprotect import unprotect_path


@dataclass
class RemoveResult:
    """One removed `.dvc` file and the outputs it declared (absolute paths)."""

    dvcfile: str
    outs: list[str]


def remove(repo, targets: list[str], outs: bool = False) -> list[RemoveResult]:
    """Remove the `.dvc` files or dvc.yaml stages ``targets`` (``name``, ``dvc.yaml:name``,
    ``path/dvc.yaml:name``); ``outs`` also deletes their outputs. A result's ``dvcfile`` is the
    `.dvc` file, or ``path/dvc.yaml:name`` for a stage."""
    from dataver.pipeline.remove import check_stage, parse_target, remove_stage

    parsed = [(t, parse_target(t)) for t in targets]
    paths = {t: _dvcfile_target(repo, t) for t, stage in parsed if stage is None}
    results = []
    with repo.lock:
        items_per_file = {t: repo.tracked_in(p) for t, p in paths.items()}  # validate all first
        for _target, stage in parsed:
            if stage is not None:
                check_stage(repo, *stage)
        for target, stage in parsed:
            if stage is not None:
                dvcyaml, name = stage
                removed = remove_stage(repo, dvcyaml, name, outs)
                results.append(RemoveResult(f"{dvcyaml}:{name}", removed))
                continue
            for item in items_per_file[target]:
                remove_out(repo, item.abspath, outs)
            os.unlink(paths[target])
            results.append(RemoveResult(paths[target], [item.abspath for item in items_per_file[target]]))
        repo.state.flush()
    return results


def _dvcfile_target(repo, target: str) -> str:
    abspath = os.path.abspath(target)
    if dvcfile.is_dvcfile(abspath) and os.path.isfile(abspath):
        repo.check_inside(abspath)
        return abspath
    if dvcfile.is_pipeline_file(target):
        raise TargetError("give a stage, not the whole dvc.yaml", path=target,
                          hint=f"remove its stages one by one: `dataver remove {target}:NAME`")
    if os.path.isfile(abspath + dvcfile.SUFFIX):
        raise TargetError(f"'{target}' is not a .dvc file",
                          hint=f"did you mean '{target}{dvcfile.SUFFIX}'?")
    raise TargetError("does not exist or is not a .dvc file", path=target,
                      hint="give the .dvc file of the output to remove")


def remove_out(repo, abspath: str, delete: bool, ignored: bool = True) -> None:
    """Stop tracking the output at ``abspath``: delete it (``delete``) or leave it writable, and
    drop its `.gitignore` line (``ignored``: cached outputs have one)."""
    if delete:
        _delete(abspath)
    elif os.path.exists(abspath):
        unprotect_path(repo, abspath)
    if ignored and not isinstance(repo.scm, scm.NoScm):
        scm.unignore(abspath)


def _delete(abspath: str) -> None:
    if os.path.isdir(abspath) and not os.path.islink(abspath):
        shutil.rmtree(abspath, onerror=_writable_and_retry)
    elif os.path.lexists(abspath):
        os.unlink(abspath)


def _writable_and_retry(func, path, _exc) -> None:
    # A read-only directory below the output (say, made by a tool) blocks rmtree; open it up.
    os.chmod(os.path.dirname(path), 0o755)
    func(path)
