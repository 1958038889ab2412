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


def _revision_options(p) -> None:
    from dataver.cli import revisions

    revisions.add_args(p)


def register(sub) -> None:
    push = sub.add_parser("push", help="upload tracked data to a remote",
                          description="Send the objects that the current .dvc files of TARGETs need "
                                      "and the remote does not have yet.")
    _options(push)
    _revision_options(push)
    push.set_defaults(func=run_push)
    fetch = sub.add_parser("fetch", help="download tracked data into the cache",
                           description="Get the objects that the current .dvc files of TARGETs need "
                                       "into the cache (each verified), without touching the workspace.")
    _options(fetch)
    _revision_options(fetch)
    fetch.set_defaults(func=run_fetch)
    pull = sub.add_parser("pull", help="fetch, then check out",
                          description="Fetch what TARGETs need, then check them out. A file inside "
                                      "a tracked directory can be pulled alone.")
    _options(pull)
    pull.add_argument("-f", "--force", action="store_true", help="overwrite uncommitted changes")
    pull.set_defaults(func=run_pull)


def _count(n: int, verb: str) -> str:
    return f"{n} file{'s' if n != 1 else ''} {verb}"


def _run(args, verb: str, method: str) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo
    from dataver.transfer import TransferError

    from dataver.cli import revisions

    with Repo() as repo:
        try:
            used = revisions.used(repo, args, for_push=method == "push")
            result = getattr(repo, method)(args.targets or None, remote=args.remote, jobs=args.jobs,
                                           progress=for_cli(args.quiet), used=used)
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

    with Repo() as repo:
        try:
            result = repo.pull(args.targets or None, remote=args.remote, jobs=args.jobs,
                               progress=for_cli(args.quiet), force=args.force)
        except TransferError as exc:
            if exc.result.transferred:
                echo(args, _count(exc.result.transferred, "fetched"))
            raise
    lines = []
    if result.fetched.transferred:
        lines.append(_count(result.fetched.transferred, "fetched"))
    changes = [_count(len(paths), verb) for paths, verb in ((result.added, "added"),
               (result.modified, "modified"), (result.deleted, "deleted")) if paths]
    if changes:
        lines.append(", ".join(changes))
    for line in lines or ["Everything is up to date."]:
        echo(args, line)
    return 0
