"""`dataver migrate verify`: every converted path's md5 against its verified source content,
for forward migrations and for the commits of a rewrite map; exit 1 listing mismatches."""
from __future__ import annotations

import os
import sqlite3

import pytest

from tests.conftest import run_cli
from tests.migrate import require_tools
from tests.migrate.repos import annex_repo, git, lfs_repo, plain_git_repo, simple_lfs_repo


@pytest.fixture(autouse=True)
def _tools():
    require_tools("git-lfs", "git-annex")


def verify(path, *args):
    return run_cli("migrate", "verify", *args, cwd=path)


def _migrate(path, *args):
    proc = run_cli("migrate", *args, cwd=path)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("kind", ["lfs", "annex", "git"])
def test_verify_after_forward_migration(tmp_path, kind):
    if kind == "lfs":
        fx, args = lfs_repo(str(tmp_path / "r")), ["lfs", "--group-by", "dir"]
    elif kind == "annex":
        fx, args = annex_repo(str(tmp_path / "r")), ["annex"]
    else:
        fx = plain_git_repo(str(tmp_path / "r"))
        args = ["git", "--above", str(fx.notes["above"])]
    converted = len(fx.pointers_at("HEAD"))
    _migrate(fx.path, *args)
    proc = verify(fx.path)
    assert proc.returncode == 0, proc.stderr
    assert f"Checked {converted} files in 1 converted commit: no mismatches." in proc.stdout


def _tampered_commit(path, dvcfile: str) -> str:
    """A commit like HEAD whose ``dvcfile`` records a wrong md5 (as a bad rewrite would)."""
    text = open(os.path.join(path, dvcfile)).read()
    md5 = text.split("md5: ")[1].split()[0]
    bad = text.replace(md5, ("0" * 32) + (".dir" if md5.endswith(".dir") else ""))
    blob = git(path, "hash-object", "-w", "--stdin", input=bad.encode()).strip()
    index = os.path.join(path, ".git", "tampered-index")
    env = {"GIT_INDEX_FILE": index}
    git(path, "read-tree", "HEAD", env=env)
    git(path, "update-index", "--cacheinfo", f"100644,{blob},{dvcfile}", env=env)
    tree = git(path, "write-tree", env=env).strip()
    return git(path, "commit-tree", tree, "-p", "HEAD^", "-m", "tampered").strip()


def test_verify_reports_a_mismatch_in_a_mapped_commit(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    _migrate(fx.path, "lfs")
    bad = _tampered_commit(fx.path, "data/b.bin.dvc")
    mapfile = os.path.join(fx.path, ".dvc", "tmp", "dataver", "migrate-map.txt")
    with open(mapfile, "w") as fobj:
        fobj.write(f"{fx.commits['c3']} {bad}\n")
    proc = verify(fx.path)
    assert proc.returncode == 1
    assert "data/b.bin" in proc.stderr and "md5 00000000000000000000000000000000" in proc.stderr
    assert "1 mismatch." in proc.stdout and "in 2 converted commits" in proc.stdout
    assert "data/a.bin" not in proc.stderr  # the other paths match


def test_verify_reads_objects_the_map_does_not_know(tmp_path):
    fx = lfs_repo(str(tmp_path / "r"))
    _migrate(fx.path, "lfs")
    db = os.path.join(fx.path, ".dvc", "tmp", "dataver", "migrate.db")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM objects")
    proc = verify(fx.path)
    assert proc.returncode == 0, proc.stderr
    # ...so a source object damaged since, and never recorded, shows as a mismatch
    oid = fx.pointers_at(fx.commits["c6"])["models/m2.bin"]
    obj = os.path.join(fx.path, ".git", "lfs", "objects", oid[:2], oid[2:4], oid)
    os.chmod(obj, 0o644)
    with open(obj, "r+b") as fobj:
        fobj.write(b"\0\0\0")
    proc = verify(fx.path)
    assert proc.returncode == 1 and "models/m2.bin" in proc.stderr and "wrong content" in proc.stderr


def test_verify_with_an_explicit_map_of_a_rewrite(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    _migrate(fx.path, "lfs")
    # a "rewrite" map naming the forward commit as the new version of c3 (the same content)
    mapfile = str(tmp_path / "map.txt")
    new = git(fx.path, "rev-parse", "HEAD").strip()
    with open(mapfile, "w") as fobj:
        fobj.write(f"# old new\n{fx.commits['c3']} {new}\n")
    proc = verify(fx.path, "--map", mapfile)
    assert proc.returncode == 0, proc.stderr


def test_verify_bad_input(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    assert run_cli("init", cwd=fx.path).returncode == 0
    proc = verify(fx.path)
    assert proc.returncode == 1 and "nothing to verify" in proc.stderr
    proc = verify(fx.path, "--map", str(tmp_path / "absent.txt"))
    assert proc.returncode == 1 and "no such map file" in proc.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("only-one-column\n")
    proc = verify(fx.path, "--map", str(bad))
    assert proc.returncode == 1 and "line 1 is not 'old_sha new_sha'" in proc.stderr
    assert "Traceback" not in proc.stderr
