"""`dataver install` and the `dataver git-hook` command the hooks run."""
from __future__ import annotations

import argparse
import os

from dataver.cli.main import common
from dataver.cli.output import echo


def register(sub) -> None:
    p = sub.add_parser("install", help="install git hooks so data follows git checkouts",
                       description="Write git hooks: post-checkout checks data out when you switch "
                                   "branches, pre-commit shows `status`, pre-push runs `push`. Existing "
                                   "hooks are kept (dataver's lines are appended); running it again "
                                   "changes nothing.")
    common(p)
    p.set_defaults(func=run_install)
    # No help=: a command without one stays out of --help (main.HIDDEN_COMMANDS does the rest).
    hook = sub.add_parser("git-hook",
                          description="Run a git hook (used by the hooks `dataver install` writes).")
    hook.add_argument("hook", help="post-checkout, pre-commit or pre-push")
    hook.add_argument("args", nargs=argparse.REMAINDER, help="arguments git passes to the hook")
    hook.set_defaults(func=run_git_hook, quiet=False, verbose=False)


def run_install(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        result = repo.install()
    for path in result.chained:
        echo(args, f"kept the existing hook '{os.path.relpath(path)}', dataver's lines appended")
    if not result.written:
        echo(args, "git hooks are already installed.")
    return 0


def run_git_hook(args) -> int:
    from dataver.cli.main import main
    from dataver.ops.install import run_hook
    from dataver.repo import Repo

    command = run_hook(args.hook, args.args)
    if command is None or Repo.find_root(os.getcwd()) is None:
        return 0  # not a dataver/DVC repo (any more): the hook does nothing
    return main(command)
