"""``/compare/<a>/<b>[/<output>]``: the summary of what changed between two revisions (``b``
may be ``workspace``), then the changed images, filterable by class and paginated, each A | B
with its boxes coloured by change class, in one of four modes (side by side, swipe, onion
skin, pixel difference). ``?path=`` shows one image alone: a link that reopens it.

The visual diff of two commits is kept in memory per (A sha, B sha, IoU threshold), so paging
and filtering do not compute it again; one against the workspace is kept a few seconds.
"""
from __future__ import annotations

import time

from dataver.ui import coco, compare_view, pages
from dataver.ui.browse import exif_matrix
from dataver.ui.safety import (BadRequest, NotFound, choice_param, clean_path, clean_rev, int_param,
                               shown)

MODES = ("side", "swipe", "onion", "difference")
PER_PAGE = 20
SIZE = 512  # px: the thumbnails compared
WORKSPACE_TTL = 30.0


async def form(request):
    """``/compare?a=A&b=B``: the versions page's form, redirected to the comparison's URL."""
    from starlette.responses import RedirectResponse

    query = request.query_params
    a, b = clean_rev(query.get("a") or ""), clean_rev(query.get("b") or "")
    return RedirectResponse(pages.compare_url(a, b), status_code=302)


async def page(request):
    """``/compare/<a>/<b>[/<output>]?class=&mode=&page=&path=&iou=``."""
    service = request.app.state.service
    query = request.query_params
    params = {
        "cls": choice_param(query, "class", compare_view.FILTERS + ("all",), "all"),
        "page": int_param(query, "page", 1),
        "mode": choice_param(query, "mode", MODES, "side"),
        "path": clean_path(query["path"]) if query.get("path") else None,
        "iou": _iou(query.get("iou")),
    }
    view = await service.call(compare_page, service, request.path_params["rest"], params)
    return pages.render(request, "compare.html.j2", view)


def _iou(text: str | None) -> float:
    if not text:
        return 0.5
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise BadRequest("'iou' must be a number above 0 and at most 1")
    return value


# --- worker thread --------------------------------------------------------------------------

def diff(service, a, b, iou: float) -> dict:
    """The visual diff of revisions ``a`` and ``b`` (files and annotations), cached."""
    key = (a.key, b.key, iou)
    hit = service.diffs.get(key)
    if hit is not None and ((a.sha and b.sha) or time.monotonic() - hit[0] < WORKSPACE_TTL):
        return hit[1]
    from dataver.visual.model import image_diff

    result = image_diff(service.repo, a.arg, b.arg, None, annotations=True, iou=iou)
    service.diffs.put(key, (time.monotonic(), result))
    return result


def compare_page(service, rest: str, params: dict) -> dict:
    """The comparison page's dict (worker thread)."""
    (a, b), output = service.split_revs(rest, 2)
    output = clean_path(output)
    result, listings, every = _changes(service, a, b, output, params["iou"])
    cls = None if params["cls"] == "all" else params["cls"]
    query = {"class": cls, "mode": params["mode"] if params["mode"] != "side" else None,
             "iou": params["iou"] if params["iou"] != 0.5 else None}

    def url(**extra):
        return pages.compare_url(a.name, b.name, output, **{**query, **extra})

    picked = _pick(every, cls, params["path"], a, b)
    pager = pages.pager(len(picked), params["page"], PER_PAGE, lambda n: url(page=n))
    shown_items = picked[pager["start"]:pager["end"]]
    _remember(service, listings, a, b, shown_items)
    views = _views(service, a, b, shown_items, url)
    return {
        "title": f"{a.name} → {b.name}", "a": a.name, "b": b.name, "output": output,
        "summaries": compare_view.summaries(result),
        "filters": [{**f, "url": url(**{"class": f["value"], "page": None}),
                     "current": f["value"] == cls} for f in compare_view.filters(every)],
        "all_url": url(**{"class": None, "page": None}), "all_count": len(every),
        "all_current": cls is None, "single": bool(params["path"]),
        "modes": [{"value": m, "label": _MODE_LABELS[m], "current": m == params["mode"],
                   "url": url(mode=m if m != "side" else None)} for m in MODES],
        "mode": params["mode"], "items": views, "pager": pager,
        "data": {"items": [v["data"] for v in views]},
        "swap": pages.compare_url(b.name, a.name, output) if b.sha else None,
        "outputs": [{"path": o["path"], "url": pages.compare_url(a.name, b.name, o["path"])}
                    for o in result["outputs"]] if not output else [],
        "whole": pages.compare_url(a.name, b.name) if output else None,
    }


def _changes(service, a, b, output: str, iou: float):
    """``(diff of the outputs shown, their listings, every changed image)``."""
    result = diff(service, a, b, iou)
    outputs = [o for o in result.get("outputs") or [] if not output or o["path"] == output]
    if output and not outputs:
        raise NotFound(f"'{shown(output)}' is not a tracked output at {shown(a.name)} "
                       f"or {shown(b.name)}")
    result = {**result, "outputs": outputs}
    listings = _listings(service, a, b, [o["path"] for o in outputs])
    every = compare_view.items(result, _bases(listings, outputs),
                               lambda out, side: listings[(out, side)].files
                               if (out, side) in listings else {})
    return result, listings, every


def _pick(every: list[dict], cls: str | None, path: str | None, a, b) -> list[dict]:
    """The items of class ``cls`` (all when None), or the one at ``path``."""
    if not path:
        return compare_view.chosen(every, cls)
    picked = [i for i in every if path in (i["path"], f"{i['output']}/{i['path']}")]
    if not picked:
        raise NotFound(f"'{shown(path)}' did not change between {shown(a.name)} and "
                       f"{shown(b.name)}")
    return picked


def _remember(service, listings: dict, a, b, items: list[dict]) -> None:
    """The objects of the items shown may be served from now on."""
    for item in items:
        for side, rev in (("a", a), ("b", b)):
            listing = listings.get((item["output"], side))
            if item[side] and listing is not None and item[side]["path"] in listing.files:
                service.remember(listing, rev, [item[side]["path"]])


_MODE_LABELS = {"side": "side by side", "swipe": "swipe", "onion": "onion skin",
                "difference": "difference"}


def _listings(service, a, b, outputs: list[str]) -> dict:
    """``(output, "a"|"b") -> Listing`` of the outputs present on each side."""
    found = {}
    for side, rev in (("a", a), ("b", b)):
        present = service.outputs(rev)
        for out in outputs:
            if out in present:
                found[(out, side)] = service.listing(rev, out)
    return found


def _bases(listings: dict, outputs: list[dict]) -> dict:
    """``(output, COCO path in it) -> (A images base, B images base)``, relative to the output
    (None where not found): guessed as the data cards do, from the names of the images whose
    boxes changed, among each side's files (the COCO file itself is not read again)."""
    result = {}
    for out in outputs:
        for entry in out.get("annotations") or []:
            names = [(img["file_name"],) for img in entry.get("images") or []]
            result[(out["path"], entry["path"])] = tuple(
                _relative(coco.images_base({"image_files": names}, [listings[(out["path"], side)]]),
                          out["path"]) if names and (out["path"], side) in listings else None
                for side in ("a", "b"))
    return result


def _relative(base: str | None, output: str) -> str | None:
    if base is None:
        return None
    if base == output:
        return ""
    return base[len(output) + 1:] if base.startswith(output + "/") else None


def _views(service, a, b, items: list[dict], url) -> list[dict]:
    """The shown items as the template and the page's script need them; their objects are
    fetched now (only these) and their image headers read."""
    wanted = [(i[s]["md5"], rev) for i in items for s, rev in (("a", a), ("b", b)) if i[s]]
    service.fetch([m for m, rev in wanted if rev.sha is not None])
    local = {m: p for m, _rev in wanted if (p := service.cached_path(m)) is not None}
    facts = service.facts([(m, p, m) for m, p in local.items()])
    return [_item_view(n, item, facts, url) for n, item in enumerate(items)]


def _item_view(n: int, item: dict, facts: dict, url) -> dict:
    sides = {s: _side_view(item, s, facts) for s in ("a", "b")}
    a, b = item["a"], item["b"]
    differ = a and b and a["md5"] != b["md5"] and not item["error"] and \
        _decodes(facts.get(a["md5"])) and _decodes(facts.get(b["md5"]))
    return {
        "id": n, "output": item["output"], "path": item["path"], "old_path": item["old_path"],
        "status": compare_view.LABELS.get(item["status"]) if item["status"] else None,
        "status_key": item["status"] or "boxes", "error": item["error"],
        "counts": [{"key": k, "count": v} for k, v in sorted(item["counts"].items())],
        "a": sides["a"], "b": sides["b"],
        "difference": pages.difference_url(a["md5"], b["md5"], SIZE) if differ else None,
        "link": url(path=f"{item['output']}/{item['path']}", page=None),
        "data": {"id": n, "a": sides["a"] and sides["a"]["overlay"],
                 "b": sides["b"] and sides["b"]["overlay"]},
    }


def _decodes(fact: dict | None) -> bool:
    return bool(fact) and fact.get("type") == "image" and not fact.get("error")


def _side_view(item: dict, side: str, facts: dict) -> dict | None:
    own = item[side]
    if own is None:
        return None
    fact = facts.get(own["md5"], {})
    width = fact.get("width") or own.get("width") or 1
    height = fact.get("height") or own.get("height") or 1
    matrix, shown_w, shown_h = exif_matrix(fact.get("orientation") or 1, width, height)
    return {"path": own["path"], "md5": own["md5"], "thumb": pages.thumb_url(own["md5"], SIZE),
            "error": fact.get("error"),
            "overlay": {"width": shown_w, "height": shown_h, "matrix": matrix,
                        "shapes": compare_view.shapes(item, side)}}
