"""A local, parsed copy of each directory manifest that has been read, so that reading a
20,000-entry `.dir` object again costs a marshal load instead of JSON parsing and validation.

Manifests are content-addressed and immutable, so an entry keyed by object id never goes stale.
Entries are written only after the `.dir` object was verified, validated and found in the
canonical layout (so equal entries mean an equal oid), under the repo's
``.dvc/tmp`` (machine-local state, like the state db, never shared through git or a remote).
Anything unreadable is ignored and rebuilt from the object itself.
"""
from __future__ import annotations

import os

from dataver.atomic import load_marshal, save_marshal
from dataver.manifest import Manifest

_VERSION = 3  # 2: only manifests whose object is in the canonical layout; 3: its size


class ManifestIndex:
    """Parsed manifests by (hash name, object id), one small file each under ``root``."""

    def __init__(self, root: str):
        self.root = root

    def _path(self, oid: str, hash_name: str) -> str:
        return os.path.join(self.root, f"{hash_name}-{oid}")

    def load(self, oid: str, hash_name: str, size: int) -> Manifest | None:
        """The manifest stored for ``oid``, or None when there is none (or it is unreadable).
        ``size`` is the object's size in the cache now: an object that changed size since (a
        damaged one) is not answered for, so reading it reports the damage."""
        try:
            version, stored_oid, stored_size, rels, md5s = load_marshal(self._path(oid, hash_name))
            if (version, stored_oid, stored_size) != (_VERSION, oid, size) or len(rels) != len(md5s):
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

    def store(self, oid: str, hash_name: str, manifest: Manifest, size: int) -> None:
        """Remember ``manifest`` (already verified and validated) as ``oid``, whose object is
        ``size`` bytes; best effort."""
        entries = manifest.entries
        save_marshal(self._path(oid, hash_name),
                     (_VERSION, oid, size, tuple(entries), tuple(entries.values())))
