"""What cannot be tracked (workspace.follow_stat / scan_dir) and how OS errors become messages."""
from __future__ import annotations

import errno
import os

import pytest

from dataver.errors import EnvironmentFault, TargetError, from_os_error
from dataver import workspace
from dataver.workspace import follow_stat, scan_dir, stat_file


@pytest.fixture(params=[1, 2], ids=["stat-here", "stat-in-2-processes"])
def stat_procs(request, monkeypatch):
    """Scan with the files stat-ed here, or shared with a forked worker in chunks of 2."""
    monkeypatch.setattr(workspace, "fork_procs", lambda: request.param)
    monkeypatch.setattr(workspace, "_SPREAD_STATS", 1)
    monkeypatch.setattr(workspace, "_STAT_CHUNK", 2)
    return request.param


def test_scan_order_does_not_depend_on_who_stats(tmp_path, monkeypatch):
    for i in range(40):
        path = tmp_path / "d" / f"s{i % 3}" / f"t{i % 2}" / f"f{i}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * i)
    (tmp_path / "d" / "top").write_text("top")
    scans = []
    for procs in (1, 2):
        monkeypatch.setattr(workspace, "fork_procs", lambda: procs)
        monkeypatch.setattr(workspace, "_SPREAD_STATS", 1)
        monkeypatch.setattr(workspace, "_STAT_CHUNK", 3)
        dirs: list[str] = []
        scans.append((scan_dir(str(tmp_path / "d"), "d", None, dirs), dirs))
    assert scans[0] == scans[1] and len(scans[0][0]) == 41 and len(scans[0][1]) == 9
    assert {e.relpath: e.stat.size for e in scans[0][0]}["s1/t0/f4"] == 4


def test_scan_dir_lists_files_and_skips_symlinked_dirs(tmp_path, stat_procs):
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
def test_untrackable_entries(tmp_path, kind, message, stat_procs):
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
