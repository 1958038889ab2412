"""Classify the changed files of one output between two versions, from their manifests and
per-file facts: added, removed, renamed (same md5, new path), re-encoded (other bytes, same
pixels), changed (other pixels, or a side that does not decode) and other (a changed file that
is not an image).

Two steps, so that the caller reads only what it must: :func:`pair_files` works on the
``{relpath: md5}`` maps alone (no I/O) and says which objects need facts; :func:`classify` then
turns the pairs into the rows of the JSON shape, given basic facts (image headers) of every
changed object and deep facts (pixel hashes) of the same-path image pairs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("added", "removed", "renamed", "reencoded", "changed", "unchanged", "other")


@dataclass
class Pairs:
    """The files of two versions of an output, paired. Lists of ``(path, md5)`` (renamed and
    modified: ``(a_path, a_md5, b_path, b_md5)``), each sorted by path."""

    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    renamed: list = field(default_factory=list)
    modified: list = field(default_factory=list)  # same path, other md5: images or not
    unchanged: int = 0

    def md5s(self) -> set[str]:
        """Every object whose basic fact the rows need."""
        found = {m for _p, m in self.added} | {m for _p, m in self.removed}
        found |= {r[1] for r in self.renamed}
        found |= {r[i] for r in self.modified for i in (1, 3)}
        return found


def pair_files(a: dict[str, str], b: dict[str, str]) -> Pairs:
    """Pair the files of version A and B (``{relpath: md5}``; either may be empty: the output
    exists on one side only). A removed and an added file with the same md5 are a rename; when
    several share an md5, paths are paired in sorted order, so the result never depends on the
    order of the manifests."""
    pairs = Pairs()
    gone, new = {}, {}
    for path, md5 in a.items():
        other = b.get(path)
        if other is None:
            gone.setdefault(md5, []).append(path)
        elif other == md5:
            pairs.unchanged += 1
        else:
            pairs.modified.append((path, md5, path, other))
    for path, md5 in b.items():
        if path not in a:
            new.setdefault(md5, []).append(path)
    for md5, old_paths in gone.items():
        new_paths = sorted(new.pop(md5, ()))
        old_paths.sort()
        for old, path in zip(old_paths, new_paths):
            pairs.renamed.append((old, md5, path, md5))
        pairs.removed += [(p, md5) for p in old_paths[len(new_paths):]]
        if len(new_paths) > len(old_paths):
            new[md5] = new_paths[len(old_paths):]
    pairs.added = sorted((p, m) for m, paths in new.items() for p in paths)
    pairs.removed.sort()
    pairs.renamed.sort(key=lambda r: r[2])
    pairs.modified.sort()
    return pairs


def is_image(fact: dict | None) -> bool:
    return bool(fact) and fact.get("type") == "image"


def header(fact: dict | None) -> dict | None:
    """The ``a_image``/``b_image`` of a row: format and size from an image's basic fact."""
    if not is_image(fact) or "width" not in fact:
        return None
    return {k: fact.get(k) for k in ("format", "width", "height", "mode")}


def deep_pairs(pairs: Pairs, basic: dict[str, dict]) -> list[tuple[str, str]]:
    """``(a_md5, b_md5)`` of the same-path pairs that need a decode to be told apart: both
    sides images whose headers read (a header error already says "changed")."""
    return [(am, bm) for _a, am, _b, bm in pairs.modified
            if _readable(basic.get(am)) and _readable(basic.get(bm))]


def _readable(fact: dict | None) -> bool:
    return is_image(fact) and not fact.get("error")


def classify(pairs: Pairs, basic: dict[str, dict], deep: dict[str, dict],
             sizes: dict[str, int | None]) -> tuple[dict, list[dict]]:
    """``(summary, files)`` of the JSON shape: counts per status, and one row per changed file
    sorted by path. ``basic``/``deep``: facts by md5 (a missing one counts as not an image /
    not decoded); ``sizes``: object sizes by md5 where known."""
    rows = [_row("added", None, p, None, m, basic, sizes) for p, m in pairs.added]
    rows += [_row("removed", p, p, m, None, basic, sizes) for p, m in pairs.removed]
    rows += [_row("renamed", a, b, am, bm, basic, sizes) for a, am, b, bm in pairs.renamed]
    for path, am, _b, bm in pairs.modified:
        status, error = _compare(basic.get(am), basic.get(bm), deep.get(am), deep.get(bm))
        row = _row(status, path, path, am, bm, basic, sizes)
        row["error"] = error
        rows.append(row)
    rows.sort(key=lambda r: (r["path"], r["status"]))
    summary = dict.fromkeys(STATUSES, 0)
    for row in rows:
        summary[row["status"]] += 1
    summary["unchanged"] = pairs.unchanged
    return summary, rows


def _row(status: str, a_path, b_path, a_md5, b_md5, basic, sizes) -> dict:
    a_fact, b_fact = basic.get(a_md5), basic.get(b_md5)
    errors = [f.get("error") for f in (a_fact, b_fact) if is_image(f) and f.get("error")]
    return {"status": status, "path": b_path if b_path is not None else a_path,
            "old_path": a_path if status == "renamed" else None,
            "a_md5": a_md5, "b_md5": b_md5, "a_size": sizes.get(a_md5), "b_size": sizes.get(b_md5),
            "a_image": header(a_fact), "b_image": header(b_fact),
            "error": errors[-1] if errors else None}


def _compare(a_fact, b_fact, a_deep, b_deep) -> tuple[str, str | None]:
    """Status and error of a same-path pair with different bytes."""
    if not is_image(a_fact) and not is_image(b_fact):
        return "other", None
    for side, fact, deep in (("B", b_fact, b_deep), ("A", a_fact, a_deep)):
        if is_image(fact) and fact.get("error"):
            return "changed", f"{side}: {fact['error']}"
        if deep is not None and not deep.get("decoded"):
            return "changed", f"{side}: {deep.get('error') or 'does not decode'}"
    if not (is_image(a_fact) and is_image(b_fact)):
        return "changed", None  # an image became something else, or the reverse
    if a_deep and b_deep and a_deep.get("pixels") and a_deep["pixels"] == b_deep.get("pixels"):
        return "reencoded", None
    return "changed", None
