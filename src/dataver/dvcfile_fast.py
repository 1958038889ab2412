"""A fast reader for the plain `.dvc` files that `dvc add` and `dataver add` write.

Loading ruamel.yaml costs more than the rest of a no-op `status`, so read-only commands parse the
common shape here: ``outs:`` followed by list entries whose keys are simple scalars. Anything else
-- comments, quotes, flow style, other keys, values whose YAML type could be in doubt -- returns
None, and the caller falls back to ruamel, so the result is always what ruamel would read.
"""
from __future__ import annotations

import re

_OID = r"[0-9a-f]{32}(?:\.dir)?"
_INT = r"0|[1-9][0-9]*"
_BOOL = r"true|false"
# A path that YAML reads as this very string: safe characters, starting with a letter, digit or
# underscore, holding a letter that no number spells, and not a reserved word or a radix prefix.
_PATH = r"(?=[^\n]*[A-DF-Za-df-z])(?![0-9][xXoObB])[A-Za-z0-9_][A-Za-z0-9_./-]*"
_VALUES = {key: re.compile(pattern) for key, pattern in {
    "md5": _OID, "size": _INT, "nfiles": _INT, "hash": "md5", "isexec": _BOOL, "cache": _BOOL,
    "push": _BOOL, "path": _PATH}.items()}
_LINE = re.compile(r"(- |  )([a-z0-9]+): ([^\n]*)")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf"}


def parse_simple(text: str) -> dict | None:
    """``{"outs": [{...}, ...]}`` for a plain `.dvc` file, else None (use the full parser)."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != "outs:" or lines[-1] != "":
        return None
    outs: list[dict] = []
    for line in lines[1:-1]:
        match = _LINE.fullmatch(line)
        if match is None:
            return None
        lead, key, value = match.groups()
        pattern = _VALUES.get(key)
        if pattern is None or pattern.fullmatch(value) is None:
            return None
        if lead == "- ":
            outs.append({})
        elif not outs:
            return None
        if key in outs[-1]:
            return None  # duplicate key: let the full parser report it
        outs[-1][key] = _convert(key, value)
        if key == "path" and value.lower() in _RESERVED:
            return None
    return {"outs": outs}


def _convert(key: str, value: str):
    if key in ("size", "nfiles"):
        return int(value)
    if key in ("isexec", "cache", "push"):
        return value == "true"
    return value
