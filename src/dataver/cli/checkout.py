"""`dataver checkout`."""
from __future__ import annotations

from dataver.cli.main import common
from dataver.cli.output import echo


def register(sub) -> None:
    p = sub.add_parser("checkout", help="make the workspace match the .dvc files",
                       description="Restore tracked outputs from the cache. Only files that differ are "
                                   "written; files with changes that are not in the cache are kept "
                                   "unless -f is given.")
    common(p)
    p.add_argument("targets", nargs="*", metavar="TARGET", help=".dvc files, outputs or directories")
    p.add_argument("-f", "--force", action="store_true", help="overwrite uncommitted changes")
    p.add_argument("--relink", action="store_true", help="re-create every link with the current cache.type")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="check out every .dvc file below directory TARGETs")
    p.add_argument("-d", "--with-deps", action="store_true",
                   help="also the outputs of the stages that dvc.yaml stage TARGETs depend on")
    p.add_argument("--allow-missing", action="store_true",
                   help="do not fail when some files or directories are missing from the cache")
    p.add_argument("--summary", action="store_true", help="print counts instead of each path")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo

    with Repo() as repo:
        summary = repo.checkout(args.targets or None, force=args.force, relink=args.relink,
                                recursive=args.recursive, allow_missing=args.allow_missing,
                                with_deps=args.with_deps, progress=for_cli(args.quiet))
    if args.summary:
        counts = [f"{len(v)} {k}" for k, v in (("added", summary.added), ("modified", summary.modified),
                                               ("deleted", summary.deleted)) if v]
        echo(args, ", ".join(counts) if counts else "No changes.")
        return 0
    for tag, paths in (("A", summary.added), ("M", summary.modified), ("D", summary.deleted)):
        for path in sorted(paths):  # workers finish in any order; a sorted list reads and diffs well
            echo(args, f"{tag}\t{path}")
    return 0
