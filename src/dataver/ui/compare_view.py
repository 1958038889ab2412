"""The comparison page's model, from the visual diff (:mod:`dataver.visual.model`, JSON shape in
its docs): one *item* per changed image (its file changed, its boxes changed, or both), the
filters by class with their counts, and the summaries. Pure: no I/O.

An item's boxes come from the COCO file whose images base resolves its path; ``bases`` maps
``(output, COCO path in the output)`` to the images base of each side (paths relative to the
output), found by the caller as the file page does.
"""
from __future__ import annotations

import posixpath

FILE_CLASSES = ("added", "removed", "renamed", "reencoded", "changed")
BOX_CLASSES = ("added", "removed", "moved", "relabeled")
FILTERS = FILE_CLASSES + tuple(f"boxes-{c}" for c in BOX_CLASSES)
LABELS = {"added": "added", "removed": "removed", "renamed": "renamed", "reencoded": "re-encoded",
          "changed": "pixels changed", "boxes-added": "boxes added",
          "boxes-removed": "boxes removed", "boxes-moved": "boxes moved",
          "boxes-relabeled": "boxes relabeled"}


def items(result: dict, bases: dict, files_of) -> list[dict]:
    """Every changed image of every output in ``result``, sorted by output then path.
    ``files_of(output, side)`` -> ``{relpath: md5}`` of that side (``{}`` if absent)."""
    found: dict[tuple[str, str], dict] = {}
    for out in result.get("outputs") or []:
        name = out["path"]
        for row in out.get("files") or []:
            if row["status"] in FILE_CLASSES and _is_image(row):
                found[(name, row["path"])] = _file_item(name, row)
        for coco in out.get("annotations") or []:
            a_base, b_base = bases.get((name, coco["path"]), (None, None))
            for image in coco.get("images") or []:
                _add_boxes(found, name, image, a_base, b_base, files_of)
    return [found[k] for k in sorted(found)]


def _is_image(row: dict) -> bool:
    """An image on either side (by its header, or by its extension when it does not read)."""
    from dataver.ui.coco import is_image

    return bool(row.get("a_image") or row.get("b_image")) or is_image(row["path"]) or \
        bool(row.get("old_path") and is_image(row["old_path"]))


def _file_item(output: str, row: dict) -> dict:
    return {"output": output, "path": row["path"], "old_path": row.get("old_path"),
            "status": row["status"], "error": row.get("error"),
            "a": _side(row.get("old_path") or row["path"], row.get("a_md5"), row.get("a_image")),
            "b": _side(row["path"], row.get("b_md5"), row.get("b_image")),
            "boxes": [], "counts": {}}


def _side(path: str, md5: str | None, image: dict | None) -> dict | None:
    if md5 is None:
        return None
    image = image or {}
    return {"path": path, "md5": md5, "width": image.get("width"), "height": image.get("height")}


def _add_boxes(found: dict, output: str, image: dict, a_base, b_base, files_of) -> None:
    """Merge one COCO image's box changes into its item (made when its file did not change)."""
    name = image["file_name"]
    b_path = _join(b_base, name) if b_base is not None else None
    a_path = _join(a_base, name) if a_base is not None else None
    b_md5 = files_of(output, "b").get(b_path) if b_path else None
    a_md5 = files_of(output, "a").get(a_path) if a_path else None
    path = b_path if b_md5 else a_path if a_md5 else (b_path or a_path or name)
    item = found.get((output, path))
    if item is None:
        item = found[(output, path)] = {
            "output": output, "path": path, "old_path": None, "status": None, "error": None,
            "a": _side(a_path, a_md5, None), "b": _side(b_path, b_md5, None),
            "boxes": [], "counts": {}}
    item["boxes"] += image.get("boxes") or []
    for box in image.get("boxes") or []:
        item["counts"][box["class"]] = item["counts"].get(box["class"], 0) + 1


def _join(base: str, name: str) -> str:
    name = posixpath.normpath(str(name).replace("\\", "/"))
    return posixpath.join(base, name) if base else name


def classes(item: dict) -> set[str]:
    """The filters ``item`` passes: its file status, and ``boxes-<class>`` per box class."""
    found = {item["status"]} if item["status"] else set()
    found |= {f"boxes-{c}" for c, n in item["counts"].items() if n and c in BOX_CLASSES}
    return found


def filters(all_items: list[dict]) -> list[dict]:
    """``{"value", "label", "count"}`` per filter with at least one item, in a fixed order."""
    counts = dict.fromkeys(FILTERS, 0)
    for item in all_items:
        for cls in classes(item):
            counts[cls] += 1
    return [{"value": f, "label": LABELS[f], "count": counts[f]} for f in FILTERS if counts[f]]


def chosen(all_items: list[dict], cls: str | None) -> list[dict]:
    """The items that pass filter ``cls`` (all when None)."""
    return [i for i in all_items if cls is None or cls in classes(i)]


def summaries(result: dict) -> list[dict]:
    """Per output: file counts per class, and per COCO file its box counts, category changes
    and per-category table."""
    rows = []
    for out in result.get("outputs") or []:
        summary = out.get("summary") or {}
        rows.append({
            "path": out["path"], "a_md5": out.get("a_md5"), "b_md5": out.get("b_md5"),
            "files": [{"label": LABELS.get(k, k), "key": k, "count": summary.get(k, 0)}
                      for k in ("added", "removed", "renamed", "reencoded", "changed", "other",
                                "unchanged")],
            "others": [r["path"] for r in out.get("files") or []
                       if r["status"] == "other" or not _is_image(r)],
            "annotations": [_coco(c) for c in out.get("annotations") or []],
        })
    return rows


def _coco(coco: dict) -> dict:
    summary = coco.get("summary") or {}
    cats = coco.get("categories") or {}
    changes = [f"added: {c.get('name')} ({c.get('id')})" for c in cats.get("added") or []]
    changes += [f"removed: {c.get('name')} ({c.get('id')})" for c in cats.get("removed") or []]
    changes += [f"renamed: {c.get('a')} → {c.get('b')} ({c.get('id')})"
                for c in cats.get("renamed") or []]
    return {"path": coco["path"], "images": summary.get("images", 0),
            "boxes": [{"key": k, "count": summary.get(k, 0)}
                      for k in ("added", "removed", "moved", "relabeled", "unchanged")],
            "categories": changes,
            "per_category": [[c.get("name")] + [c.get(k, 0) for k in BOX_CLASSES + ("unchanged",)]
                             for c in coco.get("per_category") or []]}


def shapes(item: dict, side: str) -> list[dict]:
    """The boxes drawn on side ``side`` ("a" or "b") of ``item``: ``{"bbox", "label", "class"}``
    (an A box is drawn when it was removed, moved, relabeled or kept; a B box likewise)."""
    result = []
    for box in item["boxes"]:
        own = box.get(side)
        if own and own.get("bbox"):
            result.append({"bbox": own["bbox"], "label": str(own.get("category", "")),
                           "class": box["class"]})
    return result
