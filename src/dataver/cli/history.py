"""`dataver ls`, `get`, `import` and `update`: data of other repositories and revisions."""
from __future__ import annotations

import os

from dataver.cli.main import common
from dataver.cli.output import echo, print_json


def register(sub) -> None:
    p = sub.add_parser("ls", aliases=["list"], help="list a repository's files, including tracked data",
                       description="List files of the repository at URL (a path or git URL): git files "
                                   "and DVC-tracked data, including the contents of tracked directories.")
    common(p)
    p.add_argument("url", help="repository: a local path or a git URL")
    p.add_argument("path", nargs="?", help="path inside the repository (default: its root)")
    p.add_argument("--rev", help="git revision (default: the workspace, or HEAD of a clone)")
    p.add_argument("-R", "--recursive", action="store_true", help="list files in subdirectories too")
    p.add_argument("--dvc-only", action="store_true", help="show only DVC-tracked data")
    p.add_argument("--json", action="store_true", help="print JSON, as `dvc ls --json`")
    p.add_argument("--size", action="store_true", help="show sizes")
    p.add_argument("-r", "--remote", metavar="NAME", help="remote to read directory manifests from")
    p.set_defaults(func=run_ls)

    p = sub.add_parser("get", help="download data from a repository",
                       description="Copy a file or directory (git- or DVC-tracked) of the repository at "
                                   "URL into the current directory, without tracking it.")
    _source_args(p)
    p.set_defaults(func=run_get)

    p = sub.add_parser("import", help="download data from a repository and track its source",
                       description="Like get, and also cache the data and write a .dvc file recording "
                                   "the source URL and the locked revision (DVC-compatible).")
    _source_args(p)
    p.set_defaults(func=run_import)

    p = sub.add_parser("update", help="update imported data to the source's latest version",
                       description="Move imports to the newest commit of their source, or to --rev.")
    common(p)
    p.add_argument("targets", nargs="*", metavar="TARGET", help="import .dvc files (default: all)")
    p.add_argument("--rev", help="git revision of the source to move to (recorded in the .dvc file)")
    p.add_argument("-r", "--remote", metavar="NAME", help="source remote to download from")
    p.set_defaults(func=run_update)


def _source_args(p) -> None:
    common(p)
    p.add_argument("url", help="repository: a local path or a git URL")
    p.add_argument("path", help="path of the file or directory inside the repository")
    p.add_argument("-o", "--out", help="where to write it (default: its name, here)")
    p.add_argument("--rev", help="git revision of the source (default: HEAD)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing file")
    p.add_argument("-r", "--remote", metavar="NAME", help="source remote to download from")


def run_ls(args) -> int:
    from dataver.repo import Repo

    entries = Repo.list_url(args.url, args.path, args.rev, recursive=args.recursive,
                            dvc_only=args.dvc_only, remote=args.remote)
    if args.json:
        print_json([e.to_dict() for e in entries])
    elif entries and args.size:
        sizes = [_size(e) for e in entries]
        width = max(len(s) for s in sizes)
        for size, entry in zip(sizes, entries):
            echo(args, f"{size:>{width}}  {entry.path}")
    elif entries:
        echo(args, "\n".join(e.path for e in entries))
    return 0


def _size(entry) -> str:
    """Sizes as DVC prints them: bytes below 1 KiB, else 3 significant digits and a unit."""
    size = entry.size
    if size is None or (size <= 0 and entry.isdir):
        return ""
    if size < 1024:
        return f"{size:.0f}"
    value = float(size)
    for unit in ("", "k", "M", "G", "T", "P", "E", "Z"):
        if abs(value) < 999.5:
            if abs(value) < 99.95:
                if abs(value) < 9.995:
                    return f"{value:1.2f}{unit}"
                return f"{value:2.1f}{unit}"
            return f"{value:3.0f}{unit}"
        value /= 1024
    return f"{value:3.1f}Y"


def run_get(args) -> int:
    from dataver.repo import Repo

    Repo.get(args.url, args.path, out=args.out, rev=args.rev, force=args.force, remote=args.remote)
    return 0


def run_import(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        echo(args, f"Importing '{args.path} ({args.url})' -> '{args.out or os.path.basename(args.path.rstrip('/'))}'")
        result = repo.imp(args.url, args.path, out=args.out, rev=args.rev, force=args.force,
                          remote=args.remote)
        _hint(args, repo, [result])
    return 0


def run_update(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        results = repo.update(args.targets or None, rev=args.rev, remote=args.remote)
        for res in results:
            if not res.changed:
                echo(args, f"'{os.path.relpath(res.dvcfile)}' didn't change, skipping")
        _hint(args, repo, [r for r in results if r.changed])
    return 0


def _hint(args, repo, results) -> None:
    if not results or not getattr(repo.scm, "root", None):
        return
    if repo.config.get_bool("core", "autostage"):
        paths = [r.dvcfile for r in results]
        paths += [os.path.join(os.path.dirname(r.path), ".gitignore") for r in results]
        repo.scm.add([p for p in paths if os.path.exists(p)])
        return
    names = sorted({os.path.relpath(r.dvcfile) for r in results}
                   | {os.path.relpath(os.path.join(os.path.dirname(r.path), ".gitignore")) for r in results})
    echo(args, "\nTo track the changes with git, run:\n\n\tgit add " + " ".join(names))
