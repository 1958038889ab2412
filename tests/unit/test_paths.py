"""paths.check_relpath / check_out_path: untrusted relative paths."""
from __future__ import annotations

import os

import pytest

from dataver.errors import PathTooLongError, UnsafePathError, user_path
from dataver.paths import (
    NAME_MAX, byte_len, check_fits, check_out_path, check_relpath, display, make_dirs, remove_tree,
    temp_base, walk_files,
)


@pytest.mark.parametrize("good", ["a", "a/b/c.txt", "é/日本", "a..b", "..a", "a.", ".hidden/x",
                                  "with space/x", "ab:c", "x/c:d"])
def test_accepted(good):
    assert check_relpath(good, "w") == good


@pytest.mark.parametrize("bad", ["", "..", "../a", "a/..", "a/../../b", "/abs", "//x", "a//b", "a/",
                                 ".", "./a", "a/.", "a\\b", "..\\a", "C:x", "c:/x", "a:b", "a\x00b", None, 3,
                                 b"a", ["a"]])
def test_refused(bad):
    with pytest.raises(UnsafePathError) as info:
        check_relpath(bad, "manifest-x")
    assert "manifest-x" in str(info.value)


def test_out_path_normalises_and_refuses_absolute():
    assert check_out_path("a/./b", "f.dvc") == "a/b"
    assert check_out_path("../sibling", "f.dvc") == "../sibling"  # the repo check comes later
    for bad in ("/etc/passwd", "C:\\x", "a\\b", "", "a\x00", None, 1):
        with pytest.raises(UnsafePathError, match="f.dvc"):
            check_out_path(bad, "f.dvc")


# --- the file system's limits on names and paths ----------------------------------------------

@pytest.mark.parametrize("name", ["a" * 255, "a" * 240, "é" * 127, "x" * 200 + "\udcff" * 55])
def test_temp_base_fits_and_stays_apart(tmp_path, name):
    tail = ".0123abcd.dvtmp"
    base = temp_base(f"{tmp_path}/{name}", len(tail))
    temp = base + tail
    assert byte_len(os.path.basename(temp)) <= NAME_MAX
    open(temp, "w").close()  # the kernel takes it
    assert temp_base(f"{tmp_path}/{name}", len(tail)) == base  # the same every time
    assert temp_base(f"{tmp_path}/{name}x"[:-2] + "y", len(tail)) != base  # distinct per name
    assert user_path(temp).startswith(f"{tmp_path}/{os.path.basename(base)[:40]}")


def test_short_names_keep_their_temp_names():
    assert temp_base("/r/data.csv", 15) == "/r/data.csv" and temp_base("x", 15) == "x"


def test_check_fits():
    check_fits("/r/data", ["a" * 255, "a/" * 2000 + "f"], where="w")
    with pytest.raises(PathTooLongError, match="name 'aaaa.*' in w is longer .*256 bytes"):
        check_fits("/r/data", ["ok", "a" * 256], where="w")
    with pytest.raises(PathTooLongError, match="in w is too long"):
        check_fits("/r/data", ["a/" * 2100 + "f"], where="w")
    with pytest.raises(PathTooLongError, match=r"\(1048576 bytes"):
        check_fits("/r/data", ["x" * (1 << 20)], where="w")  # a mebibyte: the message is short
    assert len(display("x" * (1 << 20))) < 100


def test_deep_trees_without_recursion(tmp_path):
    top = str(tmp_path / "t")
    deep = top + "/a" * 1500  # deeper than Python's recursion limit, within PATH_MAX
    make_dirs(deep)
    make_dirs(deep)  # exists: fine, as os.makedirs(exist_ok=True)
    open(deep + "/f", "w").close()
    assert list(walk_files(top)) == [deep + "/f"]
    remove_tree(top, onerror=None)
    assert not os.path.exists(top)
    open(str(tmp_path / "file"), "w").close()
    with pytest.raises(FileExistsError):
        make_dirs(str(tmp_path / "file"))
