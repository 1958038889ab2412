"""`dataver push`, `pull` and `fetch`."""
from __future__ import annotations

from dataver.cli.main import common, positive_int
from dataver.cli.output import echo


def _options(p) -> None:
    common(p)
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help=".dvc files, outputs, or files inside tracked directories (default: all)")
    p.add_argument("-r", "--remote", metavar="NAME", help="remote to use (default: core.remote)")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N", help="transfers to run at once")
    p.add_argument("-d", "--with-deps", action="store_true",
                   help="also the outputs of the stages a dvc.yaml stage TARGET depends on")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="a directory TARGET means every output below it (dataver always does this)")
    p.add_argument("--run-cache", dest="run_cache", action="store_true", default=False,
                   help="also transfer the run cache (`runs/` entries of `repro`) and the objects "
                        "of their outputs")
    p.add_argument("--no-run-cache", dest="run_cache", action="store_false",
                   help="do not transfer the run cache (the default)")


def _revision_options(p) -> None:
    from dataver.cli import revisions

    revisions.add_args(p)


def register(sub) -> None:
    push = sub.add_parser("push", help="upload tracked data to a remote",
                          description="Send the objects that the current .dvc files of TARGETs need "
                                      "and the remote does not have yet.")
    _options(push)
    _revision_options(push)
    push.add_argument("--glob", action="store_true", help="allow TARGETs with shell-style wildcards")
    push.set_defaults(func=run_push)
    fetch = sub.add_parser("fetch", help="download tracked data into the cache",
                           description="Get the objects that the current .dvc files of TARGETs need "
                                       "into the cache (each verified), without touching the workspace.")
    _options(fetch)
    _revision_options(fetch)
    fetch.add_argument("--max-size", type=int, metavar="BYTES",
                       help="only outputs (files or whole directories) smaller than BYTES")
    fetch.add_argument("--type", dest="types", action="append", choices=("metrics", "plots"),
                       help="only outputs declared as metrics or plots in dvc.yaml (repeatable)")
    fetch.set_defaults(func=run_fetch)
    pull = sub.add_parser("pull", help="fetch, then check out",
                          description="Fetch what TARGETs need, then check them out. A file inside "
                                      "a tracked directory can be pulled alone.")
    _options(pull)
    _revision_options(pull)
    pull.add_argument("-f", "--force", action="store_true", help="overwrite uncommitted changes")
    pull.add_argument("--allow-missing", action="store_true",
                      help="ignore errors if some files or directories are missing on the remote")
    pull.set_defaults(func=run_pull)


def _targets(args, repo) -> list[str] | None:
    """TARGETs after --glob and --with-deps (None: everything)."""
    import os

    targets = list(args.targets or ())
    if getattr(args, "glob", False):
        import glob

        targets = [m for t in targets for m in (sorted(glob.glob(t)) or [t])]
    if args.with_deps and targets:
        from dataver.ops.targets import with_deps

        targets = with_deps(repo, targets)
    return [os.path.relpath(t) if os.path.isabs(t) else t for t in targets] or None


def _count(n: int, verb: str) -> str:
    return f"{n} file{'s' if n != 1 else ''} {verb}"


def _run(args, verb: str, method: str) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo
    from dataver.transfer import TransferError

    from dataver.cli import revisions

    with Repo() as repo:
        try:
            targets = _targets(args, repo)
            args.targets = targets
            used = revisions.used(repo, args, for_push=method == "push")
            filters = {"max_size": args.max_size, "types": args.types} if method == "fetch" else {}
            result = getattr(repo, method)(targets, remote=args.remote, jobs=args.jobs,
                                           progress=for_cli(args.quiet), used=used,
                                           run_cache=args.run_cache, **filters)
        except TransferError as exc:
            if exc.result.transferred:
                echo(args, _count(exc.result.transferred, verb))
            raise
    echo(args, _count(result.transferred, verb) if result.transferred else "Everything is up to date.")
    return 0


def run_push(args) -> int:
    return _run(args, "pushed", "push")


def run_fetch(args) -> int:
    return _run(args, "fetched", "fetch")


def run_pull(args) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo
    from dataver.transfer import TransferError

    from dataver.cli import revisions

    fetched = 0
    with Repo() as repo:
        targets = _targets(args, repo)
        args.targets = targets
        try:
            used = revisions.used(repo, args)
            if used is not None:  # other revisions' data into the cache; the workspace's below
                fetched = repo.fetch(targets, remote=args.remote, jobs=args.jobs,
                                     progress=for_cli(args.quiet), used=used).transferred
            result = repo.pull(targets, remote=args.remote, jobs=args.jobs,
                               progress=for_cli(args.quiet), force=args.force,
                               run_cache=args.run_cache)
        except TransferError as exc:
            if not (args.allow_missing and _only_missing(exc.result)):
                if exc.result.transferred:
                    echo(args, _count(exc.result.transferred, "fetched"))
                raise
            from dataver.errors import warn

            warn(f"{len(exc.result.failed)} file(s) missing on the remote were skipped "
                 "(--allow-missing)")
            if exc.result.transferred:
                echo(args, _count(exc.result.transferred, "fetched"))
            return 0
    # one line, in DVC's order and words: "9 files fetched, 1 file modified and 2 files added"
    parts = [_count(n, verb) for n, verb in ((result.fetched.transferred + fetched, "fetched"),
             (len(result.modified), "modified"), (len(result.added), "added"),
             (len(result.deleted), "deleted")) if n]
    summary = " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else \
        (parts[0] if parts else "Everything is up to date.")
    echo(args, summary)
    return 0


def _only_missing(result) -> bool:
    """Whether every failure of a transfer is an object the remote does not have."""
    return bool(result.failed) and all("missing" in reason for _n, _o, reason in result.failed)
