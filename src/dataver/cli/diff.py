"""`dataver diff`: text, JSON and markdown output identical to `dvc diff`."""
from __future__ import annotations

from dataver.cli.main import common
from dataver.cli.output import echo, print_json, table

STATES = ("added", "deleted", "renamed", "modified", "not in cache")


def register(sub) -> None:
    p = sub.add_parser(
        "diff", help="show data added, modified, deleted or renamed between commits",
        description="Show added, modified, deleted or renamed data between two git revisions, or "
                    "between a revision (default HEAD) and the workspace. Files inside tracked "
                    "directories are listed; directories end with '/'. With --images, classify "
                    "the changed files of image outputs (added, removed, renamed, re-encoded, "
                    "changed); with --annotations, compare their COCO files box by box. "
                    "See docs/visual-diff.md.")
    common(p)
    p.add_argument("--targets", nargs="*", metavar="PATH",
                   help="limit to these .dvc files, outputs, or paths inside tracked directories")
    p.add_argument("a_rev", nargs="?", action=_InOrder, help="old git revision (default: HEAD)")
    p.add_argument("b_rev", nargs="?", action=_InOrder,
                   help="new git revision (default: the workspace)")
    p.add_argument("--json", action="store_true", help="print JSON, as `dvc diff --json`")
    p.add_argument("--md", nargs="?", const=True, action=_InOrder, dest="markdown",
                   metavar="DIR", help="print a markdown table; with --images or --annotations "
                   "(or after both revisions) --md DIR writes a Markdown summary and an old | new "
                   "thumbnail table of the first changed images into DIR")
    p.add_argument("--show-hash", action="store_true", help="show the hash of each entry")
    p.add_argument("--hide-missing", action="store_true",
                   help="do not list committed data that is missing from the cache")
    visual = p.add_argument_group("visual diff (needs `dataver[visual]`)")
    visual.add_argument("--images", action="store_true",
                        help="classify changed files of image outputs: added, removed, renamed, "
                             "reencoded (same pixels), changed, other (not an image)")
    visual.add_argument("--annotations", action="store_true",
                        help="also compare COCO files box by box (implies --images)")
    visual.add_argument("--iou", metavar="FLOAT",
                        help="IoU at which two boxes are the same object (0 < IoU <= 1; "
                             "default 0.5)")
    visual.add_argument("--limit", metavar="N",
                        help="list at most N changed files per output (text and --md)")
    visual.add_argument("--html", metavar="FILE",
                        help="write one self-contained HTML report (implies --images)")
    p.set_defaults(func=run)


class _InOrder:
    """Records the revisions and the value of ``--md`` in command-line order (argparse calls
    actions left to right), so ``--md REV`` can be read as DVC reads it: a flag, then a
    revision. Built on first use: argparse is imported lazily."""

    def __new__(cls, *args, **kwargs):
        import argparse

        class InOrder(argparse.Action):
            def __call__(self, parser, namespace, values, option_string=None):
                setattr(namespace, self.dest, values)
                if isinstance(values, str):
                    order = getattr(namespace, "_words", None) or []
                    namespace._words = order + [(self.dest, values)]

        return InOrder(*args, **kwargs)


def _settle(args) -> bool:
    """Whether this is a visual diff, and the revisions as meant: ``--md`` is DVC's flag
    unless --images/--annotations/--html is given or the words would make three revisions
    (``diff A B --md DIR``); then its value is the export directory."""
    words = getattr(args, "_words", [])
    revs = [v for dest, v in words if dest != "markdown"]
    md_dir = args.markdown if isinstance(args.markdown, str) else None
    visual = args.images or args.annotations or args.html is not None or \
        (md_dir is not None and len(revs) >= 2)
    if md_dir is not None and not visual:  # `--md REV`: the flag, then a revision
        revs = [v for _dest, v in words]
        args.markdown = True
    args.md_dir = md_dir if visual else None
    args.a_rev = revs[0] if revs else "HEAD"
    args.b_rev = revs[1] if len(revs) > 1 else None
    return visual


def run(args) -> int:
    from dataver.repo import Repo

    if _settle(args):
        return run_visual(args)
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


def run_visual(args) -> int:
    """`diff --images/--annotations/--html/--md DIR`: see :mod:`dataver.visual`."""
    from dataver.cli import diff_visual

    return diff_visual.run(args)


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
    return table(headers, rows, markdown=True)
