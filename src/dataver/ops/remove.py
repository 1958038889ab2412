"""`remove`: stop tracking outputs — delete their `.dvc` file and `.gitignore` entry.

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
    """Remove the `.dvc` files ``targets``; ``outs`` also deletes their outputs."""
    paths = [_dvcfile_target(repo, t) for t in targets]
    results = []
    with repo.lock:
        items_per_file = [(path, repo.tracked_in(path)) for path in paths]  # validate all first
        for path, items in items_per_file:
            for item in items:
                _remove_out(repo, item.abspath, outs)
            os.unlink(path)
            results.append(RemoveResult(path, [item.abspath for item in items]))
        repo.state.flush()
    return results


def _dvcfile_target(repo, target: str) -> str:
    abspath = os.path.abspath(target)
    if dvcfile.is_dvcfile(abspath) and os.path.isfile(abspath):
        repo.check_inside(abspath)
        return abspath
    if dvcfile.is_pipeline_file(target.rpartition(":")[0] or target):
        raise TargetError("removing dvc.yaml stages is not supported", path=target,
                          hint="edit dvc.yaml, or use `dvc remove`")
    if os.path.isfile(abspath + dvcfile.SUFFIX):
        raise TargetError(f"'{target}' is not a .dvc file",
                          hint=f"did you mean '{target}{dvcfile.SUFFIX}'?")
    raise TargetError("does not exist or is not a .dvc file", path=target,
                      hint="give the .dvc file of the output to remove")


def _remove_out(repo, abspath: str, delete: bool) -> None:
    if delete:
        _delete(abspath)
    elif os.path.exists(abspath):
        unprotect_path(repo, abspath)
    if not isinstance(repo.scm, scm.NoScm):
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
