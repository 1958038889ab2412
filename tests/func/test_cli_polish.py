"""What a new user hit on a first try (issue 13): demo deleting folders, a hidden command shown,
gc asking before it knows it is in a repository, -j 0, `ls` of a plain folder, temp names in
permission errors, and a packaging warning."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from dataver.cli.main import build_parser, main, positive_int
from tests.conftest import ROOT, git, run_cli
from tests.func.helpers import cli
from tests.func.test_faults import fails, make_dir, ok, unprivileged

# --- demo: never deletes what it did not make ------------------------------------------------


def user_folder(path, name="notes.txt"):
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_text("the user's own work\n")
    return path / name


def one_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_demo_refuses_a_users_folder(tmp_path, monkeypatch, capsys, force):
    mine = user_folder(tmp_path / "ws")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "demo", "ws", "--images", "2", *force)
    line = one_error(err)
    assert code == 1 and "'ws' already exists and is not empty" in line
    assert "give a new or empty directory" in line
    assert mine.read_text() == "the user's own work\n"
    assert sorted(os.listdir(tmp_path)) == ["ws"]  # no DIR-remote, no DIR-clone either
    assert os.listdir(tmp_path / "ws") == ["notes.txt"]


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_demo_dot_in_a_users_folder_deletes_nothing(tmp_path, force):
    mine = user_folder(tmp_path / "project")
    proc = run_cli("demo", ".", "--images", "2", *force, cwd=tmp_path / "project")
    line = one_error(proc.stderr)
    assert proc.returncode == 1 and "'.' already exists and is not empty" in line
    assert mine.read_text() == "the user's own work\n" and os.listdir(mine.parent) == ["notes.txt"]


def test_demo_refuses_a_users_remote_or_clone_folder_before_deleting_anything(tmp_path, monkeypatch,
                                                                              capsys):
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "demo", "ws", "--images", "2")[0] == 0
    git_head = git(tmp_path / "ws", "rev-parse", "HEAD")
    for sibling in ("ws-remote", "ws-clone"):
        (tmp_path / sibling / ".dataver-demo").unlink()  # now it is the user's folder
        code, _, err = cli(capsys, "demo", "ws", "--images", "2", "--force")
        assert code == 1 and f"'{sibling}' already exists and is not empty" in one_error(err)
        assert git(tmp_path / "ws", "rev-parse", "HEAD") == git_head  # ws was not replaced
        assert os.listdir(tmp_path / sibling)
        (tmp_path / sibling / ".dataver-demo").write_text("")


def test_demo_reruns_with_force_but_never_deletes_where_it_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "demo", "ws", "--images", "2")[0] == 0
    for folder in ("ws", "ws-remote", "ws-clone"):
        assert (tmp_path / folder / ".dataver-demo").is_file()
    assert git(tmp_path / "ws", "status", "--porcelain") == ""  # the marker stays out of git
    assert git(tmp_path / "ws-clone", "status", "--porcelain") == ""
    code, _, err = cli(capsys, "demo", "ws", "--images", "2")
    assert code == 1 and "'ws' holds an earlier demo (pass --force" in one_error(err)
    (tmp_path / "ws" / "scratch.txt").write_text("x")
    code, out, _ = cli(capsys, "demo", "ws", "--images", "2", "--force")
    assert code == 0 and "v2 restored exactly in the clone" in out
    assert not (tmp_path / "ws" / "scratch.txt").exists()  # the demo's folder was replaced
    for cwd, arg in ((tmp_path / "ws", "."), (tmp_path / "ws" / "data" / "images", "../..")):
        proc = run_cli("demo", arg, "--images", "2", "--force", cwd=cwd)
        line = one_error(proc.stderr)
        assert proc.returncode == 1 and "the current directory" in line and "outside" in line
        assert (tmp_path / "ws" / "data.dvc").is_file()


def test_demo_script_passes_force():
    """README's `bash scripts/demo.sh` re-runs into the same folder."""
    with open(os.path.join(ROOT, "scripts", "demo.sh"), encoding="utf-8") as fobj:
        assert "dataver demo --force " in fobj.read()


# --- the hidden git-hook command ----------------------------------------------------------------

def test_help_and_invalid_choice_hide_git_hook(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "SUPPRESS" not in out and "git-hook" not in out and "install " in out
    with pytest.raises(SystemExit):
        main(["stauts"])
    err = capsys.readouterr().err
    assert "invalid choice: 'stauts'" in err and "'status'" in err and "git-hook" not in err


def test_git_hook_still_runs(tmp_path):
    proc = run_cli("git-hook", "pre-commit", cwd=tmp_path)  # no repo here: the hook does nothing
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "usage: dataver git-hook" in run_cli("git-hook", "--help").stdout


# --- gc: the repository first, then the question --------------------------------------------------

def run_with_input(args, text, cwd):
    return subprocess.run([sys.executable, "-m", "dataver", *args], input=text, cwd=cwd,
                          capture_output=True, text=True)


def test_gc_outside_a_repository_fails_before_asking(tmp_path):
    proc = run_with_input(["gc", "-w"], "y\n", tmp_path)
    line = one_error(proc.stderr)
    assert proc.returncode == 1 and "not a dataver/DVC repository" in line
    assert "Are you sure" not in proc.stdout + proc.stderr


def test_gc_answered_no_says_aborted_and_removes_nothing(repo_dir):
    (repo_dir / "f.txt").write_text("unused soon")
    ok("add", "f.txt", cwd=repo_dir)
    os.unlink(repo_dir / "f.txt.dvc")
    objects = [n for _, _, names in os.walk(repo_dir / ".dvc" / "cache") for n in names]
    proc = run_with_input(["gc", "-w"], "n\n", repo_dir)
    assert proc.returncode == 1  # as `dvc gc -w` answered n
    assert "Are you sure you want to proceed? [y/n]: \n" in proc.stderr
    assert proc.stderr.endswith("Aborted.\n") and proc.stdout == ""
    assert [n for _, _, names in os.walk(repo_dir / ".dvc" / "cache") for n in names] == objects


# --- -j/--jobs: a positive integer ----------------------------------------------------------------

JOBS_COMMANDS = [["gc", "-w", "-f"], ["push"], ["pull"], ["fetch"], ["status", "-c"]]


@pytest.mark.parametrize("command", JOBS_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("jobs", [["-j", "0"], ["-j", "-1"], ["--jobs=0"], ["-j", "two"]])
def test_jobs_must_be_positive(command, jobs, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, *jobs])
    assert exc.value.code == 2
    assert "argument -j/--jobs: must be a positive integer, not '" in capsys.readouterr().err


@pytest.mark.parametrize("command", JOBS_COMMANDS, ids=lambda c: c[0])
def test_jobs_positive_is_accepted(command):
    argv = [*command, "-j", "3"]
    assert build_parser(argv).parse_args(argv).jobs == 3


def test_every_jobs_option_uses_the_shared_type():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    with_jobs = set()
    for name, parser in sub.choices.items():
        for action in parser._actions:
            if "--jobs" in action.option_strings or "-j" in action.option_strings:
                assert action.type is positive_int, name
                with_jobs.add(name)
    assert {c[0] for c in JOBS_COMMANDS} <= with_jobs


# --- ls/get of a folder that is no repository -------------------------------------------------------

@pytest.mark.parametrize("args", [["ls", "."], ["get", ".", "x"]])
def test_plain_folder_is_neither_git_nor_dvc(tmp_path, args):
    (tmp_path / "notes.txt").write_text("x")
    proc = run_cli(*args, cwd=tmp_path)
    line = one_error(proc.stderr)
    assert proc.returncode == 1
    assert "'.' exists but is neither a git nor a DVC repository" in line
    assert "does not exist" not in line and "git init" in line and "dataver init" in line


# --- permission errors name the user's path, not a temp file -----------------------------------------

TEMP_TAILS = (".dvtmp", ".tmp")


def names_user_path(line: str, path: str) -> None:
    assert f"'{path}'" in line, (path, line)
    assert not any(tail in line for tail in TEMP_TAILS), line


@pytest.mark.parametrize("link", ["hardlink", "symlink", "copy"])
def test_checkout_into_read_only_directory(repo_dir, link):
    make_dir(repo_dir)
    ok("config", "cache.type", link, cwd=repo_dir)
    ok("add", "data", cwd=repo_dir)
    (repo_dir / "data" / "sub" / "deep.bin").unlink()
    (repo_dir / "data" / "sub").chmod(0o555)
    try:
        line = fails(repo_dir, "checkout", expect=("permission denied",), cmd_prefix=unprivileged())
    finally:
        (repo_dir / "data" / "sub").chmod(0o755)
    names_user_path(line, os.path.join("data", "sub", "deep.bin"))


def test_commit_in_read_only_directory(repo_dir):
    (repo_dir / "d").mkdir()
    (repo_dir / "d" / "f.txt").write_text("v1")
    ok("add", "d/f.txt", cwd=repo_dir)
    (repo_dir / "d" / "f.txt").write_text("v2")
    (repo_dir / "d").chmod(0o555)
    try:
        proc = subprocess.run([*unprivileged(), sys.executable, "-m", "dataver", "commit", "-f",
                               "d/f.txt"], cwd=repo_dir, capture_output=True, text=True)
    finally:
        (repo_dir / "d").chmod(0o755)
    assert proc.returncode == 1
    names_user_path(one_error(proc.stderr), os.path.join("d", "f.txt"))


def test_config_write_in_read_only_dvc_dir(repo_dir):
    (repo_dir / ".dvc").chmod(0o555)
    try:
        line = fails(repo_dir, "remote", "add", "s", "/tmp/x", cmd_prefix=unprivileged())
    finally:
        (repo_dir / ".dvc").chmod(0o755)
    names_user_path(line, os.path.join(".dvc", "config"))


def test_install_with_read_only_hooks_dir(repo_dir):
    hooks = repo_dir / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    hooks.chmod(0o555)
    try:
        line = fails(repo_dir, "install", cmd_prefix=unprivileged())
    finally:
        hooks.chmod(0o755)
    assert "'.git/hooks/" in line and ".dataver.tmp" not in line, line


def test_get_into_read_only_directory(repo_dir, tmp_path):
    (repo_dir / "f.txt").write_text("data")
    ok("add", "f.txt", cwd=repo_dir)
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "f")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        line = fails(out, "get", str(repo_dir), "f.txt", cmd_prefix=unprivileged())
    finally:
        out.chmod(0o755)
    names_user_path(line, "f.txt")


def test_temp_names_map_back_to_the_path_they_stand_for(tmp_path):
    """Every writer's temp name, as it makes it, maps back (a guard against a writer renaming)."""
    from dataver import odb
    from dataver.atomic import write_bytes_atomic
    from dataver.errors import from_os_error, user_path
    from dataver.linking import tmp_path_for
    from dataver.ops.install import _write

    target = str(tmp_path / "missing-dir" / "imgs")
    assert user_path(tmp_path_for(target)) == target
    store = odb.ObjectStore(str(tmp_path / "cache"))
    assert user_path(store._tmp_name(target)) == target
    assert user_path(store._tmp_name(str(tmp_path / "files" / "md5" / "incoming"))) == \
        str(tmp_path / "files" / "md5")
    store.close()
    for write in (lambda: write_bytes_atomic(target, b"x"), lambda: _write(target, "x")):
        with pytest.raises(FileNotFoundError) as exc:  # its directory is missing: names the temp
            write()
        assert exc.value.filename != target and user_path(exc.value.filename) == target
    for name in ("config", "config.local"):
        assert user_path(f"/r/.dvc/{name}.tmp") == f"/r/.dvc/{name}"
    for theirs in ("/r/notes.tmp", "/r/config.txt.tmp", "/r/a.1234.tmp", "/r/plain"):
        assert user_path(theirs) == theirs
    # a two-path call (link, rename): the temp one is in the user's folder, and is named
    err = from_os_error(PermissionError(13, "Permission denied", "/cache/ab/cdef", None,
                                        tmp_path_for("/work/data/img.png")))
    assert "'/work/data/img.png'" in str(err)


# --- packaging --------------------------------------------------------------------------------------

def test_pyproject_license_is_an_spdx_expression():
    """A TOML-table license makes setuptools (>= 77) warn on every build; the string form needs 77."""
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fobj:
        meta = tomllib.load(fobj)
    assert meta["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in meta["build-system"]["requires"]
