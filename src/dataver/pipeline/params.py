"""Parameter values of a stage: read from params.yaml (or the named file) as DVC reads them
(YAML with ruamel's safe loader, JSON, TOML), keys looked up by their dotted names."""
from __future__ import annotations

import os

from dataver.errors import UserError

_MISSING = object()


class ParamsError(UserError):
    """A params file or key a stage lists is missing or unreadable."""


def read_file(path: str):
    """The parsed content of a params file (a mapping), as plain Python values."""
    try:
        with open(path, "rb") as fobj:
            raw = fobj.read()
    except FileNotFoundError:
        raise ParamsError("params file does not exist", path=os.path.relpath(path),
                          hint="create it, or remove it from the stage's params") from None
    data = _parse_cached(raw, path)
    return data if isinstance(data, dict) else {}


_PARSED: dict = {}  # (extension, content) -> parsed: one params.yaml serves every stage of a run


def _parse_cached(raw: bytes, path: str):
    """:func:`parse`, once per distinct content; callers get their own copy to change."""
    import copy

    key = (os.path.splitext(path)[1].lower(), raw)
    if key not in _PARSED:
        if len(_PARSED) >= 64:
            _PARSED.clear()
        _PARSED[key] = parse(raw, path)
    return copy.deepcopy(_PARSED[key])


def parse(raw: bytes, path: str):
    """``raw`` parsed as DVC parses a params or metrics file, by the extension of ``path``
    (JSON, TOML, anything else as YAML): plain Python values, whatever the top level is."""
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".json":
            import json

            data = json.loads(raw)
        elif ext == ".toml":
            import tomllib

            data = tomllib.loads(raw.decode("utf-8"))
        else:
            from ruamel.yaml import YAML

            data = YAML(typ="safe").load(raw)  # as DVC's parse_yaml
    except Exception as exc:  # noqa: BLE001 - any parser's error: one line naming the file
        raise ParamsError(f"cannot parse {os.path.basename(path)}: {str(exc).splitlines()[0] if str(exc) else exc}",
                          path=os.path.relpath(path)) from None
    return data


def lookup(data: dict, key: str):
    """``data`` at dotted ``key`` (``train.lr``), or _MISSING."""
    node = data
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def values(wdir: str, params: list[tuple[str, list[str] | None]], strict: bool = True) -> dict:
    """``{file: {key: value}}`` of a stage's params (files relative to ``wdir``); with
    ``strict``, a missing file or key is an error, else it is left out."""
    result: dict = {}
    for file, keys in params:
        path = os.path.join(wdir, file)
        try:
            data = read_file(path)
        except ParamsError:
            if strict:
                raise
            continue
        if keys is None:
            result[file] = dict(data)
            continue
        found = {}
        for key in keys:
            value = lookup(data, key)
            if value is _MISSING:
                if strict:
                    raise ParamsError(f"parameter '{key}' is missing from '{file}'",
                                      path=os.path.relpath(path), hint="add it, or remove it from the stage")
                continue
            found[key] = value
        result[file] = found
    return result


def changed(current: dict, locked, params: list[tuple[str, list[str] | None]]) -> bool:
    """Whether ``current`` values differ from the ``locked`` ones for the keys listed (as DVC:
    keys the lock has but the stage no longer lists do not count)."""
    locked = locked if isinstance(locked, dict) else {}
    for file, keys in params:
        now, then = current.get(file), locked.get(file)
        if now is None or not isinstance(then, dict):
            return True
        names = keys if keys is not None else list(dict.fromkeys([*now, *then]))
        for key in names:
            if key not in now or key not in then or _plain(now[key]) != _plain(then[key]):
                return True
    return False


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def status(wdir: str, params: list[tuple[str, list[str] | None]], locked) -> dict:
    """What `dvc status` says of a stage's params: ``{file: "deleted" | "new" | {key: state}}``
    with state ``deleted``, ``new`` or ``modified``; up-to-date files are left out. Keys in the
    order listed, or for a whole file its keys then the lock's."""
    locked = locked if isinstance(locked, dict) else {}
    result: dict = {}
    for file, keys in params:
        path = os.path.join(wdir, file)
        if not os.path.exists(path):
            result[file] = "deleted"
            continue
        then = locked.get(file)
        if not isinstance(then, dict):
            result[file] = "new"
            continue
        data = read_file(path)
        now = dict(data) if keys is None else {
            key: value for key in keys if (value := lookup(data, key)) is not _MISSING}
        states = {}
        for key in keys if keys is not None else list(dict.fromkeys([*now, *then])):
            if key not in now:
                states[key] = "deleted"
            elif key not in then:
                states[key] = "new"
            elif _plain(now[key]) != _plain(then[key]):
                states[key] = "modified"
        if states:
            result[file] = states
    return result
