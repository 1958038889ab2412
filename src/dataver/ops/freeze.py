"""`freeze` / `unfreeze`: set or clear ``frozen: true`` on a `.dvc` file or a `dvc.yaml` stage.

A frozen stage is one `update` and `repro` leave alone (an import stays at its pinned revision).
Written as DVC 3 writes it: the file goes through a round-trip load and dump, so comments and key
order stay; ``frozen: true`` replaces an existing ``frozen`` value in place, else goes at the end
of the stage's keys; unfreezing deletes the key (DVC never writes ``frozen: false``). `dvc.lock`
is left alone. A target is a `.dvc` file, or ``[PATH/dvc.yaml:]STAGE`` (``dvc.yaml`` of the
current directory when no file is named). Targets are done one by one, as DVC does: one that
fails stops the run, the ones before it stay changed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from dataver import dvcfile
from dataver.errors import TargetError


@dataclass
class Frozen:
    """One target done: the file changed and, for a `dvc.yaml` stage, its name."""
    path: str
    stage: str | None = None


def set_frozen(repo, targets: list[str], frozen: bool):
    """Freeze (or unfreeze) each target in turn; yields a :class:`Frozen` after each one."""
    verb = "freeze" if frozen else "unfreeze"
    with repo.lock:
        for target in targets:
            path, stage = _resolve(repo, target, verb)
            if stage is None:
                _set_in_dvcfile(path, frozen)
            else:
                _set_in_pipeline(path, stage, frozen, target, verb)
            yield Frozen(path, stage)


def _fail(verb: str, target: str, why: str, hint: str | None = None) -> TargetError:
    return TargetError(f"failed to {verb} '{target}' - {why}", hint=hint)


def _resolve(repo, target: str, verb: str) -> tuple[str, str | None]:
    """``(absolute file path, stage name or None for a .dvc file)``."""
    if dvcfile.is_dvcfile(os.path.basename(target)) and ":" not in os.path.basename(target):
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise _fail(verb, target, f"'{target}' does not exist")
        _check_inside(repo, path, target, verb)
        return path, None
    file_part, sep, name = target.rpartition(":")
    if not sep or not dvcfile.is_pipeline_file(file_part):
        file_part, name = dvcfile.PIPELINE_FILE, target
    if dvcfile.is_pipeline_file(name) and not sep:
        raise _fail(verb, target, "stage name not provided",
                    hint=f"name it as `{name}:STAGE`")
    path = os.path.abspath(file_part)
    if not os.path.isfile(path):
        raise _fail(verb, target, f"'{os.path.relpath(path)}' does not exist")
    _check_inside(repo, path, target, verb)
    return path, name


def _check_inside(repo, path: str, target: str, verb: str) -> None:
    if os.path.commonpath([repo.root, path]) != repo.root:
        raise _fail(verb, target, "it is outside the repository")


def _set_in_dvcfile(path: str, frozen: bool) -> None:
    data = dvcfile.load(path).data  # validated as DVC validates it, round-trip
    if data is None:
        return
    _set_key(data, frozen)
    dvcfile.save(path, data)  # always, as DVC: its round-trip dump normalises the layout


def _set_in_pipeline(path: str, name: str, frozen: bool, target: str, verb: str) -> None:
    with open(path, "rb") as fobj:
        data = dvcfile._parse_yaml(fobj.read(), path)
    stages = data.get("stages")
    definition = stages.get(name) if isinstance(stages, dict) else None
    if definition is None:
        base = name.partition("@")[0]
        templated = isinstance(stages, dict) and isinstance(stages.get(base), dict) and (
            "foreach" in stages[base] or "matrix" in stages[base])
        if templated:
            raise _fail(verb, target, f"cannot write a templated stage: '{name}'",
                        hint="set `frozen` in its `do:` block by hand")
        raise _fail(verb, target, f"stage '{name}' not found inside "
                                  f"'{os.path.relpath(path)}'")
    if not isinstance(definition, dict):
        raise _fail(verb, target, f"stage '{name}' is not a mapping")
    if "foreach" in definition or "matrix" in definition:
        raise _fail(verb, target, f"cannot write a templated stage: '{name}'",
                    hint="name one of its instances, as NAME@KEY, or edit it by hand")
    _set_key(definition, frozen)
    # DVC rewrites the file even when nothing changed (its round-trip dump normalises it).
    dvcfile.save(path, data)


def _set_key(mapping, frozen: bool) -> None:
    """Set ``frozen: true`` (in place, else at the end) or delete the key."""
    if frozen:
        mapping["frozen"] = True
    elif "frozen" in mapping:
        del mapping["frozen"]
