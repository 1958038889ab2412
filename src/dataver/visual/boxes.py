"""The annotation diff of two COCO files: boxes matched between versions, image by image, and
classed added, removed, moved (or resized), relabeled or unchanged; categories added, removed
or renamed; counts per category.

Images are matched by ``file_name`` (ids may change between versions), categories by id. In an
image present on both sides, boxes are paired by an optimal assignment that maximises the total
IoU over pairs with IoU >= the threshold (pairs below it count for nothing, so they never steer
the assignment); a tiny bonus for the same category breaks exact ties, so two identical boxes
of different categories pair with their own kind. A pair is ``unchanged`` (same category, bbox
equal within 1e-6), ``moved`` (same category) or ``relabeled``; boxes left over are ``removed``
(A) or ``added`` (B).

Speed (1,000,000 annotations a side): everything is numpy over columns. Each side is sorted by
(image, row hash), so an image holding the same boxes on both sides has its rows aligned and is
found equal by one vectorised comparison, never matched; in the other images, boxes there as
they were pair by a join on the hash. Only the rest go to :mod:`dataver.visual.matching`.
"""
from __future__ import annotations

from dataclasses import dataclass

from dataver.visual.matching import SAME_BOX, match

CLASSES = ("added", "removed", "moved", "relabeled", "unchanged")
ADDED, REMOVED, MOVED, RELABELED, UNCHANGED = range(5)


@dataclass
class Coco:
    """One side: image ids -> file names, category ids -> names (first entry wins) and the
    annotation columns ``ann`` (int64 ids), ``image``, ``category`` and ``box`` (n x 4)."""

    images: dict
    categories: dict
    ann: object
    image: object
    category: object
    box: object

    @classmethod
    def empty(cls) -> "Coco":
        import numpy as np

        zeros = np.zeros(0, np.int64)
        return cls({}, {}, zeros, zeros, zeros, np.zeros((0, 4)))


def load(path: str) -> Coco | None:
    """The COCO file at ``path`` as columns; None when it is not COCO (or not valid JSON).
    Wrongly typed annotations (id, image_id, category_id, bbox) are left out, as the card
    does; images need an int id and a str file_name, categories an int id."""
    from dataver.facts import coco

    parsed = coco.box_columns(path)
    if parsed is None:
        return None
    doc, cols = parsed
    images, categories = {}, {}
    for image in doc["images"]:
        if type(image) is dict and type(image.get("id")) is int \
                and type(image.get("file_name")) is str:
            images.setdefault(image["id"], image["file_name"])
    for cat in doc["categories"]:
        if type(cat) is dict and type(cat.get("id")) is int:
            name = cat.get("name")
            categories.setdefault(cat["id"], name if type(name) is str else str(cat["id"]))
    return Coco(images, categories, cols["id"], cols["image"], cols["category"], cols["box"])


def categories_diff(a: dict, b: dict) -> dict:
    """Categories added (id only in B), removed (only in A) and renamed (same id, other
    name), each sorted by id."""
    return {"added": [{"id": i, "name": b[i]} for i in sorted(set(b) - set(a))],
            "removed": [{"id": i, "name": a[i]} for i in sorted(set(a) - set(b))],
            "renamed": [{"id": i, "a": a[i], "b": b[i]} for i in sorted(set(a) & set(b))
                        if a[i] != b[i]]}


class _Side:
    """One side's annotations as rows sorted by ``key``: the image's name index in the high
    bits, a hash of (category, bbox) in the rest. So rows are grouped by image, and the same
    boxes come in the same order on both sides whatever the order of the file (rows whose
    truncated hashes collide may not: they then only take the slower path)."""

    def __init__(self, coco: Coco, name_index: dict):
        import numpy as np

        ids = np.fromiter(coco.images, np.int64, len(coco.images))
        names = np.fromiter((name_index[n] for n in coco.images.values()), np.int64, len(ids))
        name = _lookup(ids, names, coco.image)
        known = name >= 0
        self.unknown = int(len(name) - known.sum())  # boxes of images the file does not list
        category, box, ann = coco.category, coco.box + 0.0, coco.ann  # -0.0 -> 0.0: same hash
        if self.unknown:
            name, category, box, ann = name[known], category[known], box[known], ann[known]
        shift = np.uint64(max(1, len(name_index).bit_length()))
        key = (name.astype(np.uint64) << (np.uint64(64) - shift)) | \
            (_row_hash(category, box) >> shift)
        rows = np.argsort(key)
        self.name, self.key = name[rows], key[rows]
        self.category, self.box, self.ann = category[rows], box[rows], ann[rows]
        self.image_id = {}  # name index -> image id: the first listed under that name
        for image_id, file_name in coco.images.items():
            self.image_id.setdefault(name_index[file_name], image_id)


def _lookup(ids, values, wanted):
    """``values`` at the position of each of ``wanted`` in ``ids`` (unique), -1 where absent:
    a table when the ids are dense (as they usually are), else a binary search."""
    import numpy as np

    out = np.full(len(wanted), -1, np.int64)
    if not len(ids) or not len(wanted):
        return out
    low, span = int(ids.min()), int(ids.max()) - int(ids.min()) + 1
    if span <= 8 * len(ids) + 1024:
        table = np.full(span, -1, np.int64)
        table[ids - low] = values
        at = wanted - low
        inside = (at >= 0) & (at < span)
        out[inside] = table[at[inside]]
        return out
    order = np.argsort(ids)
    ids, values = ids[order], values[order]
    at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    hit = ids[at] == wanted
    out[hit] = values[at[hit]]
    return out


def _row_hash(category, box):
    """A 64-bit hash of (category, bbox) per row: an order within an image that is the same
    for the same boxes on both sides, whatever the order of the file."""
    import numpy as np

    h = category.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    bits = np.ascontiguousarray(box).view(np.uint64)
    with np.errstate(over="ignore"):
        for col in range(4):
            h ^= bits[:, col]
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
    return h


def diff(a: Coco | None, b: Coco | None, iou: float = 0.5) -> dict:
    """The annotation diff of A and B (None: absent on that side): ``{"summary",
    "categories", "per_category", "images"}`` of the JSON shape (``images``: only those with
    a change, sorted by file name)."""
    import numpy as np

    a, b = a or Coco.empty(), b or Coco.empty()
    names = sorted(set(a.images.values()) | set(b.images.values()))
    index = {n: i for i, n in enumerate(names)}
    sa, sb = _Side(a, index), _Side(b, index)
    n = len(names)
    count_a, count_b = np.bincount(sa.name, minlength=n), np.bincount(sb.name, minlength=n)
    same = _same_images(sa, sb, count_a, count_b)
    found = _Found(len(sa.name), len(sb.name))
    # images holding the same boxes: their rows are aligned, paired by position
    found.pair(np.flatnonzero(same[sa.name]), np.flatnonzero(same[sb.name]))
    # in the others, boxes that are there as they were pair first (see _identical_rows)
    rest_a, rest_b = np.flatnonzero(~same[sa.name]), np.flatnonzero(~same[sb.name])
    found.pair(*_identical_rows(sa, sb, rest_a, rest_b))
    rest_a, rest_b = rest_a[found.kind_a[rest_a] == REMOVED], rest_b[found.kind_b[rest_b] == ADDED]
    ra, rb, ious = match(sa, sb, rest_a, rest_b, n, iou)
    same_cat = sa.category[ra] == sb.category[rb]
    equal = same_cat & (np.abs(sa.box[ra] - sb.box[rb]) <= SAME_BOX).all(axis=1)
    found.pair(ra, rb, ious, np.where(equal, UNCHANGED, np.where(same_cat, MOVED, RELABELED)))
    changed = np.zeros(n, bool)
    changed[sa.name[found.kind_a != UNCHANGED]] = True
    changed[sb.name[found.kind_b != UNCHANGED]] = True
    summary = {"images": int(changed.sum())}
    for k, name in enumerate(CLASSES):
        summary[name] = int(((found.kind_a if k == REMOVED else found.kind_b) == k).sum())
    return {"summary": summary, "categories": categories_diff(a.categories, b.categories),
            "per_category": _per_category(sa, sb, found, a.categories, b.categories),
            "images": _images(names, changed, sa, sb, found, a.categories, b.categories)}


class _Found:
    """What became of each row: its class, and for B rows the A partner and their IoU."""

    def __init__(self, rows_a: int, rows_b: int):
        import numpy as np

        self.kind_a = np.full(rows_a, REMOVED, np.int8)
        self.kind_b = np.full(rows_b, ADDED, np.int8)
        self.partner = np.full(rows_b, -1, np.int64)  # B row -> A row
        self.iou = np.full(rows_b, np.nan)

    def pair(self, ra, rb, iou=1.0, kind=UNCHANGED) -> None:
        self.kind_a[ra] = self.kind_b[rb] = kind
        self.partner[rb], self.iou[rb] = ra, iou


def _identical_rows(sa: _Side, sb: _Side, rows_a, rows_b):
    """``(A rows, B rows)``: rows of the same image with the same category and bbox (the
    k-th copy on one side with the k-th on the other). Such a box is ``unchanged`` before any
    assignment: it is there as it was. (An assignment of all boxes could, where boxes overlap
    each other a lot, reach a higher total IoU by pairing it with two neighbours instead.)
    This also leaves only the changed boxes to the quadratic part."""
    import numpy as np

    key = np.concatenate([sa.key[rows_a], sb.key[rows_b]])  # the image is in the key
    rank = np.concatenate([_rank_in_runs(sa.key[rows_a]), _rank_in_runs(sb.key[rows_b])])
    side = np.repeat([0, 1], [len(rows_a), len(rows_b)])
    order = np.lexsort((side, rank, key))
    first, second = order[:-1], order[1:]
    hit = (side[first] == 0) & (side[second] == 1) & (key[first] == key[second]) & \
        (rank[first] == rank[second])
    ra, rb = rows_a[first[hit]], rows_b[second[hit] - len(rows_a)]
    exact = (sa.category[ra] == sb.category[rb]) & (sa.box[ra] == sb.box[rb]).all(axis=1)
    return ra[exact], rb[exact]  # a hash collision is not a pair


def _rank_in_runs(key):
    """0, 1, 2... within each run of equal values of the sorted ``key``."""
    import numpy as np

    new = np.ones(len(key), bool)
    new[1:] = key[1:] != key[:-1]
    at = np.arange(len(key))
    return at - np.maximum.accumulate(np.where(new, at, 0))


def _same_images(sa: _Side, sb: _Side, count_a, count_b):
    """Per image name: true when both sides hold the same boxes (rows compared in order)."""
    import numpy as np

    even = (count_a == count_b) & (count_a > 0)
    rows_a, rows_b = np.flatnonzero(even[sa.name]), np.flatnonzero(even[sb.name])
    # exact equality: this is only the fast path (boxes equal within SAME_BOX but not exactly
    # are told unchanged by the matching)
    differ = (sa.key[rows_a] != sb.key[rows_b]) | (sa.category[rows_a] != sb.category[rows_b]) \
        | (sa.box[rows_a] != sb.box[rows_b]).any(axis=1)
    same = even.copy()
    same[sa.name[rows_a[differ]]] = False
    return same


def _per_category(sa, sb, found: _Found, cats_a: dict, cats_b: dict) -> list[dict]:
    """Counts per class and category id: a box counts under its B category, a removed one
    under its A category. Named as in B, else as in A; sorted by id."""
    import numpy as np

    ids = np.unique(np.concatenate([np.fromiter(cats_a, np.int64, len(cats_a)),
                                    np.fromiter(cats_b, np.int64, len(cats_b)),
                                    sa.category, sb.category]))
    table = np.zeros((len(ids), len(CLASSES)), np.int64)
    removed = sa.category[found.kind_a == REMOVED]
    table[:, REMOVED] = np.bincount(np.searchsorted(ids, removed), minlength=len(ids))
    at_b = np.searchsorted(ids, sb.category)
    for k in (ADDED, MOVED, RELABELED, UNCHANGED):
        table[:, k] = np.bincount(at_b[found.kind_b == k], minlength=len(ids))
    return [{"id": cid, "name": cats_b.get(cid, cats_a.get(cid, str(cid))),
             **dict(zip(CLASSES, counts))} for cid, counts in zip(ids.tolist(), table.tolist())]


def _boxes_of(side: _Side, rows, catnames: dict) -> list[dict]:
    """``{"id", "category" (name), "category_id", "bbox"}`` of each row."""
    import numpy as np

    cats = side.category[rows]
    known = np.array(sorted(catnames), dtype=np.int64)
    at = np.minimum(np.searchsorted(known, cats), max(len(known) - 1, 0))
    found = known[at] == cats if len(known) else np.zeros(len(cats), bool)
    labels = np.array([catnames[c] for c in known.tolist()] + [None], dtype=object)
    names = labels[np.where(found, at, len(known))].tolist()
    return [{"id": i, "category": name if name is not None else str(c), "category_id": c,
             "bbox": box} for i, c, name, box in zip(side.ann[rows].tolist(), cats.tolist(),
                                                      names, side.box[rows].tolist())]


def _images(names, changed, sa: _Side, sb: _Side, found: _Found, cats_a: dict,
            cats_b: dict) -> list[dict]:
    """The ``images`` rows: every box of each changed image, B's boxes first (with their A
    partner), then the removed A boxes. Only the rows of changed images become objects; an
    unchanged box whose annotation id and category name are the same on both sides is one
    object under "a" and "b" (most boxes of a changed image are such)."""
    import numpy as np

    rows_b = np.flatnonzero(changed[sb.name])
    gone = np.flatnonzero(changed[sa.name] & (found.kind_a == REMOVED))
    partner = found.partner[rows_b]
    kind = found.kind_b[rows_b]
    paired = partner >= 0
    shared = paired & (kind == UNCHANGED)
    shared[shared] = sa.ann[partner[shared]] == sb.ann[rows_b[shared]]
    # and the same category name (a renamed category is not the same box object)
    named = {c for c in set(cats_a) | set(cats_b) if cats_a.get(c) != cats_b.get(c)}
    if named and shared.any():
        shared &= ~np.isin(sb.category[rows_b], np.array(sorted(named), dtype=np.int64))
    a_boxes = iter(_boxes_of(sa, partner[paired & ~shared], cats_a))
    iou = np.round(found.iou[rows_b], 6).tolist()
    entries = [{"class": CLASSES[k], "b": b_box, "iou": v if p else None,
                "a": b_box if same else next(a_boxes) if p else None}
               for k, p, same, b_box, v in zip(kind.tolist(), paired.tolist(), shared.tolist(),
                                               _boxes_of(sb, rows_b, cats_b), iou)]
    removed = [{"class": "removed", "a": box, "b": None, "iou": None}
               for box in _boxes_of(sa, gone, cats_a)]
    images = np.flatnonzero(changed)
    per_b = np.bincount(sb.name[rows_b], minlength=len(names))[images].tolist()
    per_gone = np.bincount(sa.name[gone], minlength=len(names))[images].tolist()
    out, at_b, at_gone = [], 0, 0
    for k, nb, ng in zip(images.tolist(), per_b, per_gone):
        out.append({"file_name": names[k], "a_id": sa.image_id.get(k),
                    "b_id": sb.image_id.get(k),
                    "boxes": entries[at_b:at_b + nb] + removed[at_gone:at_gone + ng]})
        at_b, at_gone = at_b + nb, at_gone + ng
    return out
