"""`dataver freeze` and `dataver unfreeze`."""
from __future__ import annotations

from dataver.cli.main import common


def register(sub) -> None:
    for name, verb, func in (("freeze", "Freeze", run_freeze), ("unfreeze", "Unfreeze", run_unfreeze)):
        p = sub.add_parser(
            name, help=f"{name} stages or .dvc files",
            description=f"{verb} stages or .dvc files: set (or clear) `frozen: true`, which "
                        "`update` and pipeline runs respect, as DVC writes it. A TARGET is a "
                        ".dvc file or [PATH/dvc.yaml:]STAGE.")
        common(p)
        p.add_argument("targets", nargs="+", metavar="TARGET",
                       help=f"stages or .dvc files to {name}")
        p.set_defaults(func=func)


def run_freeze(args) -> int:
    return _run(args, True)


def run_unfreeze(args) -> int:
    return _run(args, False)


def _run(args, frozen: bool) -> int:
    import os

    from dataver.cli.output import echo
    from dataver.ops.freeze import set_frozen
    from dataver.repo import Repo

    with Repo() as repo:
        for done in set_frozen(repo, args.targets, frozen):
            if done.stage is not None:  # DVC says nothing of a .dvc file
                echo(args, f"Modifying stage '{done.stage}' in '{os.path.relpath(done.path)}'")
    return 0
