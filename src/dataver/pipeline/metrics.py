"""`metrics show` and `metrics diff`, with DVC 3's results: which files are metrics (the
``metrics`` of every stage, then every dvc.yaml's top-level ``metrics:``, or the targets), how a
file is read (by extension: JSON, TOML, else YAML, so a CSV is one YAML string, as DVC reads it),
which values count (numbers, booleans, strings; nested mappings kept, lists dropped), and how two
revisions compare (flattened dotted keys, ``diff`` = new - old for numbers). The value diff is
shared with `params diff` (:mod:`dataver.pipeline.params_diff`).
"""
from __future__ import annotations

import os

from dataver.pipeline.revfiles import WORKSPACE, NotInCache, RevFiles, revisions

_UNPARSABLE = "unable to parse"  # DVC's value for every key when one side is not a mapping


_FORMATS = {".json": "JSON", ".toml": "TOML"}  # anything else is read as YAML


class FileError:
    """A file that could not be read at a revision, named and worded as DVC reports it."""

    def __init__(self, exc: BaseException, rel: str):
        from dataver.pipeline.params import ParamsError

        if isinstance(exc, FileNotFoundError):
            why = "No storage files available" if isinstance(exc, NotInCache) else \
                "No such file or directory"
            self.type, self.msg = "FileNotFoundError", f"[Errno 2] {why}: '{rel}'"
        elif isinstance(exc, ParamsError):
            fmt = _FORMATS.get(os.path.splitext(rel)[1].lower(), "YAML")
            self.type, self.msg = f"{fmt}FileCorruptedError", \
                f"unable to read: '{rel}', {fmt} file structure is corrupted"
        else:
            self.type, self.msg = type(exc).__name__, str(exc)

    def to_json(self) -> dict:
        return {"type": self.type, "msg": self.msg}


def read_value(files: RevFiles, rel: str):
    """The parsed content of ``rel`` at ``files``' revision (raises on a missing or bad file)."""
    from dataver.pipeline.params import parse

    return parse(files.read(rel), rel)


def extract(value):
    """The metric values of parsed content: numbers, booleans and strings; mappings with what
    they hold (empty ones dropped); anything else (lists, nulls) dropped -> None."""
    if isinstance(value, (int, float, str)):
        return value
    if not isinstance(value, dict):
        return None
    kept = {}
    for key, item in value.items():
        found = extract(item)
        if found is not None and found != {}:
            kept[key] = found
    return kept


def collect(files: RevFiles, targets: list[str] | None) -> list[str]:
    """Root-relative paths of the metrics files: ``targets`` (root-relative), else the stages'
    metrics then the top-level ones; folders expanded to the files below them; no repeats."""
    if targets:
        paths = list(targets)
    else:
        pipelines = files.pipelines()
        paths = [p for pipe in pipelines for p in pipe.metrics]
        paths += [p for pipe in pipelines for p in pipe.top_metrics]
    result: list[str] = []
    for path in paths:
        expanded = files.files_under(path) if files.isdir(path) else [path]
        result += [p for p in expanded if p not in result]
    return result


def gather(files: RevFiles, targets: list[str] | None) -> dict:
    """``{root-relative path: {"data": values} | {"error": FileError}}`` at one revision."""
    result = {}
    for rel in collect(files, targets):
        try:
            result[rel] = {"data": extract(read_value(files, rel)) or {}}
        except Exception as exc:  # noqa: BLE001 - DVC reports any failure per file and goes on
            result[rel] = {"error": FileError(exc, rel)}
    return result


def show(repo, targets=None, revs=(), all_branches=False, all_tags=False, all_commits=False,
         hide_workspace=True) -> dict:
    """``{revision name: {"data": {path: file result}}}`` as `dvc metrics show --json` builds it
    (paths relative to the working directory): ``""`` names the workspace when no revision is
    asked for; the workspace is left out when it equals the current branch."""
    rels = root_relative(repo, targets)
    selected = revisions(repo, revs, all_branches, all_tags, all_commits)
    only_workspace = len(selected) == 1 and not (revs or all_branches or all_tags or all_commits)
    result = {("" if only_workspace else files.name): {"data": gather(files, rels)}
              for files in selected}
    if hide_workspace:
        branch = repo.scm.current_branch() if getattr(repo.scm, "root", None) else None
        if branch is not None and WORKSPACE in result and result.get(branch) is not None and \
                jsonable(result[WORKSPACE]) == jsonable(result[branch]):
            del result[WORKSPACE]
    return {name: {"data": relative_to_cwd(repo, rev["data"])} for name, rev in result.items()}


def jsonable(value):
    """``value`` with each FileError as DVC's JSON shows an error (``{"type", "msg"}``)."""
    if isinstance(value, FileError):
        return value.to_json()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def root_relative(repo, targets) -> list[str] | None:
    """Target paths (relative to the working directory) as root-relative posix paths."""
    if not targets:
        return None
    return [os.path.relpath(os.path.abspath(t), repo.root).replace(os.sep, "/") for t in targets]


def relative_to_cwd(repo, data: dict) -> dict:
    """Root-relative keys made relative to the working directory, as DVC prints paths."""
    start = os.path.relpath(os.getcwd(), repo.root)
    if start == ".":
        return {k.replace("/", os.sep): v for k, v in data.items()}
    return {os.path.relpath(os.path.join(repo.root, k), os.getcwd()): v for k, v in data.items()}


def errored(results: dict) -> list[str]:
    """Names of the revisions where some file failed to load."""
    return [name for name, rev in results.items()
            if any("error" in f for f in rev.get("data", {}).values())]


def diff(repo, a_rev: str = "HEAD", b_rev: str | None = None, targets=None,
         all: bool = False):  # noqa: A002 - DVC's name
    """``(changes, errored revisions)``: changes are ``{path: {key: {"old", "new"[, "diff"]}}}``
    as `dvc metrics diff --json` prints them (unchanged keys too with ``all``)."""
    return diff_revisions(repo, gather, a_rev, b_rev, root_relative(repo, targets), all)


def diff_revisions(repo, gather_files, a_rev, b_rev, targets, with_unchanged: bool, **options):
    """``(changes, errored revisions)`` of what ``gather_files(files, targets, **options)``
    finds at ``a_rev`` and ``b_rev`` (None or "workspace": the workspace); nothing before
    the first commit, as DVC."""
    if not repo.scm.has_commits():
        return {}, []
    old_files, new_files = side(repo, a_rev), side(repo, b_rev)
    old = gather_files(old_files, targets, **options)
    new = gather_files(new_files, targets, **options)
    bad = [f.name for f, data in ((old_files, old), (new_files, new))
           if any("error" in r for r in data.values())]
    return relative_to_cwd(repo, compare(old, new, with_unchanged)), bad


def side(repo, rev: str | None) -> RevFiles:
    """One side of a diff: ``rev``, or the workspace for None or ``"workspace"``."""
    return RevFiles(repo, None) if rev in (None, WORKSPACE) else RevFiles(repo, rev)


# --- comparing -------------------------------------------------------------------------------
def compare(old: dict, new: dict, with_unchanged: bool = False) -> dict:
    """Per file, per flattened key, what changed between two gathered results (files whose
    reading failed count as empty). Files and keys in sorted order (DVC's is arbitrary)."""
    result = {}
    for path in sorted(set(old) | set(new)):
        changes = _compare_file(_listless(old.get(path, {}).get("data", {})),
                                _listless(new.get(path, {}).get("data", {})), with_unchanged)
        if changes:
            result[path] = changes
    return result


def _listless(value):
    """Lists written as their Python text (``[1, 2]``), as DVC shows them."""
    if isinstance(value, dict):
        return {k: _listless(v) for k, v in value.items()}
    return str(value) if isinstance(value, list) else value


def _compare_file(old, new, with_unchanged: bool) -> dict:
    old, new = _maybe_json(old), _maybe_json(new)
    if isinstance(old, dict) or isinstance(new, dict):
        old_flat, new_flat = _flat_or_unparsable(old), _flat_or_unparsable(new)
        result = {}
        for key in sorted((set(old_flat) | set(new_flat)) - {None}):
            change = _compare_value(old_flat.get(key, old_flat.get(None)),
                                    new_flat.get(key, new_flat.get(None)), with_unchanged)
            if change:
                result[key] = change
        return result
    change = _compare_value(old, new, with_unchanged)
    return {"": change} if change else {}


def _maybe_json(value):
    """A whole-file string value that is JSON (``"1.5"``) compares as what it holds, as in DVC."""
    if isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _flat_or_unparsable(value) -> dict:
    if not value:
        return {}
    if isinstance(value, dict):
        return flatten(value)
    return {None: _UNPARSABLE}  # every key: the file holds no mapping


def _compare_value(old, new, with_unchanged: bool) -> dict:
    if not with_unchanged and old == new:
        return {}
    change = {"old": old, "new": new}
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        change["diff"] = new - old
    return change


def flatten(data: dict, prefix: str = "") -> dict:
    """Nested mappings as dotted keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``); empty ones vanish."""
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat
