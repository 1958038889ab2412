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
    findings: list[dict] = []
    card = {"card": CARD_FORMAT, "dataver": __version__, "deep": deep is not None,
            "output": {**output, "files": len(entries), "bytes": sum(e[2] for e in entries)},
            "files": _files(entries, basic, findings)}
    images = {rel: basic[md5] for rel, md5, _ in entries if basic.get(md5, {}).get("type") == "image"}
    card["images"] = _images(entries, images, basic, deep, findings)
    card["coco"] = _cocos(entries, basic, images, image_sources or {}, findings)
    card["pdfs"] = _pdfs(entries, basic, findings)
    card["checkpoints"] = _checkpoints(entries, basic, findings)
    for rel, md5, _size in entries:
        if basic.get(md5, {}).get("type") == "json" and basic[md5].get("error"):
            findings.append(finding("json.invalid", 1, [f"{rel}: {basic[md5]['error']}"]))
    card["checks"] = finalize(findings)
    return card


def _files(entries, basic, findings) -> dict:
    by_type: dict[str, dict] = defaultdict(lambda: {"count": 0, "bytes": 0})
    by_ext: dict[str, dict] = defaultdict(lambda: {"count": 0, "bytes": 0})
    groups = defaultdict(list)
    empty = []
    for rel, md5, size in entries:
        kind = "empty" if size == 0 else basic.get(md5, {}).get("type", "other")
        for table, key in ((by_type, kind), (by_ext, extension(rel))):
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


def _images(entries, images: dict, basic, deep, findings) -> dict | None:
    corrupt, bombs, mismatch, rotated = [], [], [], []
    good = {}
    for rel, md5, size in entries:
        fact = basic.get(md5, {})
        if fact.get("reason") == "unreadable":
            continue  # an I/O error of this machine, warned about; nothing known of the content
        ext = extension(rel)
        if fact.get("type") != "image":
            if ext in _ALL_IMAGE_EXTENSIONS and size:  # named as an image, but is none
                corrupt.append(f"{rel}: not an image")
            continue
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
        "deep": None if deep is None else _deep(entries, images, deep, findings),
    }


def _deep(entries, images: dict, deep: dict, findings) -> dict:
    corrupt = []
    by_pixels, by_phash = defaultdict(set), defaultdict(set)
    md5_of = {rel: md5 for rel, md5, _ in entries}
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


def _cocos(entries, basic, images: dict, image_sources: dict, findings) -> list[dict]:
    result = []
    for rel, md5, _size in entries:
        fact = basic.get(md5, {})
        if fact.get("type") != "coco":
            continue
        from dataver.cards import coco_checks
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


def _pdfs(entries, basic, findings) -> dict | None:
    pdfs = [(rel, basic[md5]) for rel, md5, _ in entries if basic.get(md5, {}).get("type") == "pdf"]
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


def _checkpoints(entries, basic, findings) -> list[dict]:
    result = []
    for rel, md5, _size in entries:
        fact = basic.get(md5, {})
        if fact.get("type") != "checkpoint":
            continue
        if fact.get("error"):
            findings.append(finding("checkpoint.unreadable", 1, [f"{rel}: {fact['error']}"]))
        result.append({"path": rel, **{k: v for k, v in fact.items() if k != "type"}})
    return result
