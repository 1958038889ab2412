"""paths.check_relpath / check_out_path: untrusted relative paths."""
from __future__ import annotations

import pytest

from dataver.errors import UnsafePathError
from dataver.paths import check_out_path, check_relpath


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
