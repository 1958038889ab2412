"""`cache migrate`: bring a DVC 2.x cache (and, with ``dvc_files``, the `.dvc` files) to 3.x.

As `dvc cache migrate` does: every object of the 2.x layout (``.dvc/cache/xx/rest``, named by
its md5-dos2unix hash) is re-hashed with plain md5 and added to the 3.x layout
(``.dvc/cache/files/md5/xx/rest``), hard-linked where the file system allows, else copied. The
2.x objects stay where they are (a 2.x checkout still finds them); a `.dir` object keeps its
name and bytes (its entries still name 2.x objects). The count is of objects newly added.

With ``dvc_files`` each 2.x output entry of each `.dvc` file (no ``hash:`` key) gets its 3.x
md5 and ``hash: md5`` (appended after its other keys, as DVC writes it); a directory gets a new
3.x manifest listing the 3.x ids of its files. DVC force-commits the workspace there; this takes
the ids from the migrated objects, which gives the same bytes when the workspace matches the
`.dvc` file and never records a change the user did not commit.

A stage whose `dvc.lock` entry has 2.x entries (a dependency or output without ``hash:``) is
committed with force, as `dvc cache migrate --dvc-files` does: its dependencies and outputs are
hashed in the workspace and recorded in 3.x form (see :mod:`dataver.pipeline.commit`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver import dvcfile
from dataver.errors import warn
from dataver.hashing import LEGACY, MD5, md5_file
from dataver.manifest import DIR_SUFFIX, Manifest, is_dir_oid


@dataclass
class Migration:
    """What a migration did (or, dry, would do)."""
    legacy: list[str] = field(default_factory=list)  # 2.x object ids found
    added: int = 0  # objects newly added to the 3.x layout
    mapping: dict[str, str] = field(default_factory=dict)  # 2.x id -> 3.x id
    dvcfiles: list[str] = field(default_factory=list)  # .dvc files updated (or to update)
    pipelines: list[str] = field(default_factory=list)  # dvc.yaml whose dvc.lock is (to be) updated


def migrate(repo, dry: bool = False, dvc_files: bool = False, events=None) -> Migration:
    """Migrate the 2.x objects of ``repo``'s cache, then (``dvc_files``) its `.dvc` files and
    the 2.x stages of its `dvc.lock` files (``events``: see :mod:`dataver.pipeline.run`)."""
    result = Migration()
    with repo.lock:
        odb = repo.odb
        result.legacy = [oid for oid, name in odb.iter_objects() if name == LEGACY]
        if not dry:
            for oid in result.legacy:
                _migrate_object(odb, oid, result)
        if dvc_files:
            for path in repo.iter_dvcfiles():
                if dvcfile.is_pipeline_file(path):
                    if _migrate_lock(repo, path, dry, events):
                        result.pipelines.append(path)
                elif _migrate_dvcfile(repo, path, result, dry):
                    result.dvcfiles.append(path)
    return result


def _migrate_lock(repo, path: str, dry: bool, events) -> bool:
    """Commit (with force) each stage of the dvc.yaml at ``path`` whose dvc.lock entry has 2.x
    entries; whether there was (or, dry, is) one."""
    lock_path = os.path.join(os.path.dirname(path), dvcfile.LOCK_FILE)
    if not os.path.isfile(lock_path):
        return False
    with open(lock_path, "rb") as fobj:
        stages = dvcfile.read_yaml(fobj.read(), lock_path).get("stages") or {}
    legacy = [name for name, entry in stages.items() if _has_legacy(entry)]
    if legacy and not dry:
        from dataver.pipeline.commit import commit

        commit(repo, [f"{path}:{name}" for name in legacy], force=True, events=events)
    return bool(legacy)


def _has_legacy(entry) -> bool:
    """Whether a dvc.lock stage entry has a dependency or output hashed by DVC 2.x."""
    if not isinstance(entry, dict):
        return False
    return any(isinstance(e, dict) and e.get("md5") and "hash" not in e
               for key in ("deps", "outs") for e in entry.get(key) or [])


def _migrate_object(odb, oid: str, result: Migration) -> None:
    src = odb.path(oid, LEGACY)
    new = md5_file(src, MD5) + (DIR_SUFFIX if is_dir_oid(oid) else "")
    result.mapping[oid] = new
    if odb.exists(new):
        return
    odb.add_file(src, new, MD5, link=_hardlink_or_copy)
    result.added += 1


def _hardlink_or_copy(src: str, dst: str) -> None:
    from dataver import linking

    try:
        linking.hardlink(src, dst)
    except OSError:
        linking.copy(src, dst)


def _migrate_dvcfile(repo, path: str, result: Migration, dry: bool) -> bool:
    """Give each 2.x entry of one `.dvc` file its 3.x id; whether any entry was (or, dry, would
    be) changed."""
    loaded = dvcfile.load(path)
    legacy = [(out, entry) for out, entry in zip(loaded.outs, loaded.data.get("outs") or [])
              if out.hash_name == LEGACY and out.md5]
    if dry or not legacy:
        return bool(legacy)
    changed = False
    for out, entry in legacy:
        new = _new_oid(repo, out.md5, result)
        if new is None:
            warn("its 2.x object is not in the cache, so the entry stays as it is",
                 path=os.path.relpath(path), hint="fetch it first (`dataver fetch`)")
            continue
        dvcfile.update_out_map(entry, new, entry.get("size"), entry.get("nfiles"),
                               bool(entry.get("isexec")))
        changed = True
    if changed:
        dvcfile.save(path, loaded.data)
    return changed


def _new_oid(repo, oid: str, result: Migration) -> str | None:
    """The 3.x id of the 2.x object ``oid`` (a directory: its new manifest, stored), or None."""
    if not is_dir_oid(oid):
        return result.mapping.get(oid) or _hash_legacy(repo.odb, oid, result)
    odb = repo.odb
    if not odb.exists(oid, LEGACY):
        return None
    entries = {}
    for rel, file_oid in odb.read_manifest(oid, LEGACY).entries.items():
        new = result.mapping.get(file_oid) or _hash_legacy(odb, file_oid, result)
        if new is None:
            return None
        entries[rel] = new
    return odb.add_manifest(Manifest(entries))


def _hash_legacy(odb, oid: str, result: Migration) -> str | None:
    """Migrate one 2.x object that the object pass did not see (nothing to do when absent)."""
    if not odb.exists(oid, LEGACY):
        return None
    _migrate_object(odb, oid, result)
    return result.mapping[oid]
