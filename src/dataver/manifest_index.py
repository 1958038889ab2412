"""A local, parsed copy of each directory manifest that has been read, so that reading a
20,000-entry `.dir` object again costs a marshal load instead of JSON parsing and validation.

Manifests are content-addressed and immutable, so an entry keyed by object id never goes stale.
Entries are written only after the `.dir` object was verified, validated and found in the
canonical layout (so equal entries mean an equal oid), under the repo's
``.dvc/tmp`` (machine-local state, like the state db, never shared through git or a remote).
Each entry holds the object's stat (inode, mtime, size) when it was verified, and answers only
while the object still has that stat: a `.dir` object changed in place (even to the same size)
is read, and found corrupt, again. Anything unreadable is ignored and rebuilt from the object.
"""
from __future__ import annotations

import os

from dataver.atomic import load_marshal, save_marshal
from dataver.manifest import Manifest

_VERSION = 4  # 2: only canonical manifests; 3: the object's size; 4: its (inode, mtime_ns, size)


class ManifestIndex:
    """Parsed manifests by (hash name, object id), one small file each under ``root``."""

    def __init__(self, root: str):
        self.root = root

    def _path(self, oid: str, hash_name: str) -> str:
        return os.path.join(self.root, f"{hash_name}-{oid}")

    def load(self, oid: str, hash_name: str, stat: tuple[int, int, int]) -> Manifest | None:
        """The manifest stored for ``oid``, or None when there is none (or it is unreadable).
        ``stat`` is the object's (inode, mtime_ns, size) in the cache now: an object whose stat
        changed since it was verified is not answered for, so reading it reports any damage."""
        try:
            version, stored_oid, stored_stat, rels, md5s = load_marshal(self._path(oid, hash_name))
            if (version, stored_oid, stored_stat) != (_VERSION, oid, tuple(stat)) \
                    or len(rels) != len(md5s):
                return None
        except (ValueError, TypeError):  # none, unreadable, or not of this shape
            return None
        return Manifest(dict(zip(rels, md5s)))

    def forget(self, oid: str, hash_name: str) -> None:
        """Drop what is stored for ``oid`` (its object left the cache)."""
        try:
            os.unlink(self._path(oid, hash_name))
        except FileNotFoundError:
            pass

    def store(self, oid: str, hash_name: str, manifest: Manifest, stat: tuple[int, int, int]) -> None:
        """Remember ``manifest`` (already verified and validated) as ``oid``, whose object has
        the (inode, mtime_ns, size) ``stat``; best effort."""
        entries = manifest.entries
        save_marshal(self._path(oid, hash_name),
                     (_VERSION, oid, tuple(stat), tuple(entries), tuple(entries.values())))
