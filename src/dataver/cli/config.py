"""`dataver config` and `dataver cache dir|verify|migrate`."""
from __future__ import annotations

import os
import sys

from dataver.cli.main import common, positive_int
from dataver.errors import UserError


def _levels(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    for flag, level, text in (("--global", "global", "use the global config (~/.config/dvc/config)"),
                              ("--system", "system", "use the system config"),
                              ("--project", "repo", "use the project config (.dvc/config)"),
                              ("--local", "local", "use the local config (.dvc/config.local)")):
        group.add_argument(flag, dest="level", action="store_const", const=level, help=text)
    parser.set_defaults(level=None)


def register(sub) -> None:
    p = sub.add_parser("config", help="get or set config options",
                       description="Get (NAME), set (NAME VALUE) or unset (--unset NAME) an option, "
                                   "or list them (-l). NAME is section.option or remote.NAME.option. "
                                   "Writes .dvc/config unless a level is given; reads all levels, "
                                   "later ones winning (system, global, project, local).")
    common(p)
    _levels(p)
    p.add_argument("-u", "--unset", action="store_true", help="remove the option")
    p.add_argument("name", nargs="?", metavar="NAME", help="section.option or remote.NAME.option")
    p.add_argument("value", nargs="?", metavar="VALUE", help="value to set")
    p.add_argument("-l", "--list", action="store_true", help="list every option that is set")
    p.add_argument("--show-origin", action="store_true", help="show the file each value comes from")
    p.set_defaults(func=run_config)

    c = sub.add_parser("cache", help="manage cache settings",
                       description="Manage cache settings. `dataver cache dir --help` for details.")
    common(c)
    csub = c.add_subparsers(dest="cache_command", metavar="COMMAND", required=True)
    d = csub.add_parser("dir", help="get or set the cache directory",
                        description="Print the cache directory, or set cache.dir to VALUE (a path "
                                    "relative to the current directory is stored relative to the "
                                    "config file), or --unset it.")
    common(d)
    _levels(d)
    d.add_argument("-u", "--unset", action="store_true", help="remove cache.dir")
    d.add_argument("value", nargs="?", metavar="VALUE", help="new cache directory")
    d.set_defaults(func=run_cache_dir)

    v = csub.add_parser("verify", help="check that every cache object matches its name",
                        description="Hash every object in the cache and list those whose content "
                                    "no longer matches their name (a disk fault, or an in-place "
                                    "edit of a file linked to the cache). Exits 1 if any is "
                                    "left corrupt. With --repair, move each corrupt object aside "
                                    "(its bytes are kept until `dataver gc`) and fetch a good "
                                    "copy from the remote.")
    common(v)
    v.add_argument("--repair", action="store_true",
                   help="move corrupt objects aside and fetch good copies from the remote")
    v.add_argument("-r", "--remote", metavar="NAME", help="remote for --repair (default: core.remote)")
    v.add_argument("-j", "--jobs", type=positive_int, metavar="N", help="transfers to run at once")
    v.set_defaults(func=run_cache_verify)

    m = csub.add_parser("migrate", help="migrate a DVC 2.x cache to the 3.x layout",
                        description="Re-hash every object of the DVC 2.x cache layout "
                                    "(.dvc/cache/xx/...) with md5 and add it to the 3.x layout "
                                    "(.dvc/cache/files/md5/...), hard-linked where possible. "
                                    "The 2.x objects are kept.")
    common(m)
    m.add_argument("--dvc-files", action="store_true",
                   help="also migrate the entries of every .dvc file to the 3.x format")
    m.add_argument("--dry", action="store_true",
                   help="only print what would be done, migrating nothing")
    m.set_defaults(func=run_cache_migrate)


def _dvc_dir() -> str | None:
    from dataver.repo import DVC_DIR, Repo

    root = Repo.find_root(os.getcwd())
    return os.path.join(root, DVC_DIR) if root else None


def run_config(args) -> int:
    from dataver.ops import config as ops

    if args.show_origin and (args.value is not None or args.unset):
        raise UserError("--show-origin can't be used together with --unset or VALUE")
    dvc_dir = _dvc_dir()
    if args.list:
        if args.name or args.value is not None or args.unset:
            raise UserError("-l/--list can't be used together with --unset, NAME or VALUE")
        for level, key, value in ops.list_options(dvc_dir, args.level):
            print(f"{_origin(args, dvc_dir, level)}{key}={value}")
        return 0
    if args.name is None:
        raise UserError("NAME is required", hint="see `dataver config --help`")
    name = ops.parse_name(args.name)
    if args.value is None and not args.unset:
        found = ops.get_option(dvc_dir, name, args.level)
        if found is not None:
            print(f"{_origin(args, dvc_dir, found[1])}{found[0]}")
        return 0
    if args.unset:
        ops.unset_option(dvc_dir, name, args.level)
    else:
        ops.set_option(dvc_dir, name, args.value, args.level)
    if str(name) == "cache.type":
        print("WARNING: You have changed the 'cache.type' option. This doesn't update any existing "
              "workspace file links, but it can be done with:\n\tdataver checkout --relink",
              file=sys.stderr)
    return 0


def _origin(args, dvc_dir: str | None, level: str) -> str:
    """The ``FILE<TAB>`` prefix of --show-origin (repo files relative to the repo root)."""
    from dataver.config import level_path

    if not args.show_origin:
        return ""
    path = level_path(level, dvc_dir)
    if level in ("repo", "local"):
        path = os.path.relpath(path, os.path.dirname(dvc_dir))
    return f"{path}\t"


def run_cache_dir(args) -> int:
    from dataver.ops import config as ops

    dvc_dir = _dvc_dir()
    name = ops.OptionName(None, "cache", "dir")
    if args.unset:
        ops.unset_option(dvc_dir, name, args.level)
    elif args.value is not None:
        ops.set_option(dvc_dir, name, args.value, args.level)
    else:
        print(ops.cache_dir(dvc_dir, args.level))
    return 0


def run_cache_verify(args) -> int:
    from dataver.cli.output import echo
    from dataver.progress import for_cli
    from dataver.repo import Repo

    with Repo() as repo:
        result = repo.verify_cache(repair=args.repair, remote=args.remote, jobs=args.jobs,
                                   progress=for_cli(getattr(args, "quiet", False)))
    for oid, hash_name in result.corrupt:
        used = f" (used by '{result.names[oid]}')" if oid in result.names else ""
        if oid in result.fetched:
            what = "replaced by a good copy from the remote"
        elif oid in result.moved:
            why = result.unfetched.get(oid, "not found")
            what = f"moved aside to '{os.path.relpath(result.moved[oid])}'; no good copy: {why}"
        else:
            what = "left in place"
        echo(args, f"corrupt: {oid}{used}: {what}")
    if result.earlier:
        echo(args, f"{len(result.earlier)} objects moved aside earlier are kept until `dataver gc`.")
    left = result.unrepaired
    echo(args, f"Checked {result.checked} objects: {len(result.corrupt)} corrupt"
               + (f", {len(left)} not repaired." if result.corrupt else "."))
    if left and not args.repair:
        print("ERROR: corrupt objects in the cache (run `dataver cache verify --repair` to move "
              "them aside and fetch good copies from the remote)", file=sys.stderr)
    elif left:
        print("ERROR: some corrupt objects have no good copy on the remote (add the data again "
              "from another source, or restore it from a backup)", file=sys.stderr)
    return 1 if left else 0


def run_cache_migrate(args) -> int:
    from dataver.cli.output import echo, git_hint
    from dataver.ops.cache_migrate import migrate
    from dataver.repo import Repo

    from dataver.pipeline.run import Events

    class LocksWritten(Events):  # printed after the count, where DVC prints them
        def __init__(self):
            self.written: list[str] = []

        def lock_written(self, path: str, created: bool) -> None:
            self.written.append(path)

    events = LocksWritten()
    with Repo() as repo:
        result = migrate(repo, dry=args.dry, dvc_files=args.dvc_files, events=events)
        locks = [os.path.join(os.path.dirname(p), "dvc.lock") for p in result.pipelines]
        autostage = repo.config.get_bool("core", "autostage")
        if autostage and result.dvcfiles + locks and not args.dry and repo.scm.root:
            repo.scm.add(result.dvcfiles + locks)
        in_git = bool(getattr(repo.scm, "root", None))
    if args.dry:
        echo(args, f"{len(result.legacy)} files will be re-hashed and migrated to the DVC 3.0 "
                   "cache location.")
    else:
        echo(args, f"Migrated {result.added} files to DVC 3.0 cache location.")
    if not args.dvc_files:
        return 0
    names = sorted(os.path.relpath(p) for p in result.dvcfiles)
    pipelines = [(os.path.relpath(p), os.path.relpath(lock)) for p, lock in zip(result.pipelines, locks)]
    if not names and not pipelines:
        echo(args, "No DVC files in the repo to migrate to the 3.0 format.")
    elif args.dry:
        echo(args, "Entries in following DVC files will be migrated to the 3.0 format:")
        listed = sorted(names + [f"{yaml} ({lock})" for yaml, lock in pipelines])
        echo(args, "\n".join(f"\t{name}" for name in listed))
    else:
        for path in events.written:
            echo(args, f"Updating lock file '{os.path.relpath(path)}'")
        for name in names:
            echo(args, f"Updating DVC file '{name}'")
        if in_git and not autostage:
            changed = sorted(names + [lock for _yaml, lock in pipelines])
            echo(args, git_hint(changed))
    return 0
