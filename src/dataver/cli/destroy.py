"""`dataver destroy`."""
from __future__ import annotations

from dataver.cli.main import common

QUESTION = ("This will destroy all information about your pipelines, all data files, as well\n"
            "as cache in .dvc/cache.\nAre you sure you want to continue?")


def register(sub) -> None:
    p = sub.add_parser("destroy", help="remove .dvc files, local config and the cache",
                       description="Remove every .dvc file, dvc.yaml and dvc.lock, .dvcignore and "
                                   "the .dvc directory (config and the cache in .dvc/cache). Data "
                                   "linked from the cache is first turned into plain copies, so "
                                   "the workspace keeps it. Asks for confirmation unless -f.")
    common(p)
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=run_destroy)


def run_destroy(args) -> int:
    from dataver.cli.gc import _confirm
    from dataver.errors import UserError
    from dataver.ops.destroy import destroy
    from dataver.repo import Repo

    repo = Repo()
    if not args.force and not _confirm(QUESTION):
        raise UserError("failed to destroy: no confirmation from the user",
                        hint="use `-f` to force")
    destroy(repo)
    return 0
