"""ObjectStore.existing: the same answer whether it stats each object or lists directories."""
import hashlib
import os

import pytest

from dataver import linking
from dataver.hashing import LEGACY, MD5
from dataver.odb import ObjectStore


def _put(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fobj:
        fobj.write(data)


@pytest.mark.parametrize("count", [5, 600])
@pytest.mark.parametrize("hash_name", [MD5, LEGACY])
def test_existing_reports_exactly_the_stored_objects(tmp_path, count, hash_name):
    odb = ObjectStore(str(tmp_path / "cache"))
    stored, absent = set(), set()
    for i in range(count):
        data = f"object {i}".encode()
        oid = hashlib.md5(data).hexdigest()
        if i % 3:
            _put(odb.path(oid, hash_name), data)  # as add_bytes leaves it, minus the fsync
            stored.add(oid)
        else:
            absent.add(oid)
    # a leftover temp file of an absent object must not count as that object
    _put(odb.path(next(iter(absent)), hash_name) + ".0123456789ab.tmp", b"partial")
    assert odb.existing(stored | absent, hash_name) == stored
    assert odb.existing([], hash_name) == set()
    assert odb.existing(absent, hash_name) == set()


@pytest.mark.parametrize("unnamed", [True, False])
def test_add_file_hashing_stores_read_only_objects_and_leaves_nothing_else(tmp_path, monkeypatch, unnamed):
    if not unnamed:  # the temp-name path taken where O_TMPFILE is unavailable
        monkeypatch.setattr(linking._Unnamed, "usable", False)
    odb = ObjectStore(str(tmp_path / "cache"))
    src = tmp_path / "src.bin"
    data = os.urandom(3 * 1024 * 1024 + 5)  # more than one read buffer
    src.write_bytes(data)
    old_umask = os.umask(0o077)
    try:
        oid = odb.add_file_hashing(str(src))
        assert odb.add_file_hashing(str(src)) == oid  # stored once
    finally:
        os.umask(old_umask)
    assert oid == hashlib.md5(data).hexdigest()
    path = odb.path(oid)
    with open(path, "rb") as fobj:
        assert fobj.read() == data
    assert os.stat(path).st_mode & 0o777 == 0o444
    odb.close()  # ends this process's registration of temp files (dataver.leftovers)
    files = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "cache") for f in fs]
    assert files == [path]  # no temp file left behind
