"""The ``--rev``, ``-a``, ``-T``, ``-A`` options shared by push, fetch, gc and status -c."""
from __future__ import annotations


def add_args(p, what: str = "use") -> None:
    """Add the revision options to parser ``p``."""
    p.add_argument("--rev", action="append", metavar="REV",
                   help=f"also {what} the data of this git revision (repeatable)")
    p.add_argument("-a", "--all-branches", action="store_true", help=f"also {what} the data of every branch")
    p.add_argument("-T", "--all-tags", action="store_true", help=f"also {what} the data of every tag")
    p.add_argument("-A", "--all-commits", action="store_true", help=f"also {what} the data of every commit")


def selected(args) -> bool:
    """Whether any revision option was given."""
    return bool(getattr(args, "rev", None) or getattr(args, "all_branches", False)
                or getattr(args, "all_tags", False) or getattr(args, "all_commits", False)
                or getattr(args, "date", None) or getattr(args, "all_experiments", False))


def used(repo, args, for_push: bool = False):
    """Objects the workspace and the selected revisions need, or None if none were selected
    (the command then uses its own default: the workspace)."""
    if not selected(args):
        return None
    from dataver.ops.revisions import used_objects

    more = {"num": getattr(args, "num", None) or 1, "date": getattr(args, "date", None),
            "skip_failed": getattr(args, "skip_failed", False),
            "all_experiments": getattr(args, "all_experiments", False)}  # gc's extra options
    return used_objects(repo, args.rev, args.all_branches, args.all_tags, args.all_commits,
                        targets=getattr(args, "targets", None) or None, for_push=for_push, **more)


def scope(args) -> str:
    """What gc keeps, in DVC's words (its warning names the options in this order)."""
    text = "the workspace"
    num = getattr(args, "num", None)
    if args.all_commits:
        text += " and all git commits"
    else:
        branches = f"last {num} commits from all git branches" if num else "all git branches"
        if args.all_branches and args.all_tags:
            text += f" and {branches} and all git tags" if num else " and all git branches and tags"
        elif args.all_branches:
            text += f" and {branches}"
        elif args.all_tags:
            text += " and all git tags"
        if getattr(args, "date", None):
            text += f" and all git commits before date {args.date}"  # sic: DVC keeps those after it
    for rev in args.rev or ():
        text += f" and last {num or 1} commits from {rev}"
    if getattr(args, "all_experiments", False):
        text += " and all experiments"
    return text
