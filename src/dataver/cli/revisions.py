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
                or getattr(args, "all_tags", False) or getattr(args, "all_commits", False))


def used(repo, args, for_push: bool = False):
    """Objects the workspace and the selected revisions need, or None if none were selected
    (the command then uses its own default: the workspace)."""
    if not selected(args):
        return None
    from dataver.ops.revisions import used_objects

    return used_objects(repo, args.rev, args.all_branches, args.all_tags, args.all_commits,
                        targets=getattr(args, "targets", None) or None, for_push=for_push)


def scope(args) -> str:
    """What gc keeps, in DVC's words."""
    text = "the workspace"
    if args.all_commits:
        return text + " and all git commits"
    if args.all_branches and args.all_tags:
        text += " and all git branches and tags"
    elif args.all_branches:
        text += " and all git branches"
    elif args.all_tags:
        text += " and all git tags"
    for rev in args.rev or ():
        text += f" and last 1 commits from {rev}"
    return text
