"""Turning command-line targets into tracked outputs."""
from __future__ import annotations

import os

from dataver import dvcfile
from dataver.errors import TargetError


def resolve(repo, targets: list[str] | None):
    """Outputs named by ``targets``: a `.dvc` file, an output path, or a directory (all outputs
    below it). ``None``/empty means every output in the repo."""
    if not targets:
        return repo.tracked()
    result = []
    everything = None
    for target in targets:
        abspath = os.path.abspath(target)
        if dvcfile.is_dvcfile(abspath) and os.path.isfile(abspath):
            result += repo.tracked_in(abspath)
            continue
        stage_items = _stage_target(repo, target)
        if stage_items is not None:
            result += stage_items
            continue
        if os.path.isfile(abspath + dvcfile.SUFFIX):
            items = [t for t in repo.tracked_in(abspath + dvcfile.SUFFIX) if t.abspath == abspath]
            if items:
                result += items
                continue
        if everything is None:
            everything = repo.tracked()
        found = [t for t in everything if t.abspath == abspath or is_inside(t.abspath, abspath)]
        if not found:
            raise TargetError(
                "is not tracked (no .dvc file and no output by that name)", path=target,
                hint="check the path, or track it with `dataver add`",
            )
        result += found
    return unique(result)


def resolve_partial(repo, targets: list[str] | None):
    """``[(tracked_output, subpath or None)]`` for ``targets``; a path inside a tracked
    directory yields that directory with the path relative to it (DVC's granular targets)."""
    if not targets:
        return [(item, None) for item in repo.tracked()]
    result = []
    for target in targets:
        try:
            result += [(item, None) for item in resolve(repo, [target])]
            continue
        except TargetError:
            owner = owner_of(repo.tracked(), os.path.abspath(target))
            if owner is None:
                raise
        rel = os.path.relpath(os.path.abspath(target), owner.abspath).replace(os.sep, "/")
        result.append((owner, rel))
    return result


def _stage_target(repo, target: str):
    """Outputs of the stages named by ``target``: ``dvc.yaml`` (all its stages),
    ``path/dvc.yaml:name``, or a stage ``name`` of ./dvc.yaml; None if it names no stage."""
    file, sep, name = target.rpartition(":")
    if sep and dvcfile.is_pipeline_file(file):
        path = os.path.abspath(file)
    elif dvcfile.is_pipeline_file(target):
        path, name = os.path.abspath(target), None
    elif not os.path.lexists(target) and os.path.isfile(dvcfile.PIPELINE_FILE) and "/" not in target:
        path, name = os.path.abspath(dvcfile.PIPELINE_FILE), target
    else:
        return None
    if not os.path.isfile(path):
        raise TargetError("does not exist", path=os.path.relpath(path), hint="check the path")
    items = repo.tracked_in(path)
    if name is None:
        return items
    if not any(s.name == name for s in dvcfile.load_pipeline(path)):
        return None if not sep else _no_stage(target)
    return [t for t in items if t.dvcfile.name == name]


def _no_stage(target: str):
    raise TargetError("no such stage", path=target, hint="check the name in dvc.yaml")


def is_inside(path: str, directory: str) -> bool:
    """Whether ``path`` lies strictly below ``directory``."""
    return path.startswith(directory.rstrip(os.sep) + os.sep)


def unique(items):
    """``items`` (Tracked) without repeats, in order."""
    seen, result = set(), []
    for item in items:
        key = (item.dvcfile.path, item.out.path)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def owner_of(tracked, abspath: str):
    """The output that contains ``abspath`` (strictly inside it), or None."""
    for item in tracked:
        if is_inside(abspath, item.abspath):
            return item
    return None


def with_deps(repo, targets: list[str]) -> list[str]:
    """``targets`` followed by the stages that the dvc.yaml stages among them depend on,
    directly or not (``path/dvc.yaml:name``, relative to the working directory), as DVC's
    ``-d/--with-deps``. A target that names no stage (an output, a `.dvc` file) adds nothing:
    DVC follows dependencies from stages only."""
    from dataver.errors import UserError
    from dataver.pipeline import graph, stage as stagemod

    stages = stagemod.load_stages(repo)
    found = []
    for target in targets:
        if os.path.lexists(target) and not dvcfile.is_pipeline_file(target) \
                and not os.path.isdir(target):
            continue  # a path (output, .dvc file) rather than a stage name
        try:
            found += graph.resolve_targets(stages, [target], repo.root)
        except UserError:
            continue
    if not found:
        return list(targets)
    upstream = [f"{os.path.relpath(s.dvcyaml)}:{s.name}"
                for s in graph.plan(graph.build(stages), found) if s not in found]
    return list(targets) + [t for t in upstream if t not in targets]
