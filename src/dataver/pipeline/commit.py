"""`commit` of dvc.yaml stages, as `dvc commit` does it: record the current dependencies,
params and outputs of a stage in dvc.lock (byte-identical to DVC's), cache its outputs and save
the run to the run cache, without running anything. A stage that changed since dvc.lock is
committed only when the user confirms or with ``force``; `.dvc` targets go to
:func:`dataver.ops.add.commit`."""
from __future__ import annotations

import os

from dataver.errors import UserError
from dataver.ops import add as addops
from dataver.pipeline import changes, graph as graphmod, lock, runcache
from dataver.pipeline.run import Events, record
from dataver.pipeline.stage import load_stages


class ChangedStageError(UserError):
    """A stage changed since dvc.lock and the commit was not confirmed."""


def commit(repo, targets: list[str] | None = None, force: bool = False, confirm=None,
           events: Events | None = None, progress=None) -> tuple[list, list]:
    """Commit the stages and `.dvc` outputs named by ``targets`` (default: all). A target is a
    stage (``name``, ``dvc.yaml``, ``dvc.yaml:name``), an output of one (its whole stage), or
    anything :func:`dataver.ops.add.commit` takes. ``confirm(stage, reason)`` is asked for a
    changed stage (None: refuse it) unless ``force``. Returns ``(stages, AddResults)``."""
    events = events or Events()
    stages = load_stages(repo)
    chosen, plain = _split(repo, stages, targets)
    with repo.lock:
        repo.odb.clean_leftovers()
        for stage in chosen:
            reason = None if force else _changed(repo, stage)
            if reason is not None and not (confirm and confirm(stage, reason)):
                raise ChangedStageError(f"unable to commit changed stage '{stage.addressing}': {reason}",
                                        hint="use -f/--force to commit it anyway")
            # as `dvc commit`: saved to the run cache even with a plain uncached output
            record(repo, stage, events, verb="commit", save_run=runcache.can_hash(stage))
        repo.state.flush()
    results = addops.commit(repo, plain, force=force, progress=progress) if plain or not targets else []
    return chosen, results


def _changed(repo, stage) -> str | None:
    """Why committing ``stage`` needs a confirmation, as DVC asks: its command, a dependency,
    a param or an output differs from dvc.lock, or an output is not in the cache
    (always_changed alone is no reason)."""
    return changes.why(repo, stage, lock.read(stage.lock_path).get(stage.name), always=False)


def _split(repo, stages: list, targets: list[str] | None) -> tuple[list, list[str]]:
    """``(stages to commit, other targets)``; no targets means every stage."""
    if not targets:
        return list(stages), []
    chosen, plain = [], []
    for target in targets:
        found = _stages_of(repo, stages, target)
        if found:
            chosen += [s for s in found if s not in chosen]
        else:
            plain.append(target)
    return chosen, plain


def _stages_of(repo, stages: list, target: str) -> list:
    abspath = os.path.abspath(target)
    owners = [s for s in stages for out in s.outs
              if abspath == s.abspath(out.path) or abspath.startswith(s.abspath(out.path) + os.sep)]
    if owners:
        return owners
    if os.path.isfile(abspath) and os.path.basename(abspath) != "dvc.yaml":
        return []
    try:
        return graphmod.resolve_targets(stages, [target], repo.root)
    except UserError:
        return []
