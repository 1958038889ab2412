"""`pull` of imports made with `import-url --no-download` and `import --no-download`: as
`dvc pull`, the data comes from the source (the URL; the source repository at its locked
revision) into the workspace, the `.dvc` files stay as they are, and `status` then reports the
outputs as DVC does."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.compat.conftest import dataver, dvc, dvc_repo, make_tree
from tests.conftest import git, tree

pytestmark = pytest.mark.compat

OUTS = ("f.txt", "dd", "data", "model.txt")
# DVC 3.67.1 pulls a directory imported by URL with --no-download as an empty directory (or
# fails on it); dataver downloads it whole, so it is compared with the source instead.
SAME_AS_DVC = ("f.txt", "data", "model.txt")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A repository with four imports and no data: a file and a directory by URL, a directory
    and a file from another DVC repository (whose data is on its remote only)."""
    base = tmp_path_factory.mktemp("nodownload")
    src = base / "src"
    (src / "dd").mkdir(parents=True)
    (src / "f.txt").write_text("hello\n")
    (src / "dd" / "x").write_text("1\n")
    (src / "dd" / "y").write_text("22\n")
    other = dvc_repo(base / "other")
    dvc("remote", "add", "-d", "r", str(base / "other-remote"), cwd=other)
    make_tree(other, {"data/a": "a\n", "data/b": "bb\n", "model.txt": "m\n"})
    dvc("add", "-q", "data", "model.txt", cwd=other)
    dvc("push", "-q", cwd=other)
    git(other, "add", "-A")
    git(other, "commit", "-qm", "data")
    shutil.rmtree(other / ".dvc" / "cache")  # only the remote has it
    root = dvc_repo(base / "repo")
    dvc("import-url", "-q", "--no-download", str(src / "f.txt"), cwd=root)
    dvc("import-url", "-q", "--no-download", str(src / "dd"), cwd=root)
    dvc("import", "-q", "--no-download", str(other), "data", cwd=root)
    dvc("import", "-q", "--no-download", str(other), "model.txt", cwd=root)
    return root


def _outputs(root) -> dict:
    result = {}
    for name in SAME_AS_DVC:
        path = root / name
        result[name] = tree(path) if path.is_dir() else path.read_bytes()
    return result


def _dvcfiles(root) -> dict:
    return {name: (root / f"{name}.dvc").read_text() for name in OUTS}


def test_pull_downloads_imports_without_data_as_dvc(imported, tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    shutil.copytree(imported, ours)
    shutil.copytree(imported, theirs)
    before = _dvcfiles(ours)
    proc = dataver("pull", cwd=ours)
    dvc("pull", cwd=theirs)
    assert "Everything is up to date" not in proc.stdout
    assert "6 files fetched" in proc.stdout  # f.txt, dd/x, dd/y, data/a, data/b, model.txt
    assert _outputs(ours) == _outputs(theirs)
    assert tree(ours / "dd") == {"x": b"1\n", "y": b"22\n"}
    assert _dvcfiles(ours) == before == _dvcfiles(theirs)
    mine = json.loads(dataver("status", "--json", cwd=ours).stdout)
    real = json.loads(dvc("status", "--json", cwd=theirs).stdout)
    assert mine == real and mine["data.dvc"] == [{"changed outs": {"data": "modified"}}]


def test_pull_of_one_import_target(imported, tmp_path):
    """DVC 3.67.1 fails here ("Checkout failed ... Is your cache up to date?") although a pull
    without targets downloads the same import: dataver downloads it, as the untargeted pull."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    shutil.copytree(imported, ours)
    shutil.copytree(imported, theirs)
    dataver("pull", "dd.dvc", "model.txt", cwd=ours)
    assert tree(ours / "dd") == {"x": b"1\n", "y": b"22\n"}
    assert (ours / "model.txt").read_text() == "m\n"
    assert not (ours / "f.txt").exists() and not (ours / "data").exists()
    assert dvc("pull", "dd.dvc", cwd=theirs, ok=False).returncode != 0  # as said above


def test_status_before_pull_as_dvc(imported):
    mine = json.loads(dataver("status", "--json", cwd=imported).stdout)
    real = json.loads(dvc("status", "--json", cwd=imported).stdout)
    assert mine == real and mine["f.txt.dvc"] == [{"changed outs": {"f.txt": "deleted"}}]
