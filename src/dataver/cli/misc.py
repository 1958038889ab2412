"""`dataver root` and `dataver check-ignore`."""
from __future__ import annotations

import sys

from dataver.cli.main import common
from dataver.errors import UserError


def register(sub) -> None:
    r = sub.add_parser("root", help="print the relative path to the repository root",
                       description="Print the path of the repository root relative to the current "
                                   "directory ('.' at the root).")
    common(r)
    r.set_defaults(func=run_root)

    c = sub.add_parser("check-ignore", help="check paths against .dvcignore",
                       description="Print each PATH that .dvcignore excludes. Exit status 0 if at least "
                                   "one PATH is ignored (with -d: matched any pattern), else 1.")
    common(c)
    c.add_argument("targets", nargs="*", metavar="PATH", help="files or directories to check")
    c.add_argument("-d", "--details", action="store_true",
                   help="show the deciding pattern as FILE:LINE:PATTERN<TAB>PATH")
    c.add_argument("-n", "--non-matching", action="store_true",
                   help="with -d, also list PATHs that match no pattern (as ::<TAB>PATH)")
    c.add_argument("-a", "--all", action="store_true", help="with -d, show every matching pattern")
    c.add_argument("--stdin", action="store_true",
                   help="read PATHs from standard input, one per line, until an empty line")
    c.set_defaults(func=run_check_ignore)


def run_root(args) -> int:
    import os

    from dataver.repo import Repo

    root = Repo().root
    print(os.path.relpath(root))
    return 0


def _check_args(args) -> None:
    if not args.stdin and not args.targets:
        raise UserError("give PATHs or --stdin")
    if args.stdin and args.targets:
        raise UserError("give either PATHs or --stdin, not both")
    if args.non_matching and not args.details:
        raise UserError("--non-matching is only valid with --details")
    if args.all and not args.details:
        raise UserError("--all is only valid with --details")
    if args.quiet and args.details:
        raise UserError("cannot use both --details and --quiet")


def run_check_ignore(args) -> int:
    from dataver.ops.check_ignore import IgnoreChecker
    from dataver.repo import Repo

    _check_args(args)
    checker = IgnoreChecker(Repo().root)
    targets = args.targets if not args.stdin else _stdin_lines()
    code = 1
    for target in targets:
        if _show(args, checker.check(target)):
            code = 0
        sys.stdout.flush()  # answers appear as lines are read in --stdin mode
    return code


def _stdin_lines():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            return
        yield line


def _show(args, result) -> bool:
    """Print one result as `dvc check-ignore` does; returns whether it counts as a match."""
    if not result.ignored and not args.details:
        return False
    if args.details:
        patterns = [str(p) for p in result.patterns]
        if not patterns and args.non_matching:
            patterns = ["::"]
        for pattern in patterns if args.all else patterns[-1:]:
            if not args.quiet:
                print(f"{pattern}\t{result.target}")
    elif not args.quiet:
        print(result.target)
    return bool(result.patterns)
