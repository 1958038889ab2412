"""End-to-end workflow through the CLI, in-process: init, add, status, checkout, commit."""
from __future__ import annotations

import json
import os

import pytest

from dataver.cli.main import main
from tests.conftest import git, run_cli, tree


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def make_data(root):
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "a.jpg").write_bytes(b"\xff\xd8 image a")
    (root / "data" / "sub" / "b.jpg").write_bytes(b"\xff\xd8 image b")
    (root / "data" / "ann.json").write_text('{"images": []}')


def test_add_writes_dvcfile_cache_and_gitignore(repo_dir, capsys):
    make_data(repo_dir)
    code, out, _ = cli(capsys, "add", "data")
    assert code == 0
    text = (repo_dir / "data.dvc").read_text()
    assert text.startswith("outs:\n- md5: ") and ".dir\n  size: " in text
    assert "  nfiles: 3\n  hash: md5\n  path: data\n" in text
    assert (repo_dir / ".gitignore").read_text() == "/data\n"
    objects = [f for _, _, fs in os.walk(repo_dir / ".dvc" / "cache" / "files" / "md5") for f in fs]
    assert len(objects) == 4  # three files and the .dir manifest
    assert "git add data.dvc .gitignore" in out


def test_status_reports_modified_deleted_and_clean(repo_dir, capsys):
    make_data(repo_dir)
    (repo_dir / "f.txt").write_text("hello")
    cli(capsys, "add", "data", "f.txt")
    assert cli(capsys, "status")[1] == "Data and pipelines are up to date.\n"
    (repo_dir / "data" / "a.jpg").write_bytes(b"changed")
    (repo_dir / "f.txt").unlink()
    code, out, _ = cli(capsys, "status", "--json")
    assert code == 0
    assert json.loads(out) == {
        "data.dvc": [{"changed outs": {"data": "modified"}}],
        "f.txt.dvc": [{"changed outs": {"f.txt": "deleted"}}],
    }
    assert cli(capsys, "-q", "status")[0] == 1


def test_checkout_restores_deleted_and_keeps_unsaved_changes(repo_dir, capsys):
    make_data(repo_dir)
    cli(capsys, "add", "data")
    before = tree(repo_dir / "data")
    (repo_dir / "data" / "a.jpg").unlink()
    (repo_dir / "data" / "sub" / "b.jpg").chmod(0o644)
    (repo_dir / "data" / "sub" / "b.jpg").write_bytes(b"my unsaved edit")
    code, _, err = cli(capsys, "checkout")
    assert code == 1 and "not in the cache" in err and "-f" in err
    assert (repo_dir / "data" / "sub" / "b.jpg").read_bytes() == b"my unsaved edit"
    code, out, _ = cli(capsys, "checkout", "-f")
    assert code == 0
    assert tree(repo_dir / "data") == before


def test_checkout_previous_git_version(repo_dir, capsys):
    make_data(repo_dir)
    cli(capsys, "add", "data")
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "v1")
    v1 = tree(repo_dir / "data")
    (repo_dir / "data" / "ann.json").write_text('{"images": [1]}')
    (repo_dir / "data" / "new.jpg").write_bytes(b"new")
    cli(capsys, "add", "data")
    git(repo_dir, "commit", "-qam", "v2")
    git(repo_dir, "checkout", "-q", "HEAD~1")
    code, out, _ = cli(capsys, "checkout")
    assert code == 0
    assert tree(repo_dir / "data") == v1
    assert "D\tdata/new.jpg" in out and "M\tdata/ann.json" in out


def test_commit_records_changes(repo_dir, capsys):
    (repo_dir / "f.txt").write_text("one")
    cli(capsys, "add", "f.txt")
    (repo_dir / "f.txt").write_text("two!")
    code, out, _ = cli(capsys, "commit")
    assert code == 0 and "Updated f.txt.dvc" in out
    assert "size: 4" in (repo_dir / "f.txt.dvc").read_text()
    assert cli(capsys, "status")[1].startswith("Data and pipelines are up to date.")


def test_not_a_repo_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proc = run_cli("status")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "dataver init" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("bad", ["../outside", "/etc/passwd"])
def test_corrupt_dvcfile_path_escape_refused(repo_dir, capsys, bad):
    (repo_dir / "x.dvc").write_text(f"outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  size: 1\n  hash: md5\n  path: {bad}\n")
    code, _, err = cli(capsys, "checkout")
    assert code == 1 and "x.dvc" in err
    assert not os.path.exists(repo_dir.parent / "outside")


def test_version_and_module_entry_point():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip()[0].isdigit()
