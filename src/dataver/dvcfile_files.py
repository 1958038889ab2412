"""The ``files:`` list and ``cloud:`` map of a `.dvc` output, as DVC 3 writes them for
cloud-versioned remotes (``version_aware`` / ``worktree``).

Once a directory output is pushed to such a remote, DVC drops its ``md5``/``size``/``nfiles``
and lists each file instead::

    outs:
    - hash: md5
      path: data
      files:
      - relpath: a.jpg
        md5: 60b725f10c9c85c70d97880dfe8191b3
        size: 2
        cloud:
          myremote:
            etag: 60b725f10c9c85c70d97880dfe8191b3
            version_id: 9a25a506-fc92-4236-a569-ec55ba910eff

A single file keeps its ``md5`` and gains the same ``cloud:`` map. The directory's ``.dir``
manifest is not stored anywhere then: it is rebuilt from the list (its id is what DVC would
compute for the same files), so the rest of dataver sees an ordinary directory output.
"""
from __future__ import annotations

from dataver.errors import CorruptObjectError
from dataver.manifest import Manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def files_manifest(files: Any, where: str) -> tuple[Manifest, int | None]:
    """The manifest of a ``files:`` list and the sum of its sizes (None if one is missing).
    The list is untrusted: a bad entry raises CorruptObjectError naming it."""
    if not isinstance(files, list):
        raise CorruptObjectError("'files' must be a list", path=where)
    total: int | None = 0
    for item in files:
        if not isinstance(item, dict):
            raise CorruptObjectError(f"'files' entry must be a mapping, not {type(item).__name__}",
                                     path=where)
        size = item.get("size")
        if size is None:
            total = None
        elif not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise CorruptObjectError(f"size of {item.get('relpath')!r} in 'files' must be a "
                                     f"non-negative integer, not {size!r}", path=where)
        elif total is not None:
            total += size
    return Manifest.from_items(files, where), total


def cloud_version(entry: Any, remote: str) -> tuple[str, str] | None:
    """``(version_id, etag)`` recorded in ``entry`` (an output or a ``files:`` item) for
    ``remote``, or None when it was never pushed there. An entry with no record for ``remote``
    but a ``version_id`` of its own (what `dvc update` of a worktree output writes) has that
    version, as DVC reads it."""
    if not hasattr(entry, "get"):
        return None
    cloud = entry.get("cloud")
    info = cloud.get(remote) if hasattr(cloud, "get") else None
    if info is None:
        info = entry
    version = info.get("version_id") if hasattr(info, "get") else None
    if not isinstance(version, str) or not version:
        return None
    etag = info.get("etag")
    return version, etag if isinstance(etag, str) else ""


def set_cloud(entry: Any, remote: str, version_id: str, etag: str) -> None:
    """Record in ``entry`` that its content is ``version_id`` on ``remote`` (other remotes'
    records stay). A new ``cloud`` key goes at the end, where DVC's merge puts it."""
    from ruamel.yaml.comments import CommentedMap

    cloud = entry.get("cloud")
    if not isinstance(cloud, dict):
        cloud = entry["cloud"] = CommentedMap()
    info = CommentedMap()
    info["etag"] = etag
    info["version_id"] = version_id
    cloud[remote] = info


def files_list(manifest: Manifest, sizes: dict[str, int], previous: Any = None) -> list:
    """A ``files:`` list for ``manifest`` (sorted by relpath, as DVC writes it); entries whose
    content is unchanged since ``previous`` (the old list) keep their ``cloud`` records."""
    from ruamel.yaml.comments import CommentedMap

    old = {item.get("relpath"): item for item in previous or [] if isinstance(item, dict)}
    result = []
    for rel in sorted(manifest.entries):
        md5 = manifest.entries[rel]
        item = CommentedMap()
        item["relpath"] = rel
        item["md5"] = md5
        item["size"] = sizes[rel]
        before = old.get(rel)
        if before is not None and before.get("md5") == md5 and isinstance(before.get("cloud"), dict):
            item["cloud"] = before["cloud"]
        result.append(item)
    return result


def to_files(entry: Any, manifest: Manifest, sizes: dict[str, int]) -> None:
    """Turn a directory output ``entry`` into the ``files:`` form (in place): ``md5``, ``size``
    and ``nfiles`` go, ``files`` comes last, as `dvc push` to a versioned remote leaves it."""
    previous = entry.get("files")
    for key in ("md5", "size", "nfiles"):
        if key in entry:
            del entry[key]
    entry["files"] = files_list(manifest, sizes, previous)


def drop_stale_cloud(entry: Any, md5: str) -> None:
    """Forget a single file's ``cloud`` records when its content changed (they name versions
    of the old content), as `dvc add`/`commit` do."""
    if entry.get("md5") != md5 and "cloud" in entry:
        del entry["cloud"]


def out_manifest(odb, out, where: str) -> Manifest:
    """The manifest of directory output ``out``: from the cache, else from its ``files:`` list
    (a checkout needs no `.dir` object for such an output, as in DVC)."""
    try:
        return odb.read_manifest(out.md5, out.hash_name)
    except FileNotFoundError:
        if out.files is None:
            raise
        return files_manifest(out.files, where)[0]
