"""Each tool reads the other's repository: status is clean, checkout restores deleted data, and
both report the same changes (`status --json` compared as parsed JSON)."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, make_tree, status_json
from tests.conftest import git, tree

pytestmark = pytest.mark.compat

TOOLS = {"dataver": dataver, "dvc": dvc}
DATA = {
    "data/a.jpg": b"\xff\xd8 image a", "data/sub/b.jpg": b"\xff\xd8 image b",
    "data/sub/deeper/c.json": '{"k": 1}\r\n', "data/dup.jpg": b"\xff\xd8 image a",
    "notes.txt": "some notes\n", "run.sh": "#!/bin/sh\n",
}


def build(root, maker: str) -> dict[str, bytes]:
    """A repo whose data was added by ``maker`` and committed; returns the workspace data."""
    git(root, "init", "-q")
    TOOLS[maker]("init", cwd=root)
    make_tree(root, DATA, ("run.sh",))
    TOOLS[maker]("add", "data", "notes.txt", "run.sh", cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return data_tree(root)


def data_tree(root) -> dict:
    """Tracked data with contents and exec bits."""
    files = {k: v for k, v in tree(root).items() if not k.startswith((".git", ".dvc"))}
    return {k: (v, os.access(os.path.join(root, k), os.X_OK)) for k, v in files.items()
            if not k.endswith((".dvc", ".gitignore", ".dvcignore"))}


def other(maker: str) -> str:
    return "dvc" if maker == "dataver" else "dataver"


@pytest.fixture(params=sorted(TOOLS))
def made(request, tmp_path):
    """(root, maker, reader, original data): a repo made by ``maker``, to be read by the other."""
    root = tmp_path / "repo"
    root.mkdir()
    original = build(root, request.param)
    return root, request.param, other(request.param), original


def test_status_is_clean_for_the_other_tool(made):
    root, _maker, reader, _original = made
    assert status_json(TOOLS[reader], root) == {}
    text = TOOLS[reader]("status", cwd=root).stdout
    assert "Data and pipelines are up to date." in text


@pytest.mark.parametrize("removed", [["data"], ["notes.txt", "run.sh"], ["data/sub/b.jpg"],
                                     ["data", "notes.txt", "run.sh"]])
def test_checkout_by_the_other_tool_restores(made, removed):
    root, _maker, reader, original = made
    for rel in removed:
        path = root / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert data_tree(root) != original
    TOOLS[reader]("checkout", cwd=root)
    assert data_tree(root) == original
    for tool in TOOLS.values():
        assert status_json(tool, root) == {}


def _modify_in_dir(root):
    os.chmod(root / "data/sub/b.jpg", 0o644)
    (root / "data/sub/b.jpg").write_bytes(b"changed")


def _remove_cache(*oids_of):
    def change(root):
        for rel in oids_of:
            for oid in _oids_for(root, rel):
                os.unlink(root / ".dvc/cache/files/md5" / oid[:2] / oid[2:])
    return change


def _oids_for(root, rel: str) -> list[str]:
    """Cache oids to delete for ``rel``: the .dvc file's md5, or a file inside a directory."""
    import json

    if os.path.exists(root / f"{rel}.dvc"):
        text = (root / f"{rel}.dvc").read_text()
        return [text.split("md5: ")[1].split()[0]]
    top, _, inner = rel.partition("/")
    dir_oid = (root / f"{top}.dvc").read_text().split("md5: ")[1].split()[0]
    manifest = json.loads((root / ".dvc/cache/files/md5" / dir_oid[:2] / dir_oid[2:]).read_bytes())
    return [e["md5"] for e in manifest if e["relpath"] == inner]


CHANGES = {
    "modify_file_in_dir": _modify_in_dir,
    "delete_file_in_dir": lambda root: (root / "data/a.jpg").unlink(),
    "add_file_to_dir": lambda root: (root / "data/sub/new.txt").write_text("new"),
    "add_ignored_file_to_dir": lambda root: ((root / ".dvcignore").write_text("*.log\n"),
                                             (root / "data/x.log").write_text("log")),
    "delete_dir_output": lambda root: shutil.rmtree(root / "data"),
    "delete_file_output": lambda root: (root / "notes.txt").unlink(),
    "modify_file_output": lambda root: (os.chmod(root / "notes.txt", 0o644),
                                        (root / "notes.txt").write_text("edited\n")),
    "file_output_becomes_dir": lambda root: ((root / "notes.txt").unlink(),
                                             make_tree(root, {"notes.txt/x": "x"})),
    "exec_bit_dropped": lambda root: os.chmod(root / "run.sh", 0o644),
    "cache_missing_file": _remove_cache("notes.txt"),
    "cache_missing_dir_manifest": _remove_cache("data"),
    "cache_missing_file_in_dir": _remove_cache("data/sub/b.jpg"),
    "cache_missing_and_deleted": lambda root: (_remove_cache("notes.txt")(root),
                                               (root / "notes.txt").unlink()),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_changes_reported_alike(made, change):
    root, _maker, _reader, _original = made
    CHANGES[change](root)
    got = status_json(dataver, root)
    want = status_json(dvc, root)
    assert got == want
    if change not in ("add_ignored_file_to_dir", "exec_bit_dropped"):
        assert want != {}


def test_status_of_targets_alike(made):
    root = made[0]
    _modify_in_dir(root)
    (root / "notes.txt").unlink()
    for targets in (["data"], ["notes.txt.dvc"], ["data.dvc", "notes.txt"]):
        assert status_json(dataver, root, *targets) == status_json(dvc, root, *targets)


def test_checkout_after_git_checkout_of_earlier_version(made):
    root, maker, reader, original = made
    _modify_in_dir(root)
    (root / "notes.txt").chmod(0o644)
    (root / "notes.txt").write_text("v2\n")
    TOOLS[maker]("add", "data", "notes.txt", cwd=root)
    git(root, "commit", "-qam", "v2")
    changed = data_tree(root)
    git(root, "checkout", "-q", "HEAD~1")
    TOOLS[reader]("checkout", cwd=root)
    assert data_tree(root) == original
    git(root, "checkout", "-q", "main")
    TOOLS[reader]("checkout", cwd=root)
    assert data_tree(root) == changed


def test_no_commit_and_uncached_outputs_alike(pair):
    a, b = pair
    for root, tool in ((a, dataver), (b, dvc)):
        make_tree(root, {"data/x": "x", "g": "g", "h": "h"})
        tool("add", "--no-commit", "data", "g", cwd=root)
        tool("add", "h", cwd=root)
    assert_same(a, b)
    for root in pair:
        dvcfile = root / "h.dvc"
        dvcfile.write_text(dvcfile.read_text().replace("  hash: md5\n", "  hash: md5\n  cache: false\n"))
        assert status_json(dataver, root) == status_json(dvc, root)
        (root / "h").chmod(0o644)
        (root / "h").write_text("changed")
        got = status_json(dataver, root)
        assert got == status_json(dvc, root) and got["h.dvc"] == [{"changed outs": {"h": "modified"}}]
        (root / "h").unlink()
        assert status_json(dataver, root) == status_json(dvc, root)


def test_non_canonical_dir_object_reported_alike(made):
    """A `.dir` object whose JSON is not in the canonical layout (say, written by another tool)
    lists the same files, yet DVC reports the directory modified, since the workspace's own
    manifest hashes differently. dataver must not take equal entries for an equal oid there."""
    import hashlib
    import json

    root = made[0]
    dvc_file = root / "data.dvc"
    oid = dvc_file.read_text().split("md5: ")[1].split()[0]
    cache = root / ".dvc" / "cache" / "files" / "md5"
    entries = json.loads((cache / oid[:2] / oid[2:]).read_bytes())
    loose = json.dumps(entries, sort_keys=True, indent=1).encode()
    new_oid = hashlib.md5(loose).hexdigest() + ".dir"
    (cache / new_oid[:2]).mkdir(exist_ok=True)
    (cache / new_oid[:2] / new_oid[2:]).write_bytes(loose)
    dvc_file.write_text(dvc_file.read_text().replace(oid, new_oid))
    expected = {"data.dvc": [{"changed outs": {"data": "modified"}}]}
    for _ in range(2):  # the second time answers from the stamps recorded by the first
        assert status_json(dvc, root) == expected
        assert status_json(dataver, root) == expected


def test_many_dvc_files_in_one_folder_listed_in_dvcs_order(tmp_path):
    """DVC lists `.dvc` files as its walk finds them (a folder's entries in the file system's
    order, not by name): `status` text and JSON come out in the same order from both tools."""
    names = ["k", "b", "z", "a", "m", "q", "c"]
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    for sub in ("t", "s"):
        make_tree(root, {f"{sub}/{n}.txt": n for n in names})
    for name in names:
        make_tree(root, {f"{name}.txt": name})
        dvc("add", "-q", f"{name}.txt", f"t/{name}.txt", f"s/{name}.txt", cwd=root)
    listed = [n for n in os.listdir(root) if n.endswith(".txt.dvc")]
    assert listed != sorted(listed)  # else this would not tell the orders apart
    for name in names:
        for rel in (f"{name}.txt", f"t/{name}.txt", f"s/{name}.txt"):
            (root / rel).write_text("changed\n")
    for args in ((), ("--json",)):
        ours = dataver("status", *args, cwd=root).stdout
        assert ours == dvc("status", *args, cwd=root).stdout
