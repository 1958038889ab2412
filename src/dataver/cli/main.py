"""Entry point: build the parser, run the command, map errors to exit codes.

Exit codes: 0 success, 1 a user error (one line on stderr), 130 interrupted, 255 a bug (traceback).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from dataver import __version__

# Command modules, each with register(subparsers). Imported only to build the parser; the
# heavy work they call is imported inside their handlers.
COMMAND_MODULES = [
    "init", "add", "status", "checkout", "demo",
    "remote", "sync", "gc",
    "diff",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataver",
        description="Data version control for datasets and models, compatible with DVC 3.x.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--cd", metavar="DIR", help="run as if started in DIR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"dataver.cli.{name}").register(sub)
    return parser


def common(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand accepts (also after the command name)."""
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print only errors")
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["--version"], ["-V"]):  # fast path: no parser, no imports
        print(__version__)
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not argv else 2
    return run(args)


def run(args: argparse.Namespace) -> int:
    from dataver.errors import UserError

    if args.cd:
        import os

        os.chdir(args.cd)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ERROR: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141


if __name__ == "__main__":
    sys.exit(main())
