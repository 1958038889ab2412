"""`dataver gc`."""
from __future__ import annotations

import os
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
    p.add_argument("-n", "--num", type=positive_int, metavar="NUM",
                   help="with --rev or -a: also keep the NUM - 1 commits before each (first parents)")
    p.add_argument("--all-experiments", action="store_true",
                   help="also keep the data of every commit of DVC's experiments (refs/exps)")
    p.add_argument("--date", metavar="YYYY-MM-DD",
                   help="also keep the data of every commit made on or after this date")
    p.add_argument("--not-in-remote", action="store_true",
                   help="keep only the used objects that the remote does not have (the rest can be fetched again)")
    p.add_argument("--skip-failed", action="store_true",
                   help="skip revisions whose .dvc files cannot be read, with a warning")
    p.add_argument("-p", "--projects", nargs="*", metavar="PATH", default=None,
                   help="also keep what these repositories (sharing this cache) use, with the same "
                        "revision options")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataver.errors import UserError
    from dataver.repo import Repo

    from dataver.cli import revisions

    if not args.workspace and not revisions.selected(args):
        raise UserError("nothing to keep was given",
                        hint="use -w/--workspace, -a, -T, -A, --all-experiments, --rev or --date")
    if args.num and not (args.rev or args.all_branches):
        raise UserError("`--num` can only be used alongside `--rev` or `--all-branches`")
    if args.not_in_remote and args.cloud:
        raise UserError("`--not-in-remote` and `--cloud` are mutually exclusive")
    if args.date:
        from dataver.ops.revisions import parse_date

        parse_date(args.date)  # a bad date fails before the question
    with Repo() as repo:  # not a repository: say so before asking anything (as DVC does)
        print(f"WARNING: {warning(args)}", file=sys.stderr)
        if not (args.force or args.dry) and not _confirm("Are you sure you want to proceed?"):
            print("Aborted.", file=sys.stderr)  # DVC exits 1 silently; say why nothing happened
            return 1
        from dataver.progress import for_cli

        used = revisions.used(repo, args)
        if args.projects:
            used = (used if used is not None else _workspace_used(repo)) + _projects_used(args)
        result = repo.gc(cloud=args.cloud, remote=args.remote, dry=args.dry, jobs=args.jobs,
                         used=used, not_in_remote=args.not_in_remote,
                         progress=for_cli(args.quiet))
    verb = "Would remove" if args.dry else "Removed"
    if args.dry:
        for path in result.local:
            echo(args, f"Would remove {path}")
    # as DVC: one line per cache (3.x objects, then 2.x "legacy" ones), one per remote layout
    for name, count in (("repo", len(result.local) - result.legacy_local), ("legacy", result.legacy_local)):
        echo(args, f"{verb} {count} objects from {name} cache." if count
             else f"No unused '{name}' cache to remove.")
    if args.cloud:
        if args.dry:
            for key in result.remote:
                echo(args, f"Would remove {key} from remote '{result.remote_name}'")
        for count in (len(result.remote) - result.legacy_remote, result.legacy_remote):
            echo(args, f"{verb} {count} objects from remote." if count
                 else "No unused cache to remove from remote.")
    return 0


def warning(args) -> str:
    """gc's warning of what it keeps, in DVC's words."""
    from dataver.cli import revisions

    text = f"This will remove all cache except items used in {revisions.scope(args)}"
    if args.not_in_remote:
        text += " that are not present in the DVC remote"
    if args.projects:
        return text + " of the current and the following repos:" + "".join(
            f"\n  - {os.path.abspath(path)}" for path in args.projects)
    return text + " of the current repo."


def _workspace_used(repo) -> list:
    from dataver.transfer import used_in_workspace

    return used_in_workspace(repo, None)


def _projects_used(args) -> list:
    """What the repositories of ``-p`` use, with the same revision options."""
    from dataver.cli import revisions
    from dataver.repo import Repo

    used = []
    for path in args.projects:
        with Repo(path) as project:
            found = revisions.used(project, args)
            used += found if found is not None else _workspace_used(project)
    return used


def _confirm(question: str) -> bool:
    if sys.stdin is None or sys.stdin.closed:  # no way to answer: the answer is no
        return False
    sys.stderr.write(f"{question} [y/n]: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if not sys.stdin.isatty():  # a piped answer is not echoed: end the question's line
        sys.stderr.write("\n")
    return answer in ("y", "yes")
