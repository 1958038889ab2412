"""State database: remembers the hash of a file by (inode, mtime_ns, size) so unchanged files are
never re-read. Lives in ``.dvc/tmp/dataver/state.db`` (sqlite, WAL)."""
from __future__ import annotations

import os
from collections import namedtuple

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
CREATE TABLE IF NOT EXISTS stamps (
    key TEXT PRIMARY KEY,
    stamp TEXT NOT NULL,
    oid TEXT NOT NULL
) WITHOUT ROWID;
"""


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

    def get_prefix(self, prefix: str, hash_name: str = "md5") -> dict[str, tuple[Stat, str]]:
        """Every entry at or under ``prefix`` (a directory), in one query."""
        lo, hi = prefix + "/", prefix + "0"  # '0' is the code point after '/'
        rows = self._db().execute(
            "SELECT path, inode, mtime_ns, size, oid FROM state "
            "WHERE hash_name=? AND path>=? AND path<?",
            (hash_name, lo, hi),
        )
        # Plain tuples compare equal to Stat and are much cheaper to build for 100,000 rows.
        found = {path: ((ino, mtime, size), oid) for path, ino, mtime, size, oid in rows}
        for (path, name), value in self._pending.items():
            if name == hash_name and path.startswith(lo):
                found[path] = value
        return found

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
            found = self._db().execute("SELECT stamp, oid FROM stamps WHERE key=?",
                                       (key,)).fetchone()
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
        rows = self._db().execute("SELECT key, oid FROM stamps WHERE key >= ? AND key < ? "
                                  "AND stamp = ?", (prefix, prefix + "\uffff", old)).fetchall()
        for key, oid in rows:
            self._pending_stamps.setdefault(key, (new, oid))

    def flush(self) -> None:
        """Write pending entries in one transaction."""
        if not self._pending and not self._pending_stamps:
            return
        rows = [(p, h, s.inode, s.mtime_ns, s.size, oid) for (p, h), (s, oid) in self._pending.items()]
        db = self._db()
        with db:
            db.executemany("INSERT OR REPLACE INTO state VALUES (?,?,?,?,?,?)", rows)
            db.executemany("INSERT OR REPLACE INTO stamps VALUES (?,?,?)",
                           [(k, st, oid) for k, (st, oid) in self._pending_stamps.items()])
        self._pending.clear()
        self._pending_stamps.clear()

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
