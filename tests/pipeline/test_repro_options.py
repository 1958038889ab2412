"""`repro` options, `commit` of stages and Ctrl-C during a stage, each checked against real DVC
3.67.1 on twin repositories (the same commands, then the same dvc.lock / cache / stages run).
Commands append to a counter file (not an output) so a test sees what ran."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.compat.conftest import dataver, dvc, snapshot
from tests.conftest import git
from tests.pipeline.test_runcache import clone_without


def _init(path, tool):
    path.mkdir()
    git(path, "init", "-q")
    tool("init", cwd=path)
    (path / "in.txt").write_text("i\n")
    return path


def _chain(path, tool, fail_a=False):
    """a -> b (b depends on a's output); c alone; sub/deep/dvc.yaml: train1, train2, eval."""
    _init(path, tool)
    tool("stage", "add", "-n", "a", "-d", "in.txt", "-o", "a.txt",
         "exit 3" if fail_a else "cp in.txt a.txt; echo a >> count", cwd=path)
    tool("stage", "add", "-n", "b", "-d", "a.txt", "-o", "b.txt", "cp a.txt b.txt; echo b >> count", cwd=path)
    tool("stage", "add", "-n", "c", "-d", "in.txt", "-o", "c.txt", "cp in.txt c.txt; echo c >> count", cwd=path)
    deep = path / "sub" / "deep"
    deep.mkdir(parents=True)
    for name in ("train1", "train2", "eval"):
        tool("stage", "add", "-n", name, "-o", f"{name}.txt", f"echo {name} > {name}.txt; echo {name} >> ../../count",
             cwd=deep)
    return path


def _ran(root) -> list[str]:
    path = root / "count"
    return path.read_text().split() if path.exists() else []


def _both(tmp_path, **kwargs):
    return _chain(tmp_path / "dv", dataver, **kwargs), _chain(tmp_path / "dvc", dvc, **kwargs)


def _same_locks(ours, theirs) -> None:
    for rel in ("dvc.lock", "sub/deep/dvc.lock"):
        a, b = ours / rel, theirs / rel
        assert a.exists() == b.exists(), rel
        if a.exists():
            assert a.read_bytes() == b.read_bytes(), rel


# --- target selection ------------------------------------------------------------------------
@pytest.mark.parametrize("args", [[], ["-R", "sub"], ["--glob", "sub/deep/dvc.yaml:train*"], ["-P"],
                                  ["-P", "-s", "b"], ["-s", "b"], ["-p", "a"], ["-p", "-s", "a"],
                                  ["-p", "sub/deep/dvc.yaml:eval"]], ids=str)
def test_targets_select_the_stages_dvc_runs(tmp_path, args):
    ours, theirs = _both(tmp_path)
    ok = args != ["-s", "b"]  # b alone, before a ran: its dependency is missing, in both tools
    assert (dataver("repro", *args, cwd=ours, ok=False).returncode == 0) == ok
    assert (dvc("repro", *args, cwd=theirs, ok=False).returncode == 0) == ok
    if "--glob" in args:  # unrelated stages matched by a pattern: dvc's order is not stable
        from dataver.pipeline import lock

        assert sorted(_ran(ours)) == sorted(_ran(theirs)) == ["train1", "train2"]
        assert lock.read(str(ours / "sub/deep/dvc.lock")) == lock.read(str(theirs / "sub/deep/dvc.lock"))
        return
    assert _ran(ours) == _ran(theirs)
    assert _ran(ours) or not ok
    _same_locks(ours, theirs)


def test_no_target_means_the_dvc_yaml_here(tmp_path):
    ours = _chain(tmp_path / "dv", dataver)
    dataver("repro", cwd=ours / "sub" / "deep")
    assert _ran(ours) == ["train1", "train2", "eval"]
    proc = dataver("repro", cwd=ours / "sub", ok=False)
    assert proc.returncode == 1 and "dvc.yaml' does not exist" in proc.stderr
    assert dvc("repro", cwd=ours / "sub", ok=False).returncode != 0


def _edit_command_of_a(root) -> None:
    """A new command for stage a that writes the same a.txt."""
    path = root / "dvc.yaml"
    path.write_text(path.read_text().replace("echo a >> count", "echo a >> count; true"))


@pytest.mark.parametrize("flag", [None, "--force-downstream"])
def test_force_downstream_runs_what_depends_on_a_stage_that_ran(tmp_path, flag):
    ours, theirs = _both(tmp_path)
    for root, tool in ((ours, dataver), (theirs, dvc)):
        tool("repro", cwd=root)
        (root / "count").unlink()
        _edit_command_of_a(root)  # a runs again, its output unchanged: b is up to date
        tool("repro", *[f for f in [flag] if f], cwd=root)
    assert _ran(ours) == _ran(theirs) == (["a", "b"] if flag else ["a"])
    _same_locks(ours, theirs)


def test_a_frozen_stage_cuts_off_what_it_depends_on(tmp_path):
    ours, theirs = _both(tmp_path)
    for root, tool in ((ours, dataver), (theirs, dvc)):
        tool("repro", cwd=root)
        (root / "count").unlink()
        (root / "in.txt").write_text("changed\n")
        tool("freeze", "b", cwd=root)
        tool("repro", "b", cwd=root)  # as DVC: a is not reproduced for a frozen b
    assert _ran(ours) == _ran(theirs) == []
    _same_locks(ours, theirs)


# --- failures --------------------------------------------------------------------------------
@pytest.mark.parametrize("flag,code", [("-k", 1), ("--ignore-errors", 0)])
def test_keep_going_and_ignore_errors_match_dvc(tmp_path, flag, code):
    ours, theirs = _both(tmp_path, fail_a=True)
    mine = dataver("repro", flag, cwd=ours, ok=False)
    theirs_proc = dvc("repro", flag, cwd=theirs, ok=False)
    assert mine.returncode == code and (theirs_proc.returncode == 0) == (code == 0)
    assert _ran(ours) == _ran(theirs) == ["c"]
    _same_locks(ours, theirs)
    if flag == "-k":
        assert "Stage 'b' will be skipped due to this failure" in mine.stderr
        assert "Stage 'b' will be skipped due to this failure" in theirs_proc.stderr
        assert "ERROR: failed to reproduce 'a'" in mine.stderr
    else:
        assert "(ignored)" in mine.stderr and "ERROR" not in mine.stderr


def test_a_failure_stops_by_default(tmp_path):
    ours = _chain(tmp_path / "dv", dataver, fail_a=True)
    proc = dataver("repro", cwd=ours, ok=False)
    assert proc.returncode == 3 and _ran(ours) == [] and not (ours / "dvc.lock").exists()


# --- interactive -----------------------------------------------------------------------------
def test_interactive_reads_answers_from_stdin(tmp_path):
    root = _chain(tmp_path / "dv", dataver)
    proc = subprocess.run([sys.executable, "-m", "dataver", "repro", "-i"], cwd=root, input="y\nn\n",
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "aborted by the user" in proc.stderr
    assert "Going to reproduce stage: 'a'" in proc.stdout and _ran(root) == ["a"]
    proc = subprocess.run([sys.executable, "-m", "dataver", "repro", "-i", "-k"], cwd=root,
                          input="n\ny\n", capture_output=True, text=True)
    assert _ran(root) == ["a", "c"]  # b refused (and skipped), c accepted


# --- missing data: --allow-missing, --pull -----------------------------------------------------
def test_allow_missing_skips_stages_that_only_miss_data(tmp_path):
    ours, theirs = _both(tmp_path)
    for root, tool in ((ours, dataver), (theirs, dvc)):
        tool("repro", cwd=root)
        shutil.rmtree(root / ".dvc" / "cache")
        for name in ("a.txt", "b.txt"):
            os.remove(root / name)
        out = tool("repro", "--allow-missing", cwd=root).stdout
        assert "Data and pipelines are up to date." in out
        assert _ran(root) == ["a", "b", "c"]
        (root / "in.txt").write_text("changed\n")  # a real change still runs
        tool("repro", "--allow-missing", cwd=root)
    assert _ran(ours) == _ran(theirs)
    _same_locks(ours, theirs)


def _clone(src, dest, keep_lock=True):
    clone_without(src, dest, ("a.txt", "b.txt", "c.txt", "count") + (() if keep_lock else ("dvc.lock",)))


def test_pull_fetches_outputs_instead_of_running(tmp_path):
    root = _chain(tmp_path / "r", dataver)
    dataver("remote", "add", "-d", "store", str(tmp_path / "store"), cwd=root)
    dataver("repro", cwd=root)
    dataver("push", "--run-cache", cwd=root)
    for tool, name in ((dataver, "dv"), (dvc, "dvc")):
        clone = tmp_path / name
        _clone(root, clone)
        out = tool("repro", "--pull", cwd=clone).stdout
        assert "Pulling data for stage: 'a'" in out and _ran(clone) == []
        assert (clone / "b.txt").read_text() == "i\n"
    clone = tmp_path / "nolock"  # no dvc.lock: the run cache restores the stages
    _clone(root, clone, keep_lock=False)
    out = dataver("repro", "--pull", cwd=clone).stdout
    assert "Stage 'a' is cached - skipping run" in out and _ran(clone) == []
    assert (clone / "dvc.lock").read_bytes() == (root / "dvc.lock").read_bytes()


# --- commit ----------------------------------------------------------------------------------
def _commit_repo(path, tool):
    _init(path, tool)
    (path / "params.yaml").write_text("a: 1\n")
    tool("stage", "add", "-n", "s1", "-d", "in.txt", "-p", "a", "-o", "out.txt", "-M", "m.json",
         "cat in.txt > out.txt; echo x >> count", cwd=path)
    (path / "out.txt").write_text("made by hand\n")
    (path / "m.json").write_text("{}\n")
    return path


def test_commit_records_stages_as_dvc_does(tmp_path):
    ours, theirs = _commit_repo(tmp_path / "dv", dataver), _commit_repo(tmp_path / "dvc", dvc)
    for root, tool in ((ours, dataver), (theirs, dvc)):
        proc = tool("commit", cwd=root, ok=False)  # changed (no lock entry), no terminal: refused
        assert proc.returncode != 0 and "unable to commit changed stage" in proc.stderr
        tool("commit", "-f", cwd=root)
        tool("commit", cwd=root)  # unchanged now: no question
        (root / "out.txt").write_text("edited\n")
        assert tool("commit", "out.txt", cwd=root, ok=False).returncode != 0
        tool("commit", "-f", "out.txt", cwd=root)  # an output names its stage
    assert (ours / "dvc.lock").read_bytes() == (theirs / "dvc.lock").read_bytes()
    cache = {k: v for k, v in snapshot(ours).items() if k.startswith(".dvc/cache/") and "dataver-" not in k}
    assert cache == {k: v for k, v in snapshot(theirs).items() if k.startswith(".dvc/cache/")}
    assert any("runs" in k for k in cache)
    assert "up to date" in dvc("status", cwd=ours).stdout
    assert "didn't change" in dataver("repro", cwd=theirs).stdout and _ran(theirs) == []


def test_run_cache_rules_of_repro_and_commit_differ_as_in_dvc(tmp_path):
    """A plain uncached output: repro saves no run-cache entry, commit does (and the object)."""
    caches = []
    for tool, name in ((dataver, "dv"), (dvc, "dvc")):
        root = _init(tmp_path / name, tool)
        tool("stage", "add", "-n", "s", "-d", "in.txt", "-O", "o.txt", "cp in.txt o.txt", cwd=root)
        tool("repro", cwd=root)
        assert not (root / ".dvc" / "cache" / "runs").exists()
        tool("commit", "-f", cwd=root)
        caches.append({k: v for k, v in snapshot(root).items()
                       if k.startswith(".dvc/cache/") and "dataver-" not in k})
    assert caches[0] == caches[1] and any("runs" in k for k in caches[0])


def test_commit_of_a_stage_with_a_missing_output_fails(tmp_path):
    root = _commit_repo(tmp_path / "dv", dataver)
    os.remove(root / "m.json")
    proc = dataver("commit", "-f", "s1", cwd=root, ok=False)
    assert proc.returncode == 1 and "output 'm.json' does not exist" in proc.stderr
    assert not (root / "dvc.lock").exists()


# --- Ctrl-C ----------------------------------------------------------------------------------
def test_sigint_reaches_the_stage_and_keeps_the_lock(tmp_path):
    root = _init(tmp_path / "r", dataver)
    dataver("stage", "add", "-n", "s", "-d", "in.txt", "-o", "o.txt", "cp in.txt o.txt", cwd=root)
    dataver("repro", cwd=root)
    lock = (root / "dvc.lock").read_bytes()
    marker = root / "child-got-sigint"
    script = root / "slow.py"
    script.write_text("import signal, sys, time\n"
                      f"def bye(*a):\n    open({str(marker)!r}, 'w').close()\n    sys.exit(1)\n"
                      "signal.signal(signal.SIGINT, bye)\n"
                      "open('started', 'w').close()\ntime.sleep(30)\n")
    dataver("stage", "add", "-f", "-n", "s", "-d", "in.txt", "-o", "o.txt",
            f"{sys.executable} slow.py; cp in.txt o.txt", cwd=root)
    proc = subprocess.Popen([sys.executable, "-m", "dataver", "repro"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (root / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # to dataver only: it must pass it on to the stage
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "interrupted" in err
    assert marker.exists()  # the command got SIGINT and dataver waited for it
    assert (root / "dvc.lock").read_bytes() == lock


def test_stage_add_run_runs_the_new_stage_alone(tmp_path):
    ours, theirs = _init(tmp_path / "dv", dataver), _init(tmp_path / "dvc", dvc)
    for root, tool in ((ours, dataver), (theirs, dvc)):
        tool("stage", "add", "-n", "c", "-d", "in.txt", "-o", "c.txt", "cp in.txt c.txt; echo c >> count",
             cwd=root)
        tool("stage", "add", "--run", "-n", "a", "-d", "in.txt", "-o", "a.txt",
             "cp in.txt a.txt; echo a >> count", cwd=root)
    assert _ran(ours) == _ran(theirs) == ["a"]
    _same_locks(ours, theirs)
    assert (ours / ".gitignore").read_text() == (theirs / ".gitignore").read_text()
    failed = dataver("stage", "add", "--run", "-n", "b", "-o", "b.txt", "exit 4", cwd=ours, ok=False)
    assert failed.returncode == 4 and "failed to run: exit 4, exited with 4" in failed.stderr
    assert "b:" in (ours / "dvc.yaml").read_text() and "b:" not in (ours / "dvc.lock").read_text()
