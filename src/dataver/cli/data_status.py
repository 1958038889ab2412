"""`dataver data status`: file-level changes between git HEAD, the .dvc files and the workspace.

Registered as the command `data-status` (main() rewrites `data status` into it, as it does for
`card diff`)."""
from __future__ import annotations

from dataver.cli.main import common, positive_int
from dataver.cli.output import echo, print_json

LABELS = {
    "not_in_remote": "Not in remote", "not_in_cache": "Not in cache",
    "committed": "DVC committed changes", "uncommitted": "DVC uncommitted changes",
    "untracked": "Untracked files", "unchanged": "DVC unchanged files",
}
HINTS = {
    "not_in_remote": ('use "dataver push <file>..." to upload files',),
    "not_in_cache": ('use "dataver fetch <file>..." to download files',),
    "committed": ("git commit the corresponding dvc files to update the repo",),
    "uncommitted": ('use "dataver commit <file>..." to track changes',
                    'use "dataver checkout <file>..." to discard changes'),
    "untracked": ('use "git add <file> ..." or "dataver add <file>..." to commit to git or to dvc',),
}


def register(sub) -> None:
    # no help=: a hidden command (the two words `data status` reach it), not listed on its own
    p = sub.add_parser("data-status", prog="dataver data status",
                       description="Show changes between the last git commit, the dvcfiles and "
                                   "the workspace (`dvc data status`).")
    common(p)
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="limit the scope to these tracked files/directories")
    p.add_argument("--json", action="store_true", help="show output in JSON format")
    p.add_argument("--granular", action="store_true",
                   help="show file-level info for DVC-tracked directories")
    p.add_argument("--unchanged", action="store_true", help="show unmodified DVC-tracked files")
    p.add_argument("--untracked-files", choices=["no", "all"], default="no", const="all",
                   nargs="?", help="show untracked files")
    p.add_argument("-r", "--remote", metavar="NAME",
                   help="remote storage to check (only applicable with --not-in-remote)")
    p.add_argument("--not-in-remote", action="store_true", help="show files not in remote")
    p.add_argument("--no-remote-refresh", dest="remote_refresh", action="store_false",
                   help="use the cached remote index (accepted; dataver always asks the remote "
                        "for the outputs' own objects)")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N", help=argparse_suppress())
    p.set_defaults(func=run)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def run(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        status = repo_status(repo, args)
    if not args.unchanged:
        status.pop("unchanged")
    if args.untracked_files == "no":
        status.pop("untracked")
    git = status.pop("git")
    if args.json:
        print_json({k: v for k, v in status.items() if v})
        return 0
    _show(args, {k: v for k, v in status.items() if v}, git)
    return 0


def repo_status(repo, args) -> dict:
    from dataver.ops.data_status import data_status

    return data_status(repo, args.targets or None, granular=args.granular,
                       untracked_files=args.untracked_files, not_in_remote=args.not_in_remote,
                       remote=args.remote, jobs=args.jobs, git=not args.json)


def _show(args, result: dict, git: dict) -> None:
    if not result:
        echo(args, "No changes in an empty git repo." if git.get("is_empty") else "No changes.")
    for idx, (kind, value) in enumerate(result.items()):
        if idx:
            echo(args)
        echo(args, f"{LABELS.get(kind, kind.capitalize() + ' files')}:")
        for hint in HINTS.get(kind, ()):
            echo(args, f"  ({hint})")
        if isinstance(value, dict):
            lines = [f"{state}: " + (" -> ".join(c.values()) if isinstance(c, dict) else c)
                     for state, changes in value.items() for c in changes]
        else:
            lines = value
        for line in lines:
            echo(args, " " * 8 + line)
    if git.get("is_dirty"):
        other = "other " if result else ""
        echo(args, f'({"there are " + other}changes not tracked by dvc, use "git status" to see)')
