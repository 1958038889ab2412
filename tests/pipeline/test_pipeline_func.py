"""Functional tests: `stage add`, `repro` (what runs, failures, persist, cache: false), `dag`."""
from __future__ import annotations

import os

from dataver.cli.main import main


def _stage(*args):
    assert main(["stage", "add", *args]) == 0


def test_repro_runs_changed_stages_only(repo_dir, capsys):
    (repo_dir / "in.txt").write_text("a\n")
    _stage("-n", "one", "-d", "in.txt", "-o", "mid.txt", "cp in.txt mid.txt")
    _stage("-n", "two", "-d", "mid.txt", "-O", "out.txt", "cp mid.txt out.txt; echo ran >> log")
    assert main(["repro"]) == 0
    lock = (repo_dir / "dvc.lock").read_text()
    assert lock.startswith("schema: '2.0'\nstages:\n  one:\n") and "  two:\n" in lock
    assert main(["repro"]) == 0
    assert (repo_dir / "log").read_text() == "ran\n"
    assert "/mid.txt" in (repo_dir / ".gitignore").read_text()
    assert "out.txt" not in (repo_dir / ".gitignore").read_text()
    (repo_dir / "in.txt").write_text("b\n")
    assert main(["repro"]) == 0
    assert (repo_dir / "out.txt").read_text() == "b\n" and (repo_dir / "log").read_text() == "ran\nran\n"
    assert main(["repro", "-f", "-s", "two"]) == 0
    assert (repo_dir / "log").read_text() == "ran\nran\nran\n"
    capsys.readouterr()
    assert main(["repro", "--dry", "-f"]) == 0
    assert "> cp in.txt mid.txt" in capsys.readouterr().out


def test_failing_stage_keeps_earlier_locks(repo_dir, capsys):
    _stage("-n", "ok", "-o", "a.txt", "echo a > a.txt")
    _stage("-n", "bad", "-d", "a.txt", "-o", "b.txt", "exit 3")
    assert main(["repro"]) == 3
    assert "failed to reproduce 'bad'" in capsys.readouterr().err
    lock = (repo_dir / "dvc.lock").read_text()
    assert "ok:" in lock and "bad:" not in lock


def test_outputs_deleted_before_running_unless_persist(repo_dir):
    _stage("-n", "s", "-o", "o.txt", "--outs-persist", "p.txt", "echo x >> o.txt; echo x >> p.txt")
    assert main(["repro"]) == 0
    assert main(["repro", "-f"]) == 0
    assert (repo_dir / "o.txt").read_text() == "x\n"
    assert (repo_dir / "p.txt").read_text() == "x\nx\n"


def test_stage_add_refuses_duplicates(repo_dir, capsys):
    _stage("-n", "s", "-o", "o", "echo")
    assert main(["stage", "add", "-n", "s", "-o", "p", "echo"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["stage", "add", "-n", "t", "-o", "o", "echo"]) == 1
    assert "specified in stages" in capsys.readouterr().err
    _stage("-f", "-n", "s", "-o", "p", "echo 2")
    assert "echo 2" in (repo_dir / "dvc.yaml").read_text()


def test_missing_dependency_runs_nothing(repo_dir, capsys):
    _stage("-n", "s", "-d", "nope", "-o", "o", "touch o")
    assert main(["repro"]) == 1
    assert "dependency 'nope' does not exist" in capsys.readouterr().err
    assert not os.path.exists(repo_dir / "o")


def test_dag_formats(repo_dir, capsys):
    _stage("-n", "a", "-o", "A", "echo")
    _stage("-n", "b", "-d", "A", "-o", "B", "echo")
    capsys.readouterr()
    assert main(["dag", "--dot"]) == 0
    assert '"a" -> "b";' in capsys.readouterr().out
    assert main(["dag", "--md"]) == 0
    assert "node1-->node2" in capsys.readouterr().out
