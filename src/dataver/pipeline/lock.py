"""`dvc.lock` writing, byte-identical to DVC 3.x: schema '2.0'; per stage ``cmd``, ``deps``,
``params``, ``outs`` (deps and outs sorted by path as written; each ``path``, ``hash: md5``,
``md5``, ``size``, then ``nfiles`` for a directory or ``isexec`` for an executable file; params
by file, params.yaml first, keys sorted, values as loaded). An existing dvc.lock is edited
round-trip (comments kept, other stages untouched, an updated stage keeps its place)."""
from __future__ import annotations

import os

from dataver import dvcfile
from dataver.pipeline.stage import DEFAULT_PARAMS


def hash_entry(path: str, oid: str, size: int, nfiles: int | None, isexec: bool) -> dict:
    entry = {"path": path, "hash": "md5", "md5": oid, "size": size}
    if nfiles is not None:
        entry["nfiles"] = nfiles
    elif isexec:
        entry["isexec"] = True
    return entry


def stage_entry(cmd, deps: list[dict], params: dict, outs: list[dict]) -> dict:
    entry: dict = {"cmd": list(cmd) if isinstance(cmd, list) else cmd}
    if deps:
        entry["deps"] = sorted(deps, key=lambda d: d["path"])
    ordered = {}
    for file in sorted(params, key=lambda f: (f != DEFAULT_PARAMS, f)):
        values = params[file]
        ordered[file] = {key: values[key] for key in sorted(values)}
    if ordered:
        entry["params"] = ordered
    if outs:
        entry["outs"] = sorted(outs, key=lambda o: o["path"])
    return entry


def read(lock_path: str) -> dict:
    """``{stage name: entry}`` of a dvc.lock (empty if there is none)."""
    if not os.path.exists(lock_path):
        return {}
    with open(lock_path, "rb") as fobj:
        return dict(dvcfile._lock_stages(fobj.read(), lock_path))


def write(lock_path: str, name: str, entry: dict) -> bool:
    """Record ``entry`` for stage ``name``; returns whether the file changed."""
    data = {}
    before = None
    if os.path.exists(lock_path):
        with open(lock_path, "rb") as fobj:
            before = fobj.read()
        data = dvcfile._parse_yaml(before, lock_path)
    if not data:
        data["schema"] = "2.0"
    if data.get("stages") is None:
        data["stages"] = {}
    data["stages"][name] = entry
    text = dvcfile.dumps(data)
    if before is not None and text.encode("utf-8") == before:
        return False
    dvcfile.save(lock_path, data)
    return True
