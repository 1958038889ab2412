"""The per-output ``remote:`` field of a `.dvc` file: push, fetch, pull, `status -c` and
`api.get_url` use that remote for that output, as DVC does (with ``-r NAME``, an output whose
own remote is another is left out), and a re-add keeps the field."""
from __future__ import annotations

import os
import shutil

import pytest

from dataver import api
from tests.compat.conftest import dataver, dvc, status_json
from tests.compat.test_api_compat import dvc_api
from tests.conftest import git, tree

pytestmark = pytest.mark.compat

TOOLS = {"dataver": dataver, "dvc": dvc}
A_OID, B_OID = "60b725f10c9c85c70d97880dfe8191b3", "3b5d5c3712955042212316173ccf37be"


def made(tmp_path, name: str):
    """A repo (made by dvc) with remotes r1 (default), r2 and r3 of its own; ``a.txt`` has
    ``remote: r2``, ``b.txt`` none. Returns the repo path."""
    base = tmp_path / name
    root = base / "repo"
    root.mkdir(parents=True)
    git(root, "init", "-q")
    dvc("init", cwd=root)
    for remote in ("r1", "r2", "r3"):
        (base / remote).mkdir()
        dvc("remote", "add", *(["-d"] if remote == "r1" else []), remote, f"../{remote}", cwd=root)
    (root / "a.txt").write_text("a\n")
    (root / "b.txt").write_text("b\n")
    dvc("add", "a.txt", "b.txt", cwd=root)
    dvcfile = root / "a.txt.dvc"
    dvcfile.write_text(dvcfile.read_text() + "  remote: r2\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return root


def remote_files(root) -> dict[str, list[str]]:
    """Object files per remote, as ``xx/rest`` names."""
    base = root.parent
    return {r: sorted(k.rsplit("/", 2)[-2] + k.rsplit("/", 1)[-1] for k in tree(base / r))
            for r in ("r1", "r2", "r3")}


@pytest.fixture
def twins(tmp_path):
    return {name: made(tmp_path, name) for name in TOOLS}


def test_push_sends_each_output_to_its_remote(twins):
    for name, root in twins.items():
        TOOLS[name]("push", cwd=root)
    assert remote_files(twins["dataver"]) == remote_files(twins["dvc"]) == {
        "r1": [B_OID], "r2": [A_OID], "r3": []}


@pytest.mark.parametrize("remote", ["r2", "r3"])
def test_push_with_r_leaves_out_outputs_of_another_remote(twins, remote):
    for name, root in twins.items():
        TOOLS[name]("push", "-r", remote, cwd=root)
        assert status_json(TOOLS[name], root, "-c", "-r", remote) == {}
    assert remote_files(twins["dataver"]) == remote_files(twins["dvc"])
    expected = sorted([A_OID, B_OID]) if remote == "r2" else [B_OID]
    assert remote_files(twins["dataver"])[remote] == expected


@pytest.mark.parametrize("pusher", sorted(TOOLS))
def test_the_other_tool_pulls_what_one_pushed(twins, pusher):
    root = twins[pusher]
    TOOLS[pusher]("push", cwd=root)
    puller = "dvc" if pusher == "dataver" else "dataver"
    shutil.rmtree(root / ".dvc" / "cache")
    for name in ("a.txt", "b.txt"):
        os.unlink(root / name)
    TOOLS[puller]("fetch", cwd=root)
    assert len(tree(root / ".dvc" / "cache")) == 2
    TOOLS[puller]("pull", cwd=root)
    assert (root / "a.txt").read_text() == "a\n" and (root / "b.txt").read_text() == "b\n"


def test_pull_fails_when_the_output_remote_lacks_it(twins):
    root = twins["dataver"]
    dvc("push", "-r", "r1", cwd=root)  # a.txt (remote: r2) is left out: r2 stays empty
    shutil.rmtree(root / ".dvc" / "cache")
    os.unlink(root / "a.txt")
    proc = dataver("pull", cwd=root, ok=False)
    assert proc.returncode != 0 and "a.txt" in proc.stderr


def test_cloud_status_checks_each_output_on_its_remote(twins):
    root = twins["dataver"]
    assert status_json(dataver, root, "-c", "-r", "r3") == status_json(dvc, root, "-c", "-r", "r3") \
        == {"b.txt": "new"}
    # DVC 3.67.1 leaves outputs with their own remote out of a plain `status -c`; dataver checks
    # them on their remote, so that a push that is still needed is reported.
    assert status_json(dataver, root, "-c") == {"a.txt": "new", "b.txt": "new"}
    dataver("push", cwd=root)
    assert status_json(dataver, root, "-c") == {}


def test_readd_keeps_the_remote_field(twins):
    for name, root in twins.items():
        (root / "a.txt").write_text("changed\n")
        TOOLS[name]("add", "a.txt", cwd=root)
    written = {name: (root / "a.txt.dvc").read_text() for name, root in twins.items()}
    assert written["dataver"] == written["dvc"]
    assert written["dataver"].endswith("  remote: r2\n")


def test_get_url_uses_the_output_remote(twins, monkeypatch):
    root = twins["dataver"]
    calls = [("get_url", {"path": p, "repo": str(root), **kw})
             for p in ("a.txt", "b.txt") for kw in ({}, {"remote": "r3"})]
    assert [api.get_url(**kw) for _f, kw in calls] == dvc_api(calls)
    assert api.get_url("a.txt", repo=str(root), remote="r3").startswith(str(root.parent / "r2"))
