"""Two versions of a small image dataset with a COCO file, with known changes of every class of
the visual diff (``dataver diff --images --annotations``), for the visual-diff, UI and export
tests.

API:
- :func:`write_v1(data_dir)` writes version 1 of the output folder ``data_dir``.
- :func:`write_v2(data_dir)` turns that folder, in place, into version 2.
- :func:`commit_versions(repo_dir, output="data", push=False)` does both in a dataver repo
  (the cwd): `dataver add`, `git commit`, tag ``v1``; then version 2, add, commit, tag
  ``v2``; with ``push``, `dataver push` after each add (a default remote must be set).
  Returns ``Path(repo_dir) / output``.
- :data:`EXPECTED` (file classes), :data:`EXPECTED_FILES` (status per file path, with the
  old path for renames), :data:`EXPECTED_BOXES` (box classes summed over the COCO file),
  :data:`EXPECTED_CATEGORIES`, :data:`EXPECTED_PER_CATEGORY` and :data:`EXPECTED_IMAGES` (box
  classes per changed COCO image) are what the diff v1 -> v2 must report, written out by hand
  (not computed by the code under test).

Layout (paths relative to the output): ``images/img_000.png`` ... ``images/img_011.png``
(64x48 RGB PNGs, each a distinct pattern), ``notes/readme.txt``, ``annotations/instances.json``
(COCO; ``file_name`` relative to ``images/``).
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

SIZE = (64, 48)
COCO = "annotations/instances.json"
N_IMAGES = 12

# --- file classes, v1 -> v2 -----------------------------------------------------------------
EXPECTED_FILES = {
    # path (B side; A side for removed): (status, old_path)
    "images/new_0.png": ("added", None),
    "images/new_1.png": ("added", None),
    "images/img_009.png": ("removed", None),
    "images/moved/img_008.png": ("renamed", "images/img_008.png"),
    "images/img_007.png": ("reencoded", None),      # same pixels, other PNG compression
    "images/img_006.png": ("changed", None),        # a rectangle drawn
    "images/img_005.png": ("changed", None),        # resized 64x48 -> 32x24
    "images/img_004.png": ("changed", None),        # truncated: B does not decode ("error")
    "notes/readme.txt": ("other", None),
    COCO: ("other", None),
}
EXPECTED = {"added": 2, "removed": 1, "renamed": 1, "reencoded": 1, "changed": 3,
            "unchanged": 7, "other": 2}  # unchanged: img_000..003, 010, 011 + notes/keep.txt
CORRUPT = "images/img_004.png"   # its "error" is set in the diff (B side)
RESIZED = "images/img_005.png"   # a_image 64x48, b_image 32x24

# --- the COCO file, v1 -> v2 ----------------------------------------------------------------
# categories: 1 cat, 2 dog -> "puppy" (renamed), 3 bird, 4 fish (removed), 5 horse (added)
EXPECTED_CATEGORIES = {"added": [{"id": 5, "name": "horse"}],
                       "removed": [{"id": 4, "name": "fish"}],
                       "renamed": [{"id": 2, "a": "dog", "b": "puppy"}]}
# box classes per changed image (file_name), v1 -> v2; image ids differ between the versions
EXPECTED_IMAGES = {
    "img_001.png": {"moved": 1, "unchanged": 1},     # shifted by 3 px (IoU ~0.7)
    "img_002.png": {"relabeled": 1},                 # cat -> bird, same box
    "img_003.png": {"added": 1, "removed": 1},       # far apart: no match
    "img_005.png": {"added": 1, "removed": 1},       # moved too far (IoU < 0.5)
    "img_006.png": {"removed": 1, "unchanged": 1},   # the fish (category 4) is gone
    "img_007.png": {"added": 1},                     # a horse (new category 5)
    "img_009.png": {"removed": 2},                   # the image left the COCO file
    "new_0.png": {"added": 2},                       # the image joined it
}
EXPECTED_BOXES = {"images": 8, "added": 5, "removed": 5, "moved": 1, "relabeled": 1,
                  "unchanged": 6}  # unchanged: img_000 x3 (one is a dog), 001, 006, 010
EXPECTED_PER_CATEGORY = {  # name (B's name; A's for a removed category): counts
    "cat": {"added": 1, "removed": 3, "moved": 1, "relabeled": 0, "unchanged": 4},
    "puppy": {"added": 1, "removed": 0, "moved": 0, "relabeled": 0, "unchanged": 1},
    "bird": {"added": 2, "removed": 1, "moved": 0, "relabeled": 1, "unchanged": 1},
    "fish": {"added": 0, "removed": 1, "moved": 0, "relabeled": 0, "unchanged": 0},
    "horse": {"added": 1, "removed": 0, "moved": 0, "relabeled": 0, "unchanged": 0},
}
# A relabeled box counts under its B category.


def image_bytes(seed: int, size=SIZE, compress_level: int = 6, mark: bool = False) -> bytes:
    """A deterministic PNG: a pattern that depends on ``seed`` (so every image differs);
    ``mark`` draws a filled rectangle over it (a pixel change)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(img)
    for band in range(8):
        colour = ((seed * 37 + band * 29) % 256, (seed * 91 + band * 13) % 256,
                  (seed * 53 + band * 71) % 256)
        draw.rectangle([band * 8, 0, band * 8 + 7, SIZE[1]], fill=colour)
    draw.ellipse([seed % 20, 5, seed % 20 + 30, 35], outline=(255, 255, 255))
    if mark:
        draw.rectangle([10, 10, 40, 30], fill=(255, 0, 0))
    if size != SIZE:
        img = img.resize(size)
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=compress_level)
    return out.getvalue()


def _ann(aid, image_id, cat, box):
    x, y, w, h = box
    return {"id": aid, "image_id": image_id, "category_id": cat, "bbox": list(box),
            "area": w * h, "iscrowd": 0, "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]}


# boxes per file_name: [(category, [x, y, w, h])]
_BOXES_V1 = {
    "img_000.png": [(1, [2, 2, 20, 10]), (1, [30, 20, 12, 12]), (2, [5, 30, 10, 10])],
    "img_001.png": [(1, [4, 4, 20, 20]), (3, [40, 5, 10, 10])],
    "img_002.png": [(1, [10, 10, 20, 20])],
    "img_003.png": [(1, [0, 0, 10, 10])],
    "img_005.png": [(3, [0, 0, 10, 10])],
    "img_006.png": [(1, [0, 0, 16, 16]), (4, [30, 30, 10, 10])],
    "img_007.png": [],
    "img_009.png": [(1, [1, 1, 8, 8]), (1, [20, 20, 8, 8])],
    "img_010.png": [(1, [3, 3, 30, 30])],
}
_BOXES_V2 = {
    "img_000.png": [(2, [5, 30, 10, 10]), (1, [2, 2, 20, 10]), (1, [30, 20, 12, 12])],
    "img_001.png": [(1, [7, 4, 20, 20]), (3, [40, 5, 10, 10])],
    "img_002.png": [(3, [10, 10, 20, 20])],
    "img_003.png": [(1, [40, 30, 10, 10])],
    "img_005.png": [(3, [8, 0, 10, 10])],
    "img_006.png": [(1, [0, 0, 16, 16])],
    "img_007.png": [(5, [5, 5, 20, 20])],
    "new_0.png": [(3, [1, 1, 8, 8]), (2, [20, 20, 8, 8])],
    "img_010.png": [(1, [3, 3, 30, 30])],
}
_CATS_V1 = [(1, "cat"), (2, "dog"), (3, "bird"), (4, "fish")]
_CATS_V2 = [(1, "cat"), (2, "puppy"), (3, "bird"), (5, "horse")]


def coco_doc(version: int) -> dict:
    """The COCO document of ``version`` (1 or 2). Version 2 numbers images from 100 and
    annotations from 500, in another order: the diff matches by file_name and geometry."""
    boxes, cats = (_BOXES_V1, _CATS_V1) if version == 1 else (_BOXES_V2, _CATS_V2)
    names = sorted(boxes) if version == 1 else sorted(boxes, reverse=True)
    base_img, base_ann = (1, 1) if version == 1 else (100, 500)
    images, anns = [], []
    for i, name in enumerate(names):
        w, h = (32, 24) if (version == 2 and name == "img_005.png") else SIZE
        images.append({"id": base_img + i, "file_name": name, "width": w, "height": h})
        for cat, box in boxes[name]:
            anns.append(_ann(base_ann + len(anns), base_img + i, cat, box))
    return {"images": images, "annotations": anns,
            "categories": [{"id": c, "name": n, "supercategory": "animal"} for c, n in cats]}


def write_v1(data_dir) -> None:
    """Version 1 of the output folder ``data_dir`` (created)."""
    root = Path(data_dir)
    (root / "images").mkdir(parents=True)
    for i in range(N_IMAGES):
        (root / "images" / f"img_{i:03d}.png").write_bytes(image_bytes(i))
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("version 1\n")
    (root / "notes" / "keep.txt").write_text("unchanged\n")
    (root / "annotations").mkdir()
    (root / COCO).write_text(json.dumps(coco_doc(1)))


def write_v2(data_dir) -> None:
    """Turn version 1 in ``data_dir`` into version 2 (see :data:`EXPECTED_FILES`)."""
    root = Path(data_dir)
    img = root / "images"
    for name in ("img_004.png", "img_005.png", "img_006.png", "img_007.png"):
        os.chmod(img / name, 0o644)  # a link or read-only copy from the cache: write anew
        os.unlink(img / name)
    (img / "new_0.png").write_bytes(image_bytes(100))
    (img / "new_1.png").write_bytes(image_bytes(101))
    os.unlink(img / "img_009.png")
    (img / "moved").mkdir()
    os.rename(img / "img_008.png", img / "moved" / "img_008.png")
    (img / "img_007.png").write_bytes(image_bytes(7, compress_level=0))
    (img / "img_006.png").write_bytes(image_bytes(6, mark=True))
    (img / "img_005.png").write_bytes(image_bytes(5, size=(32, 24)))
    (img / "img_004.png").write_bytes(image_bytes(4)[:120])
    for rel, text in (("notes/readme.txt", "version 2\n"), (COCO, json.dumps(coco_doc(2)))):
        path = root / rel
        if path.exists():
            os.chmod(path, 0o644)
            os.unlink(path)
        path.write_text(text)


def commit_versions(repo_dir, output: str = "data", push: bool = False) -> Path:
    """In the dataver repo ``repo_dir`` (the current directory): version 1 added, committed and
    tagged ``v1``; version 2 the same as ``v2``; each pushed to the default remote with
    ``push``. Returns the output's path."""
    from dataver.cli.main import main
    from tests.conftest import git

    data = Path(repo_dir) / output
    for version, write in ((1, write_v1), (2, write_v2)):
        write(data)
        assert main(["add", "-q", output]) == 0
        if push:
            assert main(["push", "-q"]) == 0
        git(repo_dir, "add", "-A")
        git(repo_dir, "commit", "-qm", f"v{version}")
        git(repo_dir, "tag", f"v{version}")
    return data
