"""`dataver params diff`, `dataver metrics show` and `dataver metrics diff`: the same JSON,
tables and Markdown as DVC 3's commands (see docs/pipelines.md)."""
from __future__ import annotations

from dataver.cli.main import common

DEFAULT_PRECISION = 5  # DVC rounds metrics to 5 digits after the point unless told


def _group(sub, name: str, help_text: str):
    """Command ``name`` whose own subcommands (``diff``, ``show``) are added to the result."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    common(parser)
    return parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)


def register(sub) -> None:
    params_sub = _group(sub, "params", "compare the parameters stages depend on")
    p = params_sub.add_parser(
        "diff", help="show changed parameters between commits",
        description="Show changed parameters between two git revisions, or between a revision "
                    "(default HEAD) and the workspace: the keys stages list in dvc.yaml, the "
                    "top-level params files and params.yaml, or the --targets files.")
    _diff_arguments(p, "params")
    p.add_argument("--deps", action="store_true",
                   help="only the parameters that are stage dependencies")
    p.set_defaults(func=run_params_diff)

    metrics_sub = _group(sub, "metrics", "show and compare metrics")
    p = metrics_sub.add_parser(
        "show", help="print metrics",
        description="Print the metrics of the stages in dvc.yaml (and its top-level metrics "
                    "list), or of the given files; JSON, YAML or TOML, nested keys dotted.")
    common(p)
    p.add_argument("targets", nargs="*", metavar="PATH",
                   help="metrics files (or folders of them) instead of the declared ones")
    p.add_argument("-a", "--all-branches", action="store_true", help="for every branch too")
    p.add_argument("-T", "--all-tags", action="store_true", help="for every tag too")
    p.add_argument("-A", "--all-commits", action="store_true", help="for every commit too")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="accepted for DVC compatibility: folders are always searched")
    _output_arguments(p, "metrics")
    p.set_defaults(func=run_metrics_show)
    p = metrics_sub.add_parser(
        "diff", help="show changed metrics between commits",
        description="Show changed metrics between two git revisions, or between a revision "
                    "(default HEAD) and the workspace.")
    _diff_arguments(p, "metrics")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="accepted for DVC compatibility: folders are always searched")
    p.set_defaults(func=run_metrics_diff)


def _diff_arguments(p, what: str) -> None:
    common(p)
    p.add_argument("a_rev", nargs="?", default="HEAD", help="old git revision (default: HEAD)")
    p.add_argument("b_rev", nargs="?", default="workspace",
                   help="new git revision (default: the workspace)")
    p.add_argument("--targets", nargs="*", metavar="PATH",
                   help=f"{what} files to compare (even if dvc.yaml does not list them)")
    p.add_argument("--all", action="store_true", help=f"show unchanged {what} too")
    p.add_argument("--no-path", action="store_true", help=f"do not show the {what} file path")
    _output_arguments(p, what)


def _output_arguments(p, what: str) -> None:
    p.add_argument("--json", action="store_true", help="print JSON, as DVC does")
    p.add_argument("--md", action="store_true", dest="markdown", help="print a Markdown table")
    if what == "metrics":
        p.add_argument("--precision", type=int, metavar="N",
                       help=f"round to N digits after the point (default {DEFAULT_PRECISION})")


def run_params_diff(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        changes, bad = repo.params_diff(args.a_rev, _rev(args.b_rev), args.targets, all=args.all,
                                        deps_only=args.deps)
    return _print_diff(args, changes, bad, "Param", precision=None)


def run_metrics_diff(args) -> int:
    from dataver.repo import Repo

    with Repo() as repo:
        changes, bad = repo.metrics_diff(args.a_rev, _rev(args.b_rev), args.targets, all=args.all)
    return _print_diff(args, changes, bad, "Metric", precision=args.precision or DEFAULT_PRECISION)


def _rev(name: str) -> str | None:
    return None if name == "workspace" else name


def _print_diff(args, changes: dict, bad: list[str], title: str, precision) -> int:
    from dataver.cli.output import print_json, table

    _report_errors(bad)
    if args.json:
        print_json(changes)
        return 0
    headers = ["Path", title, args.a_rev, args.b_rev] + (["Change"] if precision else [])
    rows = []
    for path, keys in changes.items():
        for key, change in keys.items():
            cells = [change.get("old"), change.get("new")]
            cells += [change.get("diff")] if precision else []
            rows.append([path, key] + [_cell(v, precision) for v in cells])
    if args.no_path:
        headers, rows = headers[1:], [r[1:] for r in rows]
    text = table(headers, rows, markdown=args.markdown)
    if text:
        print(text)
    return 0


def run_metrics_show(args) -> int:
    from dataver.cli.output import print_json, table
    from dataver.pipeline.metrics import errored, flatten, jsonable
    from dataver.repo import Repo

    with Repo() as repo:
        results = repo.metrics_show(args.targets, all_branches=args.all_branches,
                                    all_tags=args.all_tags, all_commits=args.all_commits)
    _report_errors(errored(results))
    if args.json:
        print_json(jsonable(results))
        return 0
    precision = args.precision or DEFAULT_PRECISION
    rows, keys = [], []
    for name, rev in results.items():
        for path, result in rev["data"].items():
            data = result.get("data", {})
            flat = flatten(data) if isinstance(data, dict) else {"": data}
            keys += [k for k in flat if k not in keys]
            rows.append((name, path, {k: _cell(v, precision) for k, v in flat.items()}))
    keys.sort()
    history = args.all_branches or args.all_tags or args.all_commits
    headers = (["Revision"] if history else []) + ["Path"] + keys
    cells = [([name] if history else []) + [path] + [flat.get(k, "-") for k in keys]
             for name, path, flat in rows]
    text = table(headers, cells, markdown=args.markdown)
    if text:
        print(text)
    return 0


def _cell(value, precision) -> str:
    """A value as DVC's tables show it: '-' for none, floats rounded to ``precision`` digits."""
    if value is None:
        return "-"
    if isinstance(value, float) and precision:
        value = round(value, precision)
    return str(value)


def _report_errors(revisions: list[str]) -> None:
    # as DVC: a file that cannot be read is reported, counted as empty, and the command succeeds
    if revisions:
        from dataver.errors import warn

        names = ", ".join(name or "workspace" for name in revisions)
        warn(f"some files could not be read at: {names} (--json shows why)")
