"""`dataver add` and `dataver commit`."""
from __future__ import annotations

import os

from dataver.cli.main import common
from dataver.cli.output import echo, git_hint


def register(sub) -> None:
    p = sub.add_parser("add", help="track files or directories",
                       description="Store TARGETs in the cache and write TARGET.dvc files next to them; "
                                   "adds /TARGET to .gitignore. Re-adding records new content.")
    common(p)
    p.add_argument("targets", nargs="+", metavar="TARGET", help="files or directories to track")
    p.add_argument("--glob", action="store_true", help="expand wildcards in TARGETs")
    p.add_argument("--no-commit", action="store_true", help="write the .dvc file without caching the data")
    p.add_argument("-o", "--out", help="copy the (single) target to OUT inside the repo (into it, when it "
                                       "is a folder) and track the copy (with --to-remote: the output's path)")
    p.add_argument("--to-remote", action="store_true",
                   help="send the (single) TARGET, a path or URL, straight to the remote: neither "
                        "cache nor workspace gets a copy")
    p.add_argument("-f", "--force", action="store_true",
                   help="with -o: replace what is at OUT already (without it, an existing OUT is refused)")
    p.add_argument("-r", "--remote", metavar="NAME", help="the remote for --to-remote (default: the default remote)")
    p.add_argument("--remote-jobs", type=int, metavar="N",
                   help="with --to-remote: uploads at a time")
    _no_relink(p)
    p.set_defaults(func=run_add)

    c = sub.add_parser("commit", help="record changes of tracked outputs",
                       description="Save the current content of tracked outputs to the cache and "
                                   "update their .dvc files; for dvc.yaml stages, record their "
                                   "dependencies, params and outputs in dvc.lock (a stage that "
                                   "changed needs a yes on a terminal, or -f).")
    common(c)
    c.add_argument("targets", nargs="*", metavar="TARGET",
                   help=".dvc files, outputs, stage names or dvc.yaml files (default: all)")
    c.add_argument("-f", "--force", action="store_true", help="commit without asking")
    c.add_argument("-d", "--with-deps", action="store_true",
                   help="also the stages that dvc.yaml stage TARGETs depend on")
    c.add_argument("-R", "--recursive", action="store_true",
                   help="commit everything below directory TARGETs (dataver does this without -R too)")
    _no_relink(c)
    c.set_defaults(func=run_commit)


def _no_relink(p) -> None:
    p.add_argument("--no-relink", action="store_true",
                   help="leave the files as they are instead of linking them to the cache "
                        "(matters only with a hardlink or symlink cache.type)")


def run_add(args) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo

    with Repo() as repo:
        results = repo.add(args.targets, glob=args.glob, no_commit=args.no_commit, out=args.out,
                           relink=not args.no_relink, progress=for_cli(args.quiet),
                           to_remote=args.to_remote, remote=args.remote, remote_jobs=args.remote_jobs,
                           force=args.force)
        if not args.no_commit and not args.to_remote:
            auto_cards(args, repo, [r.path for r in results])
        # as DVC: a .gitignore only when this add changed it
        gitignores = sorted({os.path.relpath(r.gitignore) for r in results if r.gitignore})
        dvcfiles = [os.path.relpath(r.dvcfile) for r in results]
    if not repo.config.get_bool("core", "autostage") and not args.quiet and repo.scm.root:
        echo(args, git_hint(dvcfiles + gitignores))
    return 0


def auto_cards(args, repo, paths: list[str]) -> None:
    """With ``card.auto`` on, save the data card of each output just recorded. The data is
    recorded already: a card that cannot be made is a warning, not a failure."""
    if not paths or not repo.config.get_bool("feature", "card_auto"):
        return
    from dataver.errors import UserError, warn
    from dataver.progress import for_cli

    try:
        repo.card(paths, save=True, progress=for_cli(args.quiet))
    except UserError as exc:
        warn(f"the data card was not saved: {exc.message}", path=exc.path, hint=exc.hint)


def run_commit(args) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo

    with Repo() as repo:
        from dataver.cli.pipeline import StagePrinter, confirm_stage
        from dataver.pipeline.commit import commit

        _stages, results = commit(repo, args.targets or None, force=args.force, confirm=confirm_stage,
                                  events=StagePrinter(args), with_deps=args.with_deps,
                                  relink=not args.no_relink, progress=for_cli(args.quiet))
        auto_cards(args, repo, [r.path for r in results if r.changed])
    for res in results:
        if res.changed:
            echo(args, f"Updated {os.path.relpath(res.dvcfile)}")
    return 0
