"""`dataver remote ...` output and errors, and the demo's push/clone/pull round trip."""
from __future__ import annotations

from dataver.cli.main import main
from tests.conftest import run_cli


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_remote_list_default_and_errors(repo_dir, capsys):
    assert cli(capsys, "remote", "default") == (1, "No default remote set\n", "")
    assert cli(capsys, "remote", "add", "-d", "Store", "s3://b/p")[1] == "Setting 'store' as a default remote.\n"
    cli(capsys, "remote", "add", "near", "../x")
    code, out, _ = cli(capsys, "remote", "list")
    assert out == f"store   s3://b/p        (default)\nnear    {repo_dir.parent / 'x'}\n"
    assert cli(capsys, "remote", "default")[1] == "store\n"
    code, _, err = cli(capsys, "remote", "add", "store", "s3://other")
    assert code == 1 and "already exists" in err and "-f" in err
    code, _, err = cli(capsys, "remote", "modify", "nosuch", "url", "x")
    assert code == 1 and "remote 'nosuch' doesn't exist" in err
    code, _, err = cli(capsys, "remote", "default", "nosuch")
    assert code == 1 and "nosuch" in err
    code, _, err = cli(capsys, "push", "-r", "nosuch")
    assert code == 1 and err == "ERROR: remote 'nosuch' does not exist (see `dataver remote list`)\n"
    cli(capsys, "remote", "remove", "store")
    code, _, err = cli(capsys, "push")
    assert code == 1 and "no default remote" in err


def test_demo_pushes_and_restores_a_fresh_clone(tmp_path):
    proc = run_cli("demo", str(tmp_path / "ws"), "--images", "8", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "files pushed to" in proc.stdout and "v2 restored exactly in the clone" in proc.stdout
    assert (tmp_path / "ws-clone" / "data" / "annotations" / "instances.json").exists()
