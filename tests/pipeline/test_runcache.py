"""The run cache against real DVC 3.67.1: byte-identical `runs/` entries, each tool restoring a
stage from the other's entries without running its command (the command appends to a counter
file that is not an output), --no-run-cache, --no-commit, and push/pull --run-cache through a
local remote in DVC's layout."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.compat.conftest import dataver, dvc, snapshot
from tests.conftest import git

CMD = "cat in.txt > out.txt; echo x >> count; echo '{\"v\": 1}' > m.json"


def _make(path, tool, metrics=True):
    path.mkdir()
    git(path, "init", "-q")
    tool("init", cwd=path)
    (path / "in.txt").write_text("hello\n")
    (path / "params.yaml").write_text("a: 1\n")
    extra = ["-M", "m.json"] if metrics else []
    cmd = CMD if metrics else CMD.replace("; echo '{\"v\": 1}' > m.json", "")
    tool("stage", "add", "-n", "s1", "-d", "in.txt", "-p", "a", "-o", "out.txt", *extra, cmd, cwd=path)
    return path


def _runs(root) -> dict:
    return {k: v for k, v in snapshot(root).items()  # (.dataver-running: our own process notes)
            if k.startswith(os.path.join(".dvc", "cache")) and ".dataver-running" not in k}


def _runs_count(root) -> int:
    return (root / "count").read_text().count("x") if (root / "count").exists() else 0


def _forget_outputs(root) -> None:
    for name in ("out.txt", "m.json", "dvc.lock"):
        if (root / name).exists():
            os.remove(root / name)


@pytest.fixture
def pair(tmp_path):
    return _make(tmp_path / "dv", dataver), _make(tmp_path / "dvc", dvc)


def test_entries_and_cache_are_byte_identical_to_dvc(pair):
    ours, theirs = pair
    dataver("repro", cwd=ours)
    dvc("repro", cwd=theirs)
    assert _runs(ours) == _runs(theirs)
    assert any("runs" in k for k in _runs(ours))
    assert (ours / "dvc.lock").read_bytes() == (theirs / "dvc.lock").read_bytes()


@pytest.mark.parametrize("first,then", [(dvc, dataver), (dataver, dvc)], ids=["dvc-to-dataver", "dataver-to-dvc"])
def test_restores_from_the_other_tools_entry(tmp_path, first, then):
    root = _make(tmp_path / "r", first)
    first("repro", cwd=root)
    lock = (root / "dvc.lock").read_bytes()
    _forget_outputs(root)
    out = then("repro", cwd=root).stdout
    assert "Stage 's1' is cached - skipping run, checking out outputs" in out
    assert _runs_count(root) == 1  # the command did not run again
    assert (root / "dvc.lock").read_bytes() == lock
    assert (root / "out.txt").read_text() == "hello\n" and (root / "m.json").read_text() == '{"v": 1}\n'
    assert "up to date" in dvc("status", cwd=root).stdout


def test_change_and_back_restores_unless_no_run_cache(tmp_path):
    root = _make(tmp_path / "r", dataver)
    dataver("repro", cwd=root)
    (root / "in.txt").write_text("other\n")
    assert "Running stage 's1'" in dataver("repro", cwd=root).stdout
    (root / "in.txt").write_text("hello\n")
    assert "is cached - skipping run" in dataver("repro", cwd=root).stdout
    assert _runs_count(root) == 2
    (root / "params.yaml").write_text("a: 2\n")
    dataver("repro", cwd=root)
    (root / "params.yaml").write_text("a: 1\n")
    out = dataver("repro", "--no-run-cache", cwd=root).stdout
    assert "Running stage 's1'" in out and "is cached" not in out
    assert _runs_count(root) == 4
    # --no-run-cache still restores from the stage's own dvc.lock entry when only outputs changed
    os.remove(root / "out.txt")
    assert "is cached - skipping run" in dataver("repro", "--no-run-cache", cwd=root).stdout
    assert _runs_count(root) == 4
    # --force always runs
    dataver("repro", "-f", cwd=root)
    assert _runs_count(root) == 5


def test_no_commit_writes_lock_but_neither_cache_nor_entry(tmp_path):
    ours, theirs = _make(tmp_path / "dv", dataver, metrics=False), _make(tmp_path / "dvc", dvc, metrics=False)
    dataver("repro", "--no-commit", cwd=ours)
    dvc("repro", "--no-commit", cwd=theirs)
    assert (ours / "dvc.lock").read_bytes() == (theirs / "dvc.lock").read_bytes()
    assert not (ours / ".dvc" / "cache").exists() or not any(
        files for _d, _s, files in os.walk(ours / ".dvc" / "cache"))
    assert "not in cache" in dvc("status", cwd=ours).stdout
    assert "Running stage 's1'" in dataver("repro", cwd=ours).stdout  # as dvc: outputs uncached
    assert _runs_count(ours) == 2


def test_a_malformed_or_escaping_entry_is_ignored(tmp_path):
    root = _make(tmp_path / "r", dataver, metrics=False)
    dataver("repro", cwd=root)
    entry = next(p for p in (root / ".dvc" / "cache" / "runs").rglob("*") if p.is_file())
    os.chmod(entry, 0o644)
    entry.write_text(entry.read_text().replace("path: out.txt", "path: ../escape.txt"))
    _forget_outputs(root)
    out = dataver("repro", cwd=root).stdout
    assert "Running stage 's1'" in out and not (tmp_path / "escape.txt").exists()
    assert _runs_count(root) == 2


def clone_without(src, dest, names=("out.txt", "m.json", "dvc.lock", "count")):
    """The repo as a git clone would give it: no cache, none of ``names`` (outputs, dvc.lock,
    the counter)."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("cache", "tmp"))
    for name in names:
        if (dest / name).exists():
            os.remove(dest / name)


def test_dataver_push_run_cache_then_dvc_pull_restores(tmp_path):
    root = _make(tmp_path / "r", dataver)
    dataver("remote", "add", "-d", "store", str(tmp_path / "store"), cwd=root)
    dataver("repro", cwd=root)
    # the entry, out.txt and the uncached metrics file's object (stored for the entry)
    assert "3 files pushed" in dataver("push", "--run-cache", cwd=root).stdout
    store = {str(p.relative_to(tmp_path / "store")) for p in (tmp_path / "store").rglob("*") if p.is_file()}
    local = {str(p.relative_to(root / ".dvc" / "cache")) for p in (root / ".dvc" / "cache").rglob("*")
             if p.is_file()}
    assert store == local and any(k.startswith("runs/") for k in store)
    other = tmp_path / "clone"
    clone_without(root, other)
    dvc("pull", "--run-cache", cwd=other, ok=False)  # no dvc.lock yet: only the run cache comes
    assert list((other / ".dvc" / "cache" / "runs").rglob("*"))
    out = dvc("repro", "--pull", cwd=other).stdout  # dvc fetches the entry's objects only here
    assert "is cached - skipping run" in out and _runs_count(other) == 0
    assert (other / "dvc.lock").read_bytes() == (root / "dvc.lock").read_bytes()


def test_dvc_push_run_cache_then_dataver_pull_restores(tmp_path):
    root = _make(tmp_path / "r", dvc, metrics=False)
    dvc("remote", "add", "-d", "store", str(tmp_path / "store"), cwd=root)
    dvc("repro", cwd=root)
    dvc("push", "--run-cache", cwd=root)
    other = tmp_path / "clone"
    clone_without(root, other)
    dataver("pull", "--run-cache", cwd=other)
    assert list((other / ".dvc" / "cache" / "runs").rglob("*"))
    out = dataver("repro", cwd=other).stdout
    assert "is cached - skipping run" in out and _runs_count(other) == 0
    assert (other / "dvc.lock").read_bytes() == (root / "dvc.lock").read_bytes()
    assert "Everything is up to date." in dataver("push", "--run-cache", cwd=other).stdout


def test_key_and_value_are_dvcs():
    """Hashes of an entry DVC 3.67.1 wrote as runs/ca/cab16c.../c84b38..."""
    from dataver.pipeline import runcache

    out = {"path": "out.txt", "hash": "md5", "md5": "b1946ac92492d2347c6235b4d2611184", "size": 6}
    entry = {"cmd": 'cat in.txt > out.txt; echo x >> count; echo "{\\"v\\": 1}" > m.json',
             "deps": [{**out, "path": "in.txt"}], "params": {"params.yaml": {"a": 1}},
             "outs": [{"path": "m.json", "hash": "md5", "md5": "23d6ee1af5926f2229c82288f9854b3a",
                       "size": 9}, out]}
    assert runcache.entry_key(entry) == "cab16c4a8226f6598d41e955c192ad46756613b595499fd98b6882bd06cd3e0f"
    assert runcache.entry_value(entry) == "c84b3873769f9471dd9d42cbf9e362a253951a7bcec50026158ec065a1fc0639"
    assert runcache.entry_value({**entry, "outs": [{**out, "size": 7}]}) == \
        runcache.entry_value({**entry, "outs": [out]})  # sizes take no part
