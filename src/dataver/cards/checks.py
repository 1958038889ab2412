"""The named checks of a data card: a stable code, a severity and a one-line meaning each.

A finding is ``{"code", "count", "examples"}`` as the fact extractors and the builder produce
it; :func:`finalize` gives it its severity and message and orders the list. Codes never change
meaning once released: `card diff --fail-if` expressions and CI gates name them.
"""
from __future__ import annotations

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
MAX_EXAMPLES = 5

# code -> (severity, message)
CHECKS: dict[str, tuple[str, str]] = {
    "file.empty": (WARNING, "empty files (0 bytes)"),
    "file.duplicate": (INFO, "files with the same content as another file (same md5)"),
    "image.corrupt": (ERROR, "images that cannot be read (truncated or damaged)"),
    "image.too-large": (ERROR, "images declaring more pixels than is safe to decode "
                               "(decompression bomb)"),
    "image.format-mismatch": (WARNING, "images whose extension is not their real format"),
    "image.mixed-modes": (WARNING, "images of more than one colour mode (grayscale, RGB, ...)"),
    "image.exif-rotated": (INFO, "images with an EXIF orientation other than upright: viewers "
                                 "rotate them, most training loaders do not"),
    "image.pixel-duplicate": (INFO, "images with the same pixels stored under different bytes "
                                    "(--deep)"),
    "image.near-duplicate": (INFO, "images that look alike (same perceptual hash, --deep)"),
    "coco.bad-type": (ERROR, "COCO entries with missing fields or fields of the wrong type "
                             "(skipped in the figures)"),
    "coco.duplicate-image-id": (ERROR, "image ids used more than once (the card uses the first "
                                       "entry; pycocotools keeps the last one silently)"),
    "coco.duplicate-annotation-id": (ERROR, "annotation ids used more than once"),
    "coco.duplicate-category-id": (ERROR, "category ids used more than once"),
    "coco.unknown-image-id": (ERROR, "annotations whose image_id names no image"),
    "coco.unknown-category-id": (ERROR, "annotations whose category_id names no category"),
    "coco.missing-file": (ERROR, "images listed in the COCO file whose file is not in the "
                                 "output"),
    "coco.orphan-file": (WARNING, "image files of the output not listed in the COCO file"),
    "coco.size-mismatch": (ERROR, "images whose width/height in the COCO file differ from "
                                  "the real image size"),
    "coco.bbox-invalid": (ERROR, "boxes with width or height <= 0, NaN or infinite"),
    "coco.bbox-out-of-bounds": (WARNING, "boxes reaching outside their image (more than 1 px)"),
    "coco.empty-category": (WARNING, "categories without any annotation"),
    "coco.image-without-annotations": (INFO, "images without any annotation"),
    "coco.duplicate-box": (WARNING, "boxes of the same category on the same image that overlap "
                                    "almost entirely (IoU > 0.95)"),
    "coco.no-images-found": (WARNING, "COCO files whose file names match no image files of the "
                                      "output (name the image output in the notes)"),
    "json.invalid": (ERROR, "JSON files that do not parse"),
    "pdf.unreadable": (ERROR, "PDF files that cannot be read"),
    "pdf.encrypted": (WARNING, "encrypted PDF files"),
    "pdf.no-text": (INFO, "PDF files without a text layer (scans need OCR)"),
    "checkpoint.unreadable": (ERROR, "model checkpoints whose header cannot be read"),
}


def finding(code: str, count: int, examples) -> dict:
    """A finding of ``count`` occurrences with up to :data:`MAX_EXAMPLES` examples."""
    return {"code": code, "count": count, "examples": [str(e) for e in list(examples)[:MAX_EXAMPLES]]}


def finalize(findings: list[dict]) -> list[dict]:
    """Merge findings of the same code (counts add up, examples kept in order), drop empty
    ones, add severity and message, and order by severity then code."""
    merged: dict[str, dict] = {}
    for item in findings:
        if not item.get("count"):
            continue
        code = item["code"]
        into = merged.setdefault(code, {"code": code, "count": 0, "examples": []})
        into["count"] += item["count"]
        room = MAX_EXAMPLES - len(into["examples"])
        into["examples"] += [str(e) for e in item.get("examples", [])[:room]]
    result = []
    for code, item in merged.items():
        # a code missing from the table (an extractor newer than it) is kept, as a warning
        severity, message = CHECKS.get(code, (WARNING, code))
        result.append({**item, "severity": severity, "message": message})
    result.sort(key=lambda c: (SEVERITY_ORDER[c["severity"]], c["code"]))
    return result


def errors(checks: list[dict]) -> list[dict]:
    """The error-level checks of a card's list."""
    return [c for c in checks if c["severity"] == ERROR]
