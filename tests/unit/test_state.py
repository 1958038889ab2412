"""State database: hits, misses when the file changed, recovery from a corrupt db."""
from __future__ import annotations

import os
import sqlite3

from dataver.dirfacts import DirFacts
from dataver.state import Stat, State

OID = "0cc175b9c0f1b6a831c399e269772661"


def stat_of(path) -> Stat:
    return Stat.of(os.stat(path))


def test_hit_after_flush_and_reopen(tmp_path):
    f = tmp_path / "f"
    f.write_text("a")
    db = str(tmp_path / "tmp" / "state.db")
    state = State(db)
    state.set("f", stat_of(f), OID)
    assert state.get("f", stat_of(f)) == OID  # pending, before flush
    state.close()
    again = State(db)
    assert again.get("f", stat_of(f)) == OID
    assert again.get("f", stat_of(f), "md5-dos2unix") is None  # per hash name
    assert again.get("other", stat_of(f)) is None
    again.close()


def test_miss_when_mtime_size_or_inode_changes(tmp_path):
    f = tmp_path / "f"
    f.write_text("a")
    state = State(str(tmp_path / "state.db"))
    st = stat_of(f)
    state.set("f", st, OID)
    state.flush()
    assert state.get("f", st) == OID
    assert state.get("f", st._replace(mtime_ns=st.mtime_ns + 1)) is None
    assert state.get("f", st._replace(size=st.size + 1)) is None
    assert state.get("f", st._replace(inode=st.inode + 1)) is None
    # a real change on disk: same size, new mtime
    os.utime(f, ns=(st.mtime_ns + 10**9, st.mtime_ns + 10**9))
    assert state.get("f", stat_of(f)) is None
    # a replaced file (new inode), same content and times
    f.rename(tmp_path / "old")
    (tmp_path / "new").write_text("a")
    (tmp_path / "new").rename(f)
    os.utime(f, ns=(st.mtime_ns, st.mtime_ns))
    assert stat_of(f).inode != st.inode and state.get("f", stat_of(f)) is None
    state.close()


def facts_of(table: dict) -> DirFacts:
    return DirFacts([], [], []).merged(table)


def test_directory_facts_survive_reopen_per_directory_and_hash_name(tmp_path):
    db = str(tmp_path / "state.db")
    state = State(db)
    facts = {"a.jpg": ((1, 2, 3), OID), "sub/b.jpg": ((4, 5, 6), "b" * 32)}
    state.set_dir("data", facts_of(facts))
    assert state.get_dir("data").as_dict() == facts  # pending, before flush
    state.close()
    again = State(db)
    assert again.get_dir("data").as_dict() == facts
    assert len(again.get_dir("data0")) == 0 and len(again.get_dir("data/sub")) == 0
    assert len(again.get_dir("data", "md5-dos2unix")) == 0
    again.update_dir("data", {"c.jpg": ((7, 8, 9), "c" * 32), "a.jpg": ((1, 2, 4), "d" * 32)})
    again.close()
    assert State(db).get_dir("data").as_dict() == {
        "a.jpg": ((1, 2, 4), "d" * 32), "sub/b.jpg": ((4, 5, 6), "b" * 32),
        "c.jpg": ((7, 8, 9), "c" * 32)}


def test_directory_facts_answer_only_for_an_unchanged_stat(tmp_path):
    from dataver.workspace import FileEntry

    facts = facts_of({"a": ((1, 2, 3), OID), "b": ((4, 5, 6), "b" * 32)})
    entries = [FileEntry("a", "/x/a", Stat(1, 2, 3), False),  # known
               FileEntry("b", "/x/b", Stat(4, 5, 7), False),  # size changed
               FileEntry("c", "/x/c", Stat(1, 2, 3), False)]  # not known at all
    known, todo = facts.known(entries)
    assert known == {"a": OID} and [e.relpath for e in todo] == ["b", "c"]


def test_unreadable_directory_facts_are_a_miss_and_get_rewritten(tmp_path):
    db = str(tmp_path / "state.db")
    state = State(db)
    state.set_dir("data", facts_of({"a": ((1, 2, 3), OID)}))
    state.close()
    (stored,) = (tmp_path / "dirs").iterdir()
    good = stored.read_bytes()
    for junk in (b"", b"\x00not marshal", good[:-5], good.replace(b"data", b"dat0")):
        stored.write_bytes(junk)
        assert len(State(db).get_dir("data")) == 0
    state = State(db)
    state.set_dir("data", facts_of({"a": ((1, 2, 3), OID)}))
    state.close()
    assert State(db).get_dir("data").as_dict() == {"a": ((1, 2, 3), OID)}


def test_overwrite_keeps_latest(tmp_path):
    state = State(str(tmp_path / "state.db"))
    state.set("f", Stat(1, 1, 1), OID)
    state.flush()
    state.set("f", Stat(1, 2, 1), "b" * 32)
    state.flush()
    assert state.get("f", Stat(1, 1, 1)) is None and state.get("f", Stat(1, 2, 1)) == "b" * 32
    state.close()


def test_corrupt_db_is_recreated(tmp_path):
    db = tmp_path / "state.db"
    db.write_bytes(b"this is not a sqlite database" * 100)
    (tmp_path / "state.db-wal").write_bytes(b"junk" * 50)
    state = State(str(db))
    assert state.get("f", Stat(1, 2, 3)) is None
    state.set("f", Stat(1, 2, 3), OID)
    state.close()
    assert State(str(db)).get("f", Stat(1, 2, 3)) == OID
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_truncated_db_is_recreated(tmp_path):
    db = tmp_path / "state.db"
    state = State(str(db))
    state.set("f", Stat(1, 2, 3), OID)
    state.close()
    with sqlite3.connect(db) as conn:  # fold the WAL in, then cut the file short
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"state.db{suffix}").unlink(missing_ok=True)
    fresh = State(str(db))
    assert fresh.get("f", Stat(1, 2, 3)) in (None, OID)
    fresh.set("g", Stat(4, 5, 6), OID)
    fresh.close()
    assert State(str(db)).get("g", Stat(4, 5, 6)) == OID


def test_stamps_persist_and_two_writers_keep_both(tmp_path):
    db = str(tmp_path / "state.db")
    first, second = State(db), State(db)
    first.set_stamp("dir:md5:a", "s1", OID)
    assert first.get_stamp("dir:md5:a", "s1") == OID and first.get_stamp("dir:md5:a", "s2") is None
    second.get_stamp("dir:md5:b", "x")  # loads the (empty) stored stamps before `first` writes
    first.close()
    second.set_stamp("dir:md5:b", "s9", "b" * 32)
    second.close()  # merges with what `first` wrote meanwhile
    again = State(db)
    assert again.get_stamp("dir:md5:a", "s1") == OID
    assert again.get_stamp("dir:md5:b", "s9") == "b" * 32
    again.close()
    (tmp_path / "stamps.marshal").write_bytes(b"\x00junk")
    assert State(db).get_stamp("dir:md5:a", "s1") is None  # unreadable: a miss, not an error


def test_directory_facts_are_written_when_rereading_would_cost_more(tmp_path):
    """A few re-read files are not worth rewriting 2000 facts (they cost less to read again);
    many are."""
    from dataver.workspace import Hasher, scan_dir

    data = tmp_path / "data"
    data.mkdir()
    for i in range(2000):
        (data / f"{i}.txt").write_text(f"file {i}")

    def hash_now():
        state = State(str(tmp_path / "tmp" / "state.db"))
        files = list(scan_dir(str(data), "data", None))
        oids = Hasher(state, str(tmp_path)).hash_entries("data", files)
        state.close()
        return oids

    def recorded():
        return {rel: oid for rel, (_st, oid) in State(str(tmp_path / "tmp" / "state.db"))
                .get_dir("data").as_dict().items()}

    first = hash_now()
    assert recorded() == first  # all 2000 were read: written
    (data / "0.txt").write_text("changed")
    assert hash_now()["0.txt"] != first["0.txt"]
    assert recorded() == first  # one file: cheaper to read it again than to rewrite
    for i in range(1500):
        (data / f"{i}.txt").write_text(f"changed {i}")
    latest = hash_now()
    assert recorded() == latest and latest["5.txt"] != first["5.txt"]
