"""Remote index: which object keys a remote is known to hold, so a no-op push or `status -c`
of thousands of files needs no per-object request.

One sqlite file per remote URL in ``.dvc/tmp/dataver/remote-index/``. Entries are added after a
successful upload, a successful download, or an existence check; a full listing replaces the
whole set. Staleness is guarded by the callers: the top-level objects of what is being synced
(`.dir` manifests and single files) are always checked against the remote, and a disagreement
clears the index (see ``dataver.transfer.remote_has``). Deleting an object (gc -c) removes it here.

A `.dir` key is also recorded as *complete* once the remote was seen to hold it and every file it
lists; a later push of that directory needs neither its manifest nor per-file lookups. Any
removal or relisting forgets every completeness mark.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from typing import Iterable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS complete (key TEXT PRIMARY KEY) WITHOUT ROWID;
"""


class RemoteIndex:
    """The set of keys known to exist on one remote."""

    def __init__(self, tmp_dir: str, url: str):
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
        self.path = os.path.join(tmp_dir, "dataver", "remote-index", digest + ".db")
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError:
                # A broken index only costs a listing: start afresh.
                for suffix in ("", "-wal", "-shm"):
                    try:
                        os.unlink(self.path + suffix)
                    except FileNotFoundError:
                        pass
                self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    def contains(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` recorded as present."""
        keys = list(keys)
        if not keys:
            return set()
        db = self._db()
        db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (key TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute("DELETE FROM wanted")
        db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((k,) for k in keys))
        rows = db.execute("SELECT w.key FROM wanted w JOIN objects o ON o.key = w.key").fetchall()
        db.execute("DELETE FROM wanted")
        return {row[0] for row in rows}

    def add(self, keys: Iterable[str]) -> None:
        with self._db() as db:
            db.executemany("INSERT OR IGNORE INTO objects VALUES (?)", ((k,) for k in keys))

    def discard(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not keys:
            return
        with self._db() as db:
            db.executemany("DELETE FROM objects WHERE key = ?", ((k,) for k in keys))
            db.execute("DELETE FROM complete")

    def complete(self, dir_keys: Iterable[str]) -> set[str]:
        """The subset of ``dir_keys`` recorded as complete (manifest and all its files)."""
        db = self._db()
        return {k for k in dir_keys
                if db.execute("SELECT 1 FROM complete WHERE key = ?", (k,)).fetchone()}

    def mark_complete(self, dir_keys: Iterable[str]) -> None:
        with self._db() as db:
            db.executemany("INSERT OR IGNORE INTO complete VALUES (?)", ((k,) for k in dir_keys))

    def replace(self, keys: Iterable[str], prefix: str = "") -> None:
        """Make the index's keys under ``prefix`` exactly ``keys`` (after a full listing)."""
        with self._db() as db:
            db.execute("DELETE FROM objects WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
            db.execute("DELETE FROM complete")
            db.executemany("INSERT OR IGNORE INTO objects VALUES (?)", ((k,) for k in keys))

    def clear(self) -> None:
        with self._db() as db:
            db.execute("DELETE FROM objects")
            db.execute("DELETE FROM complete")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
