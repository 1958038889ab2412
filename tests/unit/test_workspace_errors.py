"""What cannot be tracked (workspace.follow_stat / scan_dir) and how OS errors become messages."""
from __future__ import annotations

import errno
import os

import pytest

from dataver.errors import EnvironmentFault, TargetError, from_os_error
from dataver.workspace import follow_stat, scan_dir, stat_file


def test_scan_dir_lists_files_and_skips_symlinked_dirs(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a").write_text("a")
    (tmp_path / "d" / "sub" / "b").write_text("bb")
    (tmp_path / "d" / "link-to-file").symlink_to(tmp_path / "d" / "a")
    (tmp_path / "d" / "link-to-dir").symlink_to(tmp_path / "d" / "sub")
    found = {e.relpath: e.stat.size for e in scan_dir(str(tmp_path / "d"), "d", None)}
    assert found == {"a": 1, "sub/b": 2, "link-to-file": 1}


@pytest.mark.parametrize("kind, message", [
    ("loop", "symlink loop"), ("broken", "broken symlink"), ("fifo", "not a regular file"),
])
def test_untrackable_entries(tmp_path, kind, message):
    base = tmp_path / "d"
    base.mkdir()
    bad = base / "bad"
    if kind == "loop":
        bad.symlink_to(bad)
    elif kind == "broken":
        bad.symlink_to(tmp_path / "nowhere")
    else:
        os.mkfifo(bad)
    for call in (lambda: list(scan_dir(str(base), "d", None)), lambda: stat_file(str(bad))):
        with pytest.raises(TargetError, match=message) as info:
            call()
        assert str(bad) in str(info.value)


def test_follow_stat_of_missing_plain_file_is_not_a_user_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        follow_stat(str(tmp_path / "absent"))


@pytest.mark.parametrize("code, words", [
    (errno.EACCES, "permission denied"), (errno.EPERM, "operation not permitted"),
    (errno.ENOSPC, "no space left"), (errno.EDQUOT, "quota"), (errno.EROFS, "read-only"),
])
def test_environment_errors_become_user_errors(tmp_path, monkeypatch, code, words):
    monkeypatch.chdir(tmp_path)
    err = from_os_error(OSError(code, os.strerror(code), str(tmp_path / "sub" / "f")))
    assert isinstance(err, EnvironmentFault)
    assert words in str(err) and f"'{os.path.join('sub', 'f')}'" in str(err) and "\n" not in str(err)
    assert from_os_error(OSError(code, "x", "/elsewhere/f")).format().count("/elsewhere/f") == 1


@pytest.mark.parametrize("exc", [OSError(errno.ENOENT, "gone", "f"), OSError(errno.EISDIR, "dir"),
                                 ValueError("bug"), KeyError("k")])
def test_other_errors_stay_bugs(exc):
    assert from_os_error(exc) is None
