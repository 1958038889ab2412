"""State database: remembers the hash of a file by (inode, mtime_ns, size) so unchanged files are
never re-read. Lives in ``.dvc/tmp/dataver/state.db`` (sqlite, WAL).

The files of a tracked directory are remembered together (:mod:`dataver.dirfacts`), one marshal
file per directory under ``.dvc/tmp/dataver/dirs/``: loading 20,000 entries that way costs a
tenth of selecting them as rows, and a directory is always scanned (and looked up) as a whole. Stamps (see
:meth:`State.get_stamp`) are one small marshal file, ``stamps.marshal``: a no-op `status` or
`add` then never opens sqlite at all.

Everything here is a cache of facts that stay true ("a file with this stat has this oid"), so
concurrent writers can at worst lose each other's additions, which costs re-hashing later.
"""
from __future__ import annotations

import os
from collections import namedtuple

from dataver.atomic import load_marshal, save_marshal
from dataver.dirfacts import DirFacts

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import sqlite3
    from typing import Iterable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    path TEXT NOT NULL,
    hash_name TEXT NOT NULL,
    inode INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    oid TEXT NOT NULL,
    PRIMARY KEY (path, hash_name)
) WITHOUT ROWID;
"""


_STAMPS_VERSION = 1


class Stat(namedtuple("Stat", "inode mtime_ns size")):
    """The parts of os.stat that say a file has not changed: inode, mtime_ns, size."""

    __slots__ = ()

    @classmethod
    def of(cls, st: os.stat_result) -> "Stat":
        return cls(st.st_ino, st.st_mtime_ns, st.st_size)


class State:
    """Path -> (stat, oid) cache. Paths are repo-relative with ``/`` separators."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self._conn: sqlite3.Connection | None = None
        self._pending: dict[tuple[str, str], tuple[Stat, str]] = {}
        self._pending_stamps: dict[str, tuple[str, str]] = {}
        self._stamps_file = os.path.join(os.path.dirname(db_path), "stamps.marshal")
        self._stored_stamps: dict[str, tuple[str, str]] | None = None
        self._dirs: dict[tuple[str, str], DirFacts] = {}  # loaded, by (directory key, hash)
        self._dirty_dirs: set[tuple[str, str]] = set()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            import sqlite3  # lazy: reading history never opens the state db (start-up time)

            os.makedirs(os.path.dirname(self.db_path), exist_ok=True)
            try:
                conn = sqlite3.connect(self.db_path, timeout=30)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
            except sqlite3.DatabaseError:
                # A corrupt state db only costs re-hashing: start it afresh.
                for suffix in ("", "-wal", "-shm"):
                    _unlink(self.db_path + suffix)
                conn = sqlite3.connect(self.db_path, timeout=30)
                conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def get(self, path: str, st: Stat, hash_name: str = "md5") -> str | None:
        """The remembered oid of ``path`` if its stat still matches, else None."""
        pending = self._pending.get((path, hash_name))
        if pending is not None:
            return pending[1] if pending[0] == st else None
        row = self._db().execute(
            "SELECT inode, mtime_ns, size, oid FROM state WHERE path=? AND hash_name=?",
            (path, hash_name),
        ).fetchone()
        if row and Stat(row[0], row[1], row[2]) == st:
            return row[3]
        return None

    def get_dir(self, dir_key: str, hash_name: str = "md5") -> DirFacts:
        """What is known about the files of the directory ``dir_key`` (empty if nothing)."""
        key = (dir_key, hash_name)
        facts = self._dirs.get(key)
        if facts is None:
            facts = self._dirs[key] = self._load_dir(dir_key, hash_name)
        return facts

    def set_dir(self, dir_key: str, facts: DirFacts, hash_name: str = "md5") -> None:
        """Replace what is known about the files of ``dir_key`` (written on flush)."""
        self._dirs[(dir_key, hash_name)] = facts
        self._dirty_dirs.add((dir_key, hash_name))

    def update_dir(self, dir_key: str, updates: dict[str, tuple[tuple, str]],
                   hash_name: str = "md5") -> None:
        """Add to what is known about the files of ``dir_key``: relpath -> ((inode, mtime_ns,
        size), oid) (written on flush)."""
        if updates:
            self.set_dir(dir_key, self.get_dir(dir_key, hash_name).merged(updates), hash_name)

    def _dir_file(self, dir_key: str, hash_name: str) -> str:
        from dataver.hashing import fingerprint

        name = fingerprint(f"{hash_name}:{dir_key}".encode("utf-8", "surrogateescape"))
        return os.path.join(os.path.dirname(self.db_path), "dirs", name)

    def _load_dir(self, dir_key: str, hash_name: str) -> DirFacts:
        stored = load_marshal(self._dir_file(dir_key, hash_name))
        facts = DirFacts.from_stored(stored, dir_key, hash_name)
        return facts if facts is not None else DirFacts([], [], [])  # none yet: a cache miss

    def _write_dirs(self) -> None:
        for dir_key, hash_name in sorted(self._dirty_dirs):
            facts = self._dirs[(dir_key, hash_name)]
            save_marshal(self._dir_file(dir_key, hash_name), facts.stored(dir_key, hash_name))
        self._dirty_dirs.clear()

    def set(self, path: str, st: Stat, oid: str, hash_name: str = "md5") -> None:
        """Remember ``oid`` for ``path`` (written on flush)."""
        self._pending[(path, hash_name)] = (st, oid)

    def set_many(self, items: Iterable[tuple[str, Stat, str]], hash_name: str = "md5") -> None:
        for path, st, oid in items:
            self._pending[(path, hash_name)] = (st, oid)

    def get_stamp(self, key: str, stamp: str) -> str | None:
        """The oid remembered under ``key`` if it was recorded with this same ``stamp`` (a digest
        of everything the oid depends on, e.g. the stats of every file of a directory)."""
        found = self._pending_stamps.get(key)
        if found is None:
            found = self._stamps().get(key)
        return found[1] if found is not None and found[0] == stamp else None

    def set_stamp(self, key: str, stamp: str, oid: str) -> None:
        """Remember ``oid`` under ``key`` for as long as ``stamp`` stays the same."""
        self._pending_stamps[key] = (stamp, oid)

    def carry_stamps(self, prefix: str, old: str, new: str) -> None:
        """Re-stamp with ``new`` every stamp under ``prefix`` recorded as ``old`` or set since the
        last flush: for facts that the change from ``old`` to ``new`` kept true."""
        for key, (stamp, oid) in list(self._pending_stamps.items()):
            if key.startswith(prefix):
                self._pending_stamps[key] = (new, oid)
        for key, (stamp, oid) in self._stamps().items():
            if key.startswith(prefix) and stamp == old:
                self._pending_stamps.setdefault(key, (new, oid))

    def _stamps(self) -> dict[str, tuple[str, str]]:
        if self._stored_stamps is None:
            self._stored_stamps = self._read_stamps()
        return self._stored_stamps

    def _read_stamps(self) -> dict[str, tuple[str, str]]:
        stored = load_marshal(self._stamps_file)  # none yet, or unreadable: all misses
        if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == _STAMPS_VERSION \
                and isinstance(stored[1], dict):
            return stored[1]
        return {}

    def _write_stamps(self) -> None:
        # Merged into what is on disk now, so another process's stamps written meanwhile stay.
        stamps = self._read_stamps()
        stamps.update(self._pending_stamps)
        save_marshal(self._stamps_file, (_STAMPS_VERSION, stamps))
        self._stored_stamps = stamps
        self._pending_stamps.clear()

    def flush(self) -> None:
        """Write pending entries: file rows in one transaction, then directory facts, then
        stamps (last: a stamp vouches for an oid the facts before it were used to compute)."""
        if self._pending:
            rows = [(p, h, s.inode, s.mtime_ns, s.size, oid)
                    for (p, h), (s, oid) in self._pending.items()]
            db = self._db()
            with db:
                db.executemany("INSERT OR REPLACE INTO state VALUES (?,?,?,?,?,?)", rows)
            self._pending.clear()
        if self._dirty_dirs:
            self._write_dirs()
        if self._pending_stamps:
            self._write_stamps()

    def close(self) -> None:
        self.flush()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
