"""`dataver remote add|modify|list|remove|rename|default`."""
from __future__ import annotations

from dataver.cli.main import common
from dataver.cli.output import echo

LEVEL_FLAGS = (("--global", "global"), ("--system", "system"), ("--project", "repo"),
               ("--local", "local"))


def _levels(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    for flag, level in LEVEL_FLAGS:
        where = {"global": "~/.config/dvc/config", "system": "/etc/xdg/dvc/config",
                 "repo": ".dvc/config (default)", "local": ".dvc/config.local, not in git: for secrets"}
        group.add_argument(flag, dest="level", action="store_const", const=level,
                           help=f"use {where[level]}")


def register(sub) -> None:
    p = sub.add_parser("remote", help="set up and manage data remotes",
                       description="Configure remotes (where push/pull/fetch send and get data). "
                                   "Writes the same config files and keys as `dvc remote`.")
    common(p)
    rsub = p.add_subparsers(dest="remote_command", metavar="COMMAND")
    add = rsub.add_parser("add", help="add a remote", description="Add remote NAME at URL "
                          "(s3://bucket/path, ssh://host/path, a local directory, ...).")
    add.add_argument("name", metavar="NAME")
    add.add_argument("url", metavar="URL")
    add.add_argument("-d", "--default", action="store_true", help="make it the default remote")
    add.add_argument("-f", "--force", action="store_true", help="overwrite an existing remote")
    mod = rsub.add_parser("modify", help="set or unset an option of a remote",
                          description="Set OPTION (e.g. endpointurl, region, profile, access_key_id, "
                                      "secret_access_key, user, port, keyfile, password) of remote NAME. "
                                      "Put secrets in .dvc/config.local with --local.")
    mod.add_argument("name", metavar="NAME")
    mod.add_argument("option", metavar="OPTION")
    mod.add_argument("value", metavar="VALUE", nargs="?")
    mod.add_argument("-u", "--unset", action="store_true", help="remove OPTION")
    lst = rsub.add_parser("list", help="list remotes", description="Print NAME URL per remote.")
    rm = rsub.add_parser("remove", help="remove a remote", description="Remove remote NAME.")
    rm.add_argument("name", metavar="NAME")
    ren = rsub.add_parser("rename", help="rename a remote", description="Rename remote NAME to NEW.")
    ren.add_argument("name", metavar="NAME")
    ren.add_argument("new", metavar="NEW")
    dflt = rsub.add_parser("default", help="show or set the default remote",
                           description="Print the default remote, or make NAME the default.")
    dflt.add_argument("name", metavar="NAME", nargs="?")
    dflt.add_argument("--unset", action="store_true", help="unset the default remote")
    for cmd, func in ((add, run_add), (mod, run_modify), (lst, run_list), (rm, run_remove),
                      (ren, run_rename), (dflt, run_default)):
        common(cmd)
        _levels(cmd)
        cmd.set_defaults(func=func)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_add(args) -> int:
    from dataver.ops import remote_config

    remote_config.add(args.name, args.url, default=args.default, force=args.force, level=args.level)
    if args.default:
        echo(args, f"Setting '{args.name.lower()}' as a default remote.")
    return 0


def run_modify(args) -> int:
    from dataver.errors import ConfigError
    from dataver.ops import remote_config

    if args.value is None and not args.unset:
        raise ConfigError(f"no value given for '{args.option}'", hint="give VALUE, or use --unset")
    remote_config.modify(args.name, args.option, args.value, unset=args.unset, level=args.level)
    return 0


def run_list(args) -> int:
    from dataver.ops import remote_config

    for name, url, default in remote_config.list_remotes(args.level):
        text = f"{name}\t{url}" + ("\t(default)" if default else "")
        echo(args, text.expandtabs(8))
    return 0


def run_remove(args) -> int:
    from dataver.ops import remote_config

    remote_config.remove(args.name, level=args.level)
    return 0


def run_rename(args) -> int:
    from dataver.ops import remote_config

    remote_config.rename(args.name, args.new, level=args.level)
    return 0


def run_default(args) -> int:
    from dataver.ops import remote_config

    if args.name is None and not args.unset:
        name = remote_config.get_default(args.level)
        echo(args, name if name else "No default remote set")
        return 0 if name else 1
    remote_config.set_default(None if args.unset else args.name, level=args.level)
    return 0
