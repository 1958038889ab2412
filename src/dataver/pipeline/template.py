"""Templating of a dvc.yaml, as DVC 3.x resolves it: ``vars`` (the ``params.yaml`` beside the
dvc.yaml first, then files, ``file:key1,key2`` and mappings; stage-level ``vars`` relative to the
stage's ``wdir``), ``${...}`` interpolation, ``foreach``/``do`` and ``matrix`` stages. The result
is a mapping of concrete stage definitions (``name`` or ``name@key``) in file order.

Observed with DVC 3.67.1 and matched here: a string that is one whole ``${...}`` keeps the value's
type; inside a string, booleans read ``true``/``false``, None reads ``None``, and a mapping is
allowed only in ``cmd`` where it becomes ``--key value`` flags; ``\\${`` is a literal ``${``.
Keys used this way are not added to the stage's ``params`` in dvc.lock (DVC does not either).
Where DVC silently lets a generated stage replace another of the same name, we refuse."""
from __future__ import annotations

import itertools
import os
import re
import shlex

from dataver.errors import DvcFileError, warn
from dataver.pipeline import params as paramsmod
from dataver.pipeline.stage import DEFAULT_PARAMS

_EXPR = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")
_KEY = re.compile(r"[^.\[\]]+|\[\d+\]")
_VALID = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[\d+\])*")
_GROUP_KEYS = ("foreach", "do", "matrix")
_FLAGS = ("store_true", "nargs")  # DVC's default `parsing.bool` and `parsing.list`


class TemplateError(DvcFileError):
    """A dvc.yaml whose templating cannot be resolved (missing key, bad expression, ...)."""


class _Fail(Exception):
    """A resolution failure; the caller adds where it happened (DVC's message prefix)."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def is_templated(raw: bytes | str, data: dict) -> bool:
    """Whether a loaded dvc.yaml needs resolving (so plain files stay on the fast path)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    stages = data.get("stages")
    return "${" in text or "vars" in data or (isinstance(stages, dict) and any(
        isinstance(d, dict) and ("foreach" in d or "matrix" in d) for d in stages.values()))


def read_disk(path: str) -> bytes | None:
    """The default reader of vars files: ``path``'s bytes on disk, None when it is no file."""
    try:
        with open(path, "rb") as fobj:
            return fobj.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def resolve(data: dict, path: str, parsing: dict | None = None, read=read_disk) -> dict[str, dict]:
    """``{stage name: concrete definition}`` of the dvc.yaml at ``path`` (already loaded into
    ``data``); ``parsing`` is the config section of that name (``bool``: store_true or
    boolean_optional, ``list``: nargs or append: how a mapping becomes flags in ``cmd``);
    ``read(absolute path)`` gives a vars file's bytes or None (the disk by default; git's
    objects for a dvc.yaml at a revision). Raises TemplateError naming the file and the
    stage or key, as DVC words it."""
    return resolve_document(data, path, parsing, read)["stages"]


def resolve_document(data: dict, path: str, parsing: dict | None = None,
                     read=read_disk) -> dict:
    """The whole dvc.yaml ``data`` resolved: ``stages`` as :func:`resolve` gives them and the
    top-level ``params``, ``metrics`` and ``plots`` lists interpolated with the file's vars
    (as DVC resolves them); other keys as written."""
    data = plain(data)
    where = os.path.relpath(path)
    base = os.path.dirname(path)
    context = _Context(read)
    context.flags = (str((parsing or {}).get("bool") or "store_true"),
                     str((parsing or {}).get("list") or "nargs"))
    try:
        if read(os.path.join(base, DEFAULT_PARAMS)) is not None:
            context.load_file(base, DEFAULT_PARAMS)
        context.load_vars(data.get("vars"), base, "vars")
    except _Fail as exc:
        raise TemplateError(f"failed to parse 'vars' in '{where}': {exc}", hint=exc.hint) from None
    document = dict(data)
    for key in ("params", "metrics", "plots"):
        if key in data:
            try:
                document[key] = interpolate(data[key], context.values, key, context.flags)
            except _Fail as exc:
                raise TemplateError(f"failed to parse '{key}' in '{where}': {exc}",
                                    hint=exc.hint) from None
    document["stages"] = _resolve_stages(data, context, base, where)
    return document


def _resolve_stages(data: dict, context: "_Context", base: str, where: str) -> dict[str, dict]:
    stages = data.get("stages") or {}
    if not isinstance(stages, dict):
        raise TemplateError(f"failed to parse 'stages' in '{where}': must be a mapping",
                            hint="map stage names to their definitions")
    result: dict[str, dict] = {}
    for name, definition in stages.items():
        name = str(name)
        generated = _expand(name, definition, context, where)
        for reserved in generated[0][2] if generated else ():
            if reserved in context.values:  # as DVC: the generated value wins, with a warning
                warn(f"{reserved} is already specified, will be overwritten for stages generated "
                     f"from '{name}'", hint=f"rename '{reserved}' in params.yaml or 'vars'")
        for full, definition_, extra in generated:
            if full in result:
                raise TemplateError(f"failed to parse 'stages.{name}' in '{where}': stage name "
                                    f"'{full}' is defined twice", hint="rename one of them")
            result[full] = _resolve_stage(full, definition_, context.child(extra), base, where)
    return result


def _expand(name: str, definition, context: "_Context", where: str):
    """``(name, body, {item, key})`` of each stage a definition stands for."""
    if not isinstance(definition, dict) or not any(k in definition for k in _GROUP_KEYS):
        return [(name, definition, {})]
    if "foreach" in definition:
        return _foreach(name, definition, context, where)
    if "do" in definition:
        raise TemplateError(f"failed to parse stage '{name}' in '{where}': 'do' needs 'foreach'",
                            hint="add 'foreach', or move the keys out of 'do'")
    return _matrix(name, definition, context, where)


def _foreach(name: str, definition: dict, context: "_Context", where: str):
    """Named by a mapping's keys, a list's values (all scalars) or else its indexes."""
    body = definition.get("do")
    if not isinstance(body, dict) or set(definition) != {"foreach", "do"}:
        raise TemplateError(f"failed to parse stage '{name}' in '{where}': 'foreach' needs a "
                            "'do' mapping and nothing else beside it",
                            hint="put the stage's keys under 'do'")
    items = _group_value(definition["foreach"], context, name, "foreach", where)
    if isinstance(items, dict):
        return [(f"{name}@{key_name(k)}", body, {"item": v, "key": k}) for k, v in items.items()]
    if not isinstance(items, list):
        raise TemplateError(f"failed to resolve 'stages.{name}.foreach' in '{where}': "
                            f"expected list/dictionary, got {type(items).__name__}",
                            hint="give 'foreach' a list, a mapping, or ${...} naming one")
    keys = [key_name(i) for i in items] if all(_scalar(i) for i in items) else range(len(items))
    return [(f"{name}@{k}", body, {"item": v}) for k, v in zip(keys, items)]


def _matrix(name: str, definition: dict, context: "_Context", where: str):
    """One stage per combination, in order; a scalar names itself, a list or mapping stands as
    its axis name and index (``name@a-1``, ``name@d0-1``)."""
    matrix = _group_value(definition["matrix"], context, name, "matrix", where)
    if not isinstance(matrix, dict):
        raise TemplateError(f"failed to resolve 'stages.{name}.matrix' in '{where}': "
                            f"expected dictionary, got {type(matrix).__name__}",
                            hint="give 'matrix' a mapping of names to lists")
    axes = []
    for axis, values in matrix.items():
        values = _group_value(values, context, name, f"matrix.{axis}", where)
        if not isinstance(values, list):
            raise TemplateError(f"failed to resolve 'stages.{name}.matrix.{axis}' in '{where}': "
                                f"expected list, got {type(values).__name__}",
                                hint="give each 'matrix' entry a list, or ${...} naming one")
        axes.append([(key_name(v) if _scalar(v) else f"{axis}{i}", v) for i, v in enumerate(values)])
    body = {k: v for k, v in definition.items() if k != "matrix"}
    return [(f"{name}@{'-'.join(n for n, _ in combo)}", body,
             {"item": {axis: v for axis, (_, v) in zip(matrix, combo)}})
            for combo in itertools.product(*axes)]


def _group_value(value, context: "_Context", name: str, key: str, where: str):
    try:
        return interpolate(value, context.values, key, context.flags)
    except _Fail as exc:
        raise TemplateError(f"failed to resolve 'stages.{name}.{key}' in '{where}': {exc}",
                            hint=exc.hint) from None


def _resolve_stage(name: str, definition, context: "_Context", base: str, where: str):
    if not isinstance(definition, dict):
        return definition  # stages_of reports the malformed stage
    resolved: dict = {}
    wdir = definition.get("wdir")
    if wdir is not None:
        resolved["wdir"] = _value(name, "wdir", wdir, context, where)
    if "vars" in definition:
        try:
            context.load_vars(definition["vars"], os.path.join(base, str(resolved.get("wdir") or ".")),
                              f"{name}.vars", reserved=context.reserved)
        except _Fail as exc:
            raise TemplateError(f"failed to parse stage '{name}' in '{where}': {exc}",
                                hint=exc.hint) from None
    for key, value in definition.items():
        if key not in ("vars", "wdir"):
            resolved[key] = _value(name, key, value, context, where)
    # DVC's key order: the stage as written (wdir included where it was)
    return {key: resolved[key] for key in definition if key in resolved}


def _value(name: str, key: str, value, context: "_Context", where: str):
    try:
        return interpolate(value, context.values, key, context.flags)
    except _Fail as exc:
        raise TemplateError(f"failed to parse 'stages.{name}.{key}' in '{where}': {exc}",
                            hint=exc.hint) from None


# --- interpolation ---------------------------------------------------------------------------
def interpolate(value, variables: dict, key: str = "", flags: tuple = _FLAGS):
    """``value`` with every ``${...}`` replaced (recursively, mapping keys included); ``key`` is
    the stage key it sits under (only ``cmd`` may unpack a mapping into flags, as ``flags``
    says: see resolve)."""
    if isinstance(value, dict):
        return {interpolate(k, variables, key, flags): interpolate(v, variables, key, flags)
                for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables, key, flags) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    matches = list(_EXPR.finditer(value))
    if len(matches) == 1 and matches[0].group(0) == value:
        found = lookup(variables, matches[0].group("inner"))
        if not (key == "cmd" and isinstance(found, dict)):
            return found  # a whole value keeps its type
    parts, pos = [], 0
    for match in matches:
        parts.append(_unescape(value[pos:match.start()]))
        parts.append(_to_str(lookup(variables, match.group("inner")), key, flags))
        pos = match.end()
    parts.append(_unescape(value[pos:]))
    return "".join(parts)


def lookup(variables: dict, expression: str):
    """The value of ``a.b[0].c`` (``a.b.0.c`` too) in ``variables``."""
    name = expression.strip()
    if not _VALID.fullmatch(name):
        raise _Fail(f"invalid expression '${{{expression}}}'",
                    "write ${name.key} or ${name[0]}; escape a literal one as \\${")
    node = variables
    for part in _KEY.findall(name):
        index = part[1:-1] if part.startswith("[") else part
        if isinstance(node, dict) and index in node:
            node = node[index]
        elif isinstance(node, dict) and index.isdigit() and int(index) in node:
            node = node[int(index)]
        elif isinstance(node, list) and index.isdigit() and int(index) < len(node):
            node = node[int(index)]
        else:
            raise _Fail(f"Could not find '{name}'", "define it in params.yaml or under 'vars'")
    return node


def _unescape(text: str) -> str:
    return text.replace("\\${", "${")


def _to_str(value, key: str, flags: tuple) -> str:
    if isinstance(value, dict) and key == "cmd":
        return " ".join(_flags(value, "", flags))
    if isinstance(value, (dict, list)):
        raise _Fail(f"Cannot interpolate data of type '{type(value).__name__}'",
                    "refer to one of its values, e.g. ${name.key} or ${name[0]}")
    return key_name(value)


def _flags(mapping: dict, prefix: str, style: tuple) -> list[str]:
    """A mapping as DVC unpacks it into a command: ``--key value``, ``--a.b value`` for nested
    mappings; true is ``--flag``, false left out (``--no-flag`` with ``boolean_optional``); a
    list is ``--key v1 v2`` (``--key v1 --key v2`` with ``append``), an empty one left out."""
    bools, lists = style
    flags = []
    for name, value in mapping.items():
        flag = f"{prefix}{name}"
        if isinstance(value, dict):
            flags += _flags(value, f"{flag}.", style)
        elif isinstance(value, bool):
            flags += [f"--{flag}"] if value else [f"--no-{flag}"] if bools == "boolean_optional" else []
        elif isinstance(value, list) and lists == "append":
            flags += [f"--{flag} {_quoted(v)}" for v in value]
        elif isinstance(value, list):
            flags += [" ".join([f"--{flag}", *(_quoted(v) for v in value)])] if value else []
        else:
            flags.append(f"--{flag} {_quoted(value)}")
    return flags


def _quoted(value) -> str:
    return shlex.quote(value) if isinstance(value, str) else key_name(value)


def key_name(value) -> str:
    """A scalar as DVC writes it into a string or a generated stage name."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def plain(value):
    """ruamel's round-trip values as the plain ones DVC's safe loader gives (so floats, ints
    and strings print as their values, not their original spelling)."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    for kind in (bool, str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


# --- variables ---------------------------------------------------------------------------------
class _Context:
    """The variables in scope: values, where each came from (for DVC's 'cannot redefine'
    message) and which files are loaded (whole, or which keys)."""

    def __init__(self, read=read_disk):
        self.read = read  # absolute path -> bytes or None
        self.values: dict = {}
        self.origins: dict[str, str] = {}
        self.imported: dict[str, list | None] = {}
        self.reserved: tuple = ()
        self.flags: tuple = _FLAGS

    def child(self, extra: dict) -> "_Context":
        """A copy for one stage, with ``item``/``key`` of a foreach or matrix set (shallow:
        merging copies a mapping before changing it, so stages never share a change)."""
        new = _Context(self.read)
        new.values = {**self.values, **extra}
        new.origins, new.imported = dict(self.origins), dict(self.imported)
        new.reserved, new.flags = tuple(extra), self.flags
        return new

    def load_vars(self, items, base: str, source: str, reserved: tuple = ()) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            raise _Fail("'vars' must be a list", "list file names and mappings under 'vars'")
        for index, item in enumerate(items):
            if isinstance(item, dict):
                self.merge(item, f"{source}[{index}]", reserved)
            elif isinstance(item, str):
                file, _, keys = item.partition(":")
                self.load_file(base, file, [k for k in keys.split(",") if k] or None, reserved)
            else:
                raise _Fail(f"'{source}[{index}]' must be a file name or a mapping",
                            "list file names and mappings under 'vars'")

    def load_file(self, base: str, file: str, keys: list | None = None, reserved: tuple = ()) -> None:
        path = os.path.normpath(os.path.join(base, file))
        if path in self.imported:  # as DVC: a file loads once, whole or for some keys
            written = f"{file}:{','.join(keys)}" if keys else file
            if self.imported[path] is not None:
                raise _Fail(f"cannot load '{written}' as it's partially loaded already",
                            f"list all the keys you need from '{file}' in one entry")
            if keys:
                raise _Fail(f"cannot partially load '{written}' as it's already loaded.",
                            f"drop the ':keys' part: all of '{file}' is loaded")
            return
        raw = self.read(path)
        if raw is None:
            raise _Fail(f"'{file}' does not exist", "create it, or remove it from 'vars'")
        try:
            data = paramsmod._parse_cached(raw, path)  # parsed once per run, as read_file does
        except paramsmod.ParamsError as exc:
            raise _Fail(exc.message, "fix the file's syntax") from None
        data = data if isinstance(data, dict) else {}
        if keys:
            missing = [k for k in keys if k not in data]
            if missing:
                raise _Fail(f"could not find '{missing[0]}' in '{file}'",
                            f"add it to '{file}', or remove it from 'vars'")
            data = {k: data[k] for k in keys}
        self.imported[path] = keys
        self.merge(data, file, reserved)

    def merge(self, new: dict, source: str, reserved: tuple = ()) -> None:
        for name in new:
            if name in reserved:
                raise _Fail(f"attempted to modify reserved key {name}",
                            "rename the variable: 'item' and 'key' are set by foreach and matrix")
        self._merge(self.values, new, source, "")

    def _merge(self, into: dict, new: dict, source: str, prefix: str) -> None:
        for name, value in new.items():
            dotted = f"{prefix}{name}"
            if name not in into:
                into[name] = value
                self.origins[dotted] = source
            elif isinstance(into[name], dict) and isinstance(value, dict):
                into[name] = dict(into[name])  # copy on write: the parent context keeps its own
                self._merge(into[name], value, source, f"{dotted}.")
            else:
                raise _Fail(f"cannot redefine '{dotted}' from '{source}' as it already exists in "
                            f"'{self._origin(dotted)}'", "rename one of them")

    def _origin(self, dotted: str) -> str:
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            found = self.origins.get(".".join(parts[:end]))
            if found:
                return found
        return "?"
