"""`dataver card`: the data card of tracked outputs (workspace or --rev), stored with
--save; `dataver card diff`: two versions' cards compared, a CI gate with --fail-if."""
from __future__ import annotations

import os
import sys

from dataver.cli.main import common
from dataver.cli.output import echo


def register(sub) -> None:
    p = sub.add_parser(
        "card", help="show, save or check the data card of tracked outputs",
        description="Profile tracked outputs: files, images, COCO annotations, PDFs and model "
                    "checkpoints, with named checks and your notes (<output>.notes.md). "
                    "Reads only files it has not seen before. See docs/cards.md.",
        epilog="Compare two versions with `dataver card diff [A [B]] [TARGET...]` "
               "(see `dataver card diff --help`).")
    common(p)
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="outputs or .dvc files (default: every output)")
    p.add_argument("--rev", help="the outputs as committed at this git revision, read from the "
                                 "cache (missing data is fetched from the default remote)")
    _formats(p)
    p.add_argument("--deep", action="store_true",
                   help="also decode every image fully: corrupt images, the same pixels under "
                        "different bytes, near duplicates")
    p.add_argument("--save", action="store_true",
                   help="store the card in the cache and record its id in the .dvc file")
    p.add_argument("--check", action="store_true",
                   help="exit with code 1 when an error-level check fires")
    p.add_argument("--notes", action="store_true",
                   help="create <output>.notes.md (the Datasheets sections) for each target "
                        "that has none, and print their paths")
    p.add_argument("--recompute", action="store_true",
                   help="compute the card even when one is stored for this version")
    p.set_defaults(func=run)

    d = sub.add_parser(  # no help=: listed under `card`, not as a command of its own
        "card-diff", prog="dataver card diff",
        description="Compare the cards of revision A (default HEAD) and B (default the "
                    "workspace): every figure with both values and the change, per-category "
                    "counts, histograms, checks that appeared or went away. Arguments that name "
                    "existing paths are targets; the others are the revisions.")
    common(d)
    d.add_argument("args", nargs="*", metavar="A B TARGET", help="[A [B]] [TARGET...]")
    _formats(d)
    d.add_argument("--deep", action="store_true", help="compare --deep cards")
    d.add_argument("--fail-if", action="append", default=[], metavar="EXPR",
                   help="exit with code 1 when EXPR holds, e.g. 'new_errors > 0' or "
                        "'max_category_loss_pct > 10' (repeatable; see docs/cards.md)")
    d.set_defaults(func=run_diff)


def _formats(p) -> None:
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--md", action="store_true", dest="markdown", help="print Markdown")
    out.add_argument("--html", metavar="FILE",
                     help="write one self-contained HTML report (plots work offline)")


def run(args) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo

    with Repo() as repo:
        if args.notes:
            for path in repo.card_notes(args.targets or None):
                echo(args, path)
            return 0
        cards = repo.card(args.targets or None, rev=args.rev, deep=args.deep, save=args.save,
                          recompute=args.recompute, progress=for_cli(args.quiet))
    _show(args, cards, "card")
    if args.check:
        from dataver.cards.checks import errors

        failing = [(c["output"]["path"], e["code"]) for c in cards for e in errors(c["checks"])]
        if failing:
            for path, code in failing:
                echo(args, f"check failed: {path}: {code}")
            return 1
    return 0


def run_diff(args) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo

    revs, targets = [], []
    for arg in args.args:
        (targets if os.path.lexists(arg) or targets or len(revs) == 2 else revs).append(arg)
    a_rev = revs[0] if revs else "HEAD"
    b_rev = revs[1] if len(revs) > 1 else None
    with Repo() as repo:
        diffs = repo.card_diff(a_rev, b_rev, targets or None, deep=args.deep,
                               fail_if=args.fail_if, progress=for_cli(args.quiet))
    _show(args, diffs, "diff")
    fired = [(d["output"], expr) for d in diffs for expr in d["failed"]]
    if args.json or args.html:  # the text and Markdown forms show them already
        for output, expr in fired:
            print(f"fail-if holds: {expr} (output {output})", file=sys.stderr)
    return 1 if fired else 0


def _show(args, items: list[dict], kind: str) -> None:
    """Print or write ``items`` (cards or card diffs) in the chosen format."""
    from dataver.cards import render_html, render_md, render_text

    if args.json:
        import json

        print(json.dumps(items, indent=2, sort_keys=True, allow_nan=False))
    elif args.html:
        from dataver.atomic import write_text_atomic
        from dataver.errors import UserError

        if len(items) != 1:
            raise UserError(f"--html writes the report of one output, and {len(items)} were "
                            "selected", hint="name one output or its .dvc file")
        html = getattr(render_html, kind)(items[0])
        write_text_atomic(os.path.abspath(args.html), html)
        echo(args, f"wrote {args.html}")
    elif not args.quiet:
        module = render_md if args.markdown else render_text
        print("\n\n".join(getattr(module, kind)(item) for item in items) if items else
              "no tracked outputs")
