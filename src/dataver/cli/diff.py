"""`dataver diff`: text, JSON and markdown output identical to `dvc diff`."""
from __future__ import annotations

from dataver.cli.main import common
from dataver.cli.output import echo, print_json

STATES = ("added", "deleted", "renamed", "modified", "not in cache")


def register(sub) -> None:
    p = sub.add_parser(
        "diff", help="show data added, modified, deleted or renamed between commits",
        description="Show added, modified, deleted or renamed data between two git revisions, or "
                    "between a revision (default HEAD) and the workspace. Files inside tracked "
                    "directories are listed; directories end with '/'.")
    common(p)
    p.add_argument("--targets", nargs="*", metavar="PATH",
                   help="limit to these .dvc files, outputs, or paths inside tracked directories")
    p.add_argument("a_rev", nargs="?", default="HEAD", help="old git revision (default: HEAD)")
    p.add_argument("b_rev", nargs="?", help="new git revision (default: the workspace)")
    p.add_argument("--json", action="store_true", help="print JSON, as `dvc diff --json`")
    p.add_argument("--md", action="store_true", dest="markdown", help="print a markdown table")
    p.add_argument("--show-hash", action="store_true", help="show the hash of each entry")
    p.add_argument("--hide-missing", action="store_true",
                   help="do not list committed data that is missing from the cache")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        result = repo.diff(args.a_rev, args.b_rev, args.targets or None)
    hide_missing = bool(args.b_rev) or args.hide_missing
    data = result.to_dict(show_hash=args.show_hash, hide_missing=hide_missing)
    if args.json:
        print_json(data)
    elif args.markdown:
        print(markdown(data, args.show_hash, hide_missing))
    elif data:
        for line in text_lines(data, hide_missing):
            echo(args, line)
    return 0


def _states(hide_missing: bool) -> list[str]:
    return [s for s in STATES if not (hide_missing and s == "not in cache")]


def _digest(value) -> str:
    if isinstance(value, dict):
        return f"{value['old'][:8]}..{value['new'][:8]}"
    return value[:8] if value else ""


def _path(entry: dict) -> str:
    path = entry["path"]
    return f"{path['old']} -> {path['new']}" if isinstance(path, dict) else path


def text_lines(data: dict, hide_missing: bool) -> list[str]:
    """Grouped listing with a files summary (directories are not counted), as DVC prints."""
    lines, counts = [], {}
    for state in _states(hide_missing):
        entries = data.get(state) or []
        if not entries:
            continue
        lines.append(state.capitalize() + ":")
        for entry in entries:
            path, digest = _path(entry), _digest(entry.get("hash"))
            lines.append(f"    {digest}  {path}" if digest else f"    {path}")
            counts[state] = counts.get(state, 0) + (0 if path.endswith("/") else 1)
        lines.append("")
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    if summary:
        lines.append(f"files summary: {summary}")
    return lines


def markdown(data: dict, show_hash: bool, hide_missing: bool) -> str:
    """A GitHub-flavoured table (columns padded like DVC's), followed by a blank line."""
    headers = ["Status", "Hash", "Path"] if show_hash else ["Status", "Path"]
    rows = []
    for state in _states(hide_missing):
        for entry in data.get(state) or []:
            row = [state, _digest(entry.get("hash"))] if show_hash else [state]
            rows.append(row + [_path(entry)])
    widths = [max([len(h) + 2] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"
