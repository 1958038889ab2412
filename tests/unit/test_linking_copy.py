"""Copying cache objects into the workspace: content, modes, atomic replacement, no leftovers."""
import os
import stat

import pytest

from dataver.linking import Linker, copy


def _cache_object(tmp_path, data: bytes):
    obj = tmp_path / "cache" / "obj"
    obj.parent.mkdir()
    obj.write_bytes(data)
    obj.chmod(0o444)
    return str(obj)


def test_copy_link_creates_and_replaces_files_atomically(tmp_path):
    data = os.urandom(300_000)
    src = _cache_object(tmp_path, data)
    work = tmp_path / "work"
    work.mkdir()
    linker = Linker(["reflink", "copy"])  # ext4 & co: reflink fails once, then copy
    for i in range(3):
        assert linker.link(src, str(work / f"f{i}")) in ("reflink", "copy")
    (work / "old").write_bytes(b"previous content")
    linker.link(src, str(work / "old"))
    linker.link(src, str(work / "exe"), isexec=True)
    for name in ["f0", "f1", "f2", "old", "exe"]:
        assert (work / name).read_bytes() == data
        mode = (work / name).stat().st_mode
        assert mode & stat.S_IWUSR  # a writable copy, unlike the read-only cache object
        assert bool(mode & stat.S_IXUSR) == (name == "exe")
    assert sorted(os.listdir(work)) == ["exe", "f0", "f1", "f2", "old"]  # no temp files left


def test_copy_refuses_to_overwrite_and_copies_empty_files(tmp_path):
    src = _cache_object(tmp_path, b"")
    copy(src, str(tmp_path / "empty"))
    assert (tmp_path / "empty").read_bytes() == b""
    with pytest.raises(FileExistsError):
        copy(src, str(tmp_path / "empty"))


def test_missing_destination_directory_is_an_error(tmp_path):
    src = _cache_object(tmp_path, b"x")
    linker = Linker(["copy"])
    linker.link(src, str(tmp_path / "a"))
    with pytest.raises(FileNotFoundError):
        linker.link(src, str(tmp_path / "no" / "such" / "dir" / "f"))
