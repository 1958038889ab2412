"""Every option DVC 3.x's data-management commands take exists in dataver's namesake.

The options are read at test time from `dvc <command> --help` of the real DVC, so a DVC upgrade
that adds one shows up here. What dataver deliberately or not yet has is listed in KNOWN_GAPS,
each with why; the test prints that list so it stays visible."""
from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from dataver.cli.main import _join_subcommands, build_parser
from tests.conftest import dvc_bin

pytestmark = pytest.mark.compat

COMMANDS = ["add", "commit", "status", "checkout", "pull", "push", "fetch", "gc", "diff", "ls",
            "get", "import", "update", "remove", "move", "unprotect", "data status", "du",
            "params diff", "metrics show", "metrics diff", "import-url", "get-url", "ls-url",
            "plots show", "plots diff", "plots templates"]

# command -> {"-s/--long" (the option's strings in DVC): why dataver lacks it}
KNOWN_GAPS: dict[str, dict[str, str]] = {
    "add": {"--no-relink": "dataver never relinks unchanged files, so there is nothing to turn off",
            "--to-remote": "add straight to a remote: not yet",
            "-r/--remote": "goes with --to-remote", "--remote-jobs": "goes with --to-remote",
            "-f/--force": "DVC's --force re-adds an output of a stage; dataver refuses that case"},
    "commit": {"--no-relink": "as for add", "-d/--with-deps": "pipeline dependencies: not yet",
               "-R/--recursive": "a directory target already means every output below it"},
    "status": {"-d/--with-deps": "pipeline dependencies: not yet",
               "--no-updates": "imports are not checked for updates yet"},
    "checkout": {"-d/--with-deps": "pipeline dependencies: not yet", "--allow-missing": "not yet"},
    "fetch": {"--max-size": "not yet", "--type": "metrics/plots outputs: not yet"},
    "gc": {"--all-experiments": "dataver has no experiments"},
    "ls": {"-T/--tree": "not yet", "-L/--level": "not yet", "--show-hash": "not yet",
           "--config": "config of the source repository: not yet", "--remote-config": "not yet"},
    "get": {"-j/--jobs": "not yet", "--show-url": "not yet", "--config": "not yet",
            "--remote-config": "not yet"},
    "import": {"-j/--jobs": "not yet", "--no-exec": "not yet", "--no-download": "not yet",
               "--config": "not yet", "--remote-config": "not yet"},
    "import-url": {"--version-aware": "cloud versioning (version_id): not yet, and the test "
                                      "servers keep no object versions to check it against"},
    "du": {"--config": "config of the source repository: not yet", "--remote": "not yet",
           "--remote-config": "not yet"},
}

_OPTION = re.compile(r"(?<![\w<-])(--?[A-Za-z][\w-]*)")


def dvc_options(command: str) -> set[str]:
    """Option strings in the usage line and the options section of `dvc COMMAND --help`."""
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run([dvc_bin(), *command.split(), "--help"], capture_output=True, text=True,
                         env=env, check=True).stdout
    usage, _, rest = out.partition("\n\n")
    found = set(_OPTION.findall(usage))
    for line in rest.splitlines():
        if line.startswith("  -"):
            found |= set(_OPTION.findall(re.split(r"\s{2,}", line.strip())[0]))
    return found - {"-h", "--help"}


def dataver_options(command: str) -> set[str]:
    argv = _join_subcommands(command.split())
    parser = build_parser(argv)
    sub = next(a for a in parser._actions if a.dest == "command").choices[argv[0]]
    for word in argv[1:]:  # `params diff`, `metrics show`: a command of a command group
        sub = next(a for a in sub._actions if isinstance(a.choices, dict) and word in a.choices).choices[word]
    return {o for action in sub._actions for o in action.option_strings}


def test_every_dvc_option_exists_in_dataver(capsys):
    assert dvc_bin(), "real dvc not found"
    with ThreadPoolExecutor(8) as pool:
        theirs = dict(zip(COMMANDS, pool.map(dvc_options, COMMANDS)))
    missing, stale = {}, {}
    for command in COMMANDS:
        ours = dataver_options(command)
        gaps = {o for key in KNOWN_GAPS.get(command, {}) for o in key.split("/")}
        lacking = sorted(theirs[command] - ours - gaps)
        if lacking:
            missing[command] = lacking
        now_there = sorted(set(gaps) & ours)
        if now_there:
            stale[command] = now_there
    with capsys.disabled():
        print("\nknown gaps against DVC 3.x options:")
        for command, gaps in KNOWN_GAPS.items():
            for option, why in gaps.items():
                print(f"  {command} {option}: {why}")
        for command, options in stale.items():
            print(f"  (now present, drop from KNOWN_GAPS: {command} {' '.join(options)})")
    assert not missing, f"DVC options missing in dataver: {missing}"
    assert {o for c in COMMANDS for o in theirs[c]}, "parsed no option at all from dvc --help"
