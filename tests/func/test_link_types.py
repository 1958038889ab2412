"""cache.type (reflink, hardlink, symlink, copy, with fallback), --relink, cache.dir and
cache.shared."""
from __future__ import annotations

import os
import stat

import pytest

from dataver.cli.main import main
from tests.conftest import run_dvc
from tests.func.helpers import cache_objects, cli, link_kind, mode, twin_repos

A_OID = "0cc175b9c0f1b6a831c399e269772661"  # md5("a")


def obj(repo, oid=A_OID):
    return repo / ".dvc" / "cache" / "files" / "md5" / oid[:2] / oid[2:]


def setup_data(repo, capsys, cache_type):
    if cache_type:
        assert cli(capsys, "config", "cache.type", cache_type)[0] == 0
    (repo / "d").mkdir()
    (repo / "d" / "a").write_text("a")
    (repo / "f.txt").write_text("a")
    assert cli(capsys, "add", "d", "f.txt")[0] == 0


@pytest.mark.parametrize("cache_type, expected", [
    ("hardlink", "hardlink"), ("symlink", "symlink"), ("copy", "file"),
    (None, "file"),  # default reflink,copy: no reflinks on this filesystem -> copy
    ("reflink,hardlink", "hardlink"), ("symlink,copy", "symlink"),
])
def test_add_and_checkout_use_the_configured_link(repo_dir, capsys, cache_type, expected):
    setup_data(repo_dir, capsys, cache_type)
    for path in (repo_dir / "d" / "a", repo_dir / "f.txt"):
        assert link_kind(path) == expected
        if expected == "hardlink":
            assert os.stat(path).st_ino == os.stat(obj(repo_dir)).st_ino
        if expected == "symlink":
            assert os.readlink(path) == str(obj(repo_dir))
        if expected in ("hardlink", "symlink"):  # read-only until unprotect
            assert mode(path) == 0o444
        else:
            assert mode(path) & stat.S_IWUSR
    os.unlink(repo_dir / "d" / "a")
    os.unlink(repo_dir / "f.txt")
    assert cli(capsys, "checkout")[0] == 0
    assert link_kind(repo_dir / "d" / "a") == link_kind(repo_dir / "f.txt") == expected
    assert (repo_dir / "f.txt").read_text() == "a"
    assert mode(obj(repo_dir)) == 0o444
    assert cli(capsys, "status")[1] == "Data and pipelines are up to date.\n"


def test_relink_switches_link_type(repo_dir, capsys):
    setup_data(repo_dir, capsys, "hardlink")
    for cache_type, expected in (("symlink", "symlink"), ("copy", "file"), ("hardlink", "hardlink")):
        cli(capsys, "config", "cache.type", cache_type)
        assert cli(capsys, "checkout")[0] == 0  # without --relink nothing changes
        assert link_kind(repo_dir / "f.txt") != expected or cache_type == "hardlink"
        assert cli(capsys, "checkout", "--relink")[0] == 0
        assert link_kind(repo_dir / "f.txt") == link_kind(repo_dir / "d" / "a") == expected
        assert (repo_dir / "d" / "a").read_text() == "a"


def test_reflink_only_fails_cleanly_without_losing_data(repo_dir, capsys):
    setup_data(repo_dir, capsys, "copy")
    cli(capsys, "config", "cache.type", "reflink")
    code, _, err = cli(capsys, "checkout", "--relink")
    assert code == 1 and "reflink" in err and "copy" in err and "Traceback" not in err
    assert (repo_dir / "f.txt").read_text() == "a" and (repo_dir / "d" / "a").read_text() == "a"


def test_exec_bit_with_hardlink_like_dvc(tmp_path, monkeypatch):
    roots = twin_repos(tmp_path, monkeypatch, {}, [], setup=[["config", "cache.type", "hardlink"]],
                       late_files={"run.sh": "#!/bin/sh\n"})[:2]
    for root in roots:
        os.chmod(os.path.join(root, "run.sh"), 0o755)
    monkeypatch.chdir(roots[0])
    assert main(["add", "run.sh"]) == 0
    run_dvc("add", "run.sh", cwd=roots[1])
    assert [mode(os.path.join(r, "run.sh")) for r in roots] == [0o544, 0o544]


def test_cache_dir_relative_to_config_file_and_shared_between_repos(tmp_path, monkeypatch, capsys):
    from tests.conftest import git

    repos = []
    for name in ("one", "two"):
        root = tmp_path / name
        (root / "sub").mkdir(parents=True)
        git(root, "init", "-q")
        monkeypatch.chdir(root)
        assert cli(capsys, "init")[0] == 0
        monkeypatch.chdir(root / "sub")  # relative to the cwd when set ...
        assert cli(capsys, "cache", "dir", "../../shared")[0] == 0
        repos.append(root)
    # ... stored relative to .dvc/
    assert (repos[0] / ".dvc" / "config").read_text() == "[cache]\n    dir = ../../shared\n"
    monkeypatch.chdir(repos[0])
    (repos[0] / "f.txt").write_text("a")
    assert cli(capsys, "add", "f.txt")[0] == 0
    assert cache_objects(tmp_path / "shared") == {A_OID}
    assert not (repos[0] / ".dvc" / "cache").exists()
    # the second repo checks the data out of the shared cache, with nothing of its own
    os.rename(repos[0] / "f.txt.dvc", repos[1] / "f.txt.dvc")
    monkeypatch.chdir(repos[1])
    assert cli(capsys, "checkout")[0] == 0
    assert (repos[1] / "f.txt").read_text() == "a"
    assert run_dvc("status", cwd=repos[1]).stdout.startswith("Data and pipelines are up to date.")


def test_absolute_cache_dir(repo_dir, tmp_path, capsys):
    cache = tmp_path / "abs-cache"
    assert cli(capsys, "config", "cache.dir", str(cache))[0] == 0
    assert f"dir = {cache}\n" in (repo_dir / ".dvc" / "config").read_text()
    (repo_dir / "f.txt").write_text("a")
    assert cli(capsys, "add", "f.txt")[0] == 0
    assert cache_objects(cache) == {A_OID}


def test_cache_shared_group_modes_like_dvc(tmp_path, monkeypatch):
    setup = [["config", "cache.shared", "group"], ["config", "cache.type", "hardlink"],
             ["add", "-q", "d", "f.txt"], ["unprotect", "f.txt"]]
    dv, dvc, codes, dvc_codes = twin_repos(tmp_path, monkeypatch, {"d/a": "a", "f.txt": "f"}, [], setup=setup)

    def modes(root):
        result = {}
        for dirpath, dirs, files in os.walk(os.path.join(root, ".dvc", "cache")):
            for name in dirs + files:
                full = os.path.join(dirpath, name)
                result[os.path.relpath(full, root)] = stat.S_IMODE(os.stat(full).st_mode)
        result["f.txt"] = mode(os.path.join(root, "f.txt"))
        return result

    mine = modes(dv)
    assert mine == modes(dvc)
    assert mine[".dvc/cache/files/md5"] == 0o2775 and mine["f.txt"] == 0o664
