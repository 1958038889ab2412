"""`dataver plots show|diff|modify|templates`: the plots of dvc.yaml as DVC 3 draws them, in one
offline HTML page (see docs/pipelines.md#plots)."""
from __future__ import annotations

import os
import sys

from dataver.cli.main import common
from dataver.cli.output import echo, print_json

DEFAULT_OUT = "dvc_plots"


def _display_options(parser) -> None:
    """The options `plots show` and `plots diff` share (DVC's)."""
    parser.add_argument("-t", "--template", metavar="NAME_OR_PATH",
                        help="template for the targets (linear, simple, scatter, smooth, confusion, "
                             "confusion_normalized, bar_horizontal, bar_horizontal_sorted, or a "
                             "Vega-Lite JSON file with DVC's anchors)")
    parser.add_argument("-x", metavar="FIELD", help="field for the X axis")
    parser.add_argument("-y", metavar="FIELD", help="field for the Y axis")
    parser.add_argument("--no-header", action="store_true", help="CSV/TSV files have no header row")
    parser.add_argument("--title", metavar="TEXT", help="plot title")
    parser.add_argument("--x-label", metavar="TEXT", help="X axis label")
    parser.add_argument("--y-label", metavar="TEXT", help="Y axis label")
    parser.add_argument("-o", "--out", metavar="DIR",
                        help=f"folder to write index.html into (default: {DEFAULT_OUT}, or config plots.out_dir)")
    parser.add_argument("--show-vega", action="store_true", help="print the Vega-Lite spec of one target")
    parser.add_argument("--json", action="store_true", help="print the plots as `dvc plots ... --json`")
    parser.add_argument("--open", action="store_true", help="open the page in the browser")
    parser.add_argument("--html-template", metavar="PATH",
                        help="an HTML page of yours with a {plot_divs} marker where the plots go")


def register(sub) -> None:
    p = sub.add_parser("plots", help="draw the plots of dvc.yaml (show, diff, modify, templates)",
                       description="Draw the plots dvc.yaml defines (top-level `plots:` and stage "
                                   "plot outputs) as DVC does, in one HTML page that opens offline.")
    common(p)
    psub = p.add_subparsers(dest="plots_command", metavar="COMMAND")
    show = psub.add_parser("show", help="plots of the workspace",
                           description="Draw the plots of the workspace (all, or TARGETS: plot ids "
                                       "or files) into DIR/index.html.")
    show.add_argument("targets", nargs="*", metavar="TARGET", help="plot ids or plots files")
    diff = psub.add_parser("diff", help="plots of several revisions in the same charts",
                           description="Draw each plot with the data of several revisions in one "
                                       "chart: HEAD and the workspace by default, REV and the "
                                       "workspace, or the revisions given.")
    diff.add_argument("revisions", nargs="*", metavar="REV", help="git revisions")
    diff.add_argument("--targets", nargs="*", metavar="TARGET", help="plot ids or plots files")
    for cmd, func in ((show, run_show), (diff, run_diff)):
        common(cmd)
        _display_options(cmd)
        cmd.set_defaults(func=func)
    mod = psub.add_parser("modify", help="set display properties of a stage's plot output",
                          description="Set or unset display properties of a plot output of a "
                                      "dvc.yaml stage (an output or metric becomes a plot), as "
                                      "`dvc plots modify`.")
    common(mod)
    mod.add_argument("target", metavar="TARGET", help="the plots file (an output of a dvc.yaml stage)")
    mod.add_argument("-t", "--template", metavar="NAME_OR_PATH", help="template for the plot")
    mod.add_argument("-x", metavar="FIELD", help="field for the X axis")
    mod.add_argument("-y", metavar="FIELD", help="field for the Y axis")
    mod.add_argument("--no-header", dest="header", action="store_false", default=None,
                     help="the CSV/TSV file has no header row")
    mod.add_argument("--title", metavar="TEXT", help="plot title")
    mod.add_argument("--x-label", metavar="TEXT", help="X axis label")
    mod.add_argument("--y-label", metavar="TEXT", help="Y axis label")
    mod.add_argument("--unset", nargs="*", metavar="PROPERTY",
                     help="remove these properties (template, x, y, x_label, y_label, title, header)")
    mod.set_defaults(func=run_modify)
    tpl = psub.add_parser("templates", help="list the built-in templates, or print one",
                          description="List the built-in plot templates, or print TEMPLATE's JSON "
                                      "(save it under .dvc/plots/ to customise it).")
    common(tpl)
    tpl.add_argument("template", nargs="?", metavar="TEMPLATE")
    tpl.set_defaults(func=run_templates)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_modify(args) -> int:
    from dataver.pipeline.plots_modify import PROPS, modify
    from dataver.repo import Repo

    with Repo() as repo:
        stage = modify(repo, args.target, {k: getattr(args, k) for k in PROPS}, args.unset)
    echo(args, f"Modifying stage '{stage.name}' in '{os.path.relpath(stage.dvcyaml)}'")
    return 0


def run_show(args) -> int:
    return _run(args, args.targets or None, None)


def run_diff(args) -> int:
    return _run(args, args.targets or None, list(args.revisions))


def _run(args, targets, revisions) -> int:
    from dataver.pipeline import plots_render
    from dataver.pipeline.plots import collect
    from dataver.repo import Repo

    overrides = {"x": args.x, "y": args.y, "template": args.template, "title": args.title,
                 "x_label": args.x_label, "y_label": args.y_label}
    with Repo() as repo:
        plots, errors = collect(repo, targets, revisions, overrides,
                                header=not args.no_header)
        out_dir = args.out or _config_path(repo, "out_dir") or DEFAULT_OUT
        html_template = args.html_template or _config_path(repo, "html_template")
        auto_open = args.open or repo.config.get_bool("plots", "auto_open")
        root = repo.root
    if args.json:
        print_json(plots_render.json_report(plots, errors, out_dir, root))
        return 0
    if args.show_vega:
        return _show_vega(plots, errors, root, targets)
    if not plots:  # as DVC: not an error
        echo(args, "No plots were loaded, visualization file will not be created.")
        return 0
    path = plots_render.write_html(plots, errors, out_dir, root, html_template)
    if errors:
        revs = ", ".join(f"'{r}'" for r in dict.fromkeys(e["rev"] for e in errors))
        print(f"WARNING: could not load some plots for the revisions {revs}: "
              + "; ".join(f"{e['name']}: {e['msg']}" for e in errors), file=sys.stderr)
    url = "file://" + path.replace(os.sep, "/")
    echo(args, url)
    if auto_open:
        import webbrowser

        if not webbrowser.open(url):
            print(f"WARNING: could not open a browser; open {url}", file=sys.stderr)
    return 0


def _config_path(repo, key: str) -> str | None:
    """A path from the plots config section (relative to the repo root, as DVC reads it)."""
    value = repo.config.get("plots", key)
    return os.path.join(repo.root, value) if value else None


def _show_vega(plots, errors, root, targets) -> int:
    from dataver.errors import UserError
    from dataver.pipeline import plots_render

    if not targets:
        raise UserError("please specify a target for `--show-vega`")
    vega = [p for p in plots if p.kind == "vega"]
    if len(vega) != 1:
        detail = errors[0]["msg"] if errors and not vega else "name exactly one data-series plot"
        raise UserError(f"--show-vega needs one plot: {detail}", hint="dataver plots show --show-vega TARGET")
    print_json(plots_render.vega_spec(vega[0], root))
    return 0


def run_templates(args) -> int:
    from dataver.pipeline import plots_render

    if args.template:
        sys.stdout.write(plots_render.template_text(args.template))
    else:
        print("\n".join(plots_render.template_names()))
    return 0
