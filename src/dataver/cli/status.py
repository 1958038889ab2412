"""`dataver status`."""
from __future__ import annotations

from dataver.cli.main import common, positive_int
from dataver.cli.output import echo, print_json


def register(sub) -> None:
    p = sub.add_parser("status", help="show changes between the workspace and the .dvc files",
                       description="List tracked outputs that are modified, deleted or not in the cache. "
                                   "With -q, print nothing and exit 1 if anything changed.")
    common(p)
    p.add_argument("targets", nargs="*", metavar="TARGET", help=".dvc files or outputs (default: all)")
    p.add_argument("--json", action="store_true", help="print the result as JSON, as `dvc status --json`")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="look in directory TARGETs for .dvc files and dvc.yaml (also done without -R)")
    p.add_argument("-d", "--with-deps", action="store_true",
                   help="also the stages that dvc.yaml stage TARGETs depend on")
    p.add_argument("--no-updates", action="store_true",
                   help="do not ask the sources of imports whether they moved on")
    p.add_argument("-c", "--cloud", action="store_true",
                   help="compare the cache with a remote instead of the workspace with the cache")
    p.add_argument("-r", "--remote", metavar="NAME", help="remote for -c (default: core.remote)")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                   help="requests to run at once for -c")
    from dataver.cli import revisions

    revisions.add_args(p, what="compare (with -c)")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataver.repo import Repo

    if args.cloud or args.remote:
        return run_cloud(args)
    from dataver.progress import for_cli

    with Repo() as repo:
        result = _relative_to_cwd(repo.root, repo.status(args.targets or None,
                                                         with_deps=args.with_deps,
                                                         check_updates=not args.no_updates,
                                                         progress=for_cli(args.quiet)))
    if args.quiet:
        return 1 if result else 0
    if args.json:
        print_json(result)
        return 0
    if not result:
        echo(args, "Data and pipelines are up to date.")
        return 0
    for dvc_path, entries in result.items():
        echo(args, f"{dvc_path}:")
        for entry in entries:
            if isinstance(entry, str):  # "changed command"
                echo(args, f"\t{entry}")
                continue
            for title, outs in entry.items():
                echo(args, f"\t{title}:")
                for path, state in outs.items():
                    if isinstance(state, dict):  # a params file: its keys' states
                        echo(args, f"\t\t{path}:")
                        for key, key_state in state.items():
                            echo(args, f"\t\t\t{key_state + ':':<20}{key}")
                    else:
                        echo(args, f"\t\t{state + ':':<20}{path}")
    return 0


def run_cloud(args) -> int:
    """`status -c`: what is only in the cache (new), only on the remote (deleted), or in neither
    (missing), in DVC's format."""
    from dataver.ops.sync import remote_name
    from dataver.repo import Repo

    with Repo() as repo:
        name = remote_name(repo, args.remote)
        from dataver.cli import revisions

        result = repo.cloud_status(args.targets or None, remote=args.remote, jobs=args.jobs,
                                   used=revisions.used(repo, args))
        # as DVC prints them: relative to the working directory (the API gives them from the root)
        result = {_rel(repo.root, path): state for path, state in result.items()}
    if args.quiet:
        return 1 if result else 0
    if args.json:
        print_json(result)
    elif not result:
        echo(args, f"Cache and remote '{name}' are in sync.")
    else:
        for path, state in result.items():
            echo(args, f"\t{state + ':':<20}{path}")
    return 0


def _rel(root: str, path: str) -> str:
    """``path`` (relative to the repo ``root``) relative to the working directory."""
    import os

    return os.path.relpath(os.path.join(root, path))


def _relative_to_cwd(root: str, result: dict) -> dict:
    """DVC prints paths relative to the working directory; the API gives them from the root."""

    def rel(path: str) -> str:
        return _rel(root, path)

    def rel_key(key: str) -> str:
        if key.endswith(".dvc"):
            return rel(key)
        # a dvc.yaml stage: "name" (root dvc.yaml) or "sub/dvc.yaml:name"
        file, _, name = key.rpartition(":")
        file = rel(file or "dvc.yaml")
        return name if file == "dvc.yaml" else f"{file}:{name}"

    def rel_entry(entry):
        if isinstance(entry, str):
            return entry
        # an import's "PATH (URL)" names the source, not a path here: kept as it is
        return {title: {p if s == "update available" else rel(p): s for p, s in outs.items()}
                for title, outs in entry.items()}

    return {rel_key(key): [rel_entry(e) for e in entries] for key, entries in result.items()}
