"""Entry point: build the parser, run the command, map errors to exit codes.

Exit codes: 0 success, 1 a user error (one line on stderr), 130 interrupted, 255 a bug (traceback).
"""
from __future__ import annotations

import sys

from dataver import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import argparse

# Command modules, each with register(subparsers), and the commands (aliases included) each one
# registers. A run imports only the module of the command it names; `--help` and unknown
# commands import them all. (A test holds this table to what the modules register.)
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "init": ("init",), "add": ("add", "commit"), "status": ("status",),
    "checkout": ("checkout",), "demo": ("demo",),
    "remote": ("remote",), "sync": ("push", "pull", "fetch"), "gc": ("gc",),
    "diff": ("diff",), "history": ("ls", "list", "get", "import", "update"),
    "install": ("install", "git-hook"),
    "data": ("remove", "rm", "move", "mv", "unprotect"), "config": ("config", "cache"),
    "misc": ("root", "check-ignore"), "card": ("card", "card-diff"),
    "ui": ("ui",), "migrate": ("migrate",),
    "pipeline": ("stage", "stage-add", "repro", "dag"), "data_status": ("data-status",),
    "du": ("du",), "import_url": ("import-url", "get-url", "ls-url", "list-url"),
    "freeze": ("freeze", "unfreeze"), "doctor": ("version", "doctor"),
    "destroy": ("destroy",), "completion": ("completion",),
    "plots": ("plots",), "metrics": ("params", "metrics"),
}
# Commands that programs run, not people (the git hooks `install` writes): registered only when
# named, so `--help` and the "invalid choice" list of a mistyped command leave them out.
# `card diff` is the command `card-diff` (argparse cannot give `card` both targets and a
# subcommand); main() rewrites the two words into one.
HIDDEN_COMMANDS = ("git-hook", "card-diff", "data-status", "stage-add")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: with only the named command's module registered when ``argv``
    names a known command (start-up time), else with every command."""
    # argparse (and the re module it pulls in) is imported here, not at the top, so that
    # `--version` starts as fast as the interpreter allows.
    import argparse
    import importlib

    class Formatter(argparse.HelpFormatter):
        # argparse's own width lookup imports shutil (and with it bz2 and lzma) for every
        # argument added; the terminal width costs one syscall without it.
        def __init__(self, prog: str, **kwargs) -> None:
            kwargs.setdefault("width", _terminal_width() - 2)
            super().__init__(prog, **kwargs)

    class Parser(argparse.ArgumentParser):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.setdefault("formatter_class", Formatter)
            super().__init__(*args, **kwargs)

        def _check_value(self, action, value) -> None:
            # A mistyped command or choice gets "did you mean ...?" (hidden commands are not
            # among the choices, so they are never suggested).
            if action.choices is not None and value not in action.choices:
                close = _close_matches(value, action.choices)
                if close:
                    raise argparse.ArgumentError(
                        action, f"invalid choice: {value!r} (did you mean {close}?)")
            super()._check_value(action, value)

    parser = Parser(
        prog="dataver",
        description="Data version control for datasets and models, compatible with DVC 3.x.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--cd", metavar="DIR", help="run as if started in DIR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in _modules_for(argv or []):
        importlib.import_module(f"dataver.cli.{name}").register(sub)
    command = _command_word(argv or [])
    for hidden in HIDDEN_COMMANDS:
        if hidden != command:
            sub.choices.pop(hidden, None)
    return parser


def _close_matches(word: str, choices) -> str:
    """``'a'`` or ``'a' or 'b'``: the choices nearest to ``word`` (difflib), or ''."""
    import difflib

    names = [c for c in choices if isinstance(c, str)]
    close = difflib.get_close_matches(str(word), names, n=3, cutoff=0.6)
    return " or ".join(repr(c) for c in close)


def _modules_for(argv: list[str]) -> list[str]:
    """The command modules to register for ``argv``: the one owning its command word, else all."""
    command = _command_word(argv)
    return [m for m, commands in COMMAND_MODULES.items() if command in commands] or \
        list(COMMAND_MODULES)


def _command_word(argv: list[str]) -> str | None:
    """The first argument that is neither a global option nor the value of ``--cd``."""
    args = iter(argv)
    for arg in args:
        if arg == "--cd":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _join_subcommands(argv: list[str]) -> list[str]:
    """``card diff ...`` -> ``card-diff ...``, ``data status ...`` -> ``data-status ...`` (see
    :data:`HIDDEN_COMMANDS`)."""
    command = _command_word(argv)
    for group, subcommand in (("card", "diff"), ("data", "status"), ("stage", "add")):
        if command == group:
            at = argv.index(group)
            if argv[at + 1:at + 2] == [subcommand]:
                return argv[:at] + [f"{group}-{subcommand}"] + argv[at + 2:]
    return argv


def _terminal_width() -> int:
    """$COLUMNS, else the terminal's width, else 80 (what shutil.get_terminal_size answers)."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def common(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand accepts (also after the command name)."""
    import argparse

    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print only errors")
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")


def positive_int(text: str) -> int:
    """argparse type of a count such as -j/--jobs: a whole number of at least 1 (0 or -1 would
    otherwise be accepted and mean nothing, or hang)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["--version"], ["-V"]):  # fast path: no parser, no imports
        print(__version__)
        return 0
    # A scan builds a few tuples per file; with the default thresholds the cyclic collector
    # walks the growing pile of them over and over (a quarter of a no-op `status` of 20,000
    # files). The CLI is short-lived and those structures hold no cycles: collect rarely.
    import gc

    gc.set_threshold(100_000, 50, 1000)
    argv = _join_subcommands(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not argv else 2
    try:
        return run(args)
    except Exception:  # a bug: show everything, exit with a code no expected failure uses
        import traceback

        traceback.print_exc()
        return 255


def run(args: argparse.Namespace) -> int:
    """Call the command's handler; map expected failures to one `ERROR:` line and exit 1, an
    interruption (Ctrl-C, SIGTERM) to 130/143, and anything else (a bug) to a traceback and 255."""
    from dataver.errors import UserError, from_os_error

    previous = _terminate_as_interrupt()
    try:
        _change_dir(args.cd)
        return _call_showing_warnings(args)
    except UserError as exc:
        return _fail(args, exc)
    except Terminated:
        print("ERROR: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("ERROR: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141
    except OSError as exc:
        user_error = from_os_error(exc)
        if user_error is None:
            raise
        return _fail(args, user_error)
    finally:
        _restore_sigterm(previous)


def _call_showing_warnings(args: argparse.Namespace) -> int:
    """``args.func(args)``; dataver's warnings (errors.warn) are shown as one `WARNING:` line each
    on stderr, once per command, none with -q; other warnings as Python shows them."""
    import warnings

    from dataver.errors import DataverWarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if not issubclass(category, DataverWarning):
            python_show(message, category, filename, lineno, file, line)
        elif not getattr(args, "quiet", False):
            print(f"WARNING: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        python_show = warnings.showwarning
        warnings.showwarning = show
        warnings.simplefilter("default", DataverWarning)  # also forgets what an earlier run showed
        return int(args.func(args) or 0)


def _change_dir(path: str | None) -> None:
    if path:
        import os

        from dataver.errors import UserError

        try:
            os.chdir(path)
        except OSError as exc:
            raise UserError(f"cannot change to directory ({exc.strerror})", path=path,
                            hint="check the --cd argument") from None


def _fail(args: argparse.Namespace, exc: BaseException) -> int:
    if getattr(args, "verbose", False):
        import traceback

        traceback.print_exc()
    print(f"ERROR: {exc}", file=sys.stderr)
    return 1


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same cleanup (temp files, lock) runs."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _terminate_as_interrupt():
    import signal

    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        return None


def _restore_sigterm(previous) -> None:
    if previous is not None:
        import signal

        signal.signal(signal.SIGTERM, previous)


def entry() -> None:
    """The console script: run :func:`main`, then exit with its code.

    A remote's client library may leave native threads running (obstore's tokio runtime, an
    fsspec event loop). If the interpreter then finalizes, such a thread that touches Python
    is ended with pthread_exit through frames that cannot unwind, and the process aborts
    (SIGABRT) after the command succeeded. Nothing of the command's is left to finalize (repos,
    databases and remotes are closed by then), so with other threads alive the process ends at
    once, output flushed, with the command's exit code."""
    code = main()
    if _other_threads():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        import os

        os._exit(code)
    sys.exit(code)


def _other_threads() -> bool:
    """Whether this process has a thread besides this one, native ones included."""
    import os

    try:
        return len(os.listdir("/proc/self/task")) > 1
    except OSError:
        import threading

        return threading.active_count() > 1


if __name__ == "__main__":
    entry()
