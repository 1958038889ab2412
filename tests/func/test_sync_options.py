"""pull/push/fetch options DVC has: -a/-T/-A on pull, --allow-missing, -d, -R, --run-cache,
--glob."""
from __future__ import annotations

import os
import shutil

from dataver.cli.main import main
from tests.func.test_revisions import commit_version, objects
from tests.conftest import git, run_dvc


def test_pull_all_tags_fetches_history_and_checks_out_workspace(repo_dir, tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["remote", "add", "-d", "store", str(store)]) == 0
    commit_version(repo_dir, "one", tag="v1")
    commit_version(repo_dir, "two")
    assert main(["push", "-T"]) == 0
    assert len(objects(store)) == 6
    shutil.rmtree(repo_dir / ".dvc" / "cache")
    shutil.rmtree(repo_dir / "data")
    capsys.readouterr()
    assert main(["pull", "-T"]) == 0
    assert "6 files fetched" in capsys.readouterr().out
    assert (repo_dir / "data" / "f.txt").read_text() == "two"
    assert len(objects(repo_dir / ".dvc" / "cache")) >= 6


def test_pull_allow_missing(repo_dir, tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["remote", "add", "-d", "store", str(store)]) == 0
    commit_version(repo_dir, "one")
    assert main(["push", "model.bin"]) == 0
    shutil.rmtree(repo_dir / ".dvc" / "cache")
    os.remove(repo_dir / "model.bin")
    assert main(["pull"]) == 1
    capsys.readouterr()
    os.remove(repo_dir / "model.bin")
    assert main(["pull", "--allow-missing"]) == 0
    assert "missing on the remote were skipped" in capsys.readouterr().err
    assert (repo_dir / "model.bin").read_text() == "model one"


def test_dvc_options_are_accepted(repo_dir, tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["remote", "add", "-d", "store", str(store)]) == 0
    commit_version(repo_dir, "one")
    assert main(["push", "-R", "-d", "--no-run-cache", "--glob", "*.bin"]) == 0
    assert len(objects(store)) == 1
    assert main(["push", "--run-cache", "data"]) == 0  # no runs/ yet: no entry to send
    assert "run cache" not in capsys.readouterr().err
    assert main(["fetch", "-d", "-R", "data"]) == 0
    assert main(["pull", "-a", "-A", "-d", "-R", "-f", "--allow-missing", "--no-run-cache"]) == 0


def test_with_deps_follows_stages(repo_dir, tmp_path):
    store = tmp_path / "store"
    assert main(["remote", "add", "-d", "store", str(store)]) == 0
    (repo_dir / "dvc.yaml").write_text(
        "stages:\n  one:\n    cmd: echo a > a.txt\n    outs:\n    - a.txt\n"
        "  two:\n    cmd: cat a.txt > b.txt\n    deps:\n    - a.txt\n    outs:\n    - b.txt\n")
    (repo_dir / "a.txt").write_text("a\n")
    (repo_dir / "b.txt").write_text("a\n!")
    run_dvc("commit", "-f", "-q", cwd=repo_dir)  # records dvc.lock and caches both outputs
    git(repo_dir, "add", "-A")
    assert main(["push", "two"]) == 0
    pushed = len(objects(store))
    assert main(["push", "-d", "two"]) == 0
    assert len(objects(store)) == pushed + 1
