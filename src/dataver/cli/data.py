"""`dataver remove`/`rm`, `move`/`mv` and `unprotect`."""
from __future__ import annotations

import os

from dataver.cli.main import common
from dataver.cli.output import echo, git_hint


def register(sub) -> None:
    p = sub.add_parser("remove", aliases=["rm"],
                       help="stop tracking outputs (delete their .dvc files) or remove dvc.yaml stages",
                       description="Delete TARGET .dvc files and their /OUTPUT lines in .gitignore, or "
                                   "take stages (NAME, dvc.yaml:NAME, path/dvc.yaml:NAME) out of dvc.yaml "
                                   "and dvc.lock. The data stays in the workspace (made writable) unless "
                                   "--outs is given; the cache is not touched. Nothing is staged in git.")
    common(p)
    p.add_argument("targets", nargs="+", metavar="TARGET", help=".dvc files or dvc.yaml stages to remove")
    p.add_argument("--outs", action="store_true", help="also delete the outputs from the workspace")
    p.set_defaults(func=run_remove)

    m = sub.add_parser("move", aliases=["mv"], help="rename or move a tracked file or directory",
                       description="Move the output SRC to DST and update its .dvc file (renamed to "
                                   "DST.dvc when it was named after SRC) and .gitignore entries.")
    common(m)
    m.add_argument("src", metavar="SRC", help="tracked file or directory")
    m.add_argument("dst", metavar="DST", help="new path (or an existing directory to move into)")
    m.set_defaults(func=run_move)

    u = sub.add_parser("unprotect", help="make linked outputs writable",
                       description="Replace hardlinks/symlinks to the (read-only) cache under TARGETs "
                                   "with writable copies, so the files can be edited in place.")
    common(u)
    u.add_argument("targets", nargs="+", metavar="TARGET", help="files or directories")
    u.set_defaults(func=run_unprotect)


def run_remove(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        repo.remove(args.targets, outs=args.outs)
    return 0


def run_move(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        res = repo.move(args.src, args.dst)
        autostage = repo.config.get_bool("core", "autostage")
        in_git = repo.scm.root is not None
    if in_git and not autostage:
        files = {res.new_dvcfile, res.old_dvcfile}
        files |= {os.path.join(os.path.dirname(p), ".gitignore") for p in (res.src, res.dst)}
        echo(args, git_hint(sorted(os.path.relpath(f) for f in files)))
    return 0


def run_unprotect(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        repo.unprotect(args.targets)
    return 0
