"""`remove STAGE`: take a stage out of its dvc.yaml and dvc.lock, as `dvc remove` does.

The stage's cached outputs lose their `.gitignore` lines; their data stays in the workspace
(unprotected), or is deleted with ``outs``. A dvc.yaml or dvc.lock left with no stages and
nothing else is deleted, as DVC deletes it. Comments elsewhere in the files are kept.
"""
from __future__ import annotations

import os

from dataver import dvcfile
from dataver.errors import TargetError


def parse_target(target: str) -> tuple[str, str] | None:
    """``(absolute dvc.yaml path, stage name)`` for ``name``, ``dvc.yaml:name`` or
    ``path/dvc.yaml:name`` (relative to the working directory, as DVC reads them); None when
    ``target`` is not a stage address."""
    file, sep, name = target.rpartition(":")
    if sep and not dvcfile.is_pipeline_file(file):
        return None
    if not sep:
        if os.sep in target or "/" in target or dvcfile.is_dvcfile(target) \
                or dvcfile.is_pipeline_file(target) or os.path.exists(target):
            return None  # a path, not a stage name
        file, name = dvcfile.PIPELINE_FILE, target
    return os.path.abspath(file), name


def check_stage(repo, dvcyaml: str, name: str):
    """The parsed ``dvcyaml`` (round-trip) if it declares stage ``name``; else a TargetError."""
    shown = os.path.relpath(dvcyaml)
    if not os.path.isfile(dvcyaml):
        raise TargetError(f"'{shown}' does not exist", hint="give a stage of an existing dvc.yaml")
    repo.check_inside(dvcyaml)
    with open(dvcyaml, "rb") as fobj:
        data = dvcfile._parse_yaml(fobj.read(), dvcyaml)
    stages = data.get("stages") if hasattr(data, "get") else None
    if not hasattr(stages, "keys") or name not in stages:
        raise TargetError(f"stage '{name}' not found in '{shown}'",
                          hint="check the name (`dataver dag` lists the stages)")
    return data


def remove_stage(repo, dvcyaml: str, name: str, outs: bool) -> list[str]:
    """Remove stage ``name`` (with the ``name@...`` stages a foreach or matrix made of it) from
    ``dvcyaml`` and its dvc.lock; returns the absolute paths of its outputs."""
    from dataver.ops.remove import remove_out
    from dataver.pipeline.stage import stages_of

    data = check_stage(repo, dvcyaml, name)
    stages = data["stages"]
    generated = [s for s in stages_of(dvcyaml, repo.root)
                 if s.name == name or s.name.startswith(name + "@")]
    removed = []
    for stage in generated:
        for out in stage.outs:
            path = stage.abspath(out.path)
            remove_out(repo, path, outs, ignored=out.cache)
            removed.append(path)
    del stages[name]
    _save_or_delete(dvcyaml, data, "stages")
    lock_path = os.path.join(os.path.dirname(dvcyaml), dvcfile.LOCK_FILE)
    if os.path.exists(lock_path):
        with open(lock_path, "rb") as fobj:
            lock = dvcfile._parse_yaml(fobj.read(), lock_path)
        locked = lock.get("stages") if hasattr(lock, "get") else None
        if hasattr(locked, "keys"):
            for key in [k for k in locked if k == name or str(k).startswith(name + "@")]:
                del locked[key]
            _save_or_delete(lock_path, lock, "stages", ignore=("schema",))
    return removed


def _save_or_delete(path: str, data, key: str, ignore: tuple = ()) -> None:
    if not data[key]:
        del data[key]
    if not [k for k in data if k not in ignore]:
        os.unlink(path)
    else:
        dvcfile.save(path, data)
