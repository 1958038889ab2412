"""`ls`, `get`, `import`, `update` against real DVC, with a source repo reached by file:// URL."""
from __future__ import annotations

import json

import pytest

from tests.conftest import git, run_cli, run_dvc
from tests.history_helpers import tag_versions


@pytest.fixture
def source(tmp_path, monkeypatch):
    """A source repo (tags v1, v2) pushed to a local remote, and a bare clone of it."""
    from dataver.repo import Repo

    src = tmp_path / "src"
    src.mkdir()
    monkeypatch.chdir(src)
    git(src, "init", "-q")
    Repo.init(str(src))
    tag_versions(src, tmp_path / "store", {
        f"v{n}": {"data/images/cat.jpg": b"cat %d" % n, "data/labels/a.json": b"{}",
                  "model.pt": b"weights %d" % n, "README.md": b"readme %d\n" % n}
        for n in (1, 2)}, ["data", "model.pt"])
    bare = tmp_path / "src.git"
    git(tmp_path, "clone", "-q", "--bare", str(src), str(bare))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return bare.as_uri()


def test_ls_json_matches_dvc(source):
    for args in ([source], [source, "-R"], [source, "data"], [source, "data", "-R", "--rev", "v1"],
                 [source, "--dvc-only"], [source, "data/images/cat.jpg"]):
        ours = run_cli("ls", "--json", *args)
        assert ours.returncode == 0, ours.stderr
        assert json.loads(ours.stdout) == json.loads(run_dvc("ls", "--json", *args).stdout), args
    ours = run_cli("ls", source, "-R", "--size")
    assert ours.stdout == run_dvc("ls", source, "-R", "--size").stdout


def test_import_and_update_write_what_dvc_writes(source, tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for path, tool in ((ours, run_cli), (theirs, run_dvc)):
        path.mkdir()
        git(path, "init", "-q")
        run_dvc("init", "-q", cwd=path)
        for args in (["model.pt", "-o", "m.pt", "--rev", "v1"], ["data"], ["data/images/cat.jpg", "-o", "cat.jpg"]):
            proc = tool("import", source, *args, cwd=path)
            assert proc.returncode == 0, proc.stderr
    for name in ("m.pt.dvc", "data.dvc", "cat.jpg.dvc", ".gitignore"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    assert (ours / "m.pt").read_bytes() == b"weights 1"
    assert (ours / "data" / "images" / "cat.jpg").read_bytes() == b"cat 2"
    assert "up to date" in run_dvc("status", cwd=ours).stdout
    for path, tool in ((ours, run_cli), (theirs, run_dvc)):
        proc = tool("update", "--rev", "v2", "m.pt.dvc", cwd=path)
        assert proc.returncode == 0, proc.stderr
    assert (ours / "m.pt.dvc").read_bytes() == (theirs / "m.pt.dvc").read_bytes()
    assert (ours / "m.pt").read_bytes() == b"weights 2"
    assert "didn't change" in run_cli("update", "m.pt.dvc", cwd=ours).stdout


def test_get_copies_files_and_directories(source):
    assert run_cli("get", source, "data/images", "--rev", "v1").returncode == 0
    assert open("images/cat.jpg", "rb").read() == b"cat 1"
    assert run_cli("get", source, "README.md", "-o", "r.md").returncode == 0
    assert open("r.md", "rb").read() == b"readme 2\n"
    again = run_cli("get", source, "README.md", "-o", "r.md")
    assert again.returncode == 1 and "already exists" in again.stderr
    for args, message in (([source, "nope.txt"], "'nope.txt' does not exist"),
                          ([source, "data.dvc"], "is a .dvc file"),
                          (["file:///no/such/repo.git", "x"], "cannot clone"),
                          ([source, "model.pt", "--rev", "v9"], "unknown Git revision 'v9'")):
        proc = run_cli("get", *args)
        assert proc.returncode == 1 and message in proc.stderr, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1
