"""COCO cross-checks: the images a COCO file lists against the image files of the output.

A COCO ``file_name`` is resolved against one folder of the output, the *base* (relative to
the output root, "" for the root): :func:`guess_base` finds it from where the names exist,
:func:`cross_checks` then compares. Paths are POSIX and relative to the output root, as the
card builder's entries are. Widths and heights are compared with the image's stored pixel
size, not the EXIF-rotated one: pycocotools and most loaders do not rotate, so a JSON size
that only matches after rotation is a mismatch (its example says so).
"""
from __future__ import annotations

import posixpath
from collections import Counter

EXAMPLES = 5
GUESS_SAMPLE = 50  # file names tried by guess_base


def guess_base(fact: dict, image_paths) -> str | None:
    """The folder under which most of a sample of the COCO file's names exist among
    ``image_paths``; None when fewer than half of them resolve anywhere. The sample is up to
    50 names spread evenly over the sorted list; ties go to the shorter, then the
    alphabetically first folder."""
    files = fact.get("image_files") or []
    if not files:
        return None
    step = max(len(files) / GUESS_SAMPLE, 1)
    sample = {_clean(files[int(i * step)][0]) for i in range(min(len(files), GUESS_SAMPLE))}
    by_name: dict[str, list[str]] = {}
    for path in image_paths:
        by_name.setdefault(posixpath.basename(path), []).append(path)
    votes: Counter = Counter()
    for name in sample:
        bases = {path[:-len(name)].rstrip("/") for path in by_name.get(posixpath.basename(name), ())
                 if path == name or path.endswith("/" + name)}
        votes.update(bases)
    if not votes:
        return None
    best = min(votes, key=lambda base: (-votes[base], len(base), base))
    return best if votes[best] * 2 >= len(sample) else None


def cross_checks(fact: dict, image_entries: dict[str, dict], base: str) -> list[dict]:
    """Findings ``{"code", "count", "examples"}`` (those with a count only):

    - coco.missing-file: image entries of the JSON whose file is not in ``image_entries``
      (count: entries; examples: their file names);
    - coco.orphan-file: image files under ``base`` that no entry names (examples: paths);
    - coco.size-mismatch: entries whose width/height differ from the file's stored size
      (images that could not be read are left to image.corrupt).
    """
    prefix = base.strip("/") + "/" if base.strip("/") else ""
    missing, mismatched, named = [], [], set()
    for name, width, height, _image_id in fact.get("image_files") or []:
        path = _clean(prefix + _clean(name))
        named.add(path)
        entry = image_entries.get(path)
        if entry is None:
            missing.append(name)
        elif _differs(entry, width, height):
            mismatched.append(_mismatch(name, entry, width, height))
    orphans = sorted(p for p in image_entries if p.startswith(prefix) and p not in named)
    found = [("coco.missing-file", missing), ("coco.orphan-file", orphans),
             ("coco.size-mismatch", mismatched)]
    return [{"code": code, "count": len(items), "examples": [str(e) for e in items[:EXAMPLES]]}
            for code, items in found if items]


def _clean(name: str) -> str:
    """A file name as a normal relative POSIX path (Windows separators, ./ and a/../ gone)."""
    name = posixpath.normpath(str(name).replace("\\", "/"))
    return "" if name == "." else name


def _differs(entry: dict, width, height) -> bool:
    if entry.get("error") or not isinstance(entry.get("width"), int):
        return False
    if width is None or height is None:  # wrong in the JSON: reported as coco.bad-type
        return False
    return (entry["width"], entry.get("height")) != (width, height)


def _mismatch(name: str, entry: dict, width, height) -> str:
    text = f"{name}: JSON {_num(width)}x{_num(height)}, file {entry['width']}x{entry['height']}"
    rotated = (entry["height"], entry["width"]) == (width, height)
    if rotated and entry.get("orientation") in (5, 6, 7, 8):
        text += f" (EXIF orientation {entry['orientation']}: matches once rotated)"
    return text


def _num(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
