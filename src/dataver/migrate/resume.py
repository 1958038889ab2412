"""The migration's memory, ``.dvc/tmp/dataver/migrate.db`` (sqlite, WAL):

- ``objects``: source object (kind, id) -> md5 and size of its content, and how the md5 is
  known (``read``: the content was hashed and checked against its pointer/key; ``key``: taken
  from an annex MD5 key). A run killed at any point resumes from it; `--rewrite` and
  `migrate verify` reuse it instead of reading objects again.
- ``pending``: the forward migration begun on a commit and not yet committed (its plan), so a
  run killed while writing the workspace can finish the job rather than call the tree dirty.
- ``commits``: forward migrations done (old commit -> new commit), for `migrate verify`.

A row is written only after the object it describes is in the cache.
"""
from __future__ import annotations

import json
import os
import time

DB_NAME = "migrate.db"
MAP_NAME = "migrate-map.txt"  # the rewrite's old -> new commit map (rewrite.py writes it)
_COMMIT_EVERY = 0.25  # seconds between commits of new rows: a kill loses at most this much work
_BATCH = 1000  # rows per transaction at most


def db_path(repo) -> str:
    return os.path.join(repo.tmp_dir, "dataver", DB_NAME)


class ResumeMap:
    """Rows of the migration database; opened on first use."""

    def __init__(self, path: str):
        self.path = path
        self._conn = None
        self._dirty_since: float | None = None
        self._rows: list[tuple] = []  # put, not yet written (see put)

    def _db(self):
        if self._conn is None:
            import sqlite3

            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(
                "CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, id TEXT NOT NULL,"
                " md5 TEXT NOT NULL, size INTEGER NOT NULL, how TEXT NOT NULL,"
                " PRIMARY KEY (kind, id)) WITHOUT ROWID;"
                "CREATE TABLE IF NOT EXISTS pending (head TEXT PRIMARY KEY, kind TEXT, plan TEXT);"
                "CREATE TABLE IF NOT EXISTS commits (old TEXT NOT NULL, new TEXT NOT NULL,"
                " kind TEXT, PRIMARY KEY (old, new));")
            self._conn = conn
        return self._conn

    # --- objects -------------------------------------------------------------------------------
    def get_many(self, kind: str, ids) -> dict[str, tuple[str, int, str]]:
        """``{id: (md5, size, how)}`` for the ids of ``kind`` that were converted."""
        ids = list(dict.fromkeys(ids))
        found = {}
        self.flush()  # rows put but not written yet count too
        db = self._db()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in db.execute(f"SELECT id, md5, size, how FROM objects WHERE kind = ? AND id IN ({marks})",
                                  [kind, *chunk]):
                found[row[0]] = (row[1], row[2], row[3])
        return found

    def put(self, kind: str, oid: str, md5: str, size: int, how: str) -> None:
        """Record a converted object. Rows are kept in memory and written in one transaction
        per batch (:data:`_BATCH` rows, or :data:`_COMMIT_EVERY` seconds after the first): one
        statement per object cost more than the rest of the converter's bookkeeping. A kill
        loses at most one batch: the next run reads those objects again (their cache copies
        stay)."""
        self._rows.append((kind, oid, md5, size, how))
        now = time.monotonic()
        if self._dirty_since is None:
            self._dirty_since = now
        if len(self._rows) >= _BATCH or now - self._dirty_since >= _COMMIT_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write the rows recorded so far (one transaction)."""
        if self._rows:
            db = self._db()
            db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)", self._rows)
            self._rows = []
        if self._conn is not None:
            self._conn.commit()
        self._dirty_since = None

    # --- forward runs ------------------------------------------------------------------------------
    def pending(self, head: str) -> dict | None:
        row = self._db().execute("SELECT plan FROM pending WHERE head = ?", (head,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_pending(self, head: str, kind: str, plan: dict) -> None:
        db = self._db()
        db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?)", (head, kind, json.dumps(plan)))
        db.commit()

    def finish(self, head: str, new: str, kind: str) -> None:
        """The forward migration of ``head`` became commit ``new``."""
        db = self._db()
        db.execute("DELETE FROM pending WHERE head = ?", (head,))
        db.execute("INSERT OR REPLACE INTO commits VALUES (?, ?, ?)", (head, new, kind))
        db.commit()

    def commits(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._db().execute("SELECT old, new FROM commits ORDER BY rowid")]

    def close(self) -> None:
        self.flush()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
