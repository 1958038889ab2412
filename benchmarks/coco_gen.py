"""Generate a synthetic, realistic COCO instances file (deterministic per seed).

``make_coco(path, images=20000, annotations=200000, categories=80, seed=0, file_names=None)``
writes a file shaped like COCO's ``instances_*.json``: ``info``, ``licenses``, ``images`` with
sizes between 320 and 1920 px, ``annotations`` with boxes inside their image, polygon
segmentations of 4 to 30 vertices, about 1% crowd annotations with uncompressed RLE, ``area``
smaller than the box (as a polygon's is), a skewed category distribution (COCO's 80 ids and names
when there are at most 80), a skewed number of boxes per image and a few images without
annotations. Annotations are shuffled, as in real files where they are not grouped by image.
No defect is planted on purpose (random boxes may still repeat one another now and then).

Used by the card benchmark and the COCO fact tests; it returns the true figures so they can be
compared with what the card reports. The annotations are written in chunks, so a 1,000,000-box
file does not need the whole document in memory at once.

Run as a script: ``python benchmarks/coco_gen.py OUT.json [--images N] [--annotations N]``.
"""
from __future__ import annotations

import argparse
import math

import numpy as np
import orjson

# COCO 2017 ids (1..90 with gaps) and names, so generated files look like the real one
COCO_CATEGORIES = [
    (1, "person", "person"), (2, "bicycle", "vehicle"), (3, "car", "vehicle"),
    (4, "motorcycle", "vehicle"), (5, "airplane", "vehicle"), (6, "bus", "vehicle"),
    (7, "train", "vehicle"), (8, "truck", "vehicle"), (9, "boat", "vehicle"),
    (10, "traffic light", "outdoor"), (11, "fire hydrant", "outdoor"), (13, "stop sign", "outdoor"),
    (14, "parking meter", "outdoor"), (15, "bench", "outdoor"), (16, "bird", "animal"),
    (17, "cat", "animal"), (18, "dog", "animal"), (19, "horse", "animal"), (20, "sheep", "animal"),
    (21, "cow", "animal"), (22, "elephant", "animal"), (23, "bear", "animal"),
    (24, "zebra", "animal"), (25, "giraffe", "animal"), (27, "backpack", "accessory"),
    (28, "umbrella", "accessory"), (31, "handbag", "accessory"), (32, "tie", "accessory"),
    (33, "suitcase", "accessory"), (34, "frisbee", "sports"), (35, "skis", "sports"),
    (36, "snowboard", "sports"), (37, "sports ball", "sports"), (38, "kite", "sports"),
    (39, "baseball bat", "sports"), (40, "baseball glove", "sports"), (41, "skateboard", "sports"),
    (42, "surfboard", "sports"), (43, "tennis racket", "sports"), (44, "bottle", "kitchen"),
    (46, "wine glass", "kitchen"), (47, "cup", "kitchen"), (48, "fork", "kitchen"),
    (49, "knife", "kitchen"), (50, "spoon", "kitchen"), (51, "bowl", "kitchen"),
    (52, "banana", "food"), (53, "apple", "food"), (54, "sandwich", "food"),
    (55, "orange", "food"), (56, "broccoli", "food"), (57, "carrot", "food"),
    (58, "hot dog", "food"), (59, "pizza", "food"), (60, "donut", "food"), (61, "cake", "food"),
    (62, "chair", "furniture"), (63, "couch", "furniture"), (64, "potted plant", "furniture"),
    (65, "bed", "furniture"), (67, "dining table", "furniture"), (70, "toilet", "furniture"),
    (72, "tv", "electronic"), (73, "laptop", "electronic"), (74, "mouse", "electronic"),
    (75, "remote", "electronic"), (76, "keyboard", "electronic"), (77, "cell phone", "electronic"),
    (78, "microwave", "appliance"), (79, "oven", "appliance"), (80, "toaster", "appliance"),
    (81, "sink", "appliance"), (82, "refrigerator", "appliance"), (84, "book", "indoor"),
    (85, "clock", "indoor"), (86, "vase", "indoor"), (87, "scissors", "indoor"),
    (88, "teddy bear", "indoor"), (89, "hair drier", "indoor"), (90, "toothbrush", "indoor"),
]
SIZES = [(640, 480), (480, 640), (640, 427), (427, 640), (320, 240), (800, 600), (1024, 768),
         (1280, 720), (1920, 1080), (640, 640), (500, 375), (1600, 1200)]
CHUNK = 20000  # annotations serialised at a time


def _categories(count: int) -> list[dict]:
    cats = [{"supercategory": sup, "id": cid, "name": name} for cid, name, sup in COCO_CATEGORIES]
    cats += [{"supercategory": "other", "id": 90 + i, "name": f"class_{90 + i}"}
             for i in range(1, count - len(cats) + 1)]
    return cats[:count]


def _images(rng, count: int, file_names) -> list[dict]:
    """Image entries; ``file_names`` items are names or (name, width, height)."""
    picks = rng.integers(0, len(SIZES), count)
    out = []
    for i in range(count):
        width, height = SIZES[int(picks[i])]
        name = f"{i + 1:012d}.jpg"
        if file_names is not None:
            item = file_names[i]
            name, width, height = (item, width, height) if isinstance(item, str) else item
        out.append({"license": 1 + i % 8, "file_name": name, "coco_url": "", "height": int(height),
                    "width": int(width), "date_captured": "2013-11-14 11:18:45", "id": i + 1})
    return out


def _boxes_per_image(rng, images: int, annotations: int):
    """A skewed split of ``annotations`` over images: 1% of them left empty on purpose, a
    few more by chance (about 2.5% in all at 10 boxes per image, as in COCO's own files)."""
    weights = rng.lognormal(0.0, 0.7, images)
    empty = rng.random(images) < 0.01
    if empty.all():
        empty[0] = False
    weights[empty] = 0.0
    return rng.multinomial(annotations, weights / weights.sum())


def _boxes(rng, img_w, img_h):
    """Boxes inside their image, areas log-uniform so COCO's size bands are all populated."""
    n = len(img_w)
    full = img_w * img_h
    area = np.exp(rng.uniform(math.log(16.0), np.log(full * 0.8)))
    aspect = np.exp(rng.normal(0.0, 0.6, n))
    w = np.minimum(np.sqrt(area * aspect), img_w - 1.0)
    h = np.minimum(area / np.maximum(w, 1.0), img_h - 1.0)
    w, h = np.maximum(np.round(w, 2), 1.0), np.maximum(np.round(h, 2), 1.0)
    x = np.round(rng.random(n) * (img_w - w), 2)
    y = np.round(rng.random(n) * (img_h - h), 2)
    return x, y, w, h


def _polygons(rng, x, y, w, h) -> list[list[list[float]]]:
    """One polygon per box: 4 to 30 vertices on a jittered ellipse inscribed in the box."""
    nverts = rng.integers(4, 31, len(x))
    owner = np.repeat(np.arange(len(x)), nverts)
    # angles sorted inside each polygon: sort on owner + fraction
    angle = np.sort(owner + rng.random(len(owner))) - owner
    radius = 1.0 - 0.3 * rng.random(len(owner))
    px = x[owner] + w[owner] / 2 * (1 + radius * np.cos(2 * np.pi * angle))
    py = y[owner] + h[owner] / 2 * (1 + radius * np.sin(2 * np.pi * angle))
    flat = np.round(np.stack([px, py], axis=1).ravel(), 2).tolist()
    ends = np.cumsum(nverts * 2).tolist()
    starts = [0] + ends[:-1]
    return [[flat[s:e]] for s, e in zip(starts, ends)]


def _rle(rng, height: int, width: int) -> dict:
    """An uncompressed RLE (as COCO's crowd annotations have) whose runs cover the image."""
    total = height * width
    cuts = np.sort(rng.integers(0, total, 2 * int(rng.integers(5, 60))))
    counts = np.diff(np.concatenate([[0], cuts, [total]])).tolist()
    return {"counts": counts, "size": [height, width]}


def _annotation_chunk(rng, first_id, img_ids, img_w, img_h, cat_ids, cat_p):
    n = len(img_ids)
    x, y, w, h = _boxes(rng, img_w, img_h)
    cats = rng.choice(cat_ids, n, p=cat_p)
    crowd = rng.random(n) < 0.01
    fill = rng.uniform(0.55, 0.8, n)  # polygon area as a share of its box
    polys = _polygons(rng, x, y, w, h)
    out = []
    for i, (xi, yi, wi, hi) in enumerate(zip(x.tolist(), y.tolist(), w.tolist(), h.tolist())):
        seg = _rle(rng, int(img_h[i]), int(img_w[i])) if crowd[i] else polys[i]
        out.append({"segmentation": seg, "area": round(wi * hi * float(fill[i]), 4),
                    "iscrowd": int(crowd[i]), "image_id": int(img_ids[i]), "bbox": [xi, yi, wi, hi],
                    "category_id": int(cats[i]), "id": first_id + i})
    return out


def make_coco(path: str, images: int = 20000, annotations: int = 200000, categories: int = 80,
              seed: int = 0, file_names=None) -> dict:
    """Write the COCO file at ``path``; return its true figures.

    ``file_names``: optional list of image file names, or of (name, width, height) tuples for
    images that exist on disk; its length then sets the number of images.
    Returns ``{"images", "annotations", "categories", "images_without_annotations", "crowd",
    "instances": {category_id: n}}``.
    """
    rng = np.random.default_rng(seed)
    if file_names is not None:
        images = len(file_names)
    cats = _categories(categories)
    imgs = _images(rng, images, file_names)
    per_image = _boxes_per_image(rng, images, annotations) if images else np.zeros(0, int)
    owner = rng.permutation(np.repeat(np.arange(images), per_image))
    ids = np.array([im["id"] for im in imgs], dtype=np.int64)
    widths = np.array([im["width"] for im in imgs], dtype=np.float64)
    heights = np.array([im["height"] for im in imgs], dtype=np.float64)
    cat_ids = np.array([c["id"] for c in cats], dtype=np.int64)
    zipf = 1.0 / np.arange(1, len(cats) + 1) ** 1.1
    cat_p = zipf / zipf.sum()
    instances: dict[int, int] = {}
    crowd = 0
    with open(path, "wb") as fobj:
        head = {"info": {"description": "dataver synthetic COCO", "version": "1.0", "year": 2024,
                         "contributor": "dataver", "date_created": "2024/01/01"},
                "licenses": [{"url": "", "id": i, "name": f"license {i}"} for i in range(1, 9)],
                "images": imgs}
        fobj.write(orjson.dumps(head)[:-1] + b',"annotations":[')
        for start in range(0, len(owner), CHUNK):
            sel = owner[start:start + CHUNK]
            chunk = _annotation_chunk(rng, start + 1, ids[sel], widths[sel], heights[sel],
                                      cat_ids, cat_p)
            for ann in chunk:
                instances[ann["category_id"]] = instances.get(ann["category_id"], 0) + 1
                crowd += ann["iscrowd"]
            fobj.write((b"," if start else b"") + orjson.dumps(chunk)[1:-1])
        fobj.write(b'],"categories":' + orjson.dumps(cats) + b"}")
    return {"images": images, "annotations": len(owner), "categories": len(cats),
            "images_without_annotations": int((per_image == 0).sum()), "crowd": crowd,
            "instances": dict(sorted(instances.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--annotations", type=int, default=200000)
    parser.add_argument("--categories", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    truth = make_coco(args.out, args.images, args.annotations, args.categories, args.seed)
    print({k: v for k, v in truth.items() if k != "instances"})


if __name__ == "__main__":
    main()
