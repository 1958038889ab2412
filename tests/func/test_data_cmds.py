"""`remove`/`rm`, `move`/`mv` and `unprotect`, checked against real dvc on a twin repo."""
from __future__ import annotations

import os

import pytest

from dataver.cli.main import main
from tests.conftest import git, run_cli, run_dvc
from tests.func.helpers import (
    cache_objects, cli, git_status, link_kind, mode, repo_files, twin_repos,
)

FILES = {"d/a": "a\n", "d/sub/b": "b\n", "f.txt": "f\n", "g.txt": "g\n", "dd/h": "h\n", "k.txt": "k\n"}
ADD = [["add", "-q", "d", "f.txt", "g.txt", "dd/h", "k.txt"]]


def assert_same(dv, dvc):
    assert repo_files(dv) == repo_files(dvc)
    assert git_status(dv) == git_status(dvc)


def move_both(monkeypatch, dv, dvc, src, dst):
    """`move SRC DST` with dataver in ``dv`` and with dvc in ``dvc``; the results must match."""
    monkeypatch.chdir(dv)
    assert main(["move", src, dst]) == 0
    run_dvc("move", src, dst, cwd=dvc)
    assert_same(dv, dvc)


def test_remove_keeps_data_and_drops_gitignore_entry_like_dvc(tmp_path, monkeypatch, capsys):
    dv, dvc, codes, dvc_codes = twin_repos(
        tmp_path, monkeypatch, FILES, [["remove", "f.txt.dvc"], ["rm", "dd/h.dvc"]], setup=ADD)
    assert codes == dvc_codes == [0, 0]
    assert_same(dv, dvc)
    files = repo_files(dv)
    assert "f.txt.dvc" not in files and files["f.txt"] == b"f\n"
    assert b"/f.txt" not in files[".gitignore"]
    assert "dd/.gitignore" not in files  # emptied .gitignore is deleted
    assert cache_objects(os.path.join(dv, ".dvc", "cache")) == cache_objects(os.path.join(dvc, ".dvc", "cache"))


def test_remove_outs_deletes_workspace_data_like_dvc(tmp_path, monkeypatch):
    dv, dvc, codes, dvc_codes = twin_repos(tmp_path, monkeypatch, FILES, [["remove", "d.dvc", "--outs"]],
                                           setup=ADD)
    assert codes == dvc_codes == [0]
    assert_same(dv, dvc)
    assert not os.path.exists(os.path.join(dv, "d"))


def test_remove_of_output_path_suggests_dvcfile(repo_dir, capsys):
    (repo_dir / "f.txt").write_text("f")
    cli(capsys, "add", "f.txt")
    code, _, err = cli(capsys, "remove", "f.txt")
    assert code == 1 and "did you mean 'f.txt.dvc'" in err and "Traceback" not in err
    assert (repo_dir / "f.txt.dvc").exists()
    code, _, err = cli(capsys, "remove", "nothere.dvc")
    assert code == 1 and "nothere.dvc" in err


def test_remove_validates_every_target_before_deleting_any(repo_dir, capsys):
    (repo_dir / "f.txt").write_text("f")
    cli(capsys, "add", "f.txt")
    (repo_dir / "bad.dvc").write_text("outs: [\n")
    code, _, err = cli(capsys, "remove", "f.txt.dvc", "bad.dvc")
    assert code == 1 and "bad.dvc" in err
    assert (repo_dir / "f.txt.dvc").exists() and "/f.txt" in (repo_dir / ".gitignore").read_text()


def test_remove_unprotects_linked_output(repo_dir, capsys):
    cli(capsys, "config", "cache.type", "hardlink")
    (repo_dir / "f.txt").write_text("f")
    cli(capsys, "add", "f.txt")
    assert link_kind(repo_dir / "f.txt") == "hardlink"
    assert cli(capsys, "remove", "f.txt.dvc")[0] == 0
    assert link_kind(repo_dir / "f.txt") == "file" and mode(repo_dir / "f.txt") & 0o200
    (repo_dir / "f.txt").write_text("edited")  # the cache copy is untouched
    assert cache_objects(repo_dir / ".dvc" / "cache") == {"8fa14cdd754f91cc6554c9e71929cce7"}


@pytest.mark.parametrize("commands", [
    [["move", "g.txt", "gg.txt"]],
    [["mv", "d", "sub2"]],  # into an existing directory
    [["mv", "k.txt", "sub2/k2.txt"]],
    [["mv", "dd/h", "h2"]],
])
def test_move_like_dvc(tmp_path, monkeypatch, commands):
    files = dict(FILES, **{"sub2/keep": "x"})
    dv, dvc, codes, dvc_codes = twin_repos(tmp_path, monkeypatch, files, commands, setup=ADD)
    assert codes == dvc_codes == [0]
    assert_same(dv, dvc)


def test_move_keeps_dvcfile_not_named_after_output(tmp_path, monkeypatch):
    dv, dvc, _, _ = twin_repos(tmp_path, monkeypatch, dict(FILES, **{"sub/keep": "x"}), [], setup=ADD)
    for root in (dv, dvc):  # a .dvc file named differently from its output
        os.rename(os.path.join(root, "g.txt.dvc"), os.path.join(root, "meta.dvc"))
    move_both(monkeypatch, dv, dvc, "g.txt", "sub/g2.txt")
    assert "path: sub/g2.txt" in repo_files(dv)["meta.dvc"].decode()


def test_move_of_modified_output_keeps_recorded_hash_like_dvc(tmp_path, monkeypatch):
    dv, dvc, _, _ = twin_repos(tmp_path, monkeypatch, FILES, [], setup=ADD)
    for root in (dv, dvc):
        os.chmod(os.path.join(root, "f.txt"), 0o644)
        with open(os.path.join(root, "f.txt"), "w") as fobj:
            fobj.write("changed\n")
    move_both(monkeypatch, dv, dvc, "f.txt", "f2.txt")
    assert "md5: 9a8ad92c50cae39aa2c5604fd0ab6d8c" in repo_files(dv)["f2.txt.dvc"].decode()


def test_move_errors(repo_dir, capsys):
    (repo_dir / "f.txt").write_text("f")
    (repo_dir / "g.txt").write_text("g")
    cli(capsys, "add", "f.txt", "g.txt")
    before = repo_files(repo_dir)
    for args, needle in ((["move", "nope", "x"], "nope"), (["move", "f.txt", "g.txt"], "already exists"),
                         (["move", "f.txt", "../out"], "outside"),
                         (["move", "f.txt", "nodir/f.txt"], "does not exist")):
        code, _, err = cli(capsys, *args)
        assert code == 1 and needle in err and "Traceback" not in err
    (repo_dir / "h.txt.dvc").write_text("outs: []\n")
    code, _, err = cli(capsys, "move", "f.txt", "h.txt")
    assert code == 1 and "h.txt.dvc" in err
    os.unlink(repo_dir / "h.txt.dvc")
    assert repo_files(repo_dir) == before


def test_move_and_add_autostage_like_dvc(tmp_path, monkeypatch):
    setup = [["config", "core.autostage", "true"]] + ADD
    commands = [["move", "g.txt", "g2.txt"], ["mv", "d", "sub2"], ["add", "-q", "new.txt"],
                ["remove", "f.txt.dvc"]]
    files = dict(FILES, **{"sub2/keep": "x"})
    dv, dvc, codes, dvc_codes = twin_repos(tmp_path, monkeypatch, files, commands, setup=setup,
                                           late_files={"new.txt": "n\n"})
    assert codes == dvc_codes == [0, 0, 0, 0]
    assert_same(dv, dvc)
    status = git_status(dv)
    assert "R  g.txt.dvc -> g2.txt.dvc" in status and "A  new.txt.dvc" in status
    assert " D f.txt.dvc" in status  # DVC does not stage a remove, even with autostage


def test_commit_autostages(repo_dir, capsys):
    cli(capsys, "config", "core.autostage", "true")
    (repo_dir / "f.txt").write_text("one")
    cli(capsys, "add", "f.txt")
    git(repo_dir, "commit", "-qm", "f")
    os.chmod(repo_dir / "f.txt", 0o644)
    (repo_dir / "f.txt").write_text("two")
    assert cli(capsys, "commit", "f.txt")[0] == 0
    assert "M  f.txt.dvc" in git_status(repo_dir).splitlines()


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_unprotect_replaces_links_with_writable_copies(repo_dir, capsys, kind):
    cli(capsys, "config", "cache.type", kind)
    (repo_dir / "d").mkdir()
    (repo_dir / "d" / "a").write_text("a")
    (repo_dir / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(repo_dir / "run.sh", 0o755)
    cli(capsys, "add", "d", "run.sh")
    assert link_kind(repo_dir / "d" / "a") == kind
    assert not os.access(repo_dir / "d" / "a", os.W_OK) or os.geteuid() == 0
    assert mode(repo_dir / "d" / "a") == 0o444
    code, _, _ = cli(capsys, "unprotect", "d", "run.sh")
    assert code == 0
    assert link_kind(repo_dir / "d" / "a") == "file" and mode(repo_dir / "d" / "a") == 0o644
    assert mode(repo_dir / "run.sh") & 0o111  # exec bits kept
    (repo_dir / "d" / "a").write_text("edited in place")
    cache_file = repo_dir / ".dvc" / "cache" / "files" / "md5" / "0c" / "c175b9c0f1b6a831c399e269772661"
    assert cache_file.read_text() == "a" and mode(cache_file) == 0o444
    assert cli(capsys, "status", "--json")[1].strip() == '{"d.dvc": [{"changed outs": {"d": "modified"}}]}'


def test_unprotect_missing_target_fails(repo_dir, capsys):
    code, _, err = cli(capsys, "unprotect", "nothing")
    assert code == 1 and "nothing" in err


def test_data_commands_in_subprocess(repo_dir):
    (repo_dir / "f.txt").write_text("f")
    assert run_cli("add", "f.txt").returncode == 0
    proc = run_cli("mv", "f.txt", "g.txt")
    assert proc.returncode == 0, proc.stderr
    assert (repo_dir / "g.txt.dvc").exists() and (repo_dir / "g.txt").read_text() == "f"
    proc = run_cli("rm", "g.txt.dvc", "--outs")
    assert proc.returncode == 0, proc.stderr
    assert not (repo_dir / "g.txt").exists() and not (repo_dir / ".gitignore").exists()
