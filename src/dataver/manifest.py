"""Directory manifests (`.dir` objects): the model and its canonical bytes.

The bytes are ``json.dumps(entries, sort_keys=True)`` of ``[{"md5": ..., "relpath": ...}, ...]``
sorted by relpath in code-point order; the object id is md5(bytes) + ".dir". These bytes must be
identical to DVC's, since the oid is derived from them.
"""
from __future__ import annotations

import re
from functools import cached_property

from dataver.errors import CorruptObjectError
from dataver.hashing import md5_bytes
from dataver.paths import check_relpath, display

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Iterable, Mapping

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


class Manifest:
    """A directory's content: relpath (``/``-separated) -> md5 of the file. Treat as immutable.
    (Not a dataclass: importing dataclasses costs ~10 ms of start-up.)"""

    # Whether the oid given by with_oid() is the md5 of the canonical bytes of ``entries`` (as
    # for every object DVC 3 or dataver writes); read_manifest clears it for one that is not.
    canonical = True

    def __init__(self, entries: Mapping[str, str]):
        self.entries = entries

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Manifest) and self.entries == other.entries

    __hash__ = None  # mutable-looking mapping inside: unhashable, as the frozen dataclass was

    def __repr__(self) -> str:
        return f"Manifest({len(self.entries)} entries)"

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> "Manifest":
        return cls(dict(pairs))

    def to_bytes(self) -> bytes:
        """The canonical `.dir` object bytes (computed once; entries must not change after)."""
        return self._bytes

    @cached_property
    def _bytes(self) -> bytes:
        # Byte-identical to json.dumps([{"md5": ..., "relpath": ...}, ...], sort_keys=True), built
        # with the json module's own C string encoder at a third of the cost. (json is imported
        # where used: reading a manifest from the parsed index needs none of it.)
        from json.encoder import encode_basestring_ascii as _esc

        entries = self.entries
        body = ", ".join([f'{{"md5": {_esc(entries[rel])}, "relpath": {_esc(rel)}}}'
                          for rel in sorted(entries)])
        return f"[{body}]".encode("utf-8")

    @cached_property
    def oid(self) -> str:
        return md5_bytes(self.to_bytes()) + DIR_SUFFIX

    def with_oid(self, oid: str) -> "Manifest":
        """This manifest, with ``oid`` taken as its id instead of computing it (for a manifest
        read from an object already verified to be ``oid``)."""
        self.__dict__["oid"] = oid  # what cached_property would store
        return self

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> "Manifest":
        """Parse `.dir` object bytes from the cache or a remote; untrusted, so validated."""
        import json

        try:
            items = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptObjectError(f"not a directory manifest ({exc})", path=where) from None
        if not isinstance(items, list):
            raise CorruptObjectError("not a directory manifest (expected a list)", path=where)
        return cls.from_items(items, where)

    @classmethod
    def from_items(cls, items: list, where: str) -> "Manifest":
        """A manifest of untrusted ``[{"md5": ..., "relpath": ...}, ...]`` (a parsed `.dir`
        object, or the ``files:`` list of a `.dvc` output), validated as checkout needs."""
        entries = _fast_entries(items)
        if entries is None:
            entries = _checked_entries(items, where)
        _check_no_file_dir_clash(entries, where)
        return cls(entries)


# Whole-manifest checks over every relpath joined by NUL (NUL cannot occur inside a valid relpath,
# which the count check makes sure of), equivalent to check_relpath on each entry at C speed.
_DOT_PART = re.compile(r"(?:^|[/\x00])\.\.?(?:[/\x00]|$)")
_DRIVE_ANY = re.compile(r"(?:^|\x00)[A-Za-z]:")
_NOT_HEX = str.maketrans("", "", "0123456789abcdef")


def _fast_entries(items: list) -> dict[str, str] | None:
    """The entries if every item is a well-formed ``{"md5", "relpath"}`` of a file; None means
    "something is off", and the slow path says exactly what."""
    if not items:
        return {}
    try:
        rels = [item["relpath"] for item in items]
        md5s = [item["md5"] for item in items]
        joined = "\x00".join(rels)
        hexes = "".join(md5s)
    except (TypeError, KeyError):
        return None
    if set(map(len, md5s)) != {32} or hexes.translate(_NOT_HEX):  # also refuses .dir entries
        return None
    if "" in rels or joined.count("\x00") != len(rels) - 1 or not _joined_relpaths_ok(joined):
        return None
    entries = dict(zip(rels, md5s))
    return entries if len(entries) == len(rels) else None  # duplicates: the slow path says which


def _joined_relpaths_ok(joined: str) -> bool:
    # No absolute path, empty component, trailing slash, backslash, "." or ".." component, or
    # drive letter: what check_relpath refuses (the tests hold the two to the same answers).
    if joined.startswith("/") or joined.endswith("/") or "\\" in joined:
        return False
    if "\x00/" in joined or "/\x00" in joined or "//" in joined:
        return False
    if _DOT_PART.search(joined):
        return False
    return not (":" in joined and _DRIVE_ANY.search(joined))


def _checked_entries(items: list, where: str) -> dict[str, str]:
    """Entry by entry, raising on the first bad one (the precise message)."""
    entries: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not valid_oid(item.get("md5")):
            raise CorruptObjectError(f"bad manifest entry {display(repr(item))}", path=where)
        rel = check_relpath(item.get("relpath"), where)
        if is_dir_oid(item["md5"]):
            raise CorruptObjectError(f"nested directory entry {display(rel)!r}", path=where)
        if rel in entries:
            raise CorruptObjectError(f"duplicate entry {display(rel)!r}", path=where)
        entries[rel] = item["md5"]
    return entries


def _check_no_file_dir_clash(entries: Mapping[str, str], where: str) -> None:
    # "a" and "a/b" cannot both be files; a crafted manifest could otherwise make checkout
    # write through a path it has just created as a file.
    for rel in entries:
        if len(rel) > _LONG:
            return _check_clash_sorted(entries, where)
        parent = rel.rpartition("/")[0]
        while parent:
            if parent in entries:
                raise _clash(parent, where)
            parent = parent.rpartition("/")[0]


# Looking up every parent of a path costs its length times its depth: for a crafted relpath of a
# mebibyte (half a million folders) that is hours. Longer relpaths take the sorted way instead.
_LONG = 1024


def _check_clash_sorted(entries: Mapping[str, str], where: str) -> None:
    """The same check in time proportional to the manifest's size: the paths below ``a/`` sort
    together, so one bisection per entry finds whether any lies there."""
    from bisect import bisect_left

    ordered = sorted(entries)
    for rel in ordered:
        below = rel + "/"
        index = bisect_left(ordered, below)
        if index < len(ordered) and ordered[index].startswith(below):
            raise _clash(rel, where)


def _clash(rel: str, where: str) -> CorruptObjectError:
    return CorruptObjectError(f"{display(rel)!r} is both a file and a directory", path=where)
