"""The fact of a COCO annotation file: a summary plus the file's internal checks.

One read, no pycocotools. :mod:`dataver.facts.json_pieces` finds the top-level
``annotations`` array and cuts it at element boundaries into ~4 MB pieces; each piece is parsed
with orjson and reduced to numpy columns before the next one is parsed, leaving out the polygon
coordinates no figure reads. So the whole document never exists as Python objects (orjson on a
whole file peaks near 10x its size) and the box figures and checks are numpy operations on the
columns. A file that is not COCO is checked for valid JSON the same way, one piece of its
largest array at a time. The scan is exact for valid JSON, so a piece that does not parse means
an invalid file, which is then parsed whole for a precise message.

Wrong types never raise: they become ``coco.bad-type`` findings and the element is left out of
the figures (:func:`_annotations` says which fields matter). docs/cards.md documents every
figure and check code.
"""
from __future__ import annotations

import gc
from itertools import chain
from operator import itemgetter

from dataver.facts import json_pieces

AREA_SMALL, AREA_MEDIUM = 32 ** 2, 96 ** 2  # COCO eval's bands (areaRng)
# Histogram edges in numpy's convention (len(edges) == len(counts) + 1; values past the last
# edge count in the last bin), fixed so that two cards compare bin by bin.
BOXES_PER_IMAGE_EDGES = [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 1 << 30]
# w/h at powers of sqrt(2) from 1/8 to 8 (4 significant digits), open at both ends
ASPECT_EDGES = [0, 0.125, 0.1768, 0.25, 0.3536, 0.5, 0.7071, 1, 1.414, 2, 2.828, 4, 5.657, 8,
                1 << 30]
BOUNDS_TOLERANCE = 1.0  # px: exporters round box corners, a 1 px overshoot is noise
DUPLICATE_IOU = 0.95
EXAMPLES = 5
WHOLE_PARSE_LIMIT = 64 << 20  # bigger files are never parsed whole by the standard library


def coco_fact(path: str) -> dict:
    """The fact of the JSON file at ``path``: ``{"type": "coco", ...}``, ``{"type": "json"}``
    for JSON that is not COCO, ``{"type": "json", "error": ...}`` for invalid JSON."""
    from dataver.facts import need

    need("numpy")
    need("orjson")
    # Parsing makes millions of objects and no cycles: the collector would only rescan them.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _fact(path)
    finally:
        if enabled:
            gc.enable()


def _fact(path: str) -> dict:
    import json

    import orjson

    with open(path, "rb") as fobj:
        data = fobj.read()
    if data[:3] == b"\xef\xbb\xbf":  # a UTF-8 BOM: orjson refuses it, editors write it
        data = data[3:]
    split = json_pieces.split(data)
    if split == "unbalanced" and len(data) > WHOLE_PARSE_LIMIT:
        return {"type": "json", "error": "not valid JSON: brackets or quotes do not balance"}
    doc = anns = None
    if isinstance(split, tuple):
        try:
            doc = json_pieces.loads(split[0])
            # the sentinel shows whether the array cut out is the top-level "annotations"
            if _is_coco(doc) and doc["annotations"] == [json_pieces.SENTINEL]:
                anns = _annotations(json_pieces.parse_pieces(data, split[1]))
            elif not _is_coco(doc):  # still to know: is the rest valid JSON
                for _piece in json_pieces.parse_pieces(data, split[1], elide=False):
                    pass
                return {"type": "json"}
        except (orjson.JSONDecodeError, json.JSONDecodeError, json_pieces.NotJSON):
            pass  # invalid: the whole parse below says where
    if anns is None:
        doc, error = _parse_whole(data)
        if error:
            return {"type": "json", "error": f"not valid JSON: {error}"}
        if not _is_coco(doc):
            return {"type": "json"}
        whole = doc["annotations"]
        anns = _annotations(whole[i:i + 20000] for i in range(0, len(whole), 20000))
    del data, split  # the bytes are done with: the figures below need as much again
    return _summarise(doc, anns)


def _is_coco(doc) -> bool:
    return isinstance(doc, dict) and all(type(doc.get(k)) is list
                                         for k in ("images", "annotations", "categories"))


def _parse_whole(data: bytes):
    """(document, None) or (None, orjson's one-line complaint). The standard library's
    second try is skipped past WHOLE_PARSE_LIMIT: it would take 10x the file's size."""
    import json

    import orjson

    from dataver.facts import one_line

    try:
        return orjson.loads(data), None
    except orjson.JSONDecodeError as exc:
        message = one_line(exc)
    if len(data) > WHOLE_PARSE_LIMIT:
        return None, message
    try:
        return json.loads(data), None
    except (ValueError, RecursionError):
        return None, message


# --- columns: one pass per field, typed once by numpy ---------------------------------------

def _column(items: list, name: str) -> list:
    """Field ``name`` of every dict in ``items`` (None where missing)."""
    try:
        return list(map(itemgetter(name), items))  # a C loop: the common case, every key there
    except KeyError:
        return [x.get(name) for x in items]


def _ints(values: list):
    """(int64 column, mask of exact ints); bools, floats and strings are not ids."""
    import numpy as np

    if set(map(type, values)) == {int}:
        try:
            return np.fromiter(values, np.int64, len(values)), np.ones(len(values), bool)
        except OverflowError:
            pass
    ok = [type(v) is int and -(1 << 63) <= v < (1 << 63) for v in values]
    return (np.array([v if g else 0 for v, g in zip(values, ok)], dtype=np.int64),
            np.array(ok, dtype=bool))


def _floats(values: list, required: bool):
    """(float64 column, NaN where missing or wrong; mask of wrong values). A missing (None)
    value is wrong only when ``required``."""
    import numpy as np

    if set(map(type, values)) <= {int, float}:
        try:
            return np.fromiter(values, np.float64, len(values)), np.zeros(len(values), bool)
        except OverflowError:
            pass
    good = [type(v) is int or type(v) is float for v in values]
    col = np.array([_to_float(v) if g else float("nan") for v, g in zip(values, good)], float)
    return col, np.array([not g and (required or v is not None) for v, g in zip(values, good)],
                         dtype=bool)


def _to_float(value) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer literal past 1.8e308
        return float("inf") if value > 0 else float("-inf")


def _boxes(values: list):
    """(n x 4 float64 [x, y, w, h], mask of lists of 4 numbers)."""
    import numpy as np

    if (set(map(type, values)) == {list} and set(map(len, values)) == {4}
            and set(map(type, chain.from_iterable(values))) <= {int, float}):
        try:
            flat = np.fromiter(chain.from_iterable(values), np.float64, 4 * len(values))
            return flat.reshape(-1, 4), np.ones(len(values), bool)
        except OverflowError:
            pass
    ok = [type(b) is list and len(b) == 4 and all(type(v) in (int, float) for v in b)
          for b in values]
    rows = [[_to_float(v) for v in b] if g else [float("nan")] * 4 for b, g in zip(values, ok)]
    return np.array(rows, dtype=np.float64).reshape(-1, 4), np.array(ok, dtype=bool)


def _codes(values: list, kind: str):
    """int8 column and mask of wrong values (-1). iscrowd: 0, 1 (missing counts as 0, as in
    COCO eval). segmentation: 0 polygon (a non-empty list of lists; coordinates are not
    inspected), 1 RLE (an object with "counts"), 2 none (missing or [])."""
    import numpy as np

    if kind == "iscrowd":
        col = [(0 if v == 0 else 1 if v == 1 else -1) if type(v) is int else
               0 if v is None else -1 for v in values]
    else:
        col = [0 if type(s) is list and s and type(s[0]) is list else
               1 if type(s) is dict and "counts" in s else
               2 if s is None or s == [] else -1 for s in values]
    col = np.array(col, dtype=np.int8)
    return col, col < 0


# --- bad types ------------------------------------------------------------------------------

class _Problems:
    """coco.bad-type: a count of wrong fields and the first few, in file order."""

    def __init__(self):
        self.count, self.examples = 0, []

    def add(self, fields: list, label, skip=None) -> None:
        """``fields``: (field name, bool mask of wrong entries); ``label(i)`` names entry i.
        Entries in the ``skip`` mask are not objects: reported as such, not once per field."""
        import numpy as np

        if skip is not None:
            fields = [("not an object", skip)] + [(name, np.asarray(mask, bool) & ~skip)
                                                  for name, mask in fields]
        found = []
        for rank, (name, mask) in enumerate(fields):
            where = np.flatnonzero(mask)
            self.count += len(where)
            found += [(i, rank, name) for i in where[:EXAMPLES].tolist()]
        room = EXAMPLES - len(self.examples)
        self.examples += [f"{label(i)}: {name}" for i, _r, name in sorted(found)[:room]]


def _objects(items: list):
    """(``items`` with non-objects replaced by {}, mask of those or None when all are)."""
    import numpy as np

    if set(map(type, items)) <= {dict}:
        return items, None
    skip = np.array([type(x) is not dict for x in items], dtype=bool)
    return [x if type(x) is dict else {} for x in items], skip


# --- the three tables -----------------------------------------------------------------------

def _images(items: list, problems: _Problems) -> dict:
    """An int id identifies an image; width/height (positive numbers) and file_name (str)
    serve the bounds and file checks only, so wrong ones are reported but keep the image."""
    import numpy as np

    items, skip = _objects(items)
    ids, ok = _ints(_column(items, "id"))
    names = _column(items, "file_name")
    width, bad_w = _floats(_column(items, "width"), required=True)
    height, bad_h = _floats(_column(items, "height"), required=True)
    bad_name = np.array([type(n) is not str for n in names], dtype=bool)
    with np.errstate(invalid="ignore"):
        bad_w |= ~(width > 0) | ~np.isfinite(width)
        bad_h |= ~(height > 0) | ~np.isfinite(height)
    problems.add([("id", ~ok), ("width", bad_w), ("height", bad_h), ("file_name", bad_name)],
                 lambda i: f"image {ids[i]}" if ok[i] else f"images[{i}]", skip)
    width[bad_w], height[bad_h] = np.nan, np.nan
    files = sorted([n, None if bw else x["width"], None if bh else x["height"], i]
                   for x, n, i, good, bw, bh in zip(items, names, ids.tolist(), ok.tolist(),
                                                    bad_w.tolist(), bad_h.tolist())
                   if good and type(n) is str)
    return {"ids": ids[ok], "width": width[ok], "height": height[ok], "files": files,
            "names": [n if type(n) is str else None for n, good in zip(names, ok) if good]}


def _categories(items: list, problems: _Problems) -> list[tuple]:
    """(id, name, supercategory) of the categories with an int id; a wrong name or
    supercategory is reported and shown as "" / None."""
    items, skip = _objects(items)
    ids, ok = _ints(_column(items, "id"))
    names, sups = _column(items, "name"), _column(items, "supercategory")
    problems.add([("id", ~ok), ("name", [type(n) is not str for n in names]),
                  ("supercategory", [s is not None and type(s) is not str for s in sups])],
                 lambda i: f"category {ids[i]}" if ok[i] else f"categories[{i}]", skip)
    return [(cid, n if type(n) is str else "", s if type(s) is str else None)
            for cid, n, s, good in zip(ids.tolist(), names, sups, ok.tolist()) if good]


def _annotations(pieces) -> dict:
    """Columns of the annotations whose id, image_id, category_id (ints) and bbox (4 numbers)
    are right; the others are counted in coco.bad-type and skipped. A wrong area, iscrowd or
    segmentation is reported and left out of that figure only."""
    import numpy as np

    names = ("id", "image", "category", "box", "area", "crowd", "seg")
    cols, total, problems = {k: [] for k in names}, 0, _Problems()
    for anns in pieces:
        anns, skip = _objects(anns)
        ids, ok = _ints(_column(anns, "id"))

        def label(i, ids=ids, ok=ok, base=total):
            return f"annotation {ids[i]}" if ok[i] else f"annotations[{base + i}]"

        image, ok_image = _ints(_column(anns, "image_id"))
        category, ok_category = _ints(_column(anns, "category_id"))
        box, ok_box = _boxes(_column(anns, "bbox"))
        area, bad_area = _floats(_column(anns, "area"), required=False)
        crowd, bad_crowd = _codes(_column(anns, "iscrowd"), "iscrowd")
        seg, bad_seg = _codes(_column(anns, "segmentation"), "segmentation")
        problems.add([("id", ~ok), ("image_id", ~ok_image), ("category_id", ~ok_category),
                      ("bbox", ~ok_box), ("area", bad_area), ("iscrowd", bad_crowd),
                      ("segmentation", bad_seg)], label, skip)
        ok &= ok_image & ok_category & ok_box
        for key, col in zip(names, (ids, image, category, box, area, crowd, seg)):
            cols[key].append(col[ok])
        total += len(anns)
        del anns  # free this piece's objects before the next one is parsed
    out = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
    out["box"] = out["box"].reshape(-1, 4).astype(np.float64)
    out["area"] = out["area"].astype(np.float64)
    out["count"], out["problems"] = total, problems
    return out


# --- figures and checks ---------------------------------------------------------------------

def _summarise(doc: dict, anns: dict) -> dict:
    """The fact from the parsed images and categories and the annotation columns."""
    import numpy as np

    problems = _Problems()
    images = _images(doc["images"], problems)
    cats = _categories(doc["categories"], problems)
    problems.count += anns["problems"].count
    problems.examples = (problems.examples + anns["problems"].examples)[:EXAMPLES]
    cat_all = np.array([c[0] for c in cats], dtype=np.int64)
    img_ids, img_first = np.unique(images["ids"], return_index=True)  # first entry wins
    cat_ids, cat_first = np.unique(cat_all, return_index=True)
    ann_id, image, category, box = anns["id"], anns["image"], anns["category"], anns["box"]
    img_at, img_known = _lookup(img_ids, image)
    cat_at, cat_known = _lookup(cat_ids, category)
    x, y, w, h = box.T
    with np.errstate(invalid="ignore", over="ignore"):
        valid = np.isfinite(box).all(axis=1) & (w > 0) & (h > 0)
        # a NaN past the end: _lookup points unknown ids somewhere, even with no image at all
        width = np.append(images["width"][img_first], np.nan)[img_at] + BOUNDS_TOLERANCE
        height = np.append(images["height"][img_first], np.nan)[img_at] + BOUNDS_TOLERANCE
        outside = valid & img_known & ((np.minimum(x, y) < -BOUNDS_TOLERANCE)
                                       | (x + w > width) | (y + h > height))
    rows = np.flatnonzero(valid)
    later, earlier = (rows[r] for r in _duplicate_boxes(image[rows], category[rows], box[rows]))
    per_image = np.bincount(img_at[img_known], minlength=len(img_ids))
    per_category = _per_category(cats, cat_ids, cat_first, cat_at[cat_known], image[cat_known])
    empty = [c for c in per_category if not c["instances"]]
    bare = np.sort(img_first[per_image == 0])  # in the file's order
    names = images["names"]
    checks = [
        _repeats("coco.duplicate-image-id", images["ids"]),
        _repeats("coco.duplicate-category-id", cat_all),
        _repeats("coco.duplicate-annotation-id", ann_id),
        _finding("coco.unknown-image-id", np.flatnonzero(~img_known),
                 lambda i: f"annotation {ann_id[i]}: image {image[i]}"),
        _finding("coco.unknown-category-id", np.flatnonzero(~cat_known),
                 lambda i: f"annotation {ann_id[i]}: category {category[i]}"),
        _finding("coco.bbox-invalid", np.flatnonzero(~valid), lambda i: f"annotation {ann_id[i]}"),
        _finding("coco.bbox-out-of-bounds", np.flatnonzero(outside),
                 lambda i: f"image {image[i]}: annotation {ann_id[i]}"),
        _finding("coco.duplicate-box", np.arange(len(later)),
                 lambda k: f"image {image[later[k]]}: annotations {ann_id[earlier[k]]}, "
                           f"{ann_id[later[k]]}"),
        _finding("coco.empty-category", empty, lambda c: f"category {c['id']} ({c['name']})"),
        _finding("coco.image-without-annotations", bare,
                 lambda i: names[i] if names[i] is not None else f"image {images['ids'][i]}"),
        {"code": "coco.bad-type", "count": problems.count, "examples": problems.examples}]
    return {"type": "coco", "images": len(doc["images"]), "annotations": anns["count"],
            "categories": len(doc["categories"]), "per_category": per_category,
            "boxes_per_image": _stats(per_image, BOXES_PER_IMAGE_EDGES),
            "area_bands": _area_bands(anns["area"], w * h, valid),
            "aspect_ratio": {"histogram": _histogram(w[valid] / h[valid], ASPECT_EDGES)},
            "iscrowd": {str(v): int((anns["crowd"] == v).sum()) for v in (0, 1)},
            "segmentation": {k: int((anns["seg"] == v).sum())
                             for v, k in enumerate(("polygon", "rle", "none"))},
            "image_files": images["files"],
            "checks": sorted((c for c in checks if c["count"]), key=lambda c: c["code"])}


def _lookup(sorted_ids, values):
    """(position of each value in ``sorted_ids``, clipped; mask of the values found)."""
    import numpy as np

    if not len(sorted_ids):
        return np.zeros(len(values), np.int64), np.zeros(len(values), bool)
    at = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return at, sorted_ids[at] == values


def _repeats(code: str, ids) -> dict:
    """Ids used more than once: count = entries beyond the first, examples = the ids."""
    import numpy as np

    uniq, counts = np.unique(ids, return_counts=True)
    return {"code": code, "count": int((counts[counts > 1] - 1).sum()),
            "examples": [str(v) for v in uniq[counts > 1][:EXAMPLES].tolist()]}


def _finding(code: str, hits, label) -> dict:
    return {"code": code, "count": len(hits), "examples": [label(h) for h in hits[:EXAMPLES]]}


def _per_category(cats, cat_ids, cat_first, cat_at, image) -> list[dict]:
    """Instances and distinct images per category id (named by its first entry), by id."""
    import numpy as np

    order = np.lexsort((image, cat_at))
    at, img = cat_at[order], image[order]
    new = np.ones(len(order), bool)
    new[1:] = (at[1:] != at[:-1]) | (img[1:] != img[:-1])
    instances = np.bincount(cat_at, minlength=len(cat_ids)).tolist()
    images = np.bincount(at[new], minlength=len(cat_ids)).tolist()
    return [{"id": cats[k][0], "name": cats[k][1], "supercategory": cats[k][2],
             "instances": instances[j], "images": images[j]}
            for j, k in enumerate(cat_first.tolist())]


def _duplicate_boxes(image, category, box):
    """(later, earlier) rows: each row whose box repeats an earlier row's box (same image and
    category, IoU > DUPLICATE_IOU) once, with the earliest such row, ordered by ``later``."""
    import numpy as np

    group = _group_key(image, category)
    order = np.lexsort((box[:, 0], group))  # stable: equal keys stay in row order
    found = _walk(order, group, box, max_shift=64)
    if found is None:  # long runs of near-equal left edges: take exact repeats out first
        order = np.lexsort((box[:, 3], box[:, 2], box[:, 1], box[:, 0], group))
        same = np.ones(max(len(order) - 1, 0), bool)
        for key in (group, *box.T):
            same &= key[order][1:] == key[order][:-1]
        head = np.concatenate([[True], ~same])
        run_head = order[head][np.cumsum(head) - 1]
        found = [(order[1:][same], run_head[1:][same])] + _walk(order[head], group, box, None)
    later = np.concatenate([f[0] for f in found]).astype(np.int64)
    earlier = np.concatenate([f[1] for f in found]).astype(np.int64)
    order = np.lexsort((earlier, later))
    later, earlier = later[order], earlier[order]
    first = np.ones(len(later), bool)
    first[1:] = later[1:] != later[:-1]
    return later[first], earlier[first]


def _group_key(image, category):
    """One int64 per (image, category) pair, equal exactly for equal pairs."""
    import numpy as np

    if not len(image):
        return image
    span = int(category.max()) - int(category.min()) + 1
    if (int(image.max()) - int(image.min()) + 1) * span < 1 << 62:
        return (image - image.min()) * span + (category - category.min())
    pairs = np.stack([image, category], axis=1)
    return np.unique(pairs, axis=0, return_inverse=True)[1].ravel()


def _walk(order, group, box, max_shift):
    """Pairs (later, earlier) among ``order`` (rows sorted by group, then left edge) with
    IoU > DUPLICATE_IOU. That needs the left edges within (1 - IoU) of the left box's width,
    so each row is compared with its next neighbours until one is past that reach. None once
    ``max_shift`` neighbours were not enough for some row."""
    import numpy as np

    grp, x = group[order], box[order, 0]
    reach = x + box[order, 2] * (1 - DUPLICATE_IOU) * (1 + 1e-9)
    none = np.zeros(0, np.int64)
    left, shift, found = np.arange(len(order) - 1), 1, [(none, none)]
    while left.size:
        if max_shift is not None and shift > max_shift:
            return None
        right = left + shift
        left, right = left[right < len(order)], right[right < len(order)]
        near = (grp[right] == grp[left]) & (x[right] <= reach[left])
        left, right = left[near], right[near]
        a, b = order[left], order[right]
        hit = _iou(box[a], box[b]) > DUPLICATE_IOU
        found.append((np.maximum(a[hit], b[hit]), np.minimum(a[hit], b[hit])))
        shift += 1
    return found


def _iou(a, b):
    import numpy as np

    with np.errstate(invalid="ignore", over="ignore"):
        ix = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
        iy = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
        inter = np.clip(ix, 0, None) * np.clip(iy, 0, None)
        return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def _area_bands(area, box_area, valid) -> dict:
    """COCO's bands by the "area" field, by the box's w*h where that is missing or wrong."""
    import numpy as np

    with np.errstate(invalid="ignore"):
        area = np.where(np.isfinite(area), area, np.where(valid, box_area, np.nan))
        return {"small": int((area < AREA_SMALL).sum()),
                "medium": int(((area >= AREA_SMALL) & (area < AREA_MEDIUM)).sum()),
                "large": int((area >= AREA_MEDIUM).sum())}


def _histogram(values, edges) -> dict:
    import numpy as np

    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    return {"edges": list(edges), "counts": np.bincount(bins, minlength=len(edges) - 1).tolist()}


def _stats(values, edges) -> dict:
    import numpy as np

    if not len(values):
        return {"min": None, "max": None, "mean": None, "median": None,
                "histogram": _histogram(values, edges)}
    return {"min": int(values.min()), "max": int(values.max()), "mean": float(values.mean()),
            "median": float(np.median(values)), "histogram": _histogram(values, edges)}


# --- box columns for the visual diff --------------------------------------------------------

def box_columns(path: str):
    """``(document, columns)`` of the COCO file at ``path`` for the visual diff, or None when it
    is not COCO or not valid JSON: the document as parsed but for its annotations, and the
    int64 columns ``"id"``, ``"image"``, ``"category"`` and the n x 4 float64 ``"box"`` of the
    annotations whose four fields are right (the others are left out, as the card counts them
    in coco.bad-type). The card's parse without the columns only its figures need."""
    enabled = gc.isenabled()
    gc.disable()  # as in coco_fact: millions of objects, no cycles
    try:
        return _box_columns(path)
    finally:
        if enabled:
            gc.enable()


def _box_columns(path: str):
    import json

    import numpy as np
    import orjson

    with open(path, "rb") as fobj:
        data = fobj.read()
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    split = json_pieces.split(data)
    pieces = None
    if isinstance(split, tuple):
        try:
            doc = json_pieces.loads(split[0])
            if _is_coco(doc) and doc["annotations"] == [json_pieces.SENTINEL]:
                pieces = json_pieces.parse_pieces(data, split[1])
        except (orjson.JSONDecodeError, json.JSONDecodeError, json_pieces.NotJSON):
            pass
    if pieces is None:
        doc, error = _parse_whole(data) if split != "unbalanced" else (None, "unbalanced")
        if error or not _is_coco(doc):
            return None
        whole = doc["annotations"]
        pieces = (whole[i:i + 20000] for i in range(0, len(whole), 20000))
    cols = {"id": [], "image": [], "category": [], "box": []}
    try:
        for anns in pieces:
            anns, _skip = _objects(anns)
            ids, ok = _ints(_column(anns, "id"))
            image, ok_image = _ints(_column(anns, "image_id"))
            category, ok_category = _ints(_column(anns, "category_id"))
            box, ok_box = _boxes(_column(anns, "bbox"))
            ok &= ok_image & ok_category & ok_box
            for key, col in zip(cols, (ids, image, category, box)):
                cols[key].append(col[ok])
            del anns
    except (orjson.JSONDecodeError, json.JSONDecodeError, json_pieces.NotJSON):
        return None
    out = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
    out["box"] = out["box"].reshape(-1, 4).astype(np.float64)
    doc["annotations"] = []
    return doc, out
