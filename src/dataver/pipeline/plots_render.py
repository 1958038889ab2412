"""Draw collected plots (see plots.py): Vega-Lite specs from templates, DVC's ``--json``
shape, and one self-contained HTML page.

Templates are Vega-Lite JSON with DVC's anchors (``<DVC_METRIC_DATA>``, ``<DVC_METRIC_X>``,
...) as placeholders, so a user's custom DVC template (``.dvc/plots/NAME.json``) works as is.
The built-in ones in ``dataver/assets/plot_templates`` are dataver's own. The page inlines
the vendored Vega scripts and the card reports' shell (``cards/templates/base.html.j2``: an
offline-only Content-Security-Policy, the plot loader that records how many plots it drew),
and images as ``data:`` URIs: it opens offline and fetches nothing.
"""
from __future__ import annotations

import functools
import json
import math
import os
import posixpath

from dataver.errors import UserError
from dataver.pipeline.plots import FAILED

DEFAULT_TEMPLATE = "linear"
BUILT_IN = ("linear", "simple", "scatter", "smooth", "confusion", "confusion_normalized",
            "bar_horizontal", "bar_horizontal_sorted")
SIZE = 300  # width and height of a plot, px (DVC's)
PALETTE = ("#2f6fde", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#f08c00",
           "#5c7cfa", "#868e96", "#d6336c")
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".svg": "image/svg+xml"}
_ANCHOR = "<DVC_METRIC_"


class TemplateError(UserError):
    """A plot names a template that does not exist or is not a Vega-Lite JSON file."""


# --- templates and specs -------------------------------------------------------------------

def template_names() -> tuple[str, ...]:
    return BUILT_IN


def template_text(name: str, root: str | None = None) -> str:
    """The JSON text of template ``name``: a built-in one, ``.dvc/plots/NAME[.json]`` of the
    repository, or a file path relative to its root."""
    if name in BUILT_IN:
        return _built_in(name)
    for path in _custom_paths(name, root):
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fobj:
                return fobj.read()
    raise TemplateError(f"template '{name}' not found",
                        hint=f"use one of {', '.join(BUILT_IN)}, or save it as .dvc/plots/{name}.json")


@functools.lru_cache(maxsize=None)
def _built_in(name: str) -> str:
    from importlib.resources import files

    return (files("dataver") / "assets" / "plot_templates" / f"{name}.json").read_text(encoding="utf-8")


def _custom_paths(name: str, root: str | None) -> list[str]:
    if root is None or "\x00" in name:
        return []
    folder = os.path.join(root, ".dvc", "plots")
    return [os.path.join(folder, name), os.path.join(folder, f"{name}.json"), os.path.join(root, name)]


def vega_spec(plot, root: str | None = None) -> dict:
    """The Vega-Lite spec of a "vega" plot: its template with the anchors filled in."""
    props = plot.definition.props
    name = props.get("template") or DEFAULT_TEMPLATE
    try:
        spec = json.loads(template_text(name, root))
    except ValueError as exc:
        raise TemplateError(f"template '{name}' is not valid JSON: {exc}") from None
    x = plot.x or "step"
    y = plot.y or ""
    series = {"field": plot.series, "type": "nominal", "title": None} if plot.series else None
    values = {
        "DATA": plot.rows, "TITLE": props.get("title") or plot.id, "PLOT_WIDTH": SIZE,
        "PLOT_HEIGHT": SIZE, "X": x, "Y": y, "X_LABEL": props.get("x_label") or x,
        "Y_LABEL": props.get("y_label") or ("y" if plot.series == "field" else y),
        "COLOR": {"field": "rev", "type": "nominal", "title": None,
                  "scale": {"domain": plot.revisions, "range": _colors(len(plot.revisions))}},
        "STROKE_DASH": series, "SHAPE": series,
        "GROUP_BY": ["rev"] + ([plot.series] if plot.series else []), "REVISIONS": plot.revisions,
        "ZOOM_AND_PAN": {"name": "grid", "select": "interval", "bind": "scales"},
    }
    return _fill(spec, values)


def _colors(count: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(count)]


_DROP = object()


def _fill(node, values: dict):
    """``node`` with each anchor replaced by its value; an anchor with no value (None, or one
    dataver does not know) removes the key or list item holding it."""
    if isinstance(node, dict):
        filled = {k: _fill(v, values) for k, v in node.items()}
        return {k: v for k, v in filled.items() if v is not _DROP}
    if isinstance(node, list):
        return [v for v in (_fill(item, values) for item in node) if v is not _DROP]
    if isinstance(node, str) and _ANCHOR in node:
        if node.startswith(_ANCHOR) and node.endswith(">") and node.count("<") == 1:
            value = values.get(node[len(_ANCHOR):-1])
            return _DROP if value is None else value
        for key, value in values.items():  # an anchor inside a longer string (an expression)
            if isinstance(value, str):
                node = node.replace(f"{_ANCHOR}{key}>", value)
    return node


# --- DVC's --json ------------------------------------------------------------------------

def json_report(plots, errors: list[dict], out_dir: str, root: str | None = None) -> dict:
    """What `dvc plots show/diff --json` prints: ``{"data": {id: [...]}}`` (and ``"errors"``
    when some plot failed). Images are written into ``out_dir`` and listed by their path."""
    data: dict[str, list] = {}
    failed = list(errors)
    for plot in plots:
        if plot.kind == FAILED:
            data[plot.id] = []
        elif plot.kind == "image":
            data[plot.id] = [{"type": "image", "revisions": [rev], "url": path}
                             for rev, path in _write_images(plot, out_dir)]
        else:
            data[plot.id] = _vega_entry(plot, root, failed)
    return {"data": data, **({"errors": failed} if failed else {})}


def _vega_entry(plot, root: str | None, failed: list[dict]) -> list[dict]:
    try:
        spec = vega_spec(plot, root)
    except UserError as exc:
        failed.append(_error(plot, exc))
        return []
    return [{"type": "vega", "revisions": list(plot.revisions), "content": spec}]


def _error(plot, exc: UserError) -> dict:
    return {"name": plot.id, "rev": ", ".join(plot.revisions), "source": plot.definition.files[0],
            "type": type(exc).__name__, "msg": str(exc)}


def _write_images(plot, folder: str) -> list[tuple[str, str]]:
    """Write each revision's image as ``REV_ID`` (slashes made underscores, as DVC names them)
    into ``folder``; ``[(rev, absolute path)]``."""
    from dataver.atomic import write_bytes_atomic

    os.makedirs(folder, exist_ok=True)
    written = []
    for rev, content in plot.images:
        # one flat name: no separator (ids and revisions name folders) and no NUL
        name = "".join("_" if c in "/\\\x00" else c for c in f"{rev}_{plot.id}")
        path = os.path.abspath(os.path.join(folder, name))
        write_bytes_atomic(path, content)
        written.append((rev, path))
    return written


# --- HTML --------------------------------------------------------------------------------

def write_html(plots, errors: list[dict], out_dir: str, root: str | None = None,
               html_template: str | None = None) -> str:
    """Write ``index.html`` (and images under ``static/``, as DVC) into ``out_dir``; returns
    the page's path. ``html_template``: a page of the user's with a ``{plot_divs}`` marker."""
    from dataver.atomic import write_bytes_atomic

    page = html_page(plots, errors, root, html_template, out_dir)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.abspath(os.path.join(out_dir, "index.html"))
    write_bytes_atomic(path, page.encode("utf-8"))
    return path


def html_page(plots, errors: list[dict], root: str | None = None, html_template: str | None = None,
              out_dir: str | None = None) -> str:
    """The HTML of the plots page (see the module's docstring)."""
    from markupsafe import Markup  # a Jinja2 dependency

    from dataver.cards.render_html import _vendored_js, script_json

    env = _env()
    items, specs, failed = [], {}, list(errors)
    for i, plot in enumerate(plots):
        name = f"plot-{i}"
        if plot.kind == FAILED:
            continue
        if plot.kind == "image":
            if out_dir is not None:
                _write_images(plot, os.path.join(out_dir, "static"))
            items.append({"kind": "image", "name": name, "title": plot.id,
                          "images": [{"rev": rev, "src": _data_uri(plot.id, content)}
                                     for rev, content in plot.images]})
            continue
        try:
            specs[name] = _finite(vega_spec(plot, root))
        except UserError as exc:
            failed.append(_error(plot, exc))
            continue
        # a matrix per revision side by side: a whole row of the page
        wide = len(plot.revisions) > 1 and "facet" in specs[name]
        items.append({"kind": "vega", "name": name, "title": plot.id, "wide": wide})
    revisions = list(dict.fromkeys(r for p in plots for r in p.revisions))
    view = {"title": "dataver plots", "items": items, "revisions": revisions,
            "errors": [f"{e['name']} ({e['rev']}): {e['msg']}" for e in failed]}
    context = {"view": view, "data_json": Markup(script_json({"plots": specs})),
               "vendored": [Markup(js) for js in _vendored_js()]}
    if html_template is None:
        return env.get_template("plots.html.j2").render(**context)
    return _custom_page(html_template, env.get_template("plots_fragment.html.j2").render(**context))


def _finite(value):
    """``value`` with NaN and infinities (valid in Python's JSON, not in JavaScript's) as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _custom_page(path: str, fragment: str) -> str:
    """DVC's ``--html-template``: the user's page with ``{plot_divs}`` replaced by the plots."""
    try:
        with open(path, encoding="utf-8") as fobj:
            text = fobj.read()
    except OSError as exc:
        raise UserError(f"cannot read the HTML template: {exc.strerror}", path=path) from None
    if "{plot_divs}" not in text:
        raise UserError("the HTML template has no '{plot_divs}' marker", path=path,
                        hint="put {plot_divs} where the plots go")
    return text.replace("{scripts}", "").replace("{plot_divs}", fragment)


def _data_uri(plot_id: str, content: bytes) -> str:
    import base64

    mime = _MIME.get(posixpath.splitext(plot_id)[1].lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


@functools.lru_cache(maxsize=1)
def _env():
    try:
        import jinja2
    except ImportError:
        raise UserError("HTML plots need Jinja2", hint="pip install 'dataver[cards]'") from None

    # the card reports' page shell, styles and plot loader are shared (cards/templates)
    loader = jinja2.ChoiceLoader([jinja2.PackageLoader("dataver.pipeline", "templates"),
                                  jinja2.PackageLoader("dataver.cards", "templates")])
    return jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)
