"""The CLI registers only the named command's module; the table it uses for that must list
exactly what each module registers, and `--help` still shows every command."""
from __future__ import annotations

import argparse
import importlib

import pytest

from dataver.cli.main import COMMAND_MODULES, HIDDEN_COMMANDS, _modules_for, build_parser, main


def registered_by(module: str) -> set[str]:
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(f"dataver.cli.{module}").register(sub)
    return set(sub.choices)


@pytest.mark.parametrize("module", list(COMMAND_MODULES))
def test_table_matches_what_each_module_registers(module):
    assert registered_by(module) == set(COMMAND_MODULES[module])


@pytest.mark.parametrize("argv, modules", [
    (["diff", "v1"], ["diff"]),
    (["-q", "--cd", "status", "mv", "a", "b"], ["data"]),  # "status" is --cd's value
    (["--verbose", "list", "."], ["history"]),
    ([], list(COMMAND_MODULES)),
    (["--help"], list(COMMAND_MODULES)),
    (["no-such-command"], list(COMMAND_MODULES)),
])
def test_modules_for_argv(argv, modules):
    assert _modules_for(argv) == modules


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for commands in COMMAND_MODULES.values():
        for command in commands:
            if command not in ("list", "rm", "mv"):  # aliases are shown with their command
                assert (command in out) == (command not in HIDDEN_COMMANDS), command


def test_unknown_command_names_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["chekout"])
    assert "checkout" in capsys.readouterr().err


def test_single_command_parser_parses_like_the_full_one():
    argv = ["push", "-r", "store", "-j", "4", "data"]
    assert vars(build_parser(argv).parse_args(argv)) == vars(build_parser().parse_args(argv))
