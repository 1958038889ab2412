"""Aggregate per-file facts into a card: figures for files, images, COCO files, PDFs and
checkpoints, plus the checks that need paths or more than one file.

Pure: no I/O, no library imports. Input is the output's file list and the facts by md5
(:mod:`dataver.facts`); output is the card dict documented in docs/cards.md. The same input
gives the same card, whatever the order of ``entries``.
"""
from __future__ import annotations

import bisect
import statistics
from collections import Counter, defaultdict

from dataver import __version__
from dataver.cards.checks import finalize, finding

CARD_FORMAT = 1
TOP = 10  # largest files, duplicate groups, resolutions listed
# Fixed histogram edges (numpy's convention: len(edges) == len(counts) + 1, values past the
# last edge counted in the last bin), so two cards compare bin by bin.
SIZE_EDGES = [0, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20,
              64 << 20, 256 << 20, 1 << 30, 4 << 30, 1 << 40]
MEGAPIXEL_EDGES = [0, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 1 << 20]
PDF_PAGE_EDGES = [0, 1, 2, 5, 10, 20, 50, 100, 500, 1 << 30]
IMAGE_EXTENSIONS = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"), "PNG": (".png",), "WEBP": (".webp",),
    "BMP": (".bmp", ".dib"), "TIFF": (".tif", ".tiff"), "GIF": (".gif",),
}
_ALL_IMAGE_EXTENSIONS = {ext for exts in IMAGE_EXTENSIONS.values() for ext in exts}


def histogram(values, edges: list) -> dict:
    """Counts of ``values`` in the fixed bins ``edges``."""
    counts = [0] * (len(edges) - 1)
    last = len(counts) - 1
    for value in values:
        counts[min(max(bisect.bisect_right(edges, value) - 1, 0), last)] += 1
    return {"edges": list(edges), "counts": counts}


def stats(values: list) -> dict | None:
    """min, max, mean and median of ``values`` (None when empty)."""
    if not values:
        return None
    return {"min": min(values), "max": max(values), "mean": sum(values) / len(values),
            "median": statistics.median(values)}


def extension(path: str) -> str:
    """Lower-case extension of ``path`` ("" if none; a leading dot is a name, not one)."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 and dot < len(name) - 1 else ""


def build_card(output: dict, entries: list[tuple[str, str, int]], basic: dict[str, dict],
               deep: dict[str, dict] | None = None, image_sources: dict | None = None) -> dict:
    """The card of one output.

    ``output``: ``{"path", "md5", "hash"}``; ``entries``: ``(relpath in the output, md5, size)``
    per file; ``basic``/``deep``: facts by md5 (``deep`` None without --deep);
    ``image_sources``: for COCO files whose images live in another output, that output's path
    -> its ``{relpath: image fact}`` (from the notes' ``images:`` line).
    """
    entries = sorted(entries)
    rows, typed = _classify(entries, basic)
    findings: list[dict] = []
    card = {"card": CARD_FORMAT, "dataver": __version__, "deep": deep is not None,
            "output": {**output, "files": len(entries), "bytes": sum(e[2] for e in entries)},
            "files": _files(rows, findings)}
    images = {rel: fact for rel, _md5, _size, fact, _ext in typed["image"]}
    misnamed = [row for row in rows if row[4] in _ALL_IMAGE_EXTENSIONS and row[2]
                and row[3].get("type") != "image" and row[3].get("reason") != "unreadable"]
    card["images"] = _images(typed["image"], misnamed, deep, findings)
    card["coco"] = _cocos(typed["coco"], images, image_sources or {}, findings)
    card["pdfs"] = _pdfs(typed["pdf"], findings)
    card["checkpoints"] = _checkpoints(typed["checkpoint"], findings)
    for rel, _md5, _size, fact, _ext in typed["json"]:
        if fact.get("error"):
            findings.append(finding("json.invalid", 1, [f"{rel}: {fact['error']}"]))
    card["checks"] = finalize(findings)
    return card


_NO_FACT: dict = {}


def _classify(entries, basic):
    """One pass: rows ``(rel, md5, size, fact, extension)`` and the rows by fact type
    (files whose content could not be read this time are left out of the types)."""
    rows = []
    typed: dict[str, list] = defaultdict(list)
    for rel, md5, size in entries:
        fact = basic.get(md5) or _NO_FACT
        row = (rel, md5, size, fact, extension(rel))
        rows.append(row)
        if fact.get("reason") != "unreadable":
            typed[fact.get("type", "other")].append(row)
    return rows, typed


def _files(rows, findings) -> dict:
    by_type: dict[str, dict] = defaultdict(lambda: {"count": 0, "bytes": 0})
    by_ext: dict[str, dict] = defaultdict(lambda: {"count": 0, "bytes": 0})
    groups = defaultdict(list)
    empty = []
    entries = [row[:3] for row in rows]
    for rel, md5, size, fact, ext in rows:
        kind = "empty" if size == 0 else fact.get("type", "other")
        for table, key in ((by_type, kind), (by_ext, ext)):
            table[key]["count"] += 1
            table[key]["bytes"] += size
        if size == 0:
            empty.append(rel)
        else:
            groups[md5].append((rel, size))
    findings.append(finding("file.empty", len(empty), empty))
    dups = sorted(([md5, paths] for md5, paths in groups.items() if len(paths) > 1),
                  key=lambda g: (-g[1][0][1] * (len(g[1]) - 1), g[0]))
    extra = sum(len(paths) - 1 for _md5, paths in dups)
    findings.append(finding("file.duplicate", extra,
                            [" == ".join(p for p, _ in paths[:3]) for _md5, paths in dups]))
    largest = sorted(entries, key=lambda e: (-e[2], e[0]))[:TOP]
    return {
        "count": len(entries), "bytes": sum(e[2] for e in entries),
        "by_type": dict(sorted(by_type.items())), "by_extension": dict(sorted(by_ext.items())),
        "size_histogram": histogram((e[2] for e in entries), SIZE_EDGES),
        "largest": [{"path": rel, "bytes": size} for rel, _md5, size in largest],
        "duplicates": {
            "groups": len(dups), "files": extra,
            "wasted_bytes": sum(paths[0][1] * (len(paths) - 1) for _md5, paths in dups),
            "examples": [{"md5": md5, "bytes": paths[0][1], "paths": [p for p, _ in paths[:5]]}
                         for md5, paths in dups[:TOP]],
        },
    }


def _images(image_rows, misnamed, deep, findings) -> dict | None:
    corrupt = [f"{rel}: not an image" for rel, *_rest in misnamed]  # named as an image, is none
    bombs, mismatch, rotated = [], [], []
    good = {}
    images = {row[0]: row[3] for row in image_rows}
    for rel, _md5, _size, fact, ext in image_rows:
        if fact.get("error"):
            (bombs if fact.get("reason") == "bomb" else corrupt).append(f"{rel}: {fact['error']}")
            continue
        good[rel] = fact
        expected = IMAGE_EXTENSIONS.get(fact.get("format"), ())
        if ext and expected and ext not in expected:
            mismatch.append(f"{rel}: {fact['format']}")
        if fact.get("orientation") not in (None, 1):
            rotated.append(f"{rel}: orientation {fact['orientation']}")
    if not images and not corrupt:
        return None
    findings += [finding("image.corrupt", len(corrupt), corrupt),
                 finding("image.too-large", len(bombs), bombs),
                 finding("image.format-mismatch", len(mismatch), mismatch),
                 finding("image.exif-rotated", len(rotated), rotated)]
    modes = Counter(f["mode"] for f in good.values())
    if len(modes) > 1:
        main = max(sorted(modes), key=lambda m: modes[m])
        odd = sorted(f"{rel}: {f['mode']}" for rel, f in good.items() if f["mode"] != main)
        findings.append(finding("image.mixed-modes", len(odd), odd))
    widths = [f["width"] for f in good.values()]
    heights = [f["height"] for f in good.values()]
    resolutions = Counter((f["width"], f["height"]) for f in good.values())
    return {
        "count": len(images), "readable": len(good),
        "by_format": dict(sorted(Counter(f.get("format") or "unknown" for f in images.values()).items())),
        "by_mode": dict(sorted(modes.items())),
        "orientation": dict(sorted(Counter(str(f.get("orientation") or "none")
                                           for f in good.values()).items())),
        "width": stats(widths), "height": stats(heights),
        "resolutions": [{"width": w, "height": h, "count": n} for (w, h), n in
                        sorted(resolutions.items(), key=lambda i: (-i[1], i[0]))[:TOP]],
        "megapixels_histogram": histogram((w * h / 1e6 for w, h in zip(widths, heights)),
                                          MEGAPIXEL_EDGES),
        "deep": None if deep is None else _deep(image_rows, deep, findings),
    }


def _deep(image_rows, deep: dict, findings) -> dict:
    corrupt = []
    by_pixels, by_phash = defaultdict(set), defaultdict(set)
    images = {row[0]: row[3] for row in image_rows}
    md5_of = {row[0]: row[1] for row in image_rows}
    for rel in sorted(images):
        fact = deep.get(md5_of[rel])
        if fact is None or images[rel].get("error"):
            continue  # bad headers are counted already
        if not fact.get("decoded"):
            corrupt.append(f"{rel}: {fact.get('error') or 'cannot be decoded'}")
            continue
        by_pixels[fact["pixels"]].add((md5_of[rel], rel))
        if fact.get("phash"):
            by_phash[fact["phash"]].add((fact["pixels"], rel))
    findings.append(finding("image.corrupt", len(corrupt), corrupt))
    # Same pixels under different bytes (re-encoded copies; exact byte copies are file.duplicate).
    pixel_groups = [sorted(g) for g in by_pixels.values() if len({md5 for md5, _ in g}) > 1]
    # Same perceptual hash but different pixels: resized, recompressed or slightly edited copies.
    near_groups = [sorted(g) for g in by_phash.values() if len({px for px, _ in g}) > 1]
    # Counted as the copies beyond the first: of the bytes for pixel duplicates, of the pixels
    # for near duplicates (so an exact re-encode is not counted twice).
    for code, groups in (("image.pixel-duplicate", pixel_groups), ("image.near-duplicate", near_groups)):
        groups.sort(key=lambda g: g[0][1])
        findings.append(finding(code, sum(len({key for key, _ in g}) - 1 for g in groups),
                                [" ~ ".join(rel for _, rel in g[:3]) for g in groups]))
    decoded = sum(1 for rel in images if deep.get(md5_of[rel], {}).get("decoded"))
    return {"decoded": decoded, "corrupt": len(corrupt), "pixel_duplicate_groups": len(pixel_groups),
            "near_duplicate_groups": len(near_groups)}


def _cocos(coco_rows, images: dict, image_sources: dict, findings) -> list[dict]:
    from dataver.cards import coco_checks

    result = []
    for rel, md5, _size, fact, _ext in coco_rows:
        summary = {k: v for k, v in fact.items() if k not in ("type", "image_files", "checks")}
        findings += [dict(f, examples=[f"{rel}: {e}" for e in f.get("examples", [])])
                     for f in fact.get("checks", [])]
        source, pool = None, images
        for name, other in sorted(image_sources.items()):
            source, pool = name, other  # the notes name the output holding the images
        base = coco_checks.guess_base(fact, sorted(pool))
        if base is None:
            if fact.get("images"):
                findings.append(finding("coco.no-images-found", 1, [rel]))
        else:
            for item in coco_checks.cross_checks(fact, pool, base):
                findings.append(dict(item, examples=[f"{rel}: {e}" for e in item.get("examples", [])]))
        result.append({"path": rel, "md5": md5, "images_output": source,
                       "images_base": base, **summary})
    return result


def _pdfs(pdf_rows, findings) -> dict | None:
    pdfs = [(row[0], row[3]) for row in pdf_rows]
    if not pdfs:
        return None
    bad = [f"{rel}: {f['error']}" for rel, f in pdfs if f.get("error")]
    locked = [rel for rel, f in pdfs if f.get("encrypted")]
    no_text = [rel for rel, f in pdfs if f.get("text") is False]
    findings += [finding("pdf.unreadable", len(bad), bad), finding("pdf.encrypted", len(locked), locked),
                 finding("pdf.no-text", len(no_text), no_text)]
    pages = [f["pages"] for _rel, f in pdfs if isinstance(f.get("pages"), int)]
    return {"count": len(pdfs), "pages": sum(pages), "encrypted": len(locked),
            "with_text": sum(1 for _rel, f in pdfs if f.get("text") is True),
            "without_text": len(no_text), "unreadable": len(bad),
            "pages_histogram": histogram(pages, PDF_PAGE_EDGES)}


def _checkpoints(checkpoint_rows, findings) -> list[dict]:
    result = []
    for rel, _md5, _size, fact, _ext in checkpoint_rows:
        if fact.get("error"):
            findings.append(finding("checkpoint.unreadable", 1, [f"{rel}: {fact['error']}"]))
        result.append({"path": rel, **{k: v for k, v in fact.items() if k != "type"}})
    return result
