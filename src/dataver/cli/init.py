"""`dataver init`."""
from __future__ import annotations

from dataver.cli.main import common
from dataver.cli.output import echo


def register(sub) -> None:
    p = sub.add_parser("init", help="create a DVC-compatible repository here",
                       description="Create .dvc/ (config, .gitignore) and .dvcignore, as `dvc init` does, "
                                   "and stage them in git.")
    common(p)
    p.add_argument("--no-scm", action="store_true", help="initialise outside git (core.no_scm = True)")
    p.add_argument("-f", "--force", action="store_true", help="reinitialise, removing an existing .dvc/")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataver.repo import Repo

    repo = Repo.init(no_scm=args.no_scm, force=args.force)
    echo(args, f"Initialized dataver repository in {repo.root}")
    if not args.no_scm:
        echo(args, "You can now commit the changes to git.")
    return 0
