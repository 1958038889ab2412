"""Small printing helpers shared by command modules."""
from __future__ import annotations

import sys


def echo(args, text: str = "") -> None:
    """Print unless -q."""
    if not getattr(args, "quiet", False):
        print(text)


def print_json(data) -> None:
    import json  # lazy: most runs print no JSON

    json.dump(data, sys.stdout)
    print()


def table(headers: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """Rows as DVC prints its tables (tabulate's ``plain`` or ``github`` format, every column
    left-aligned and at least two wider than its header). Plain lines carry no trailing blanks;
    a markdown table ends with an empty line. No rows and no markdown: ''."""
    if not rows and not markdown:
        return ""
    widths = [max([len(h) + 2] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    if not markdown:
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
                         for cells in [headers, *rows])

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(out + [line(r) for r in rows]) + "\n"


def git_hint(paths) -> str:
    """DVC's reminder after a command wrote files git should record (when core.autostage is
    off): the ``git add`` to run, and how to have it done automatically."""
    return ("\nTo track the changes with git, run:\n\n\t" + git_add_command(paths)
            + "\n\nTo enable auto staging, run:\n\n\tdataver config core.autostage true")


def git_add_command(paths) -> str:
    """``git add`` with ``paths``, each quoted as a shell needs it (a name with a space stays
    one argument), as DVC prints its hint."""
    import shlex

    return "git add " + " ".join(shlex.quote(path) for path in paths)
