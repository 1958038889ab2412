"""Directory manifests (`.dir` objects): the model and its canonical bytes.

The bytes are ``json.dumps(entries, sort_keys=True)`` of ``[{"md5": ..., "relpath": ...}, ...]``
sorted by relpath in code-point order; the object id is md5(bytes) + ".dir". These bytes must be
identical to DVC's, since the oid is derived from them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from dataver.errors import CorruptObjectError
from dataver.hashing import md5_bytes
from dataver.paths import check_relpath

DIR_SUFFIX = ".dir"
_OID = re.compile(r"^[0-9a-f]{32}$")


def is_dir_oid(oid: str) -> bool:
    """Whether ``oid`` names a directory manifest."""
    return oid.endswith(DIR_SUFFIX)


def valid_oid(oid: object) -> bool:
    """Whether ``oid`` is a well-formed md5 object id (optionally with ``.dir``)."""
    if not isinstance(oid, str):
        return False
    return _OID.match(oid[: -len(DIR_SUFFIX)] if oid.endswith(DIR_SUFFIX) else oid) is not None


@dataclass(frozen=True)
class Manifest:
    """A directory's content: relpath (``/``-separated) -> md5 of the file."""

    entries: Mapping[str, str]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> "Manifest":
        return cls(dict(pairs))

    def to_bytes(self) -> bytes:
        """The canonical `.dir` object bytes."""
        items = [{"md5": self.entries[rel], "relpath": rel} for rel in sorted(self.entries)]
        return json.dumps(items, sort_keys=True).encode("utf-8")

    @property
    def oid(self) -> str:
        return md5_bytes(self.to_bytes()) + DIR_SUFFIX

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> "Manifest":
        """Parse `.dir` object bytes from the cache or a remote; untrusted, so validated."""
        try:
            items = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptObjectError(f"not a directory manifest ({exc})", path=where) from None
        if not isinstance(items, list):
            raise CorruptObjectError("not a directory manifest (expected a list)", path=where)
        entries: dict[str, str] = {}
        for item in items:
            if not isinstance(item, dict) or not valid_oid(item.get("md5")):
                raise CorruptObjectError(f"bad manifest entry {item!r}", path=where)
            rel = check_relpath(item.get("relpath"), where)
            if is_dir_oid(item["md5"]):
                raise CorruptObjectError(f"nested directory entry {rel!r}", path=where)
            if rel in entries:
                raise CorruptObjectError(f"duplicate entry {rel!r}", path=where)
            entries[rel] = item["md5"]
        _check_no_file_dir_clash(entries, where)
        return cls(entries)


def _check_no_file_dir_clash(entries: Mapping[str, str], where: str) -> None:
    # "a" and "a/b" cannot both be files; a crafted manifest could otherwise make checkout
    # write through a path it has just created as a file.
    for rel in entries:
        parent = rel.rpartition("/")[0]
        while parent:
            if parent in entries:
                raise CorruptObjectError(f"{parent!r} is both a file and a directory", path=where)
            parent = parent.rpartition("/")[0]
