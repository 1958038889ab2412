"""push/fetch/gc/status -c with --rev, -a, -T, -A: data of other revisions, read from git."""
from __future__ import annotations

import os

from dataver.cli.main import main
from dataver.ops.revisions import used_objects
from dataver.repo import Repo
from tests.conftest import git


def commit_version(root, text: str, tag: str | None = None, branch_from: str | None = None):
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "f.txt").write_text(text)
    (root / "model.bin").write_text("model " + text)
    with Repo() as repo:
        repo.add(["data", "model.bin"])
    git(root, "add", "-A")
    git(root, "commit", "-qm", text)
    if tag:
        git(root, "tag", tag)


def objects(path) -> set[str]:
    return {os.path.basename(d)[-2:] + f for d, _, fs in os.walk(path) for f in fs}


def test_revision_flags_select_history(repo_dir, tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["remote", "add", "-d", "store", str(store)]) == 0
    commit_version(repo_dir, "one", tag="v1")
    git(repo_dir, "checkout", "-qb", "side")
    commit_version(repo_dir, "side")
    git(repo_dir, "checkout", "-q", "main")
    commit_version(repo_dir, "three")
    with Repo() as repo:
        only_ws = {u.oid for u in used_objects(repo)}
        tags = {u.oid for u in used_objects(repo, all_tags=True)}
        branches = {u.oid for u in used_objects(repo, all_branches=True)}
        every = {u.oid for u in used_objects(repo, all_commits=True)}
        by_rev = {u.oid for u in used_objects(repo, revs=["v1"], workspace=False)}
    assert len(only_ws) == 2 and only_ws < tags and only_ws < branches
    assert tags != branches and tags | branches == every and len(every) == 6
    assert by_rev == tags - only_ws

    assert main(["push"]) == 0
    assert len(objects(store)) == 3  # the workspace: a file, a .dir, and model.bin
    assert main(["status", "-c", "-T", "--json"]) == 0
    assert '"new"' in capsys.readouterr().out  # v1's objects are not pushed yet
    assert main(["push", "-A"]) == 0
    assert len(objects(store)) == 9
    assert main(["gc", "-f", "-w"]) == 0
    with Repo() as repo:
        assert not repo.odb.exists(sorted(by_rev)[0])
    assert main(["fetch", "--rev", "v1"]) == 0
    with Repo() as repo:
        assert all(repo.odb.exists(oid) for oid in by_rev)
    assert main(["gc", "-f", "-T"]) == 0
    with Repo() as repo:
        assert all(repo.odb.exists(oid) for oid in tags)
    git(repo_dir, "checkout", "-q", "v1")
    assert main(["checkout"]) == 0
    assert (repo_dir / "data" / "f.txt").read_text() == "one"
