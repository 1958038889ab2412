"""A small image dataset with a COCO file and one planted defect of each kind a card reports,
for the end-to-end card tests. ``PLANTED`` says which check each defect must raise, and how
many times."""
from __future__ import annotations

import io
import json
import struct
from pathlib import Path

# check code -> count the dataset below must make the card report
PLANTED = {
    "file.empty": 1,                    # notes/empty.txt
    "file.duplicate": 1,                # images/copy_of_0.jpg == images/000000.jpg
    "image.corrupt": 1,                 # images/truncated.jpg
    "image.format-mismatch": 1,         # images/really_png.jpg
    "image.mixed-modes": 1,             # images/gray.png (L among RGB)
    "coco.duplicate-image-id": 1,       # two images with id 3
    "coco.duplicate-annotation-id": 1,  # two annotations with id 7
    "coco.duplicate-category-id": 1,    # two categories with id 2
    "coco.unknown-image-id": 1,         # annotation on image 999
    "coco.unknown-category-id": 1,      # annotation with category 77
    "coco.missing-file": 1,             # images/gone.jpg listed, absent
    "coco.orphan-file": 1,              # images/orphan.jpg present, not listed
    "coco.size-mismatch": 1,            # images/000001.jpg listed as 999x999
    "coco.bbox-invalid": 1,             # width 0
    "coco.bbox-out-of-bounds": 1,       # box past the right edge
    "coco.empty-category": 1,           # category "unused"
    "coco.duplicate-box": 1,            # the same box twice on image 0
    "pdf.unreadable": 1,                # docs/garbage.pdf
}
SIZE = (64, 48)


def _jpeg(seed: int, mode: str = "RGB", fmt: str = "JPEG") -> bytes:
    from PIL import Image

    img = Image.new(mode, SIZE, color=(seed * 37 % 256, seed * 91 % 256, 120)[:len(mode)]
                    if mode != "L" else seed * 37 % 256)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def _pdf() -> bytes:
    """A one-page PDF with a text layer, made with pypdf."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]},
                         "b": {"dtype": "F32", "shape": [4], "data_offsets": [64, 80]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 80


def make(root: Path, images: int = 8) -> dict:
    """Write the dataset under ``root`` (an output folder); returns the COCO document."""
    img_dir = root / "images"
    img_dir.mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(images)]
    for i, name in enumerate(names):
        (img_dir / name).write_bytes(_jpeg(i))
    (img_dir / "copy_of_0.jpg").write_bytes((img_dir / names[0]).read_bytes())
    (img_dir / "truncated.jpg").write_bytes(_jpeg(99)[:100])
    (img_dir / "really_png.jpg").write_bytes(_jpeg(98, fmt="PNG"))
    (img_dir / "gray.png").write_bytes(_jpeg(97, mode="L", fmt="PNG"))
    (img_dir / "orphan.jpg").write_bytes(_jpeg(96))
    listed = names + ["copy_of_0.jpg", "really_png.jpg", "gray.png", "gone.jpg"]
    coco_images = [{"id": i, "file_name": name, "width": SIZE[0], "height": SIZE[1]}
                   for i, name in enumerate(listed)]
    coco_images[1]["width"] = coco_images[1]["height"] = 999
    coco_images.append({"id": 3, "file_name": "truncated.jpg", "width": SIZE[0], "height": SIZE[1]})
    categories = [{"id": 1, "name": "cat", "supercategory": "animal"},
                  {"id": 2, "name": "dog", "supercategory": "animal"},
                  {"id": 2, "name": "dog again", "supercategory": "animal"},
                  {"id": 5, "name": "unused", "supercategory": "thing"}]
    anns = []
    # one annotation per listed image, so none is without annotations
    for img in coco_images:
        anns.append({"id": len(anns) + 1, "image_id": img["id"], "category_id": 1 + len(anns) % 2,
                     "bbox": [2, 2, 20, 10], "area": 200, "iscrowd": 0,
                     "segmentation": [[2, 2, 22, 2, 22, 12, 2, 12]]})
    anns.append({"id": 7, "image_id": 4, "category_id": 1, "bbox": [30, 20, 10, 10], "area": 100,
                 "iscrowd": 0, "segmentation": []})  # the second id 7
    anns.append({"id": 100, "image_id": 999, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25,
                 "iscrowd": 0, "segmentation": []})
    anns.append({"id": 101, "image_id": 2, "category_id": 77, "bbox": [1, 1, 5, 5], "area": 25,
                 "iscrowd": 0, "segmentation": []})
    anns.append({"id": 102, "image_id": 2, "category_id": 1, "bbox": [1, 1, 0, 5], "area": 0,
                 "iscrowd": 0, "segmentation": []})
    anns.append({"id": 103, "image_id": 2, "category_id": 2, "bbox": [50, 10, 40, 10], "area": 400,
                 "iscrowd": 0, "segmentation": []})
    anns.append({"id": 104, "image_id": 0, "category_id": 1, "bbox": [2, 2, 20, 10], "area": 200,
                 "iscrowd": 0, "segmentation": []})  # same box as annotation 1
    doc = {"images": coco_images, "annotations": anns, "categories": categories}
    (root / "annotations").mkdir()
    (root / "annotations" / "instances.json").write_text(json.dumps(doc))
    (root / "notes").mkdir()
    (root / "notes" / "empty.txt").write_bytes(b"")
    (root / "docs").mkdir()
    (root / "docs" / "paper.pdf").write_bytes(_pdf())
    (root / "docs" / "garbage.pdf").write_bytes(b"%PDF-1.4\n garbage, no objects at all")
    (root / "model.safetensors").write_bytes(_safetensors())
    return doc
