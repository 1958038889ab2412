"""Generated sample data: small PNG images and a COCO annotation file, deterministic per seed.

Used by `dataver demo`, the tests and the benchmarks, so no dataset has to be downloaded.
"""
from __future__ import annotations

import json
import os
import random
import struct
import zlib


def png_bytes(width: int, height: int, rng: random.Random) -> bytes:
    """A valid RGB PNG with a random gradient and a random rectangle."""
    base = [rng.randrange(256) for _ in range(3)]
    x0, y0 = rng.randrange(width // 2), rng.randrange(height // 2)
    x1, y1 = x0 + rng.randrange(4, width // 2), y0 + rng.randrange(4, height // 2)
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            inside = x0 <= x < x1 and y0 <= y < y1
            row += bytes(((c + x * 3 + y * 2 + (120 if inside else 0)) % 256) for c in base)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 6)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


CATEGORIES = [{"id": 1, "name": "cat", "supercategory": "animal"},
              {"id": 2, "name": "dog", "supercategory": "animal"},
              {"id": 3, "name": "car", "supercategory": "vehicle"}]


def make_cv_dataset(root: str, n_images: int = 40, seed: int = 0, size: int = 48) -> dict:
    """Write ``root/images/img_XXXX.png`` and ``root/annotations/instances.json`` (COCO); returns
    the COCO document."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    images, annotations = [], []
    for i in range(n_images):
        name = f"img_{i:04d}.png"
        with open(os.path.join(root, "images", name), "wb") as fobj:
            fobj.write(png_bytes(size, size, rng))
        images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
        for _ in range(rng.randrange(1, 3)):
            w, h = rng.randrange(4, size // 2), rng.randrange(4, size // 2)
            annotations.append({
                "id": len(annotations) + 1, "image_id": i + 1,
                "category_id": rng.choice(CATEGORIES)["id"],
                "bbox": [rng.randrange(size - w), rng.randrange(size - h), w, h],
                "area": w * h, "iscrowd": 0,
            })
    coco = {"images": images, "annotations": annotations, "categories": CATEGORIES}
    write_coco(root, coco)
    return coco


def write_coco(root: str, coco: dict) -> None:
    with open(os.path.join(root, "annotations", "instances.json"), "w", encoding="utf-8") as fobj:
        json.dump(coco, fobj, indent=1)


def make_flat_files(root: str, count: int, size: int, seed: int = 0, per_dir: int = 1000) -> None:
    """``count`` files of ``size`` random bytes under ``root``, ``per_dir`` per subdirectory."""
    rng = random.Random(seed)
    for i in range(count):
        sub = os.path.join(root, f"d{i // per_dir:03d}")
        if i % per_dir == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i:06d}.bin"), "wb") as fobj:
            fobj.write(rng.randbytes(size))


def make_large_file(path: str, size: int, seed: int = 0, chunk: int = 1 << 22) -> None:
    """A file of ``size`` pseudo-random bytes, written in chunks so memory stays small."""
    rng = random.Random(seed)
    with open(path, "wb") as fobj:
        left = size
        while left > 0:
            n = min(chunk, left)
            fobj.write(rng.randbytes(n))
            left -= n


def modify_fraction(root: str, fraction: float, seed: int = 1) -> list[str]:
    """Rewrite every ``1/fraction``-th file under ``root`` (sorted order) with new random bytes of
    the same size; returns the relative paths changed. Deterministic, so two copies change alike."""
    files = sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names
    )
    step = max(1, round(1 / fraction)) if fraction > 0 else 0
    chosen = files[::step] if step else []
    rng = random.Random(seed)
    for rel in chosen:
        path = os.path.join(root, rel)
        size = os.path.getsize(path)
        with open(path, "wb") as fobj:
            fobj.write(rng.randbytes(size))
    return chosen
