"""The parsed-manifest index: a second read of a `.dir` object comes from the index, which
never answers for an object that is not in the cache and is rebuilt when unreadable."""
from __future__ import annotations

import os

import pytest

from dataver.errors import CorruptObjectError
from dataver.manifest import Manifest
from dataver.manifest_index import ManifestIndex
from dataver.odb import ObjectStore


@pytest.fixture
def odb(tmp_path):
    return ObjectStore(str(tmp_path / "cache"), manifest_index=str(tmp_path / "index"))


def stored(odb, entries) -> str:
    return odb.add_manifest(Manifest(entries))


def test_second_read_comes_from_the_index(odb, tmp_path):
    entries = {f"d{i % 7}/f{i}.jpg": f"{i:032x}" for i in range(500)}
    oid = stored(odb, entries)
    assert dict(odb.read_manifest(oid).entries) == entries
    assert os.listdir(tmp_path / "index") == [f"md5-{oid}"]
    # proof that the index answers: what it holds is returned without parsing the object
    st = os.stat(odb.path(oid))
    ManifestIndex(str(tmp_path / "index")).store(oid, "md5", Manifest({"only": "1" * 32}),
                                                  (st.st_ino, st.st_mtime_ns, st.st_size))
    assert dict(odb.read_manifest(oid).entries) == {"only": "1" * 32}


@pytest.mark.parametrize("same_size", [True, False])
def test_index_does_not_answer_for_a_changed_object(odb, tmp_path, same_size):
    entries = {f"d{i % 7}/f{i}.jpg": f"{i:032x}" for i in range(50)}
    oid = stored(odb, entries)
    odb.read_manifest(oid)
    path = odb.path(oid)
    os.chmod(path, 0o644)
    size = os.path.getsize(path)
    with open(path, "r+b") as fobj:  # changed in place: same inode
        fobj.write(b"x" * size if same_size else b"not json")
        fobj.truncate()
    with pytest.raises(CorruptObjectError, match="content changed after it was stored"):
        odb.read_manifest(oid)
    assert os.path.getsize(path) == (size if same_size else 8)  # reported, left as it is


def test_index_never_stands_in_for_a_missing_object(odb):
    oid = stored(odb, {"a": "0" * 32})
    odb.read_manifest(oid)
    os.chmod(odb.path(oid), 0o644)
    os.unlink(odb.path(oid))
    with pytest.raises(FileNotFoundError):
        odb.read_manifest(oid)


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", None])
def test_unreadable_or_foreign_entry_is_rebuilt_from_the_object(odb, tmp_path, damage):
    entries = {"x/y.png": "1" * 32, "z.json": "2" * 32}
    oid = stored(odb, entries)
    other = stored(odb, {"other": "3" * 32})
    odb.read_manifest(oid)
    odb.read_manifest(other)
    entry = tmp_path / "index" / f"md5-{oid}"
    if damage is None:  # a valid entry of another object under this name
        entry.write_bytes((tmp_path / "index" / f"md5-{other}").read_bytes())
    else:
        entry.write_bytes(damage)
    assert dict(odb.read_manifest(oid).entries) == entries
    st = os.stat(odb.path(oid))
    index = ManifestIndex(str(tmp_path / "index"))
    assert index.load(oid, "md5", (st.st_ino, st.st_mtime_ns, st.st_size)).entries == entries


def test_corrupt_object_is_refused_and_not_indexed(odb, tmp_path):
    manifest = Manifest({"a": "0" * 32})
    oid = manifest.oid
    path = odb.path(oid)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as fobj:
        fobj.write(b"[]")  # content that does not match the name
    with pytest.raises(CorruptObjectError):
        odb.read_manifest(oid)
    assert not (tmp_path / "index").exists()


def test_unwritable_index_only_costs_speed(tmp_path):
    (tmp_path / "index").write_text("a file where the index directory should be")
    odb = ObjectStore(str(tmp_path / "cache"), manifest_index=str(tmp_path / "index"))
    oid = stored(odb, {"a": "0" * 32})
    assert dict(odb.read_manifest(oid).entries) == {"a": "0" * 32}
    assert dict(odb.read_manifest(oid).entries) == {"a": "0" * 32}


def test_removing_the_object_drops_its_parsed_copy(odb, tmp_path):
    kept = stored(odb, {"a": "0" * 32})
    gone = stored(odb, {"b": "1" * 32})
    odb.read_manifest(kept)
    odb.read_manifest(gone)
    odb.remove(gone)
    assert os.listdir(tmp_path / "index") == [f"md5-{kept}"]
