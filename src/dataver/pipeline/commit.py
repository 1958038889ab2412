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
           events: Events | None = None, with_deps: bool = False, relink: bool = True,
           progress=None) -> tuple[list, list]:
    """Commit the stages and `.dvc` outputs named by ``targets`` (default: all). A target is a
    stage (``name``, ``dvc.yaml``, ``dvc.yaml:name``), an output of one (its whole stage), or
    anything :func:`dataver.ops.add.commit` takes. ``confirm(stage, reason)`` is asked for a
    changed stage (None: refuse it) unless ``force``. ``with_deps``: also the stages that stage
    targets depend on; ``relink=False``: see :func:`dataver.ops.add.commit`. Returns
    ``(stages, AddResults)``."""
    events = events or Events()
    stages = load_stages(repo)
    groups, plain = _split(repo, stages, targets, with_deps)
    chosen = [stage for group in groups for stage in group]
    with repo.lock:
        repo.odb.clean_leftovers()
        for group in groups:
            told = _OncePerLock(events)  # DVC says "Updating lock file" once per target
            for stage in group:
                reason = None if force else _changed(repo, stage)
                if reason is not None and not (confirm and confirm(stage, reason)):
                    raise ChangedStageError(
                        f"unable to commit changed stage '{stage.addressing}': {reason}",
                        hint="use -f/--force to commit it anyway")
                # as `dvc commit`: saved to the run cache even with a plain uncached output
                record(repo, stage, told, verb="commit", save_run=runcache.can_hash(stage),
                       relink=relink)
        repo.state.flush()
    results = addops.commit(repo, plain, force=force, relink=relink,
                            progress=progress) if plain or not targets else []
    return chosen, results


def _changed(repo, stage) -> str | None:
    """Why committing ``stage`` needs a confirmation, as DVC asks: its command, a dependency,
    a param or an output differs from dvc.lock, or an output is not in the cache
    (always_changed alone is no reason)."""
    return changes.why(repo, stage, lock.read(stage.lock_path).get(stage.name), always=False)


class _OncePerLock:
    """``events``, telling each dvc.lock written only once."""

    def __init__(self, events):
        self._events, self._told = events, set()

    def __getattr__(self, name):
        return getattr(self._events, name)

    def lock_written(self, path: str, created: bool) -> None:
        if path not in self._told:
            self._told.add(path)
            self._events.lock_written(path, created)


def _split(repo, stages: list, targets: list[str] | None,
           with_deps: bool = False) -> tuple[list[list], list[str]]:
    """``(stages to commit, grouped by the target naming them, other targets)``; no targets
    means every stage, in one group. ``with_deps`` adds to a target's group the stages it
    depends on (upstream first)."""
    if not targets:
        return [list(stages)], []
    groups, plain, seen = [], [], set()
    for target in targets:
        found = _stages_of(repo, stages, target)
        if not found:
            plain.append(target)
            continue
        if with_deps and not _owners(stages, os.path.abspath(target)):  # as DVC: an output
            found = graphmod.plan(graphmod.build(stages), found)          # target brings no deps
        group = [s for s in found if s not in seen]
        seen.update(group)
        groups.append(group)
    return groups, plain


def _owners(stages: list, abspath: str) -> list:
    """The stages with an output at or above ``abspath``."""
    return [s for s in stages for out in s.outs
            if abspath == s.abspath(out.path) or abspath.startswith(s.abspath(out.path) + os.sep)]


def _stages_of(repo, stages: list, target: str) -> list:
    abspath = os.path.abspath(target)
    owners = _owners(stages, abspath)
    if owners:
        return owners
    if os.path.isfile(abspath) and os.path.basename(abspath) != "dvc.yaml":
        return []
    try:
        return graphmod.resolve_targets(stages, [target], repo.root)
    except UserError:
        return []
