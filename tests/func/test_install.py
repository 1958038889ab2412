"""`dataver install`: git hooks with real git; switching branches brings the branch's data."""
from __future__ import annotations

import os

from dataver.cli.main import main
from dataver.repo import Repo
from tests.conftest import git, run_cli


def hook(repo_dir, name) -> str:
    return (repo_dir / ".git" / "hooks" / name).read_text()


def test_branch_switch_checks_out_data(repo_dir):
    assert run_cli("install").returncode == 0
    (repo_dir / "data").mkdir()
    (repo_dir / "data" / "f.txt").write_text("main version")
    with Repo() as repo:
        repo.add(["data"])
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "main data")
    git(repo_dir, "checkout", "-qb", "other")
    (repo_dir / "data" / "f.txt").write_text("other version")
    (repo_dir / "data" / "new.txt").write_text("only on other")
    with Repo() as repo:
        repo.add(["data"])
    commit = git(repo_dir, "commit", "-am", "other data")  # runs the pre-commit hook (status)
    assert "other data" in commit
    git(repo_dir, "checkout", "-q", "main")  # post-checkout: data follows
    assert (repo_dir / "data" / "f.txt").read_text() == "main version"
    assert not (repo_dir / "data" / "new.txt").exists()
    git(repo_dir, "checkout", "-q", "other")
    assert (repo_dir / "data" / "new.txt").read_text() == "only on other"
    git(repo_dir, "checkout", "-q", "main", "--", ".gitignore")  # a file checkout: no data change
    assert (repo_dir / "data" / "new.txt").exists()


def test_install_is_idempotent_and_keeps_user_hooks(repo_dir, capsys):
    hooks = repo_dir / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho user hook ran\n")
    (hooks / "pre-push").write_text("#!/usr/bin/sh\nexec dvc git-hook pre-push $@\n")  # DVC's hook
    assert main(["install"]) == 0
    assert "kept the existing hook" in capsys.readouterr().out
    first = {name: hook(repo_dir, name) for name in ("pre-commit", "pre-push", "post-checkout")}
    assert first["pre-commit"].startswith("#!/bin/sh\necho user hook ran\n")
    assert "-m dataver git-hook pre-commit" in first["pre-commit"]
    assert "dvc git-hook" not in first["pre-push"] and "git-hook pre-push" in first["pre-push"]
    assert all(os.access(hooks / name, os.X_OK) for name in first)
    assert main(["install"]) == 0
    assert "already installed" in capsys.readouterr().out
    assert {name: hook(repo_dir, name) for name in first} == first
    (repo_dir / "x.txt").write_text("x")
    git(repo_dir, "add", "x.txt")
    proc_out = git(repo_dir, "commit", "-qm", "x")
    assert proc_out == ""  # -q; the hooks' output goes to stderr/stdout of git, exit status 0


def test_hooks_do_nothing_outside_a_repo(git_dir):
    proc = run_cli("git-hook", "post-checkout", "a", "b", "1")
    assert proc.returncode == 0 and proc.stdout == ""
