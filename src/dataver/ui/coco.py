"""The COCO boxes, labels and polygons of one image, for the file page.

The COCO files of a revision are found among the `.json` files of its outputs by their fact
(:mod:`dataver.facts.coco`, computed once per object); each one's images base is guessed as
the data cards do (:func:`dataver.cards.coco_checks.guess_base`, against every image path of
the revision, so a COCO file may name images of another output). An image at path P belongs
to the COCO file whose base is a folder above P and which lists P's name under that base.

:class:`CocoIndex` makes one pass over a file: the annotations array is cut into pieces
(:mod:`dataver.facts.json_pieces`) and only the image id of each annotation is kept, with its
piece. The annotations of one image are then read back from the pieces that hold them, with
their polygons, so a big file is never held as Python objects.
"""
from __future__ import annotations

import os
import posixpath
import time

from dataver.cards.build import IMAGE_EXTENSIONS

IMAGE_EXT = {e for exts in IMAGE_EXTENSIONS.values() for e in exts}
MAX_SHAPES = 2000  # annotations drawn on one image


def is_image(path: str) -> bool:
    """Whether ``path`` has an image extension (the cards' list)."""
    return posixpath.splitext(path)[1].lower() in IMAGE_EXT


class CocoFile:
    """A COCO file of a revision: repo path, md5, images base (repo-relative) and its image
    names -> (image id, width, height) (made on the first lookup)."""

    def __init__(self, path: str, md5: str, base: str, fact: dict):
        self.path, self.md5, self.base = path, md5, base
        self._fact, self._names = fact, None

    def lookup(self, repo_path: str):
        """``(image id, width, height, file_name)`` of the image at ``repo_path``, or None."""
        prefix = self.base + "/" if self.base else ""
        if not repo_path.startswith(prefix):
            return None
        if self._names is None:
            self._names = {}
            for name, width, height, image_id in self._fact.get("image_files") or []:
                clean = posixpath.normpath(str(name).replace("\\", "/"))
                self._names.setdefault(clean, (image_id, width, height, name))
        return self._names.get(repo_path[len(prefix):])


def coco_files(service, rev) -> list[CocoFile]:
    """The COCO files of every output at ``rev`` whose images base was found (worker thread)."""
    hit = service.cocos.get(rev.key)
    if hit is not None and (rev.sha or time.monotonic() - hit[0] < 5.0):
        return hit[1]
    listings = [service.listing(rev, path) for path in service.outputs(rev)]
    jsons = [(ls, rel, md5) for ls in listings for rel, md5 in ls.files.items()
             if rel.lower().endswith(".json") or (ls.single and ls.path.lower().endswith(".json"))]
    facts = _facts(service, jsons)
    found = []
    for listing, rel, md5 in jsons:
        fact = facts.get(md5) or {}
        if fact.get("type") == "coco":
            base = images_base(fact, listings)
            if base is not None:
                found.append(CocoFile(listing.repo_path(rel), md5, base, fact))
    service.cocos.put(rev.key, (time.monotonic(), found))
    return found


def images_base(fact: dict, listings) -> str | None:
    """:func:`~dataver.cards.coco_checks.guess_base` over the image paths (repo-relative) of
    ``listings``, given only the paths it can look at (those named like its sample): the same
    answer, without a pass of Python string work over every path of a large output."""
    from dataver.cards.coco_checks import GUESS_SAMPLE, guess_base

    files = fact.get("image_files") or []
    if not files:
        return None
    step = max(len(files) / GUESS_SAMPLE, 1)
    wanted = {str(files[int(i * step)][0]).replace("\\", "/").rpartition("/")[2]
              for i in range(min(len(files), GUESS_SAMPLE))}
    paths = [ls.repo_path(rel) for ls in listings for rel in ls.files
             if rel.rpartition("/")[2] in wanted or (ls.single and
                                                     ls.path.rpartition("/")[2] in wanted)]
    return guess_base(fact, [p for p in paths if is_image(p)])


def _facts(service, jsons) -> dict[str, dict]:
    """Basic facts of the JSON files (computed for those never seen; their objects fetched)."""
    from dataver.facts import FactStore, collect

    if not jsons:
        return {}
    store = FactStore(service.repo.cache_dir, shared=service.repo.odb.shared)
    try:
        known = store.get_many([md5 for _l, _r, md5 in jsons], "basic")
        todo = [(ls, rel, md5) for ls, rel, md5 in jsons if md5 not in known]
        if todo:
            service.fetch([md5 for _l, _r, md5 in todo])
            items = [(md5, path, os.path.getsize(path), ls.repo_path(rel)) for ls, rel, md5 in todo
                     if (path := service.cached_path(md5)) is not None]
            basic, _deep = collect(store, items)
            known.update(basic)
        return known
    finally:
        store.close()


def image_annotations(service, rev, repo_path: str) -> dict | None:
    """The overlay of the image at ``repo_path``: ``{"coco", "file_name", "width",
    "height", "shapes": [{"id", "label", "bbox", "polygons"}], "more"}`` from the first COCO
    file listing it; None when none does (worker thread)."""
    for coco in coco_files(service, rev):
        found = coco.lookup(repo_path)
        if found is None:
            continue
        image_id, width, height, file_name = found
        index = service.coco_indexes.get(coco.md5)
        if index is None:
            path = service.object_path(coco.md5)
            if path is None:
                return None
            index = service.coco_indexes.put(coco.md5, CocoIndex(path))
        shapes = index.annotations(image_id)
        return {"coco": coco.path, "file_name": file_name, "width": width, "height": height,
                "shapes": shapes[:MAX_SHAPES], "more": max(0, len(shapes) - MAX_SHAPES)}
    return None


class CocoIndex:
    """Where the annotations of each image are in one COCO file (see the module doc)."""

    def __init__(self, path: str):
        import numpy as np

        from dataver.facts import json_pieces

        self.path = path
        with open(path, "rb") as fobj:
            data = fobj.read()
        self.offset = 3 if data[:3] == b"\xef\xbb\xbf" else 0
        data = data[self.offset:]
        split = json_pieces.split(data)
        self.whole = None
        if isinstance(split, tuple):
            doc = json_pieces.loads(split[0])
            if isinstance(doc, dict) and doc.get("annotations") == [json_pieces.SENTINEL]:
                self.spans, images, pieces = [], [], []
                for k, (piece, (begin, end, _o, _c)) in enumerate(
                        zip(json_pieces.parse_pieces(data, split[1]), split[1])):
                    ids = [a.get("image_id") if isinstance(a, dict) else None for a in piece]
                    images.append(np.array([i if type(i) is int else -1 for i in ids], np.int64))
                    pieces.append(np.full(len(ids), k, np.int32))
                    self.spans.append((begin, end))
                self.image = np.concatenate(images) if images else np.zeros(0, np.int64)
                self.piece = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
                self.categories = _categories(doc)
                return
        doc = json_pieces.loads(data)  # small or odd files: kept whole
        self.whole = [a for a in doc.get("annotations") or [] if isinstance(a, dict)]
        self.categories = _categories(doc)

    def annotations(self, image_id) -> list[dict]:
        """The shapes of image ``image_id``, in the file's order."""
        if self.whole is not None:
            return [_shape(a, self.categories) for a in self.whole if a.get("image_id") == image_id]
        import numpy as np

        from dataver.facts import json_pieces

        result = []
        with open(self.path, "rb") as fobj:
            for k in np.unique(self.piece[self.image == image_id]).tolist():
                begin, end = self.spans[k]
                fobj.seek(self.offset + begin)
                piece = json_pieces.loads(b"[" + fobj.read(end - begin) + b"]")
                result += [_shape(a, self.categories) for a in piece
                           if isinstance(a, dict) and a.get("image_id") == image_id]
        return result


def _categories(doc) -> dict:
    cats = doc.get("categories") if isinstance(doc, dict) else None
    return {c.get("id"): str(c.get("name", "")) for c in cats or [] if isinstance(c, dict)}


def _shape(ann: dict, categories: dict) -> dict:
    """One annotation as the page draws it; malformed boxes and polygons are left out."""
    box = ann.get("bbox")
    box = [float(v) for v in box] if isinstance(box, list) and len(box) == 4 and \
        all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box) else None
    polygons = []
    seg = ann.get("segmentation")
    if isinstance(seg, list):
        for poly in seg:
            if isinstance(poly, list) and len(poly) >= 6 and \
                    all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in poly):
                polygons.append([float(v) for v in poly[:len(poly) // 2 * 2]])
    category = ann.get("category_id")
    label = categories.get(category, f"category {category}")
    return {"id": ann.get("id"), "category": category, "label": label, "bbox": box,
            "polygons": polygons}
