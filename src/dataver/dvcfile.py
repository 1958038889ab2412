"""`.dvc` files: read (validated, old-schema tolerant) and write (round-trip, byte-compatible).

Reading refuses what DVC 3's schema refuses (unknown keys, known keys of the wrong type). Edits
go through ruamel.yaml's round-trip mode so the user's comments, the keys dataver does not use
(``desc``, ``meta``, ``remote``, ...) and key order survive. New files are dumped with the same
settings DVC uses, so their bytes match ``dvc add``.
"""
from __future__ import annotations

import errno
import io
import os
import posixpath

from dataver.atomic import write_text_atomic
from dataver.errors import CorruptObjectError, DvcFileError, PathTooLongError, UnsafePathError, warn
from dataver.hashing import LEGACY, MD5
from dataver.manifest import is_dir_oid, valid_oid
from dataver.paths import NAME_MAX, PATH_MAX, byte_len, check_out_path, display, name_too_long

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

SUFFIX = ".dvc"


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip, as DVC uses
    yaml.default_flow_style = False
    return yaml


class Output:
    """One entry of ``outs:``. ``data`` is the underlying (round-trip) mapping.

    A plain class, not a dataclass: importing dataclasses costs ~10 ms of every command's
    start-up, which is a large part of a no-op `status` or an `api.read`."""

    __slots__ = ("path", "md5", "size", "nfiles", "hash_name", "isexec", "data", "cache", "push",
                 "remote", "files")

    def __init__(self, path: str, md5: str | None, size: int | None, nfiles: int | None,
                 hash_name: str, isexec: bool, data: Any = None, cache: bool = True,
                 push: bool = True, remote: str | None = None, files: list | None = None):
        self.path = path  # as written, relative to the .dvc file's wdir (its directory)
        self.md5 = md5
        self.size = size
        self.nfiles = nfiles
        self.hash_name = hash_name  # "md5" (3.x) or "md5-dos2unix" (2.x: no `hash` key)
        self.isexec = isexec
        self.data = data
        self.cache = cache
        self.push = push
        self.remote = remote  # its own remote (``remote:``), used instead of the default one
        # a directory recorded file by file (``files:``, see dvcfile_files); ``md5`` is then the
        # id of the manifest rebuilt from that list
        self.files = files

    def __repr__(self) -> str:
        return f"Output(path={self.path!r}, md5={self.md5!r}, hash_name={self.hash_name!r})"

    @property
    def is_dir(self) -> bool:
        return self.md5 is not None and is_dir_oid(self.md5)


CARD_META_KEY = "dataver-card"  # in an output's `meta`: the id of its data card object


def card_oid(out: Output) -> str | None:
    """The id of the data card stored for ``out`` (in its ``meta``), if it names one."""
    meta = out.data.get("meta") if hasattr(out.data, "get") else None
    value = meta.get(CARD_META_KEY) if hasattr(meta, "get") else None
    if isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value):
        return value
    return None


class DvcFile:
    """A parsed `.dvc` file. ``path`` is absolute; ``data`` the round-trip document."""

    def __init__(self, path: str, outs: list[Output], deps: list[Any], data: Any):
        self.path = path
        self.outs = outs
        self.deps = deps
        self.data = data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, outs={self.outs!r})"

    @property
    def wdir(self) -> str:
        """The folder output paths are relative to: the `.dvc` file's own, or its ``wdir:``
        (relative to that folder), which older DVC versions wrote and DVC 3 still honours."""
        base = os.path.dirname(self.path)
        wdir = self.data.get("wdir") if isinstance(self.data, dict) else None
        if not wdir or wdir == ".":
            return base
        return os.path.normpath(os.path.join(base, *wdir.split("/")))

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
    files = raw.get("files")
    if files is not None and md5 is None:
        md5, size, nfiles = _files_summary(files, where, f"{loc}.files of {path!r}")
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
        cache=raw.get("cache", True), push=raw.get("push", True), remote=raw.get("remote") or None,
        files=files if files is not None and raw.get("md5") is None else None,
    )


def _files_summary(files, where: str, loc: str) -> tuple[str, int | None, int]:
    """``(manifest oid, size, nfiles)`` of a ``files:`` list (see dvcfile_files)."""
    from dataver.dvcfile_files import files_manifest

    try:
        manifest, total = files_manifest(files, where)
    except (CorruptObjectError, UnsafePathError) as exc:
        raise _bad(where, f"{loc}: {exc.message}") from None
    return manifest.oid, total, len(manifest)


def load(path: str) -> DvcFile:
    """Parse the `.dvc` file at ``path`` for editing (round-trip ``data``); raises DvcFileError
    saying where it is broken."""
    return _warn_if_empty(loads(_read_text(path), path))


def read(path: str) -> DvcFile:
    """Parse the `.dvc` file at ``path`` for reading only: plain files skip ruamel.yaml (its
    import alone costs more than a no-op status). Use :func:`load` to edit and save."""
    return _warn_if_empty(reads(_read_text(path), path))


def _warn_if_empty(dfile: DvcFile) -> DvcFile:
    # DVC takes an empty file as tracking nothing, and so do we; but a `.dvc` file nobody wrote
    # empty on purpose is a truncated one (a full disk, a crash, a bad merge), so say so.
    if not dfile.data:
        rel = os.path.relpath(dfile.path)
        warn(f"'{rel}' is empty, so it tracks nothing (was it truncated?)", path=rel,
             hint="restore it, e.g. with `git checkout`, or delete it")
    return dfile


def reads(text: str | bytes, path: str) -> DvcFile:
    """:func:`loads` for reading only (content from git history, say), fast for plain files."""
    from dataver.dvcfile_fast import parse_simple

    text = _decode(text, path)
    data = parse_simple(text)
    return _build(path, data, simple=True) if data is not None else loads(text, path)


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
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        raise PathTooLongError(  # in a folder whose own path just fits
            f"path is too long to read ({byte_len(path)} bytes; at most {PATH_MAX - 1})",
            path=display(os.path.relpath(path)), hint="move it to a folder nested less deeply",
        ) from None


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


def _build(path: str, data, simple: bool = False) -> DvcFile:
    """The DvcFile of parsed ``data``, validated; ``simple`` data comes from parse_simple, whose
    patterns let through only known keys with values of the right type."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _bad(path, "top level must be a mapping")
    if not simple:
        _check_schema(data, path)
        _check_wdir(data.get("wdir"), path)
    outs_raw = _list(data, "outs")
    if not isinstance(outs_raw, list):
        raise _bad(path, "'outs' must be a list")
    outs = [_parse_out(raw, path, i) for i, raw in enumerate(outs_raw)]
    deps = _list(data, "deps")
    if not isinstance(deps, list):
        raise _bad(path, "'deps' must be a list")
    _check_unique(outs, path)
    return DvcFile(path=path, outs=outs, deps=deps, data=data)


def _check_schema(data: dict, path: str) -> None:
    """Refuse what DVC's schema refuses beyond what _parse_out checks: unknown keys anywhere,
    and known keys of the wrong type."""
    _check_keys(data, _TOP_KEYS, path, "")
    for key, kind in _TOP_TYPES.items():
        _check_type(data, key, kind, path, "")
    for section, allowed, types in (("outs", _OUT_KEYS, _OUT_TYPES), ("deps", _DEP_KEYS, {})):
        items = _list(data, section)
        for i, raw in enumerate(items if isinstance(items, list) else []):
            if not isinstance(raw, dict):
                if section == "deps":  # (a bad output says so in _parse_out)
                    raise _bad(path, f"deps[{i}] must be a mapping, not {type(raw).__name__}")
                continue
            _check_keys(raw, allowed, path, f"{section}[{i}]")
            for key, kind in types.items():
                _check_type(raw, key, kind, path, f"{section}[{i}]")


# What DVC 3's schema accepts in a `.dvc` file (dvc/schema.py, dvc/output.py): it refuses any
# other key, so a file with one is broken for DVC and is refused here too, naming the key.
_TOP_KEYS = frozenset({"md5", "wdir", "deps", "outs", "locked", "frozen", "meta", "always_changed",
                       "desc"})
_OUT_KEYS = frozenset({"md5", "checksum", "etag", "size", "nfiles", "isexec", "version_id", "path",
                       "persist", "cloud", "hash", "desc", "type", "labels", "meta", "cache",
                       "remote", "push", "files", "fs_config"})
_DEP_KEYS = frozenset({"md5", "checksum", "etag", "size", "nfiles", "isexec", "version_id", "path",
                       "persist", "cloud", "hash", "repo", "db", "files", "fs_config"})
# The types DVC requires of the keys _parse_out does not already check (None: may be empty).
_TOP_TYPES = {"wdir": (str, type(None)), "locked": bool, "frozen": bool, "always_changed": bool,
              "desc": str}
_OUT_TYPES = {"persist": bool, "remote": str, "desc": str, "type": str, "version_id": str,
              "labels": list, "cloud": dict, "files": list, "fs_config": dict}
_TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list", dict: "a mapping",
               (str, type(None)): "a string"}


def _check_wdir(wdir, path: str) -> None:
    """A ``wdir`` is a relative folder with ``/`` separators (whether it stays inside the
    repository is checked where the repository root is known)."""
    if not wdir:
        return
    try:
        check_out_path(wdir, path)
    except UnsafePathError as exc:
        raise _bad(path, f"'wdir': {exc.message.replace('output path', 'folder')}") from None


def _list(data: dict, key: str):
    """``data[key]``: a list (checked by the caller); missing or empty (``outs:``) is none."""
    value = data.get(key)
    return [] if value is None else value


def _check_keys(mapping: dict, allowed: frozenset, path: str, loc: str) -> None:
    unknown = [key for key in mapping if key not in allowed]
    if unknown:
        where = f" in {loc}" if loc else ""
        raise _bad(path, f"unknown key {str(unknown[0])!r}{where} (DVC refuses it too)")


def _check_type(mapping: dict, key: str, kind, path: str, loc: str) -> None:
    if key in mapping and not isinstance(mapping[key], kind):
        name = f"{loc}.{key}" if loc else f"'{key}'"
        raise _bad(path, f"{name} must be {_TYPE_NAMES[kind]}, not {display(repr(mapping[key]))}")


def _check_unique(outs: list[Output], path: str) -> None:
    """Two entries for one output would fight over it at every checkout and commit."""
    seen: set[str] = set()
    for out in outs:
        if out.path in seen:
            raise _bad(path, f"output {display(out.path)!r} is listed twice")
        seen.add(out.path)


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
    if entry.get("md5") != md5:  # a card of the old content no longer describes the output
        meta = entry.get("meta")
        if hasattr(meta, "get") and CARD_META_KEY in meta:
            del meta[CARD_META_KEY]
            if not meta:
                del entry["meta"]
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


# The key order DVC writes a `.dvc` file in when it creates one (its stage and output dumps),
# and the keys it leaves out at their default value.
_DOC_ORDER = ("desc", "md5", "cmd", "wdir", "frozen", "deps", "outs", "always_changed", "meta")
_OUT_ORDER = ("md5", "checksum", "etag", "size", "nfiles", "isexec", "version_id", "cloud", "hash",
              "path", "fs_config", "desc", "type", "labels", "meta", "cache", "persist", "remote",
              "push", "files")
_OUT_DEFAULTS = {"cache": True, "push": True, "persist": False, "isexec": False}


def fresh_document(data, out_entries):
    """``data`` with ``outs`` set to ``out_entries``, written anew as DVC writes a `.dvc` file it
    creates (e.g. `dvc move` renaming it): keys in DVC's order, no ``wdir`` (the new file sits
    where its paths start), falsy and default values left out, comments dropped."""
    from ruamel.yaml.comments import CommentedMap

    def ordered(mapping, order, skip):
        rank = {key: i for i, key in enumerate(order)}
        result = CommentedMap()
        for key in sorted(mapping, key=lambda k: rank.get(k, len(order))):
            if not skip(key, mapping[key]):
                result[key] = mapping[key]
        return result

    outs = [ordered(entry, _OUT_ORDER, lambda k, v: k in _OUT_DEFAULTS and v == _OUT_DEFAULTS[k])
            for entry in out_entries]
    doc = {**data, "outs": outs}
    doc.pop("wdir", None)
    return ordered(doc, _DOC_ORDER, lambda _k, v: not v)


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


def check_name_fits(target_abspath: str, where: str) -> None:
    """Refuse to track a target whose `.dvc` file could not be named: its name and the suffix
    must fit in NAME_MAX bytes (DVC fails there too, after caching)."""
    name = os.path.basename(target_abspath)
    if name_too_long(name, len(SUFFIX)):
        raise PathTooLongError(
            f"name is too long for a {SUFFIX} file beside it ({byte_len(name)} bytes; "
            f"at most {NAME_MAX - len(SUFFIX)})", path=display(where),
            hint="use a shorter name, or track the folder that holds it")


def is_dvcfile(name: str) -> bool:
    return name.endswith(SUFFIX) and name != SUFFIX


def rel_out_path(dvcfile_path: str, out_abspath: str) -> str:
    """The ``path`` value for an output, relative to the .dvc file, with ``/`` separators."""
    rel = os.path.relpath(out_abspath, os.path.dirname(dvcfile_path))
    return rel.replace(os.sep, posixpath.sep)


# --- dvc.yaml / dvc.lock (read-only) -------------------------------------------------------------
PIPELINE_FILE = "dvc.yaml"
LOCK_FILE = "dvc.lock"
_OUT_SECTIONS = ("outs", "metrics", "plots")


class Stage(DvcFile):
    """One stage of a `dvc.yaml`, seen as a DvcFile: ``path`` is the dvc.yaml, ``outs``/``deps``
    carry the hashes recorded in `dvc.lock` (None when the stage never ran). Output paths are
    relative to the dvc.yaml's directory (``wdir`` already applied)."""

    def __init__(self, path: str, outs: list[Output], deps: list[Any], data: Any, name: str = "",
                 locked: bool = False, command_changed: bool = False):
        super().__init__(path, outs, deps, data)
        self.name = name
        self.locked = locked  # whether dvc.lock has an entry for this stage
        self.command_changed = command_changed  # dvc.yaml's cmd differs from dvc.lock's
        self.params: Any = None  # the stage's ``params`` list as written in dvc.yaml
        self.params_wdir = os.path.dirname(path)  # where its params files are found

    @property
    def wdir(self) -> str:
        return os.path.dirname(self.path)  # the stage's own wdir is already in its paths


def is_pipeline_file(name: str) -> bool:
    return os.path.basename(name) == PIPELINE_FILE


def load_pipeline(path: str, resolve=None) -> list[Stage]:
    """The stages of the `dvc.yaml` at ``path`` with the hashes of the `dvc.lock` beside it.
    ``resolve(text, path)``: the file's stages resolved by the templating (a layer above this
    one), or None to take them as written."""
    lock_path = os.path.join(os.path.dirname(path), LOCK_FILE)
    try:
        with open(lock_path, "rb") as fobj:
            lock_text = fobj.read()
    except FileNotFoundError:
        lock_text = None
    with open(path, "rb") as fobj:
        text = fobj.read()
    return pipeline_loads(text, lock_text, path, resolve(text, path) if resolve else None)


def _parse_yaml(text: str | bytes, path: str, typ: str = "rt") -> Any:
    """``text`` parsed: round-trip (``rt``, for files that are edited and written back) or
    ``safe`` (plain containers, a third faster: for reading only); the same YAML 1.2 values."""
    from ruamel.yaml import YAML, YAMLError

    try:
        loader = _yaml() if typ == "rt" else YAML(typ=typ, pure=True)
        data = loader.load(text.decode("utf-8") if isinstance(text, bytes) else text)
    except UnicodeDecodeError:
        raise _bad(path, "not valid UTF-8") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None)  # the parser's words, e.g. "mapping values are not allowed here"
        raise _bad(path, f"invalid YAML{where}{f': {problem}' if problem else ''}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _bad(path, "top level must be a mapping")
    return data


_READ_CACHE: dict = {}  # content -> parsed, for read-only parses (see read_yaml)


def read_yaml(text: str | bytes, path: str) -> Any:
    """:func:`_parse_yaml` for callers that only read: each distinct content is parsed once per
    process (a repro or status reads the same dvc.lock and dvc.yaml for every stage), and each
    caller gets its own copy (plain dicts and lists: cheap to copy)."""
    if text not in _READ_CACHE:
        if len(_READ_CACHE) >= 64:
            _READ_CACHE.clear()
        _READ_CACHE[text] = _parse_yaml(text, path, typ="safe")
    return _plain_copy(_READ_CACHE[text])


def _plain_copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _plain_copy(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain_copy(value) for value in node]
    return node


def _lock_stages(lock_text: str | bytes | None, path: str) -> dict:
    """``{stage name: entry}`` of a dvc.lock; schema '2.0', or the 1.x layout (stages at top)."""
    if lock_text is None:
        return {}
    data = read_yaml(lock_text, path)
    if "schema" in data:
        if str(data["schema"]) != "2.0":
            raise _bad(path, f"unsupported dvc.lock schema {data['schema']!r}")
        data = data.get("stages") or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise _bad(path, "'stages' must map stage names to mappings")
    return data


def pipeline_loads(yaml_text: str | bytes, lock_text: str | bytes | None, path: str,
                   definitions: dict | None = None) -> list[Stage]:
    """Parse a dvc.yaml (and its dvc.lock, if any); ``path`` is the dvc.yaml's absolute path.

    ``definitions``: the file's stages already resolved (``{name or name@key: definition}``,
    from the templating in pipeline/), used in place of the file's own. Without them templated
    stages (``foreach``/``matrix``) are taken from dvc.lock as recorded (``name@key``).
    Dependencies that are URLs or absolute paths are left out (nothing to compare locally).
    """
    lock_path = os.path.join(os.path.dirname(path), LOCK_FILE)
    resolved = definitions is not None
    stages_def = definitions if resolved else read_yaml(yaml_text, path).get("stages") or {}
    if not isinstance(stages_def, dict):
        raise _bad(path, "'stages' must be a mapping")
    locked = _lock_stages(lock_text, lock_path)
    result = []
    for name, definition in stages_def.items():
        if not isinstance(definition, dict):
            raise _bad(path, f"stage {name!r} must be a mapping")
        if "foreach" in definition or "matrix" in definition:
            for lock_name in (n for n in locked if str(n).startswith(f"{name}@")):
                result.append(_stage(path, lock_name, {}, locked[lock_name], lock_path))
            continue
        result.append(_stage(path, str(name), definition, locked.get(name), lock_path, resolved))
    return result


def declared(definition: dict, section: str) -> list[tuple[str, dict]]:
    """``(path, options)`` of a dvc.yaml list whose items are ``path`` or ``{path: {options}}``."""
    items = []
    for raw in definition.get(section) or []:
        if isinstance(raw, str):
            items.append((raw, {}))
        elif isinstance(raw, dict) and len(raw) == 1:
            (path, opts), = raw.items()
            items.append((str(path), opts if isinstance(opts, dict) else {}))
    return [(p, o) for p, o in items if "${" not in p]


def _stage(path: str, name: str, definition: dict, lock: dict | None, lock_path: str,
           resolved: bool = False) -> Stage:
    wdir = str(definition.get("wdir") or ".")
    where = f"{lock_path}:{name}"
    options = {posixpath.normpath(p): o for s in _OUT_SECTIONS for p, o in declared(definition, s)}
    outs = _stage_entries((lock or {}).get("outs"), list(options), wdir, where)
    for out in outs:
        opts = options.get(posixpath.relpath(out.path, wdir) if wdir != "." else out.path, {})
        out.cache, out.push = bool(opts.get("cache", True)), bool(opts.get("push", True))
        out.remote = str(opts["remote"]) if opts.get("remote") else None
    deps = _stage_entries((lock or {}).get("deps"), [p for p, _ in declared(definition, "deps")],
                          wdir, where)
    cmd = definition.get("cmd")
    # a templated cmd (``${...}``) is only comparable once resolved (a resolved one may hold a
    # literal, escaped ``${``)
    changed = lock is not None and cmd is not None and (resolved or "${" not in str(cmd)) \
        and _plain(cmd) != _plain(lock.get("cmd"))
    stage = Stage(path=path, outs=outs, deps=deps, data=lock or {}, name=name,
                  locked=lock is not None, command_changed=changed)
    stage.params = definition.get("params")  # as written; compared by ops/stage_status.py
    stage.params_wdir = os.path.normpath(os.path.join(os.path.dirname(path), wdir))
    return stage


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _stage_entries(locked: Any, declared: list[str], wdir: str, where: str) -> list[Output]:
    """Outputs for lock entries (with hashes), then declared paths the lock does not list."""
    if locked is not None and not isinstance(locked, list):
        raise _bad(where, "'outs' and 'deps' must be lists")
    entries: list[dict] = [dict(e) for e in locked or [] if isinstance(e, dict)]
    seen = {posixpath.normpath(str(e.get("path"))) for e in entries}
    entries += [{"path": p} for p in declared if posixpath.normpath(p) not in seen]
    result = []
    for index, entry in enumerate(entries):
        raw_path = entry.get("path")
        if not isinstance(raw_path, str) or "://" in raw_path or raw_path.startswith("/"):
            continue
        entry["path"] = posixpath.normpath(posixpath.join(wdir, raw_path))
        entry.pop("cache", None)
        result.append(_parse_out(entry, where, index))
    return result
