"""What is known about the files of one tracked directory: relpath -> (inode, mtime_ns, size)
and the oid the file had with that stat.

Kept column-wise (relpaths, a flat list of stat numbers, oids) because a fresh process loads
and writes it on every `status` or `add` after a change: three flat lists go through marshal
several times faster than 20,000 small tuples, and they make far fewer objects to allocate.
"""
from __future__ import annotations

from itertools import chain

_VERSION = 2


class DirFacts:
    """Facts about the files of one directory (see the module docstring)."""

    __slots__ = ("rels", "stats", "oids", "_index")

    def __init__(self, rels: list[str], stats: list[int], oids: list[str]):
        self.rels = rels
        self.stats = stats  # inode, mtime_ns, size of rels[i] at stats[3i:3i+3]
        self.oids = oids
        self._index: dict[str, int] | None = None

    @classmethod
    def of_files(cls, files, oids: dict[str, str]) -> DirFacts:
        """The facts of scanned ``files`` (FileEntry) whose oids are ``oids`` (by relpath)."""
        rels = [e.relpath for e in files]
        return cls(rels, list(chain.from_iterable([e.stat for e in files])), [oids[r] for r in rels])

    def __len__(self) -> int:
        return len(self.rels)

    def known(self, files) -> tuple[dict[str, str], list]:
        """``(relpath -> oid, files not known)``: the oids of ``files`` whose stat is the one
        recorded here, and the files that need reading."""
        index = self._lookup()
        numbers = iter(self.stats)
        stats = list(zip(numbers, numbers, numbers))  # (inode, mtime_ns, size) by index
        oids = self.oids
        result: dict[str, str] = {}
        todo = []
        for entry in files:
            i = index.get(entry.relpath)
            if i is not None and stats[i] == entry.stat:
                result[entry.relpath] = oids[i]
            else:
                todo.append(entry)
        return result, todo

    def merged(self, updates: dict[str, tuple[tuple, str]]) -> DirFacts:
        """These facts with ``updates`` (relpath -> ((inode, mtime_ns, size), oid)) applied."""
        table = self.as_dict()
        table.update(updates)
        rels = list(table)
        return DirFacts(rels, list(chain.from_iterable(table[r][0] for r in rels)),
                        [table[r][1] for r in rels])

    def as_dict(self) -> dict[str, tuple[tuple, str]]:
        """relpath -> ((inode, mtime_ns, size), oid)."""
        s = self.stats
        return {rel: ((s[3 * i], s[3 * i + 1], s[3 * i + 2]), self.oids[i])
                for i, rel in enumerate(self.rels)}

    def _lookup(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self.rels, range(len(self.rels))))
        return self._index

    def stored(self, key: str, hash_name: str) -> tuple:
        """The stored form (marshal-able), naming the directory ``key`` and ``hash_name``."""
        return (_VERSION, key, hash_name, self.rels, self.stats, self.oids)

    @classmethod
    def from_stored(cls, stored: object, key: str, hash_name: str) -> DirFacts | None:
        """Facts from :meth:`stored` for ``key`` and ``hash_name``; None if ``stored`` is
        anything else (unreadable, another directory, an older format)."""
        try:
            version, stored_key, stored_hash, rels, stats, oids = stored
        except (ValueError, TypeError):
            return None
        if (version, stored_key, stored_hash) != (_VERSION, key, hash_name):
            return None
        if not (isinstance(rels, list) and isinstance(stats, list) and isinstance(oids, list)
                and len(stats) == 3 * len(rels) and len(oids) == len(rels)):
            return None
        return cls(rels, stats, oids)

