"""The fact store: one SQLite database in the cache, ``<cache>/dataver/facts.db``, holding each
fact under ``(md5, kind, version)`` as orjson bytes.

It lives in the cache so that every clone sharing the cache shares its facts. Its folder is
not a two-letter object folder, so neither DVC (``dvc gc``, its cache listing skips paths that
do not look like objects) nor dataver's own listing ever takes it for an object.

Several processes may use it at once: WAL (readers never wait for the writer) and a busy
timeout (a writer waits for the other). Each :meth:`FactStore.put_many` is one transaction.
WAL needs shared memory, so the cache must be on a local file system for several *machines*
to share it safely; processes of one machine are always fine.

The store is a cache of facts: when it cannot be used (a read-only cache, a broken database
file) it warns once and the caller computes facts without storing them.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Iterable

FOLDER = "dataver"
FILENAME = "facts.db"
BUSY_TIMEOUT = 60.0  # seconds a writer waits for another: a put of 200,000 facts takes ~1 s
_BATCH = 500  # md5s per SELECT (SQLite allows 999 variables in old builds)
_PUT_BATCH = 5000  # facts per write transaction
_SCHEMA = ("CREATE TABLE IF NOT EXISTS facts (md5 TEXT NOT NULL, kind TEXT NOT NULL, "
           "version INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (md5, kind, version)) "
           "WITHOUT ROWID")


class FactStore:
    """Facts by object md5 in the cache at ``cache_dir`` (``.dvc/cache`` or ``cache.dir``).
    ``shared``: the cache is shared by a group (``cache.shared = group``), so the folder and
    database are made group-writable. The database is made on the first put."""

    def __init__(self, cache_dir: str, shared: bool = False, version: int | None = None):
        if version is None:
            from dataver.facts import FACTS_VERSION as version
        self.path = os.path.join(cache_dir, FOLDER, FILENAME)
        self.shared = shared
        self.version = version
        self._db = None
        self._off = False  # unusable: warned once, facts are not stored

    def get_many(self, md5s: Iterable[str], kind: str) -> dict[str, dict]:
        """The stored facts of ``kind`` for those of ``md5s`` that have one."""
        md5s = list(dict.fromkeys(md5s))
        if not md5s or self._connect(create=False) is None:
            return {}
        import orjson

        found: dict[str, dict] = {}
        try:
            for start in range(0, len(md5s), _BATCH):
                batch = md5s[start:start + _BATCH]
                rows = self._db.execute(
                    f"SELECT md5, value FROM facts WHERE kind = ? AND version = ? AND md5 IN "
                    f"({','.join('?' * len(batch))})", (kind, self.version, *batch))
                for md5, value in rows:
                    found[md5] = orjson.loads(value)
        except Exception as exc:  # sqlite3.Error, or a value that is not JSON: a broken db
            self._give_up(exc)
            return {}
        return found

    def put_many(self, facts: dict[str, dict], kind: str) -> None:
        """Store ``facts`` (md5 -> fact) of ``kind``, replacing any, a transaction per
        :data:`_PUT_BATCH` facts. (One transaction of 200,000 rows held ~800 MB until its
        commit; each fact stands alone, so a batch that lands is as good as all of them.)"""
        if not facts or self._connect(create=True) is None:
            return
        import orjson

        items = list(facts.items())
        db = self._db
        try:
            for start in range(0, len(items), _PUT_BATCH):
                rows = [(md5, kind, self.version, orjson.dumps(fact))
                        for md5, fact in items[start:start + _PUT_BATCH]]
                db.execute("BEGIN IMMEDIATE")  # the write lock now, waiting up to the timeout
                try:
                    db.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?)", rows)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except Exception as exc:  # noqa: BLE001 - sqlite3.Error and OSError alike
            self._give_up(exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> FactStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connect(self, create: bool):
        """The open database, or None: off, or (``create`` false) not made yet."""
        if self._db is not None or self._off:
            return self._db
        if not create and not os.path.exists(self.path):
            return None
        import sqlite3

        try:
            self._make_folder()
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None,
                                 check_same_thread=False)
            try:
                db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
                db.execute("PRAGMA synchronous = NORMAL")  # WAL: a crash loses no committed db
                _set_up(db)
            except BaseException:
                db.close()
                raise
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)
            return None
        self._db = db
        if self.shared:
            self._share_files()
        return db

    def _make_folder(self) -> None:
        folder = os.path.dirname(self.path)
        if os.path.isdir(folder):
            return
        os.makedirs(folder, exist_ok=True)
        if self.shared:
            os.chmod(folder, 0o2775)

    def _share_files(self) -> None:
        """Group-writable database files (SQLite gives -wal and -shm the db's mode)."""
        for suffix in ("", "-wal", "-shm"):
            try:
                os.chmod(self.path + suffix, 0o664)
            except OSError:  # not ours, or not there: its owner made it right
                pass

    def _give_up(self, exc: BaseException) -> None:
        from dataver.errors import warn

        self.close()
        self._off = True
        warn(f"cannot use the fact store ({exc}); facts are computed without being kept",
             path=self.path, hint="check that the cache is writable")


def _set_up(db) -> None:
    """WAL mode and the table, made by whichever process comes first. Switching to WAL takes
    an exclusive lock, and SQLite answers "database is locked" at once, without waiting the
    busy timeout, to the process that loses that race: it retries (the mode stays in the
    file, so only the first process ever switches)."""
    import sqlite3
    import time

    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'facts'").fetchone() is None:
                db.execute(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
