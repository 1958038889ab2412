"""`dataver ls`, `get`, `import` and `update`: data of other repositories and revisions."""
from __future__ import annotations

import os

from dataver.cli.main import common, positive_int
from dataver.cli.output import echo, git_hint, print_json


def register(sub) -> None:
    p = sub.add_parser("ls", aliases=["list"], help="list a repository's files, including tracked data",
                       description="List files of the repository at URL (a path or git URL): git files "
                                   "and DVC-tracked data, including the contents of tracked directories.")
    common(p)
    p.add_argument("url", help="repository: a local path or a git URL")
    p.add_argument("path", nargs="?", help="path inside the repository (default: its root)")
    p.add_argument("--rev", help="git revision (default: the workspace, or HEAD of a clone)")
    p.add_argument("-R", "--recursive", action="store_true", help="list files in subdirectories too")
    p.add_argument("-T", "--tree", action="store_true", help="show subdirectories as a tree")
    p.add_argument("-L", "--level", type=int, metavar="DEPTH",
                   help="with -R or -T: go at most DEPTH levels down")
    p.add_argument("--dvc-only", action="store_true", help="show only DVC-tracked data")
    p.add_argument("--json", action="store_true", help="print JSON, as `dvc ls --json`")
    p.add_argument("--size", action="store_true", help="show sizes")
    p.add_argument("--show-hash", action="store_true", help="show each entry's hash")
    p.add_argument("-r", "--remote", metavar="NAME", help="remote to read directory manifests from")
    source_config_args(p)
    p.set_defaults(func=run_ls)

    p = sub.add_parser("get", help="download data from a repository",
                       description="Copy a file or directory (git- or DVC-tracked) of the repository at "
                                   "URL into the current directory, without tracking it.")
    _source_args(p)
    p.add_argument("--show-url", action="store_true",
                   help="print the storage URL the data would be downloaded from, and exit")
    p.set_defaults(func=run_get)

    p = sub.add_parser("import", help="download data from a repository and track its source",
                       description="Like get, and also cache the data and write a .dvc file recording "
                                   "the source URL and the locked revision (DVC-compatible).")
    _source_args(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--no-exec", action="store_true",
                     help="only write the .dvc file: no revision locked, no data")
    how.add_argument("--no-download", action="store_true",
                     help="lock the revision in the .dvc file, download no data")
    p.set_defaults(func=run_import)

    p = sub.add_parser("update", help="update imported data to the source's latest version",
                       description="Move imports to the newest commit of their source, or to --rev.")
    common(p)
    p.add_argument("targets", nargs="*", metavar="TARGET", help="import .dvc files (default: all)")
    p.add_argument("--rev", help="git revision of the source to move to (recorded in the .dvc file)")
    p.add_argument("-r", "--remote", metavar="NAME", help="source remote to download from "
                   "(with --to-remote: the remote to upload to)")
    p.add_argument("--no-download", action="store_true",
                   help="URL imports: record the source's new version, without data")
    p.add_argument("--to-remote", action="store_true",
                   help="URL imports: upload new data straight to a remote, keeping no copy")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N", help="transfers at once")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="targets are directories: update every import in them")
    p.set_defaults(func=run_update)


def _source_args(p) -> None:
    common(p)
    p.add_argument("url", help="repository: a local path or a git URL")
    p.add_argument("path", help="path of the file or directory inside the repository")
    p.add_argument("-o", "--out", help="where to write it (default: its name, here)")
    p.add_argument("--rev", help="git revision of the source (default: HEAD)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing file")
    p.add_argument("-r", "--remote", metavar="NAME", help="source remote to download from")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N", help="downloads at once")
    source_config_args(p)


def source_config_args(p) -> None:
    """``--config FILE`` and ``--remote-config NAME=VALUE...``: config merged over the source
    repository's for this command only (with ``-r/--remote``, which names its default remote)."""
    p.add_argument("--config", metavar="FILE",
                   help="config file merged over the source repository's config")
    p.add_argument("--remote-config", nargs="*", metavar="NAME=VALUE",
                   help="options merged into the source's remote (--remote, or its default)")


def source_overrides(args) -> dict:
    """``open_repo`` keyword arguments from the source config options of ``args``."""
    from dataver.external import parse_options
    from dataver.external import source_overrides as build

    return build(args.config, args.remote, parse_options(args.remote_config))


def run_ls(args) -> int:
    from dataver.errors import UserError
    from dataver.external import open_repo
    from dataver.ops.ls import ls, ls_tree

    if args.tree and args.json:
        raise UserError("cannot use --tree and --json options together", hint="drop one of them")
    with open_repo(args.url, args.rev, **source_overrides(args)) as (repo, use_rev):
        if args.tree:
            top = ls_tree(repo, args.path, use_rev, dvc_only=args.dvc_only, remote=args.remote,
                          maxdepth=args.level)
            return _show_entries(args, _tree_rows(top))
        entries = ls(repo, args.path, use_rev, recursive=args.recursive, dvc_only=args.dvc_only,
                     remote=args.remote, maxdepth=args.level)
    if args.json:
        print_json([e.to_dict() for e in entries])
        return 0
    return _show_entries(args, [(e, e.path) for e in entries])


def _show_entries(args, rows) -> int:
    """``(entry, label)`` rows as `dvc ls` prints them: with --size and --show-hash columns."""
    if not rows:
        return 0
    if not (args.size or args.show_hash):
        echo(args, "\n".join(label for _entry, label in rows))
        return 0
    table = []
    for entry, label in rows:
        cells = [size_text(entry.size, entry.isdir)] if args.size else []
        table.append(cells + ([entry.md5 or "-"] if args.show_hash else []) + [label])
    show_table(args, table, right_first=args.size)
    return 0


def _tree_rows(node, prefix: str = "", top: bool = True) -> list:
    """``(entry, label)`` of ``node`` and everything below it, labels drawn as DVC's tree."""
    rows = [(node.entry, node.name)] if top else []
    children = node.children or []
    for i, child in enumerate(children):
        last = i == len(children) - 1
        rows.append((child.entry, prefix + ("└── " if last else "├── ") + child.name))
        rows += _tree_rows(child, prefix + ("    " if last else "│   "), top=False)
    return rows


def show_table(args, rows: list[list[str]], right_first: bool = False) -> None:
    """Rows of text cells as DVC's plain tables: columns two spaces apart, each as wide as its
    widest cell (the first right-aligned if ``right_first``), the last one unpadded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.rjust(width) if i == 0 and right_first else cell.ljust(width)
                 for i, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells + [row[-1]]))
    echo(args, "\n".join(lines))


def show_sized(args, rows) -> None:
    """Print ``(size, isdir, name)`` rows as DVC's ``--size`` table: sizes right-aligned."""
    show_table(args, [[size_text(size, isdir), name] for size, isdir, name in rows], right_first=True)


def _size(entry) -> str:
    return size_text(entry.size, entry.isdir)


def size_text(size, isdir: bool) -> str:
    """Sizes as DVC prints them: bytes below 1 KiB, else 3 significant digits and a unit."""
    if size is None or (size <= 0 and isdir):
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
    from dataver.external import parse_options
    from dataver.repo import Repo

    remote_config = parse_options(args.remote_config)
    if args.show_url:
        from dataver import api

        echo(args, api.get_url(args.path, repo=args.url, rev=args.rev, **source_overrides(args)))
        return 0
    Repo.get(args.url, args.path, out=args.out, rev=args.rev, force=args.force, remote=args.remote,
             jobs=args.jobs, config=args.config, remote_config=remote_config)
    return 0


def run_import(args) -> int:
    from dataver.external import parse_options
    from dataver.repo import Repo

    with Repo() as repo:
        if not args.no_exec:  # DVC names nothing it does not download
            echo(args, f"Importing '{args.path} ({args.url})' -> '{args.out or os.path.basename(args.path.rstrip('/'))}'")
        result = repo.imp(args.url, args.path, out=args.out, rev=args.rev, force=args.force,
                          remote=args.remote, jobs=args.jobs, no_exec=args.no_exec,
                          no_download=args.no_download, config=args.config,
                          remote_config=parse_options(args.remote_config))
        _hint(args, repo, [result])
    return 0


def run_update(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        results = repo.update(args.targets or None, rev=args.rev, remote=args.remote,
                              no_download=args.no_download, to_remote=args.to_remote,
                              jobs=args.jobs, recursive=args.recursive)
        for res in results:
            if not res.changed:
                echo(args, f"'{os.path.relpath(res.dvcfile)}' didn't change, skipping")
            elif res.source is not None:  # downloaded again
                echo(args, f"Importing '{res.source}' -> '{os.path.relpath(res.path)}'")
    return 0  # `dvc update` neither stages nor names the files to `git add`


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
    echo(args, git_hint(names))
