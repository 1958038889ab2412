"""`version`/`doctor`, `completion` and "did you mean" for a mistyped command."""
from __future__ import annotations

import json
import os

import pytest

from dataver import __version__
from dataver.cli.main import HIDDEN_COMMANDS
from dataver.ops import doctor
from tests.func.helpers import cli


def test_version_outside_a_repo(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(capsys, "version")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(f"dataver version: {__version__}")
    assert lines[1] == "-" * len(lines[0])
    assert lines[2].startswith("Platform: Python ")
    assert "Extras:" in lines and "Config:" in lines
    assert not any(line.startswith("Cache types:") for line in lines)


def test_doctor_in_a_repo_reports_cache_and_extras(repo_dir, capsys):
    code, out, _ = cli(capsys, "doctor")
    assert "Cache types: unknown (no cache directory yet)" in out
    (repo_dir / "f.txt").write_text("x")
    assert cli(capsys, "add", "f.txt")[0] == 0
    code, out, _ = cli(capsys, "doctor")
    assert code == 0
    assert "Cache types: " in out and "Repo: dvc, git" in out and "Remotes: None" in out
    fs = doctor.file_system(str(repo_dir))
    assert f"Workspace directory: {fs}" in out and fs != "unknown"
    assert "hardlink" in out.split("Cache types: ")[1].splitlines()[0]
    assert not [n for n in os.listdir(repo_dir) if n.startswith(".dataver-link-probe")]
    code, out, _ = cli(capsys, "version", "--json")
    data = json.loads(out)
    assert set(data["remotes"]) == set(doctor.REMOTE_EXTRAS)
    assert set(data["extras"]) == {"cards", "visual", "ui"}
    assert data["repo"]["Caches"] == "local"


def test_extras_follow_package_metadata():
    requires = {"cards": ["Pillow", "no-such-package-xyz"], "visual": ["dataver[cards]", "scipy"]}
    visual = doctor._extra("visual", requires)
    assert [name for name, _ in visual.packages] == ["Pillow", "no-such-package-xyz", "scipy"]
    assert not visual.installed and visual.missing == ["no-such-package-xyz"]


@pytest.mark.parametrize("typed, suggested", [("stauts", "'status'"), ("chekout", "'checkout'"),
                                              ("pul", "'pull'"), ("frezee", "'freeze'")])
def test_mistyped_command_gets_did_you_mean(capsys, typed, suggested):
    with pytest.raises(SystemExit) as exc:
        cli(capsys, typed)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert f"invalid choice: '{typed}' (did you mean {suggested}" in err


def test_hidden_commands_are_never_suggested(capsys):
    for hidden in HIDDEN_COMMANDS:
        with pytest.raises(SystemExit):
            cli(capsys, hidden[:-1] + "x")
        err = capsys.readouterr().err
        assert "did you mean" not in err or hidden not in err.split("did you mean")[1]
        assert f"'{hidden}'" not in err


def test_mistyped_subcommand_gets_did_you_mean(capsys):
    with pytest.raises(SystemExit):
        cli(capsys, "remote", "ad")
    assert "did you mean 'add'" in capsys.readouterr().err


def _complete(shell: str, script: str, words: list[str]) -> str:
    """What the generated completion function offers after ``words`` (the last being the word
    under the cursor), with the shell's own completion builtins stubbed to print."""
    import subprocess

    if shell == "bash":
        code = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); '
                '_dataver; echo "${COMPREPLY[*]}"')
    else:
        code = ('compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -r -- "$*"; }; '
                '_describe() { print -r -- "${(P)2}"; }; _files() { print -r -- "FILES $*"; }; '
                'source "$1"; shift; words=("$@"); CURRENT=${#words}; _dataver')
    proc = subprocess.run([shell, "-c", code, "_", script, *words], capture_output=True,
                          text=True, check=True)
    return proc.stdout.strip()


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_complete_commands_options_and_choices(shell, tmp_path, monkeypatch,
                                                                   capsys):
    import shutil

    if shutil.which(shell) is None:
        pytest.fail(f"{shell} is not installed: run bash scripts/setup.sh --test")
    code, out, _ = cli(capsys, "completion", "-s", shell)
    assert code == 0
    script = tmp_path / "script"
    script.write_text(out)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt.dvc").write_text("")

    def offered(*words):
        return _complete(shell, str(script), ["dataver", *words])

    assert "status" in offered("stat").split() or "status:" in offered("stat")
    commands = offered("")
    assert "freeze" in commands and "completion" in commands
    assert "git-hook" not in commands and "card-diff" not in commands
    assert "--json" in offered("version", "-").split()
    assert offered("completion", "-s", "").split() == ["bash", "zsh"]
    assert "add" in offered("remote", "")
    assert "--default" in offered("--cd", ".", "remote", "add", "-").split()
    files = offered("freeze", "a")
    assert "a.txt.dvc" in files or files.startswith("FILES")


def test_completion_script_lists_every_visible_command(capsys):
    from dataver.cli.main import COMMAND_MODULES

    _, out, _ = cli(capsys, "completion")
    top = next(line for line in out.splitlines() if line.startswith("_dataver_subs_="))
    listed = set(top[len("_dataver_subs_=("):-1].split())
    for commands in COMMAND_MODULES.values():
        for command in commands:
            assert (command in listed) == (command not in HIDDEN_COMMANDS), command
