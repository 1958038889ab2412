"""Object store: atomic adds, read-only objects, verify, iteration."""
from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from dataver.errors import CorruptObjectError
from dataver.hashing import LEGACY
from dataver.manifest import Manifest
from dataver.odb import ObjectStore


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def all_files(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, n), root) for d, _, ns in os.walk(root) for n in ns)


@pytest.fixture
def odb(tmp_path):
    return ObjectStore(str(tmp_path / "cache"))


def test_layouts(odb):
    oid = md5(b"x")
    assert odb.path(oid) == os.path.join(odb.root, "files", "md5", oid[:2], oid[2:])
    assert odb.path(oid, LEGACY) == os.path.join(odb.root, oid[:2], oid[2:])


@pytest.mark.parametrize("length, hint", [(3 << 20, None), (3 << 20, 3 << 20), (32 << 10, 32 << 10),
                                          (0, 0), (2 << 20, 10)],
                         ids=["streamed", "streamed-known-size", "small", "empty", "grew-since-stat"])
def test_add_file_hashing_stores_read_only_object(odb, tmp_path, length, hint):
    """Streamed through an unnamed file, or (small, size known) read whole and written where it
    belongs; a file larger than its stat said is still stored whole."""
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(length))
    old_umask = os.umask(0o077)  # the object is 0444 whatever the umask
    try:
        oid = odb.add_file_hashing(str(src), hint)
    finally:
        os.umask(old_umask)
    assert oid == md5(src.read_bytes())
    path = odb.path(oid)
    assert open(path, "rb").read() == src.read_bytes()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert all_files(odb.root) == [os.path.relpath(path, odb.root)]  # no temp file left
    assert odb.add_file_hashing(str(src)) == oid and all_files(odb.root) == [os.path.relpath(path, odb.root)]


def test_add_file_is_a_no_op_when_present(odb, tmp_path):
    src = tmp_path / "a"
    src.write_bytes(b"a")
    dest = odb.add_file(str(src), md5(b"a"))
    inode = os.stat(dest).st_ino
    assert odb.add_file(str(src), md5(b"a")) == dest and os.stat(dest).st_ino == inode
    assert odb.exists(md5(b"a")) and not odb.exists(md5(b"b"))


def test_interrupted_add_leaves_nothing(odb, tmp_path):
    src = tmp_path / "a"
    src.write_bytes(b"a" * 100000)

    def half_copy_then_interrupt(s, d):
        with open(d, "wb") as fobj:
            fobj.write(b"a" * 10)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        odb.add_file(str(src), md5(src.read_bytes()), link=half_copy_then_interrupt)
    assert not odb.exists(md5(src.read_bytes()))
    odb.close()  # ends this process's registration of temp files (dataver.leftovers)
    assert [f for f in all_files(odb.root) if not f.endswith(os.sep)] == []


@pytest.mark.parametrize("hint", [None, 100])
def test_add_file_hashing_of_unreadable_source_leaves_nothing(odb, tmp_path, hint):
    with pytest.raises(FileNotFoundError):
        odb.add_file_hashing(str(tmp_path / "missing"), hint)
    assert all_files(odb.root) == []


def test_add_bytes_and_manifest(odb):
    manifest = Manifest({"a": md5(b"a")})
    oid = odb.add_manifest(manifest)
    assert oid == manifest.oid and odb.read_manifest(oid).entries == {"a": md5(b"a")}
    assert stat.S_IMODE(os.stat(odb.path(oid)).st_mode) == 0o444
    assert odb.verify(oid)


def test_verify_detects_corruption(odb, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"content")
    oid = odb.add_file_hashing(str(src))
    assert odb.verify(oid)
    os.chmod(odb.path(oid), 0o644)
    with open(odb.path(oid), "wb") as fobj:
        fobj.write(b"c0ntent")
    assert not odb.verify(oid)
    assert not odb.verify(md5(b"absent"))


def test_read_manifest_refuses_corrupt_and_unsafe(odb):
    good = Manifest({"a": md5(b"a")})
    oid = odb.add_manifest(good)
    os.chmod(odb.path(oid), 0o644)
    with open(odb.path(oid), "wb") as fobj:
        fobj.write(b"[]")
    with pytest.raises(CorruptObjectError, match=oid):
        odb.read_manifest(oid)
    unsafe = json.dumps([{"md5": md5(b"a"), "relpath": "../x"}]).encode()
    unsafe_oid = md5(unsafe) + ".dir"
    odb.add_bytes(unsafe, unsafe_oid)
    with pytest.raises(CorruptObjectError, match="escapes") as info:
        odb.read_manifest(unsafe_oid)
    assert unsafe_oid in str(info.value)
    with pytest.raises(FileNotFoundError):
        odb.read_manifest(md5(b"nothing") + ".dir")


def test_iter_objects_skips_temp_files_and_remove(odb, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"one")
    oid = odb.add_file_hashing(str(src))
    dir_oid = odb.add_manifest(Manifest({"f": oid}))
    stray = odb.path(md5(b"two")) + ".abcdef123456.tmp"
    os.makedirs(os.path.dirname(stray), exist_ok=True)
    open(stray, "wb").close()
    assert sorted(odb.iter_objects()) == sorted([(oid, "md5"), (dir_oid, "md5")])
    odb.remove(oid)  # read-only objects can be removed
    assert not odb.exists(oid) and list(odb.iter_objects()) == [(dir_oid, "md5")]


def test_shared_cache_dirs_are_group_writable(tmp_path):
    odb = ObjectStore(str(tmp_path / "cache"), shared=True)
    src = tmp_path / "f"
    src.write_bytes(b"shared")
    dest = odb.add_file(str(src), md5(b"shared"))
    assert stat.S_IMODE(os.stat(os.path.dirname(dest)).st_mode) & 0o070 == 0o070


def test_remove_stale_tmp_keeps_young_temps_and_objects(odb, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"keep")
    oid = odb.add_file_hashing(str(src))
    old_incoming = os.path.join(odb.root, "files", "md5", "incoming.0123456789ab.tmp")
    old_object = odb.path(md5(b"x")) + ".ba9876543210.tmp"
    old_legacy = odb.path(md5(b"y"), LEGACY) + ".aaaaaaaaaaaa.tmp"
    young = odb.path(md5(b"z")) + ".bbbbbbbbbbbb.tmp"
    not_ours = odb.path(md5(b"w")) + ".notours.tmp"
    for path in (old_incoming, old_object, old_legacy, young, not_ours):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()
        os.chmod(path, 0o444)
    for path in (old_incoming, old_object, old_legacy, not_ours):
        os.utime(path, (1, 1))
    assert odb.remove_stale_tmp(max_age=3600) == 3
    assert not any(os.path.exists(p) for p in (old_incoming, old_object, old_legacy))
    assert os.path.exists(young) and os.path.exists(not_ours) and odb.verify(oid)
