"""gc -n, --date, --not-in-remote, --skip-failed and -p: the same objects survive as with real
DVC on copies of one repository, and the warning names what is kept in DVC's words."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.compat.conftest import dataver, dvc
from tests.conftest import git, isolate

pytestmark = pytest.mark.compat

OLD = "2020-06-01T12:00:00"  # committer date of the first two commits
NEW = "2024-06-01T12:00:00"


def _commit(root, text: str, date: str | None = None) -> None:
    (root / "a.txt").write_text(text)
    dvc("add", "a.txt", cwd=root)
    env = {**os.environ, "GIT_COMMITTER_DATE": date} if date else None
    git(root, "add", "-A")
    subprocess.run(["git", "commit", "-qm", text], cwd=root, env=env, check=True)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """main: v1 v2 (2020) v3 v4 (2024) v5 (now); branch side from v2 with s1; tag t3 on v3;
    a local remote holding v1 and v2 only; every version in the cache."""
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp_path_factory.mktemp("home"))
        return _make_history(tmp_path_factory.mktemp("gc"))


def _make_history(tmp_path):
    root = tmp_path / "base"
    root.mkdir()
    git(root, "init", "-q")
    dvc("init", cwd=root)
    dvc("remote", "add", "-d", "store", str(tmp_path / "store"), cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    for text, date in (("v1", OLD), ("v2", OLD)):
        _commit(root, text, date)
    dvc("push", "-A", cwd=root)
    git(root, "checkout", "-qb", "side")
    _commit(root, "s1", NEW)
    git(root, "checkout", "-q", "main")
    for text, date in (("v3", NEW), ("v4", NEW), ("v5", None)):
        _commit(root, text, date)
        if text == "v3":
            git(root, "tag", "t3")
    dvc("checkout", cwd=root)
    return root


@pytest.fixture
def history(base, tmp_path):
    """A copy of ``base`` (its remote is shared: no test here writes to it)."""
    return _copy(base, tmp_path / "base")


def kept(root) -> list[str]:
    """The contents of the objects left in the cache."""
    cache = root / ".dvc" / "cache" / "files" / "md5"
    return sorted((path).read_text() for path in cache.glob("*/*"))


def _copy(src, dst):
    shutil.copytree(src, dst, symlinks=True)
    return dst


@pytest.mark.parametrize("options", [
    ["--rev", "HEAD", "-n", "3"],
    ["-a", "-n", "2"],
    ["--rev", "HEAD~1", "-a", "-n", "2"],
    ["-w", "--date", "2023-01-01"],
    ["-T", "--date", "2021-01-01"],
    ["-w", "--not-in-remote"],
    ["-T", "--not-in-remote"],
])
def test_gc_keeps_what_dvc_keeps(history, tmp_path, options):
    ours, theirs = _copy(history, tmp_path / "ours"), _copy(history, tmp_path / "theirs")
    mine = dataver("gc", "-f", *options, cwd=ours)
    real = dvc("gc", "-f", *options, cwd=theirs)
    assert kept(ours) == kept(theirs)
    assert len(kept(ours)) < len(kept(history))  # something was removed: the options matter
    assert mine.stdout == real.stdout  # "Removed N objects from repo cache.", then the legacy line
    warning = [line for line in real.stderr.splitlines() + real.stdout.splitlines()
               if line.startswith("WARNING: This will")]
    assert warning and warning[0] in mine.stderr


@pytest.mark.parametrize("options, message", [
    (["-T", "-n", "2"], "`--num` can only be used alongside `--rev` or `--all-branches`"),
    (["-w", "-c", "--not-in-remote"], "`--not-in-remote` and `--cloud` are mutually exclusive"),
    (["-w", "--date", "2020-13-01"], "invalid date '2020-13-01'"),
])
def test_bad_combinations_are_refused_and_remove_nothing(history, options, message):
    before = kept(history)
    proc = dataver("gc", "-f", *options, cwd=history, ok=False)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert kept(history) == before


def test_skip_failed_skips_an_unreadable_revision(history):
    (history / "a.txt.dvc").write_text("outs: [this is not a dvc file\n")
    git(history, "commit", "-qam", "broken")
    git(history, "checkout", "-q", "HEAD~1", "--", "a.txt.dvc")
    git(history, "commit", "-qam", "fixed")
    before = kept(history)
    proc = dataver("gc", "-f", "-A", cwd=history, ok=False)
    assert proc.returncode == 1 and kept(history) == before  # the broken commit stops gc
    proc = dataver("gc", "-f", "-A", "--skip-failed", cwd=history)
    assert "WARNING: skipping revision" in proc.stderr
    assert kept(history) == before  # every other commit's data is still used


def test_projects_sharing_the_cache_keep_their_data(history, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    dvc("init", cwd=other)
    dvc("cache", "dir", str(history / ".dvc" / "cache"), cwd=other)
    (other / "b.txt").write_text("v1")  # the same content as main's first version
    dvc("add", "b.txt", cwd=other)
    proc = dataver("gc", "-f", "-w", "-p", str(other), cwd=history)
    assert f"of the current and the following repos:\n  - {other}" in proc.stderr
    assert kept(history) == ["v1", "v5"]
    dataver("gc", "-f", "-w", cwd=history)
    assert kept(history) == ["v5"]
