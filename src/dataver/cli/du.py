"""`dataver du`: disk usage of a repository's files (`dvc du`)."""
from __future__ import annotations

from dataver.cli.history import source_config_args
from dataver.cli.main import common
from dataver.cli.output import echo


def register(sub) -> None:
    p = sub.add_parser("du", help="show disk usage",
                       description="Show the size of each file and folder under PATH of the "
                                   "repository at URL (git files and DVC-tracked data), then "
                                   "their total.")
    common(p)
    p.add_argument("url", help="repository: a local path or a git URL")
    p.add_argument("path", nargs="?", help="path inside the repository (default: its root)")
    p.add_argument("--rev", metavar="COMMIT", help="git revision (e.g. SHA, branch, tag)")
    p.add_argument("-s", "--summarize", action="store_true", help="show the total only")
    p.add_argument("--remote", metavar="NAME", help="remote to set as the source's default")
    source_config_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from dataver.cli.history import _size, source_overrides
    from dataver.external import open_repo
    from dataver.ops.du import du
    from dataver.ops.ls import LsEntry

    with open_repo(args.url, args.rev, **source_overrides(args)) as (repo, use_rev):
        entries = du(repo, args.path, use_rev, summarize=args.summarize)
    sizes = [_size(LsEntry(False, False, False, size, None)) or "0" for _path, size in entries]
    width = max(len(s) for s in sizes)
    for size, (path, _bytes) in zip(sizes, entries):
        echo(args, f"{size:<{width}}  {path}".rstrip())
    return 0
