"""`dataver import-url`, `get-url` and `ls-url`: data at a URL (local path, s3, http, ssh, ...)."""
from __future__ import annotations

import os

from dataver.cli.main import common, positive_int
from dataver.cli.output import echo, print_json

URLS_HELP = ("a local path, s3://bucket/key, https://host/file, ssh://host/path, gs://, azure://, "
             "webdav://, or remote://NAME/path (a configured remote)")


def _fs_config(p) -> None:
    p.add_argument("--fs-config", nargs="*", metavar="NAME=VALUE",
                   help="options for the URL's filesystem, named as remote options "
                        "(e.g. endpointurl=http://127.0.0.1:9000)")


def register(sub) -> None:
    p = sub.add_parser("import-url", help="download data from a URL and track its source",
                       description="Download or copy a file or directory from URL into the cache "
                                   "and write a .dvc file recording the URL and the source's "
                                   "version (DVC-compatible); `update` re-checks it.")
    common(p)
    p.add_argument("url", help=URLS_HELP)
    p.add_argument("out", nargs="?", help="where to put the data (default: its name, here)")
    p.add_argument("--to-remote", action="store_true",
                   help="upload the data straight to a remote, keeping no local copy")
    p.add_argument("-r", "--remote", metavar="NAME", help="remote for --to-remote")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--no-exec", action="store_true",
                      help="only write the .dvc file, without the source's version or data")
    mode.add_argument("--no-download", action="store_true",
                      help="write the .dvc file with the source's version, without data")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N", help="transfers at once")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing data or .dvc file")
    p.add_argument("--version-aware", action="store_true",
                   help="record each file's version (S3 buckets with versioning): `pull` gets those "
                        "versions from the source, `push` sends nothing")
    _fs_config(p)
    p.set_defaults(func=run_import_url)

    p = sub.add_parser("get-url", help="download data from a URL, without tracking it",
                       description="Download or copy a file or directory from URL.")
    common(p)
    p.add_argument("url", help=URLS_HELP)
    p.add_argument("out", nargs="?", help="where to put it (default: its name, here)")
    p.add_argument("-j", "--jobs", type=positive_int, metavar="N", help="transfers at once")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing file")
    _fs_config(p)
    p.set_defaults(func=run_get_url)

    p = sub.add_parser("ls-url", aliases=["list-url"], help="list the contents of a URL",
                       description="List a directory at URL (or name the file at URL), as "
                                   "`dvc ls-url` does.")
    common(p)
    p.add_argument("url", help=URLS_HELP)
    p.add_argument("-R", "--recursive", action="store_true", help="list files in subdirectories too")
    p.add_argument("-T", "--tree", action="store_true", help="show the contents as a tree")
    p.add_argument("-L", "--level", type=int, metavar="DEPTH", help="limit the depth of recursion")
    p.add_argument("--size", action="store_true", help="show sizes")
    p.add_argument("--json", action="store_true",
                   help="print the entries as JSON (those of DVC's Repo.ls_url API)")
    _fs_config(p)
    p.set_defaults(func=run_ls_url)


def _parsed_fs_config(args) -> dict:
    from dataver.ops.url_fs import parse_fs_config

    return parse_fs_config(args.fs_config)


def _config(url: str):
    """Config to resolve a ``remote://NAME`` URL with: the current repository's (or the user's
    outside one); None for any other URL, which needs none."""
    if not url.startswith("remote://"):
        return None
    from dataver.config import Config
    from dataver.repo import Repo

    root = Repo.find_root(os.getcwd())
    return Config(os.path.join(root, ".dvc") if root else None)


def run_ls_url(args) -> int:
    from dataver.cli.history import show_sized
    from dataver.ops.ls_url import ls_url_tree
    from dataver.repo import Repo

    if args.tree:
        rows = ls_url_tree(args.url, maxdepth=args.level, fs_config=_parsed_fs_config(args),
                           config=_config(args.url))
        if args.size:
            show_sized(args, rows)
        else:
            echo(args, "\n".join(row[2] for row in rows))
        return 0
    entries = Repo.ls_url(args.url, recursive=args.recursive, maxdepth=args.level,
                          fs_config=_parsed_fs_config(args), config=_config(args.url))
    if args.json:
        print_json(entries)
    elif entries and args.size:
        show_sized(args, [(e.get("size"), e["isdir"], e["path"]) for e in entries])
    elif entries:
        echo(args, "\n".join(e["path"] for e in entries))
    return 0


def run_get_url(args) -> int:
    from dataver.repo import Repo

    Repo.get_url(args.url, args.out, jobs=args.jobs, force=args.force,
                 fs_config=_parsed_fs_config(args), config=_config(args.url))
    return 0


def run_import_url(args) -> int:
    from dataver.cli.history import _hint
    from dataver.ops.import_url import shown_source
    from dataver.repo import Repo

    with Repo() as repo:
        if not args.no_exec and not args.to_remote:  # as DVC: nothing comes here then
            out = args.out or os.path.basename(args.url.rstrip("/"))
            echo(args, f"Importing '{shown_source(args.url)}' -> '{out}'")
        result = repo.imp_url(args.url, args.out, no_exec=args.no_exec,
                              no_download=args.no_download, to_remote=args.to_remote,
                              remote=args.remote, jobs=args.jobs, force=args.force,
                              fs_config={**_parsed_fs_config(args),
                                         **({"version_aware": True} if args.version_aware else {})})
        _hint(args, repo, [result])
    return 0
