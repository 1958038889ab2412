"""`root` and `check-ignore` (output and exit codes compared with real dvc)."""
from __future__ import annotations

import os

from dataver.cli.main import main
from tests.conftest import run_cli, run_dvc
from tests.func.helpers import cli, dvc_repo, write_files

IGNORE = "foo\n*.log\nbar.log\n!keep.log\ndir/\n/anch/x\n**/deep\n"
SUB_IGNORE = "x\n!y\n/z\nw/v\n"
FILES = {n: "" for n in ("a.log", "keep.log", "bar.log", "foo", "x", "sub/x", "sub/y", "sub/z",
                         "sub/inner/z", "sub/inner/x", "dir/y", "anch/x", "deep/q")}
QUERIES = [
    ["a.log", "keep.log", "foo", "x"], ["nothing"], ["-d", "a.log"], ["-d", "bar.log"],
    ["-d", "keep.log"], ["-d", "x"], ["-d", "-n", "x", "a.log"], ["-d", "sub/x", "sub/y", "sub/z"],
    ["-d", "sub/inner/z", "sub/inner/x", "sub/w/v"], ["-d", "dir", "dir/y", "anch/x", "deep/q"],
    ["-d", ".git", ".dvc/config"], ["/tmp"],
]


def make(root):
    with open(os.path.join(root, ".dvcignore"), "a") as fobj:
        fobj.write(IGNORE)
    write_files(root, dict(FILES, **{"sub/.dvcignore": SUB_IGNORE}))


def test_check_ignore_matches_dvc(repo_dir, tmp_path, capsys):
    theirs_root = dvc_repo(tmp_path / "dvc")
    make(theirs_root)
    make(str(repo_dir))
    for query in QUERIES:
        code = main(["check-ignore", *query])
        out = capsys.readouterr().out
        proc = run_dvc("check-ignore", *query, cwd=theirs_root, check=False)
        assert (code, out) == (proc.returncode, proc.stdout), query


def test_check_ignore_from_subdir_and_stdin(repo_dir):
    make(str(repo_dir))
    proc = run_cli("check-ignore", "-d", "x", "../a.log", cwd=repo_dir / "sub")
    assert proc.returncode == 0
    assert proc.stdout == "sub/.dvcignore:1:x\tx\n.dvcignore:5:*.log\t../a.log\n"
    proc = subprocess_stdin(["check-ignore", "--stdin"], "a.log\nx\n\nfoo\n", repo_dir / "sub")
    assert (proc.returncode, proc.stdout) == (0, "a.log\nx\n")  # stops at the empty line


def subprocess_stdin(args, text, cwd):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "dataver", *args], input=text, cwd=cwd,
                          capture_output=True, text=True)


def test_check_ignore_argument_errors(repo_dir, capsys):
    for args in (["check-ignore"], ["check-ignore", "-n", "x"], ["check-ignore", "-a", "x"],
                 ["check-ignore", "--stdin", "x"], ["check-ignore", "-q", "-d", "x"]):
        code, _, err = cli(capsys, *args)
        assert code == 1 and err.startswith("ERROR: ") and err.count("\n") == 1, args
    code, out, _ = cli(capsys, "check-ignore", "-q", ".git")
    assert (code, out) == (0, "")


def test_root(repo_dir, capsys, monkeypatch):
    assert cli(capsys, "root")[1] == ".\n"
    (repo_dir / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(repo_dir / "a" / "b")
    assert cli(capsys, "root")[1] == "../..\n"
    proc = run_cli("root", cwd=repo_dir / "a")
    assert (proc.returncode, proc.stdout) == (0, "..\n")
    monkeypatch.chdir(repo_dir.parent)
    code, _, err = cli(capsys, "root")
    assert code == 1 and "dataver init" in err
