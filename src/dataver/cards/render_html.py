"""Render a card, or a card diff, as one self-contained HTML file with plots.

The page needs no network: Vega, Vega-Lite and Vega-Embed (vendored in ``dataver/assets/vega``)
are inlined, and so is the data, as JSON in a ``<script type="application/json">`` block; a
Content-Security-Policy forbids every fetch. Jinja2 templates (``cards/templates``, autoescaped)
lay the page out; this module only turns card figures into display rows and Vega-Lite specs.
After rendering, the page sets ``document.body.dataset.rendered`` to the number of plots drawn
(a failed plot logs a console error), which the browser tests wait for.
"""
from __future__ import annotations

import collections
import functools
import json
import re

from dataver.cards.render_text import (
    SEVERITIES, area_bands, by_counts, change, diff_label, figure, hist_unit, histogram_rows,
    note_sections, num, output_label, severity_counts, size, top_categories, trim_pair,
)

VENDORED = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")  # load order matters
TOP_CATEGORIES = 40  # bars in a per-category chart; the rest is one "other" bar
TOP_CHANGES = 40  # rows/bars of per-category changes in a diff
WIDTH = 400  # plot width in px (two plots side by side on a laptop screen)
WIDE = 800  # width of a plot given a whole row (per-category bars)
SHOWN_EXAMPLES = 3  # check examples shown; the rest (up to 5) fold away
COLORS = {"a": "#9aa5b1", "b": "#2f6fde", "more": "#2f9e44", "fewer": "#d9480f", "bar": "#2f6fde"}
_LABELS = {"error": "errors", "warning": "warnings", "info": "info"}
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=.*$", re.M)


def card(card: dict) -> str:
    """The HTML report of one card."""
    plots: dict[str, list[dict]] = {}
    view = {
        "title": output_label(card), "meta": _card_meta(card), "tiles": _tiles(card),
        "severity": _severity_badges(card.get("checks") or []),
        "checks": _check_rows(card.get("checks") or []),
        "files": _files(card.get("files"), plots), "images": _images(card.get("images"), plots),
        "cocos": [_coco(i, c, plots) for i, c in enumerate(card.get("coco") or [])],
        "pdfs": _pdfs(card.get("pdfs"), plots), "checkpoints": _checkpoints(card.get("checkpoints") or []),
        "notes": [{"title": t, "text": x} for t, x in note_sections(card.get("notes"))],
    }
    return _render("card.html.j2", view, plots, {"card": card})


def diff(d: dict) -> str:
    """The HTML report of a card diff."""
    a, b = d.get("a") or {}, d.get("b") or {}
    ra, rb = _sides(a.get("rev") or "A", b.get("rev") or "B")
    plots: dict[str, list[dict]] = {}
    for i, hist in enumerate(d.get("histograms") or []):
        pairs = trim_pair(hist.get("edges") or [], hist.get("a") or [], hist.get("b") or [],
                          hist_unit(hist.get("name", "")))
        _add(plots, "histograms", f"hist-{i}", hist.get("label") or hist.get("name", ""),
             _grouped_spec(pairs, ra, rb))
    view = {
        "title": diff_label(d), "ra": ra, "rb": rb,
        "failed": list(d.get("failed") or []),
        "figures": [{"label": f.get("label") or f.get("name", ""), "a": figure(f.get("name", ""), f.get("a")),
                     "b": figure(f.get("name", ""), f.get("b")),
                     "change": change(f.get("name", ""), f.get("delta"), f.get("pct")),
                     "sign": _sign(f.get("delta"))} for f in d.get("figures") or []],
        "checks": _diff_check_rows(d.get("checks") or {}),
        "categories": _category_changes(d.get("categories") or [], plots),
    }
    return _render("diff.html.j2", view, plots, {"diff": d})


# --- display rows --------------------------------------------------------------------------

def _card_meta(card: dict) -> list[str]:
    out = card.get("output") or {}
    meta = [f"{num(out.get('files'))} files", size(out.get("bytes")), f"md5 {out.get('md5') or '-'}",
            f"stored as {card['stored']}" if card.get("stored") else "not stored"]
    if card.get("rev"):
        meta.append(str(card["rev"]))
    meta.append("deep facts" if card.get("deep") else "header facts")
    meta.append(f"dataver {card.get('dataver', '?')}, card format {card.get('card', '?')}")
    return meta


def _tiles(card: dict) -> list[list[str]]:
    """[label, value] of the headline figures, for the tiles at the top of the page."""
    out, img, pdfs = card.get("output") or {}, card.get("images") or {}, card.get("pdfs") or {}
    tiles = [["files", num(out.get("files"))], ["size", size(out.get("bytes"))]]
    tiles += [["images", num(img["count"])]] if img.get("count") else []
    tiles += [["COCO files", num(len(card["coco"]))]] if card.get("coco") else []
    tiles += [["PDFs", num(pdfs["count"])]] if pdfs.get("count") else []
    tiles += [["checkpoints", num(len(card["checkpoints"]))]] if card.get("checkpoints") else []
    return tiles


def _severity_badges(checks: list) -> list[dict]:
    counts = severity_counts(checks)
    return [{"severity": s, "count": counts[s], "label": _LABELS[s] if counts[s] != 1 else s}
            for s in SEVERITIES]


def _check_rows(checks: list, status: str | None = None) -> list[dict]:
    rows = []
    for c in checks:
        examples = [str(e) for e in c.get("examples") or []]
        rows.append({"status": status, "severity": c.get("severity") or "info", "code": c.get("code", ""),
                     "count": num(c.get("count")), "message": c.get("message") or "",
                     "examples": examples[:SHOWN_EXAMPLES], "more": examples[SHOWN_EXAMPLES:]})
    return rows


def _diff_check_rows(checks: dict) -> list[dict]:
    rows = _check_rows(checks.get("appeared") or [], "appeared")
    rows += _check_rows(checks.get("gone") or [], "gone")
    for c in checks.get("changed") or []:
        rows.append({"status": "changed", "severity": c.get("severity") or "info", "code": c.get("code", ""),
                     "count": f"{num(c.get('a'))} → {num(c.get('b'))}", "message": "", "examples": [],
                     "more": []})
    return rows


def _rows3(mapping) -> list[list[str]]:
    return [[k, num(c), size(b) if b is not None else ""] for k, c, b in by_counts(mapping)]


def _files(files: dict | None, plots: dict) -> dict | None:
    if not files:
        return None
    sizes = histogram_rows(files.get("size_histogram"), "bytes")
    _add(plots, "files", "file-size", "File size", _bar_spec(sizes, "size", "files"))
    dups = files.get("duplicates") or {}
    wasted = (f"{num(dups.get('groups'))} groups of exact duplicates, {num(dups.get('files'))} extra copies, "
              f"{size(dups.get('wasted_bytes'))} wasted")
    return {"by_type": _rows3(files.get("by_type")), "by_extension": _rows3(files.get("by_extension")),
            "largest": [[f.get("path", ""), size(f.get("bytes"))] for f in files.get("largest") or []],
            "duplicates": wasted if dups.get("groups") else None,
            "duplicate_examples": [[size(g.get("bytes")), ", ".join(g.get("paths") or [])]
                                   for g in dups.get("examples") or []]}


def _images(img: dict | None, plots: dict) -> dict | None:
    if not img:
        return None
    _add(plots, "images", "megapixels", "Image size (megapixels)",
         _bar_spec(histogram_rows(img.get("megapixels_histogram")), "megapixels", "images"))
    res = [(f"{r['width']}×{r['height']}", r["count"]) for r in img.get("resolutions") or []]
    _add(plots, "images", "resolutions", "Most common resolutions",
         _bar_spec(res, "width × height", "images", True))
    _add(plots, "images", "formats", "Images by format",
         _bar_spec(_pairs(img.get("by_format")), "format", "images"))
    _add(plots, "images", "modes", "Images by mode", _bar_spec(_pairs(img.get("by_mode")), "mode", "images"))
    stats = [[axis, num(s.get("min")), num(s.get("median")), num(s.get("mean")), num(s.get("max"))]
             for axis in ("width", "height") if (s := img.get(axis))]
    deep = img.get("deep")
    return {"count": num(img.get("count")), "stats": stats,
            "orientation": ", ".join(f"{k}: {num(c)}" for k, c, _ in by_counts(img.get("orientation"))),
            "deep": None if not deep else
            f"{num(deep.get('decoded'))} decoded, {num(deep.get('corrupt'))} corrupt, "
            f"{num(deep.get('pixel_duplicate_groups'))} same-pixel groups, "
            f"{num(deep.get('near_duplicate_groups'))} near-duplicate groups"}


def _coco(i: int, coco: dict, plots: dict) -> dict:
    section = f"coco-{i}"
    top = top_categories(coco.get("per_category"), TOP_CATEGORIES)
    bars = [(_category_label(c), c.get("instances") or 0) for c in top]
    _add(plots, section, f"coco-{i}-categories", "Instances per category",
         _bar_spec(bars, "category", "instances", True, WIDE), wide=True)
    bpi = (coco.get("boxes_per_image") or {})
    _add(plots, section, f"coco-{i}-boxes", "Boxes per image",
         _bar_spec(histogram_rows(bpi.get("histogram")), "boxes", "images"))
    _add(plots, section, f"coco-{i}-area", "Box area (COCO bands)",
         _bar_spec(area_bands(coco.get("area_bands")), "band", "boxes"))
    _add(plots, section, f"coco-{i}-aspect", "Box aspect ratio (w/h)",
         _bar_spec(histogram_rows((coco.get("aspect_ratio") or {}).get("histogram")), "w/h", "boxes"))
    where = coco.get("images_output") or coco.get("images_base")
    summary = [["images", num(coco.get("images"))], ["annotations", num(coco.get("annotations"))],
               ["categories", num(coco.get("categories"))]]
    if bpi:
        summary.append(["boxes per image", f"min {num(bpi.get('min'))}, median {num(bpi.get('median'))}, "
                                           f"mean {num(bpi.get('mean'))}, max {num(bpi.get('max'))}"])
    for key in ("iscrowd", "segmentation"):
        if coco.get(key):
            summary.append([key, ", ".join(f"{k}: {num(v)}" for k, v in coco[key].items())])
    if where:
        summary.append(["images in", str(where)])
    cats = sorted(coco.get("per_category") or [],
                  key=lambda c: (-(c.get("instances") or 0), c.get("id") or 0))
    return {"id": section, "path": coco.get("path", ""), "summary": summary,
            "categories": [[num(c.get("id")), str(c.get("name")), str(c.get("supercategory") or ""),
                            num(c.get("instances")), num(c.get("images"))] for c in cats]}


def _pdfs(pdfs: dict | None, plots: dict) -> list[list[str]] | None:
    if not pdfs:
        return None
    _add(plots, "pdfs", "pdf-pages", "Pages per PDF", _bar_spec(histogram_rows(pdfs.get("pages_histogram")),
                                                               "pages", "PDFs"))
    keys = ("count", "pages", "with_text", "without_text", "encrypted", "unreadable")
    return [[k.replace("_", " "), num(pdfs.get(k))] for k in keys]


def _checkpoints(cps: list) -> list[list[str]]:
    return [[cp.get("path", ""), cp.get("format") or "?", num(cp.get("tensors")), num(cp.get("parameters")),
             ("error: " + str(cp["error"])) if cp.get("error")
             else ", ".join(f"{k} {num(v)}" for k, v in (cp.get("dtypes") or {}).items())] for cp in cps]


def _category_changes(cats: list, plots: dict) -> list[dict]:
    by_file: dict[str, list[dict]] = {}
    for c in cats:
        if c.get("delta"):
            by_file.setdefault(c.get("file") or "", []).append(c)
    result = []
    for i, (path, rows) in enumerate(by_file.items()):
        rows.sort(key=lambda c: (-abs(c["delta"]), str(c.get("name"))))
        _add(plots, "categories", f"categories-{i}", f"{path}: change in instances per category",
             _delta_spec([(str(c.get("name")), c["delta"]) for c in rows[:TOP_CHANGES]]))
        result.append({"path": path, "count": len(rows), "rows": [
            {"name": str(c.get("name")), "a": num(c.get("a_instances")), "b": num(c.get("b_instances")),
             "change": change("", c["delta"], c.get("pct")), "sign": _sign(c["delta"]),
             "images": f"{num(c.get('a_images'))} → {num(c.get('b_images'))}"}
            for c in rows[:TOP_CHANGES]]})
    return result


def _pairs(mapping) -> list[tuple[str, int]]:
    return [(k, c) for k, c, _ in by_counts(mapping)]


def _category_label(cat: dict) -> str:
    return str(cat.get("name")) if cat.get("id") is None else f"{cat.get('name')} ({cat.get('id')})"


def _sign(delta) -> str:
    return "" if not delta else ("up" if delta > 0 else "down")


def _sides(ra: str, rb: str) -> tuple[str, str]:
    """Legend names of the two sides (distinct even when both revisions print alike)."""
    return (ra, rb) if ra != rb else (f"A: {ra}", f"B: {rb}")


# --- Vega-Lite specs -----------------------------------------------------------------------

def _add(plots: dict, section: str, name: str, title: str, spec: dict | None, wide: bool = False) -> None:
    """Register a plot for ``section`` (no plot when there is nothing to draw); a ``wide`` one
    takes a whole row of the page's plot grid."""
    if spec is not None:
        plots.setdefault(section, []).append({"name": name, "title": title, "spec": spec, "wide": wide})


def _axis(title: str | None, horizontal: bool) -> dict:
    return {"title": title, "labelLimit": 220} if horizontal else {"title": title, "labelAngle": -35,
                                                                   "labelLimit": 120}


def _bar_spec(rows: list[tuple[str, int]], label: str, count: str, horizontal: bool = False,
              width: int = WIDTH) -> dict | None:
    if not rows:
        return None
    cat = {"field": "label", "type": "nominal", "sort": None, "axis": _axis(label, horizontal)}
    val = {"field": "count", "type": "quantitative", "title": count}
    spec = {"data": {"values": [{"label": lab, "count": c} for lab, c in rows]},
            "mark": {"type": "bar", "color": COLORS["bar"], "tooltip": True},
            "encoding": {"y": cat, "x": val} if horizontal else {"x": cat, "y": val}}
    return _sized(spec, horizontal, width)


def _grouped_spec(pairs: list[tuple[str, int, int]], ra: str, rb: str) -> dict | None:
    if not pairs:
        return None
    values = [{"label": lab, "side": side, "count": n}
              for lab, x, y in pairs for side, n in ((ra, x), (rb, y))]
    spec = {"data": {"values": values}, "mark": {"type": "bar", "tooltip": True},
            "encoding": {"x": {"field": "label", "type": "nominal", "sort": None, "axis": _axis(None, False)},
                         "xOffset": {"field": "side", "sort": [ra, rb]},
                         "y": {"field": "count", "type": "quantitative"},
                         "color": {"field": "side", "title": None, "sort": [ra, rb],
                                   "scale": {"domain": [ra, rb], "range": [COLORS["a"], COLORS["b"]]},
                                   "legend": {"orient": "top"}}}}
    return _sized(spec, False)


def _delta_spec(rows: list[tuple[str, int]]) -> dict | None:
    if not rows:
        return None
    values = [{"label": lab, "delta": d, "change": "more" if d > 0 else "fewer"} for lab, d in rows]
    spec = {"data": {"values": values}, "mark": {"type": "bar", "tooltip": True},
            "encoding": {"y": {"field": "label", "type": "nominal", "sort": None,
                               "axis": _axis("category", True)},
                         "x": {"field": "delta", "type": "quantitative", "title": "change in instances"},
                         "color": {"field": "change", "title": None, "legend": {"orient": "top"},
                                   "scale": {"domain": ["more", "fewer"],
                                             "range": [COLORS["more"], COLORS["fewer"]]}}}}
    return _sized(spec, True)


def _sized(spec: dict, horizontal: bool, width: int = WIDTH) -> dict:
    spec["width"] = width
    spec["height"] = {"step": 14} if horizontal else 200
    spec["config"] = {"view": {"stroke": None}, "font": "system-ui, -apple-system, Segoe UI, sans-serif"}
    return spec


# --- page assembly -------------------------------------------------------------------------

def _render(template: str, view: dict, plots: dict, data: dict) -> str:
    env = _env()
    from markupsafe import Markup  # a Jinja2 dependency

    payload = {**data, "plots": {p["name"]: p["spec"] for ps in plots.values() for p in ps}}
    view = {**view, "plots": collections.defaultdict(list, plots)}
    return env.get_template(template).render(
        view=view, data_json=Markup(script_json(payload)), vendored=[Markup(js) for js in _vendored_js()])


def script_json(value) -> str:
    """JSON that is safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` (which can only
    occur inside JSON strings) are written as ``\\u`` escapes, so no ``</script>`` or ``<!--``
    in the data can end or confuse the block; JSON.parse gives the same strings back."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


@functools.lru_cache(maxsize=1)
def _vendored_js() -> tuple[str, ...]:
    """The vendored scripts, ready to inline: without their source-map comment (the map is not
    shipped) and with any ``</script``/``<!--`` sequence (none in the releases vendored today)
    escaped the way JavaScript reads the same."""
    from importlib.resources import files

    root = files("dataver") / "assets" / "vega"
    texts = []
    for name in VENDORED:
        text = _SOURCE_MAP.sub("", (root / name).read_text(encoding="utf-8"))
        text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.I).replace("<!--", "<\\!--")
        texts.append(text)
    return tuple(texts)


@functools.lru_cache(maxsize=1)
def _env():
    try:
        import jinja2
    except ImportError:
        from dataver.errors import UserError

        raise UserError("HTML cards need Jinja2", hint="pip install 'dataver[cards]'") from None

    return jinja2.Environment(loader=jinja2.PackageLoader("dataver.cards", "templates"), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)

