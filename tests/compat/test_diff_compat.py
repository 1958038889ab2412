"""`dataver diff` against real `dvc diff` on the same repositories, in every output format."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import git, run_cli, run_dvc

JSON = [["--json"], ["--json", "--show-hash"]]
FORMATS = JSON + [[], ["--show-hash"], ["--md"], ["--md", "--show-hash"]]


def both(*args, cwd=None) -> tuple[str, str]:
    """(dvc stdout, dataver stdout) for the same `diff` arguments; both must succeed."""
    ours = run_cli("diff", *args, cwd=cwd)
    assert ours.returncode == 0, ours.stderr
    return run_dvc("diff", *args, cwd=cwd).stdout, ours.stdout


def assert_same(*args, formats=JSON, cwd=None):
    """Compare outputs in ``formats``; returns the parsed `--json` result."""
    result = None
    for fmt in formats:
        theirs, ours = both(*args, *fmt, cwd=cwd)
        assert ours == theirs, (args, fmt)
        if fmt == ["--json"]:
            result = json.loads(theirs)
    return result


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as fobj:
        fobj.write(text)


@pytest.fixture
def history(git_dir):
    """v1 and v2 tags with additions, deletions, modifications and renames, made by real dvc."""
    run_dvc("init", "-q")
    git(git_dir, "commit", "-qm", "init")
    for rel, text in {"data/a.txt": "a", "data/sub/b.txt": "b", "data/c.txt": "c", "data/d.txt": "d",
                      "f.txt": "f", "g.txt": "g", "pics/x.png": "x", "pics/y.png": "y"}.items():
        write(rel, text)
    run_dvc("add", "-q", "data", "f.txt", "g.txt", "pics")
    git(git_dir, "add", "-A")
    git(git_dir, "commit", "-qm", "v1")
    git(git_dir, "tag", "v1")
    write("data/a.txt", "a2")
    os.remove("data/c.txt")
    write("data/new.txt", "new")
    os.rename("data/d.txt", "data/sub/d-moved.txt")
    write("f.txt", "f2")
    run_dvc("remove", "-q", "g.txt.dvc", "pics.dvc")
    os.rename("g.txt", "h.txt")
    os.rename("pics", "images")
    run_dvc("add", "-q", "data", "f.txt", "h.txt", "images")
    git(git_dir, "add", "-A")
    git(git_dir, "commit", "-qm", "v2")
    git(git_dir, "tag", "v2")
    return git_dir


def test_diff_between_revisions_matches_dvc(history):
    result = assert_same("v1", "v2", formats=FORMATS)
    assert result["added"] == [{"path": "data/new.txt"}]
    assert result["deleted"] == [{"path": "data/c.txt"}]
    renamed = [e["path"] for e in result["renamed"]]
    for old, new in (("data/d.txt", "data/sub/d-moved.txt"), ("g.txt", "h.txt"),
                     ("pics/", "images/"), ("pics/x.png", "images/x.png")):
        assert {"old": old, "new": new} in renamed
    assert {e["path"] for e in result["modified"]} == {"data/", "data/a.txt", "f.txt"}
    assert_same("v2", "v1")
    assert_same("HEAD~2", "v2")  # from the init commit: everything is added


def test_diff_against_workspace_matches_dvc(history):
    assert_same()  # clean workspace: nothing
    write("data/a.txt", "a3")
    write("data/sub/z.txt", "z")
    os.remove("data/sub/b.txt")
    os.remove("f.txt")
    write("untracked.txt", "u")
    result = assert_same(formats=FORMATS)
    assert result["modified"] == [{"path": "data/"}, {"path": "data/a.txt"}]
    assert_same("v1")
    assert_same("--hide-missing", formats=[["--json"]])
    for targets in (["data/sub"], ["data.dvc"], ["data/a.txt", "f.txt"], ["data/nope"]):
        assert_same("--targets", *targets, formats=[["--json"]])


def test_diff_reports_data_missing_from_cache_like_dvc(history, tmp_path, monkeypatch):
    cache = os.path.join(".dvc", "cache", "files", "md5")
    f_oid = json.loads(run_dvc("diff", "v1", "v2", "--json", "--show-hash").stdout)
    f2 = [e for e in f_oid["modified"] if e["path"] == "f.txt"][0]["hash"]["new"]
    os.remove(os.path.join(cache, f2["new"][:2] if isinstance(f2, dict) else f2[:2], f2[2:]))
    result = assert_same(formats=FORMATS)
    assert result["not in cache"] == [{"path": "f.txt"}]
    data_dir = [e for e in f_oid["modified"] if e["path"] == "data/"][0]["hash"]["new"]
    shutil.move(os.path.join(cache, data_dir[:2], data_dir[2:]), "saved.dir")
    # DVC remembers manifests it has seen in its site cache; a fresh one makes it rely on the
    # cache alone, as dataver does.
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "fresh-site-cache"))
    write("data/a.txt", "changed")
    result = assert_same()
    assert {"path": "data/"} in result["not in cache"]
    assert_same("v1", "v2")  # manifest missing: only the directory itself is compared


def test_diff_errors_are_one_line(history):
    proc = run_cli("diff", "nosuch")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["ERROR: unknown Git revision 'nosuch' (check the name with `git log`)"]
    proc = run_cli("diff", "--targets", "not-tracked.txt")
    assert proc.returncode == 1 and "not-tracked.txt" in proc.stderr and len(proc.stderr.splitlines()) == 1
