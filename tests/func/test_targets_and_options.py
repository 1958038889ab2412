"""add --glob / --no-commit / -o, commit after --no-commit, target forms (.dvc file, output,
directory, path inside an output), -R, and running from a subdirectory."""
from __future__ import annotations

import json
import os

from tests.conftest import run_cli
from tests.func.helpers import cache_objects, cli, repo_files, twin_repos

FILES = {"img/a.jpg": "a", "img/b.jpg": "b", "img/notes.txt": "n", "d/s/t": "t", "d/q": "q",
         "sub/one/x": "x", "sub/two/y": "y"}


def test_add_options_like_dvc(tmp_path, monkeypatch):
    ext = tmp_path / "outside.bin"
    ext.write_text("external")
    commands = [["add", "-q", "--glob", "img/*.jpg"], ["add", "-q", "--no-commit", "d"],
                ["add", "-q", str(ext), "-o", "sub/copy.bin"]]
    dv, dvc, codes, dvc_codes = twin_repos(tmp_path, monkeypatch, {}, commands, late_files=FILES)
    assert codes == dvc_codes == [0, 0, 0]
    assert repo_files(dv) == repo_files(dvc)
    assert {"img/a.jpg.dvc", "img/b.jpg.dvc", "d.dvc", "sub/copy.bin.dvc"} <= set(repo_files(dv))
    assert "img/notes.txt.dvc" not in repo_files(dv)
    mine = cache_objects(os.path.join(dv, ".dvc", "cache"))
    assert mine == cache_objects(os.path.join(dvc, ".dvc", "cache"))
    assert len(mine) == 3  # a.jpg, b.jpg, the external copy: nothing of d (--no-commit)


def test_no_commit_then_commit(repo_dir, capsys):
    (repo_dir / "d").mkdir()
    (repo_dir / "d" / "q").write_text("q")
    assert cli(capsys, "add", "--no-commit", "d")[0] == 0
    assert json.loads(cli(capsys, "status", "--json")[1]) == {"d.dvc": [{"changed outs": {"d": "not in cache"}}]}
    before = (repo_dir / "d.dvc").read_bytes()
    assert cli(capsys, "commit", "d.dvc")[0] == 0
    assert (repo_dir / "d.dvc").read_bytes() == before
    assert len(cache_objects(repo_dir / ".dvc" / "cache")) == 2
    assert cli(capsys, "status")[1] == "Data and pipelines are up to date.\n"


def setup_tree(repo_dir, capsys):
    for rel, text in FILES.items():
        (repo_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo_dir / rel).write_text(text)
    assert cli(capsys, "add", "d", "sub/one/x", "sub/two/y")[0] == 0
    for rel in ("d/q", "sub/one/x", "sub/two/y"):
        os.unlink(repo_dir / rel)


def deleted(capsys, *targets):
    code, out, _ = cli(capsys, "status", "--json", *targets)
    assert code == 0
    return {p for entries in json.loads(out).values() for e in entries for p in e["changed outs"]}


def test_target_forms_for_status_and_checkout(repo_dir, capsys, monkeypatch):
    setup_tree(repo_dir, capsys)
    assert deleted(capsys, "sub/one/x.dvc") == {"sub/one/x"}
    assert deleted(capsys, "sub/one/x") == {"sub/one/x"}
    assert deleted(capsys, "sub") == deleted(capsys, "-R", "sub") == {"sub/one/x", "sub/two/y"}
    assert deleted(capsys, "d/q") == {"d"}  # inside an output: the whole output, as dvc
    code, _, err = cli(capsys, "status", "nothing")
    assert code == 1 and "nothing" in err
    assert cli(capsys, "checkout", "-R", "sub/two")[0] == 0
    assert (repo_dir / "sub" / "two" / "y").read_text() == "y" and not (repo_dir / "sub" / "one" / "x").exists()
    os.chmod(repo_dir / "d" / "s" / "t", 0o644)
    (repo_dir / "d" / "s" / "t").write_text("changed")
    code, out, _ = cli(capsys, "checkout", "d/q")  # only that file; d/s/t keeps its change
    assert code == 0 and out == "A\td/q\n"
    assert (repo_dir / "d" / "q").read_text() == "q" and (repo_dir / "d" / "s" / "t").read_text() == "changed"
    monkeypatch.chdir(repo_dir / "sub")  # from a subdirectory, paths are relative to it
    code, out, _ = cli(capsys, "status", "--json")
    assert json.loads(out) == {"../d.dvc": [{"changed outs": {"../d": "modified"}}],
                               "one/x.dvc": [{"changed outs": {"one/x": "deleted"}}]}
    code, out, _ = cli(capsys, "checkout", "one")
    assert code == 0 and out == "A\tone/x\n"


def test_subdirectory_commands_in_subprocess(repo_dir, capsys):
    setup_tree(repo_dir, capsys)
    proc = run_cli("checkout", cwd=repo_dir / "sub" / "one")
    assert proc.returncode == 0, proc.stderr
    assert "A\tx" in proc.stdout and (repo_dir / "d" / "q").exists()
    proc = run_cli("status", cwd=repo_dir / "sub")
    assert (proc.returncode, proc.stdout) == (0, "Data and pipelines are up to date.\n")
