"""The stages of `dvc.yaml` files, as declared (hashes live in dvc.lock: see lock.py), and
`stage add`, which writes a stage the way `dvc stage add` does (sorted paths, DVC's key order,
round-trip so comments survive)."""
from __future__ import annotations

import os
import posixpath

from dataver import dvcfile
from dataver.errors import DvcFileError, UserError

DEFAULT_PARAMS = "params.yaml"
_SECTIONS = ("outs", "metrics", "plots")
_BAD_NAME_CHARS = set("/\\:@$.,;{}[]()'\" ")  # DVC: a name is letters, digits, '-' and '_'


class OutSpec:
    """One declared output: ``path`` as written (relative to the stage's wdir)."""

    __slots__ = ("path", "kind", "cache", "persist")

    def __init__(self, path: str, kind: str = "outs", cache: bool = True, persist: bool = False):
        self.path, self.kind, self.cache, self.persist = path, kind, cache, persist


class PipelineStage:
    """A stage of a dvc.yaml: ``dvcyaml`` and ``wdir`` absolute; paths as written."""

    def __init__(self, name: str, dvcyaml: str, root: str, definition: dict):
        self.name = name
        self.dvcyaml = dvcyaml
        self.root = root
        self.cmd = definition.get("cmd")
        self.wdir = os.path.normpath(os.path.join(os.path.dirname(dvcyaml),
                                                  str(definition.get("wdir") or ".")))
        self.deps = [p for p, _ in dvcfile.declared(definition, "deps")]
        self.params = parse_params_section(definition.get("params"))
        self.outs = [OutSpec(p, kind, bool(o.get("cache", True)), bool(o.get("persist", False)))
                     for kind in _SECTIONS for p, o in dvcfile.declared(definition, kind)]
        self.frozen = bool(definition.get("frozen", False))
        self.always_changed = bool(definition.get("always_changed", False))

    def __repr__(self) -> str:
        return f"PipelineStage({self.addressing!r})"

    @property
    def lock_path(self) -> str:
        return os.path.join(os.path.dirname(self.dvcyaml), dvcfile.LOCK_FILE)

    @property
    def addressing(self) -> str:
        """As DVC names it: ``name`` for the root dvc.yaml, else ``sub/dvc.yaml:name``."""
        rel = os.path.relpath(self.dvcyaml, self.root).replace(os.sep, "/")
        return self.name if rel == dvcfile.PIPELINE_FILE else f"{rel}:{self.name}"

    def abspath(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.wdir, path))

    def commands(self) -> list[str]:
        """As DVC runs them: a list item by item, a string line by line."""
        return [str(c) for c in self.cmd] if isinstance(self.cmd, list) else str(self.cmd).splitlines()


def parse_params_section(raw) -> list[tuple[str, list[str] | None]]:
    """``[(file, keys or None for the whole file)]`` of a stage's ``params`` list."""
    result: dict[str, list[str] | None] = {}
    for item in raw or []:
        if isinstance(item, dict):
            for file, keys in item.items():
                result[str(file)] = None if not keys else [str(k) for k in keys]
        else:
            keys = result.setdefault(DEFAULT_PARAMS, [])
            if keys is not None:
                keys.append(str(item))
    return list(result.items())


def load_stages(repo) -> list[PipelineStage]:
    """Every stage of every dvc.yaml of the repository, in DVC's order (files as found, stages
    as written, each foreach/matrix group's stages in their generated order)."""
    stages = []
    for path in repo.iter_dvcfiles():
        if dvcfile.is_pipeline_file(path):
            stages += stages_of(path, repo.root)
    return stages


def stages_of(path: str, root: str) -> list[PipelineStage]:
    """The stages of one dvc.yaml; templated ones (vars, ``${...}``, foreach, matrix) resolved
    into concrete stages (``name@key``) first, as DVC does."""
    from dataver.pipeline import template

    with open(path, "rb") as fobj:
        raw = fobj.read()
    data = dvcfile.read_yaml(raw, path)
    definitions = data.get("stages") or {}
    if not isinstance(definitions, dict):
        raise DvcFileError("'stages' must be a mapping", path=os.path.relpath(path))
    if template.is_templated(raw, data):
        from dataver.config import Config

        parsing = Config(os.path.join(root, ".dvc")).merged.get("parsing")  # how ${dict} unpacks
        definitions = template.resolve(data, path, parsing)
    result = []
    for name, definition in definitions.items():
        where = f"{os.path.relpath(path)}:{name}"
        if not isinstance(definition, dict) or not definition.get("cmd"):
            raise DvcFileError(f"stage '{name}' needs a 'cmd'", path=where)
        result.append(PipelineStage(str(name), path, root, definition))
    return result


# --- stage add -------------------------------------------------------------------------------
def parse_param_args(values: list[str]) -> list[tuple[str, list[str] | None]]:
    """``-p`` values as DVC reads them: ``a,b`` (params.yaml), ``file:a,b``, ``file:`` (all)."""
    result: dict[str, list[str] | None] = {}
    for value in values:
        file, sep, keys = value.rpartition(":") if ":" in value else ("", "", value)
        file = file or DEFAULT_PARAMS
        names = [k for k in keys.split(",") if k]
        if not names:
            result[file] = None
        elif result.get(file, []) is not None:
            existing = result.setdefault(file, [])
            existing += [k for k in names if k not in existing]
    return list(result.items())


def stage_definition(cmd: str, deps: list[str], outs: list[OutSpec],
                     params: list[tuple[str, list[str] | None]], wdir: str = ".",
                     always_changed: bool = False, desc: str | None = None) -> dict:
    """The dvc.yaml entry DVC writes: its key order, paths sorted, default params first."""
    entry: dict = {}
    if desc:
        entry["desc"] = desc
    entry["cmd"] = cmd
    if wdir not in (".", ""):
        entry["wdir"] = wdir
    if deps:
        entry["deps"] = sorted(deps)
    keys: list = []
    for file, names in sorted(params, key=lambda p: p[0]):
        if names and file == DEFAULT_PARAMS:
            keys = sorted(names) + keys
        else:
            keys.append({file: sorted(names) if names else None})
    if keys:
        entry["params"] = keys
    for kind in _SECTIONS:
        items = []
        for out in sorted((o for o in outs if o.kind == kind), key=lambda o: o.path):
            flags = {}
            if not out.cache:
                flags["cache"] = False
            if out.persist:
                flags["persist"] = True
            items.append({out.path: flags} if flags else out.path)
        if items:
            entry[kind] = items
    if always_changed:
        entry["always_changed"] = True
    return entry


def check_name(name: str) -> None:
    if not name or any(c in _BAD_NAME_CHARS for c in name):
        raise UserError(f"invalid stage name '{name}': use letters, digits, '-' and '_' only")


def add_stage(repo, name: str, definition: dict, force: bool = False, path: str | None = None):
    """Write stage ``name`` into the dvc.yaml at ``path`` (default: the repo root's); returns the
    PipelineStage written. Refuses an existing name unless ``force`` (then replaced in place)."""
    from ruamel.yaml.comments import CommentedMap

    from dataver.pipeline import graph

    check_name(name)
    path = path or os.path.join(repo.root, dvcfile.PIPELINE_FILE)
    data = CommentedMap()
    if os.path.exists(path):
        with open(path, "rb") as fobj:
            data = dvcfile._parse_yaml(fobj.read(), path)
    stages = data.get("stages")
    if stages is None:
        stages = data["stages"] = {}
    if name in stages and not force:
        raise UserError(f"Stage '{name}' already exists in '{os.path.relpath(path)}'",
                        hint="use '--force' to overwrite")
    new = PipelineStage(name, path, repo.root, definition)
    others = [s for s in load_stages(repo) if not (s.dvcyaml == path and s.name == name)]
    graph.build(others + [new])  # refuses overlapping outputs and cycles before writing
    if name in stages and hasattr(stages[name], "keys"):
        _replace_in_place(stages[name], definition)
    else:
        stages[name] = definition
    dvcfile.save(path, data)
    return new


def _replace_in_place(existing, new: dict) -> None:
    """As DVC's apply_diff: changed values replaced, keys gone removed, comments kept."""
    for key in [k for k in existing if k not in new]:
        del existing[key]
    for key, value in new.items():
        if existing.get(key) != value:
            existing[key] = value


def gitignore_order(outs: list[OutSpec]) -> list[OutSpec]:
    """The order `dvc stage add` adds cached outputs to .gitignore: by option (persistent outs,
    metrics, plots, outs), each in the order given."""
    def rank(out: OutSpec) -> int:
        return 0 if out.kind == "outs" and out.persist else {"metrics": 1, "plots": 2, "outs": 3}[out.kind]
    return [o for o in sorted(outs, key=rank) if o.cache]


def posix(path: str) -> str:
    return posixpath.normpath(path.replace(os.sep, "/"))
