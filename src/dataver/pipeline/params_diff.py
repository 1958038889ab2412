"""`params diff`: the parameters of two revisions (default HEAD and the workspace) compared as
DVC 3 compares them. Which parameters: the keys the stages list in their ``params`` (a file
listed without keys, wholly), every dvc.yaml's top-level ``params:`` files and the root
``params.yaml`` wholly (not with ``deps_only``); or the target files, wholly. Only the files
named are read, so the answer costs a few file reads whatever the size of the workspace.
"""
from __future__ import annotations

import posixpath

from dataver.errors import UserError
from dataver.pipeline.metrics import FileError, diff_revisions, relative_to_cwd, side
from dataver.pipeline.params import _MISSING, lookup, parse
from dataver.pipeline.stage import DEFAULT_PARAMS


def collect(files, targets: list[str] | None = None, deps_only: bool = False) -> dict:
    """``{root-relative file: [keys] or None (the whole file)}``, in DVC's order: a file some
    stage or list tracks wholly is read wholly, else the keys asked for, each once."""
    if targets:
        wanted = [(t, None) for t in targets]
    else:
        pipelines = files.pipelines()
        wanted = [item for pipe in pipelines for item in pipe.stage_params]
        if not deps_only:
            wanted += [item for pipe in pipelines for item in pipe.top_params]
            if files.exists(DEFAULT_PARAMS):
                wanted.append((DEFAULT_PARAMS, None))
    whole = {file for file, keys in wanted if not keys}
    merged: dict[str, list[str] | None] = {}
    for file, keys in wanted:
        if file in whole:
            merged[file] = None
        else:
            known = merged.setdefault(file, [])
            known += [k for k in keys if k not in known]
    result: dict[str, list[str] | None] = {}
    for file, keys in merged.items():
        for path in (files.files_under(file) if files.isdir(file) else [file]):
            result.setdefault(path, keys)
    return result


def select(data, keys: list[str] | None):
    """The values of ``keys`` (dotted) in parsed ``data``, nested as in the file (``train.lr``
    -> ``{"train": {"lr": ...}}``); all of it for None."""
    if keys is None:
        return data
    found: dict = {}
    for key in keys:
        value = lookup(data, key) if isinstance(data, dict) else _MISSING
        if value is _MISSING:
            continue  # as DVC: a key the file lacks is simply absent
        *parents, last = key.split(".")
        node = found
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return found


def gather(files, targets=None, deps_only: bool = False) -> dict:
    """``{root-relative file: {"data": values} | {"error": FileError}}`` at one revision."""
    result = {}
    for rel, keys in collect(files, targets, deps_only).items():
        try:
            result[rel] = {"data": select(parse(files.read(rel), rel), keys)}
        except Exception as exc:  # noqa: BLE001 - DVC reports any failure per file and goes on
            result[rel] = {"error": FileError(exc, rel)}
    return result


def root_relative_targets(targets) -> list[str] | None:
    """Params targets as DVC reads them: relative to the repository root, wherever the command
    runs. One leading outside the repository is refused."""
    if not targets:
        return None
    result = []
    for target in targets:
        rel = posixpath.normpath(target.replace("\\", "/"))
        if rel == ".." or rel.startswith("../") or posixpath.isabs(rel):
            raise UserError("is outside the repository", path=target,
                            hint="name it relative to the repository root")
        result.append(rel)
    return result


def diff(repo, a_rev: str = "HEAD", b_rev: str | None = None, targets=None,
         all: bool = False, deps_only: bool = False):  # noqa: A002 - DVC's name
    """``(changes, errored revisions)``: changes are ``{file: {param: {"old", "new"[, "diff"]}}}``
    as `dvc params diff --json` prints them (unchanged params too with ``all``)."""
    return diff_revisions(repo, gather, a_rev, b_rev, root_relative_targets(targets), all,
                          deps_only=deps_only)


def show(repo, targets=None, rev: str | None = None, deps_only: bool = False) -> dict:
    """``{file: {param: value}}`` (nested as in the file) at ``rev`` (None: the workspace);
    files that cannot be read are left out."""
    data = gather(side(repo, rev), root_relative_targets(targets), deps_only)
    return relative_to_cwd(repo, {rel: r["data"] for rel, r in data.items() if "data" in r})
