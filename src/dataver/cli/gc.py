"""`dataver gc`."""
from __future__ import annotations

import sys

from dataver.cli.main import common, positive_int
from dataver.cli.output import echo


def register(sub) -> None:
    p = sub.add_parser("gc", help="remove unused objects from the cache (and remote)",
                       description="Remove cache objects that no current .dvc file uses; with -c "
                                   "also from the remote. Asks for confirmation unless -f.")
    common(p)
    p.add_argument("-w", "--workspace", action="store_true",
                   help="keep only what the workspace's .dvc files use (required)")
    p.add_argument("-c", "--cloud", action="store_true", help="also remove unused objects from the remote")
    p.add_argument("-r", "--remote", metavar="NAME", help="remote for -c (default: core.remote)")
    p.add_argument("--dry", action="store_true", help="only print what would be removed")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                   help="deletions to run at once on the remote")
    from dataver.cli import revisions

    revisions.add_args(p, what="keep")
    p.set_defaults(func=run)


def scope(args) -> str:
    """What is kept, for the warning."""
    from dataver.cli import revisions

    return revisions.scope(args)


def run(args) -> int:
    from dataver.errors import UserError
    from dataver.repo import Repo

    from dataver.cli import revisions

    if not args.workspace and not revisions.selected(args):
        raise UserError("nothing to keep was given", hint="use -w/--workspace, -a, -T, -A or --rev")
    with Repo() as repo:  # not a repository: say so before asking anything (as DVC does)
        print(f"WARNING: This will remove all cache except items used in {scope(args)} of the "
              "current repo.", file=sys.stderr)
        if not (args.force or args.dry) and not _confirm("Are you sure you want to proceed?"):
            print("Aborted.", file=sys.stderr)  # DVC exits 1 silently; say why nothing happened
            return 1
        from dataver.progress import for_cli

        result = repo.gc(cloud=args.cloud, remote=args.remote, dry=args.dry, jobs=args.jobs,
                         used=revisions.used(repo, args), progress=for_cli(args.quiet))
    verb = "Would remove" if args.dry else "Removed"
    if args.dry:
        for path in result.local:
            echo(args, f"Would remove {path}")
    echo(args, f"{verb} {len(result.local)} objects from repo cache." if result.local
         else "No unused 'repo' cache to remove.")
    if args.cloud:
        if args.dry:
            for key in result.remote:
                echo(args, f"Would remove {key} from remote '{result.remote_name}'")
        echo(args, f"{verb} {len(result.remote)} objects from remote." if result.remote
             else "No unused cache to remove from remote.")
    return 0


def _confirm(question: str) -> bool:
    if sys.stdin is None or sys.stdin.closed:  # no way to answer: the answer is no
        return False
    sys.stderr.write(f"{question} [y/n]: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if not sys.stdin.isatty():  # a piped answer is not echoed: end the question's line
        sys.stderr.write("\n")
    return answer in ("y", "yes")
