"""`.dvc` files: read (validated, old-schema tolerant) and write (round-trip, byte-compatible).

Edits go through ruamel.yaml's round-trip mode so the user's comments, unknown keys and key order
survive. New files are dumped with the same settings DVC uses, so their bytes match ``dvc add``.
"""
from __future__ import annotations

import io
import os
import posixpath
from dataclasses import dataclass, field
from typing import Any

from dataver.atomic import write_text_atomic
from dataver.errors import DvcFileError, UnsafePathError
from dataver.hashing import LEGACY, MD5
from dataver.manifest import is_dir_oid, valid_oid
from dataver.paths import check_out_path

SUFFIX = ".dvc"


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip, as DVC uses
    yaml.default_flow_style = False
    return yaml


@dataclass
class Output:
    """One entry of ``outs:``. ``data`` is the underlying (round-trip) mapping."""

    path: str  # as written, relative to the .dvc file's directory
    md5: str | None
    size: int | None
    nfiles: int | None
    hash_name: str  # "md5" (3.x) or "md5-dos2unix" (2.x: no `hash` key)
    isexec: bool
    data: Any = field(repr=False, default=None)
    cache: bool = True
    push: bool = True

    @property
    def is_dir(self) -> bool:
        return self.md5 is not None and is_dir_oid(self.md5)


@dataclass
class DvcFile:
    """A parsed `.dvc` file. ``path`` is absolute; ``data`` the round-trip document."""

    path: str
    outs: list[Output]
    deps: list[Any]
    data: Any

    @property
    def wdir(self) -> str:
        return os.path.dirname(self.path)

    def out_abspath(self, out: Output) -> str:
        return os.path.normpath(os.path.join(self.wdir, out.path))


def _bad(path: str, msg: str) -> DvcFileError:
    return DvcFileError(msg, path=path, hint="fix or restore the file (e.g. `git checkout` it)")


def _parse_out(raw: Any, where: str, index: int) -> Output:
    loc = f"outs[{index}]"
    if not isinstance(raw, dict):
        raise _bad(where, f"{loc} must be a mapping, not {type(raw).__name__}")
    try:
        path = check_out_path(raw.get("path"), where)
    except UnsafePathError as exc:
        raise _bad(where, f"{loc}.path: {exc.message}") from None
    md5 = raw.get("md5")
    if md5 is not None and not valid_oid(md5):
        raise _bad(where, f"{loc}.md5 of {path!r} is not a valid md5: {md5!r}")
    size, nfiles = raw.get("size"), raw.get("nfiles")
    for name, value in (("size", size), ("nfiles", nfiles)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise _bad(where, f"{loc}.{name} of {path!r} must be a non-negative integer, not {value!r}")
    for name in ("isexec", "cache", "push"):
        if not isinstance(raw.get(name, False), bool):
            raise _bad(where, f"{loc}.{name} of {path!r} must be true or false, not {raw[name]!r}")
    hash_key = raw.get("hash")
    if hash_key not in (None, MD5):
        raise _bad(where, f"{loc}.hash of {path!r} is unsupported: {hash_key!r}")
    return Output(
        path=path, md5=md5, size=size, nfiles=nfiles,
        hash_name=MD5 if hash_key == MD5 else LEGACY,
        isexec=raw.get("isexec", False), data=raw,
        cache=raw.get("cache", True), push=raw.get("push", True),
    )


def load(path: str) -> DvcFile:
    """Parse the `.dvc` file at ``path`` for editing (round-trip ``data``); raises DvcFileError
    saying where it is broken."""
    return loads(_read_text(path), path)


def read(path: str) -> DvcFile:
    """Parse the `.dvc` file at ``path`` for reading only: plain files skip ruamel.yaml (its
    import alone costs more than a no-op status). Use :func:`load` to edit and save."""
    return reads(_read_text(path), path)


def reads(text: str | bytes, path: str) -> DvcFile:
    """:func:`loads` for reading only (content from git history, say), fast for plain files."""
    from dataver.dvcfile_fast import parse_simple

    text = _decode(text, path)
    data = parse_simple(text)
    return _build(path, data) if data is not None else loads(text, path)


def _decode(text: str | bytes, path: str) -> str:
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(path, "not valid UTF-8") from None
    return text


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fobj:
            return fobj.read()
    except UnicodeDecodeError:
        raise _bad(path, "not valid UTF-8") from None


def loads(text: str | bytes, path: str) -> DvcFile:
    """Parse `.dvc` file content (from git history, say); ``path`` is where it lives (absolute)."""
    from ruamel.yaml import YAMLError

    text = _decode(text, path)
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise _bad(path, f"invalid YAML{line}") from None
    return _build(path, data)


def _build(path: str, data) -> DvcFile:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _bad(path, "top level must be a mapping")
    outs_raw = data.get("outs", [])
    if not isinstance(outs_raw, list):
        raise _bad(path, "'outs' must be a list")
    outs = [_parse_out(raw, path, i) for i, raw in enumerate(outs_raw)]
    deps = data.get("deps", []) or []
    if not isinstance(deps, list):
        raise _bad(path, "'deps' must be a list")
    return DvcFile(path=path, outs=outs, deps=deps, data=data)


def new_out_map(path: str, md5: str, size: int, nfiles: int | None, isexec: bool):
    """A fresh ``outs`` entry with DVC 3.x's key order."""
    from ruamel.yaml.comments import CommentedMap

    entry = CommentedMap()
    entry["md5"] = md5
    entry["size"] = size
    if nfiles is not None:
        entry["nfiles"] = nfiles
    if isexec:
        entry["isexec"] = True
    entry["hash"] = MD5
    entry["path"] = path
    return entry


def update_out_map(entry, md5: str, size: int, nfiles: int | None, isexec: bool) -> None:
    """Record new content in an existing ``outs`` entry, keeping its other keys and order.

    As DVC merges its fresh entry into the loaded one: values change in place, new keys go at
    the end (so a 2.x entry gets ``hash: md5`` after ``path``), keys it no longer writes go.
    """
    entry["md5"] = md5
    entry["size"] = size
    for key, value in (("nfiles", nfiles), ("isexec", True if isexec else None), ("hash", MD5)):
        if value is not None:
            entry[key] = value
        elif key in entry:
            del entry[key]


def new_document(out_map):
    from ruamel.yaml.comments import CommentedMap

    doc = CommentedMap()
    doc["outs"] = [out_map]
    return doc


def dumps(data) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def save(path: str, data) -> None:
    """Write a `.dvc` file atomically."""
    write_text_atomic(path, dumps(data))


def dvcfile_for(target_abspath: str) -> str:
    """The `.dvc` file that tracks ``target_abspath`` (``data`` -> ``data.dvc``)."""
    return target_abspath + SUFFIX


def is_dvcfile(name: str) -> bool:
    return name.endswith(SUFFIX) and name != SUFFIX


def rel_out_path(dvcfile_path: str, out_abspath: str) -> str:
    """The ``path`` value for an output, relative to the .dvc file, with ``/`` separators."""
    rel = os.path.relpath(out_abspath, os.path.dirname(dvcfile_path))
    return rel.replace(os.sep, posixpath.sep)
