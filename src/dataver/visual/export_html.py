"""The HTML page of ``dataver diff A B --html FILE``: display rows for the Jinja2 templates in
``visual/templates`` (autoescaped; no logic there). Thumbnails are inlined as data: URIs and a
Content-Security-Policy forbids every fetch, so the file opens offline and alone. Once its
script has run, the page sets ``document.body.dataset.ready`` (the browser tests wait for it).
"""
from __future__ import annotations

import functools

from dataver.visual.export import (
    BOX_CLASSES, FILE_CLASSES, FILE_LABELS, Changed, Thumb, box_summary, category_line, data_uri,
    exif_matrix, per_category, revs, still,
)

MODES = (("2up", "2-up"), ("swipe", "Swipe"), ("onion", "Onion skin"))


def render(result: dict, shown: list[Changed], total: int, thumbs: dict[str, Thumb]) -> str:
    """The page of ``result`` with the images ``shown`` (of ``total`` changed ones)."""
    ra, rb = revs(result)
    view = {"ra": ra, "rb": rb, "outputs": [_output(o) for o in result.get("outputs") or []],
            "pairs": [_pair(row, thumbs, ra, rb) for row in shown], "shown": len(shown),
            "total": total, "legend": list(BOX_CLASSES), "modes": MODES}
    return _env().get_template("diff_export.html.j2").render(view=view)


def _output(out: dict) -> dict:
    summary = out.get("summary") or {}
    return {"path": out.get("path", ""), "a_md5": out.get("a_md5") or "none",
            "b_md5": out.get("b_md5") or "none",
            "chips": [{"cls": c, "label": FILE_LABELS.get(c, c), "count": summary.get(c) or 0}
                      for c in FILE_CLASSES],
            "annotations": [_annotations(a) for a in out.get("annotations") or []]}


def _annotations(ann: dict) -> dict:
    summary = ann.get("summary") or {}
    chips = [{"cls": "images", "label": "images changed", "count": summary.get("images") or 0}]
    chips += [{"cls": c, "label": c, "count": summary.get(c) or 0} for c in BOX_CLASSES]
    changed, others = per_category(ann.get("per_category") or [])
    rows = [{"name": str(r.get("name")), "counts": [r.get(c) or 0 for c in BOX_CLASSES]} for r in changed]
    return {"path": ann.get("path", ""), "chips": chips,
            "categories": category_line(ann.get("categories") or {}), "per_category": rows,
            "still": still(others)}


def _pair(row: Changed, thumbs: dict[str, Thumb], ra: str, rb: str) -> dict:
    counts = row.box_counts()
    return {"output": row.output, "path": row.path, "status": row.status,
            "status_label": FILE_LABELS.get(row.status, row.status), "old_path": row.old_path,
            "boxes": box_summary(counts), "error": row.error,
            "sides": [_side(row, "a", thumbs, ra), _side(row, "b", thumbs, rb)]}


def _side(row: Changed, side: str, thumbs: dict[str, Thumb], rev: str) -> dict:
    pair = row.a if side == "a" else row.b
    if pair is None:
        return {"side": side, "rev": rev, "missing": f"not in {rev}"}
    thumb = thumbs.get(pair[1]) or Thumb(None, error="no thumbnail")
    view = {"side": side, "rev": rev, "missing": None, "md5": pair[1], "error": thumb.error,
            "uri": data_uri(thumb.jpeg) if thumb.jpeg else None, "caption": _caption(thumb),
            "frame": None}
    if thumb.size and not thumb.error:
        matrix, width, height = exif_matrix(thumb.orientation, *thumb.size)
        view["frame"] = {"view_box": f"0 0 {width} {height}",
                         "matrix": "matrix({})".format(" ".join(str(v) for v in matrix)),
                         "boxes": _boxes(row.boxes, side)}
    return view


def _caption(thumb: Thumb) -> str:
    if thumb.error:
        return thumb.error
    if not thumb.size:
        return ""
    turned = " (EXIF-rotated)" if thumb.orientation in (5, 6, 7, 8) else ""
    return f"{thumb.size[0]}×{thumb.size[1]}{turned}"


def _boxes(boxes: list, side: str) -> list[dict]:
    """The rectangles of ``side`` ("a" or "b"): each box pair's geometry on that side."""
    rects = []
    for box in boxes:
        shape = box.get(side)
        bbox = (shape or {}).get("bbox")
        if not bbox or len(bbox) != 4:
            continue
        cls = box.get("class") or "unchanged"
        iou = box.get("iou")
        title = f"{cls}: {shape.get('category')}" + (f" (IoU {iou:.2f})" if isinstance(iou, float) else "")
        if cls == "relabeled" and box.get("a") and box.get("b"):
            title += f" ({box['a'].get('category')} → {box['b'].get('category')})"
        x, y, w, h = (float(v) for v in bbox)
        rects.append({"cls": cls, "x": f"{x:g}", "y": f"{y:g}", "w": f"{w:g}", "h": f"{h:g}",
                      "title": title})
    return rects


@functools.lru_cache(maxsize=1)
def _env():
    try:
        import jinja2
    except ImportError:
        from dataver.errors import UserError

        raise UserError("HTML exports need Jinja2", hint="pip install 'dataver[visual]'") from None

    return jinja2.Environment(loader=jinja2.PackageLoader("dataver.visual", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)
