"""Entry points of the visual diff: :func:`image_diff` (what changed in the image outputs
between two versions, file by file, and with ``annotations`` box by box in their COCO files)
and :func:`annotation_diff` (one pair of COCO files, for the UI).

Data is reached as the rest of dataver reaches it (:mod:`dataver.revdata`): manifests and
objects from the cache, fetched from the default remote on demand, only those needed: the
manifests, the objects of changed files whose facts the fact store lacks, and the COCO files
compared. Facts (:mod:`dataver.facts`) are read once per object and kept: image headers for
every changed file, a full decode (the pixel hash) only for same-path pairs of images, to tell
a re-encoded file from a changed one.
"""
from __future__ import annotations

import math
import os

from dataver.errors import UserError
from dataver.revdata import WORKSPACE, outputs_at
from dataver.visual.images import classify, deep_pairs, pair_files

DEFAULT_IOU = 0.5
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".dib", ".tif",
                    ".tiff", ".webp")


class VisualError(UserError):
    """A visual diff cannot be made as asked."""


def check_iou(iou) -> float:
    """``iou`` as a float in (0, 1], or a one-line error."""
    try:
        value = float(iou)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value <= 1:
        raise VisualError(f"the IoU threshold must be a number above 0 and at most 1, not {iou!r}",
                          hint="e.g. --iou 0.5")
    return value


def image_diff(repo, a_rev: str = "HEAD", b_rev: str | None = None, targets=None,
               annotations: bool = False, iou: float = DEFAULT_IOU, progress=None) -> dict:
    """The visual diff of the outputs (all, or those ``targets`` name) between ``a_rev`` and
    ``b_rev`` (None: the workspace): ``{"a", "b", "outputs": [...]}``, see
    docs/visual-diff.md for the shape. An output present on one side only is compared with
    nothing (all its files added or removed)."""
    iou = check_iou(iou)
    with repo.lock:
        sides = _outputs(repo, a_rev, b_rev, targets)
        found = [_output(repo, path, a, b, inside, annotations, progress)
                 for path, (a, b), inside in sides]
    for entry, coco_pairs in found:  # parsed without the lock: other commands may run
        if annotations:
            entry["annotations"] = [_coco_entry(pair, iou) for pair in coco_pairs]
            entry["annotations"] = [e for e in entry["annotations"] if e is not None]
    return {"a": a_rev, "b": b_rev or WORKSPACE, "outputs": [entry for entry, _ in found]}


def _outputs(repo, a_rev, b_rev, targets):
    """``[(output path, (OutputData at A or None, at B or None), paths in it or None)]``
    sorted by path: the outputs ``targets`` name, are below or are inside (then only the files
    under the paths inside count, as `diff --targets` does)."""
    both: dict[str, list] = {}
    for at, rev in enumerate((a_rev, b_rev)):
        for out in outputs_at(repo, None, rev):
            both.setdefault(out.path, [None, None])[at] = out
    if not targets:
        return [(k, tuple(both[k]), None) for k in sorted(both)]
    wanted = {os.path.relpath(os.path.abspath(t), repo.root).replace(os.sep, "/") for t in targets}
    wanted = {w[:-4] if w.endswith(".dvc") else w for w in wanted}
    chosen = []
    for key in sorted(both):
        if any(key == w or key.startswith(w + "/") or w == "." for w in wanted):
            chosen.append((key, tuple(both[key]), None))
            continue
        inside = sorted(w[len(key) + 1:] for w in wanted if w.startswith(key + "/"))
        if inside:
            chosen.append((key, tuple(both[key]), inside))
    if not chosen:
        raise VisualError("is not a tracked output at either revision",
                          path=sorted(targets)[0], hint="name an output or its .dvc file")
    return chosen


def _under(files: dict[str, str], inside: list[str] | None) -> dict[str, str]:
    if inside is None:
        return files
    return {rel: md5 for rel, md5 in files.items()
            if any(rel == p or rel.startswith(p + "/") for p in inside)}


def _output(repo, path: str, a, b, inside, annotations: bool, progress):
    """(the output's entry without "annotations", the COCO file pairs to compare); only the
    files under the paths ``inside`` it when given."""
    a_files, a_md5 = a.files(progress) if a else ({}, None)
    b_files, b_md5 = b.files(progress) if b else ({}, None)
    a_files, b_files = _under(a_files, inside), _under(b_files, inside)
    if a_md5 is not None and a_md5 == b_md5:  # the same version: nothing to read
        from dataver.visual.images import Pairs

        pairs = Pairs(unchanged=len(a_files))
    else:
        pairs = pair_files(a_files, b_files)
    facts = _Facts(repo, a, b, a_files, b_files, progress)
    try:
        changed = pairs.md5s()
        basic = facts.basic(changed)
        deep = facts.deep({m for pair in deep_pairs(pairs, basic) for m in pair})
        cocos = _coco_pairs(facts, pairs, a_files, b_files) if annotations else []  # fetched
        summary, files = classify(pairs, basic, deep, facts.sizes(changed))
    finally:
        facts.close()
    return {"path": path, "a_md5": a_md5, "b_md5": b_md5, "summary": summary,
            "files": files}, cocos


class _Facts:
    """Facts of the objects of two versions of one output: from the store, else read from a
    readable copy (the workspace's file, or the cache object fetched first)."""

    def __init__(self, repo, a, b, a_files: dict, b_files: dict, progress):
        from dataver.facts import FactStore

        self.repo, self.sides, self.progress = repo, (a, b), progress
        self.store = FactStore(repo.cache_dir, shared=repo.odb.shared)
        self.where: dict[str, tuple] = {}  # md5 -> (side, relpath): B's copy first
        for side, files in ((a, a_files), (b, b_files)):
            for rel, md5 in files.items():
                self.where[md5] = (side, rel)
        self._paths: dict[str, str] = {}

    def close(self) -> None:
        self.store.close()

    def paths(self, md5s) -> dict[str, str]:
        """md5 -> a readable local path (fetching the objects the cache lacks)."""
        wanted: dict = {}
        for md5 in md5s:
            if md5 not in self._paths and md5 in self.where:
                side, rel = self.where[md5]
                wanted.setdefault(id(side), (side, []))[1].append((rel, md5))
        for side, items in wanted.values():
            self._paths.update(side.local_paths(items, self.progress))
        return {m: self._paths[m] for m in md5s if m in self._paths}

    def _collect(self, md5s, deep: bool):
        from dataver.facts import collect

        paths = self.paths(md5s)
        items = [(m, paths[m], _size(paths[m]), self.where[m][1]) for m in sorted(paths)]
        return collect(self.store, items, deep=deep, progress=self.progress)

    def basic(self, md5s, full: bool = False) -> dict[str, dict]:
        """Basic facts. Unless ``full``, a file not stored yet whose name is not an image's
        and whose first bytes (when a copy is at hand) are not either is taken as ``other``
        without being read or fetched: a changed 5 GB checkpoint or a COCO file only needs
        to be known as "not an image" here."""
        from dataver.facts.sniff import HEAD, image_format

        known = self.store.get_many(md5s, "basic")
        wanted = []
        for md5 in (m for m in md5s if m not in known):
            local = None if full else self._local(md5)
            if full or self.where[md5][1].lower().endswith(IMAGE_EXTENSIONS) or \
                    (local and image_format(_head(local, HEAD))):
                wanted.append(md5)
            else:
                known[md5] = {"type": "other", "mime": None}  # not stored: not read
        if wanted:
            known.update(self._collect(wanted, deep=False)[0])
        return known

    def _local(self, md5: str) -> str | None:
        """A copy of ``md5`` at hand without a fetch (the workspace's, or the cache's)."""
        if md5 in self._paths:
            return self._paths[md5]
        side, rel = self.where[md5]
        if side.rev is None:
            return side.workspace_path(rel)
        hash_name = side.item.out.hash_name
        return self.repo.odb.path(md5, hash_name) if self.repo.odb.exists(md5, hash_name) else None

    def deep(self, md5s) -> dict[str, dict]:
        known = self.store.get_many(md5s, "deep")
        missing = [m for m in md5s if m not in known]
        if missing:
            known.update(self._collect(missing, deep=True)[1])
        return known

    def sizes(self, md5s) -> dict[str, int | None]:
        """Object sizes where a copy is at hand (a revision's object may not be local)."""
        sizes = {}
        for md5 in md5s:
            path = self._local(md5) if md5 in self.where else None
            sizes[md5] = _size(path) if path else None
        return sizes


def _head(path: str, size: int) -> bytes:
    try:
        with open(path, "rb") as fobj:
            return fobj.read(size)
    except OSError:
        return b""


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


# --- COCO files -----------------------------------------------------------------------------

def _is_json(rel: str) -> bool:
    return rel.lower().endswith(".json")


def _coco_pairs(facts: _Facts, pairs, a_files: dict, b_files: dict) -> list[dict]:
    """The JSON files of the output, paired by path (a renamed one with its old path):
    ``{"path", "a_md5", "b_md5", "a_path", "b_path" (local copies, None for an unchanged
    file), "fact"}``, for :func:`_coco_entry`."""
    renamed = {new: old for old, _m, new, _m2 in pairs.renamed if _is_json(new)}
    found = []
    for rel in sorted({r for r in (*a_files, *b_files) if _is_json(r)}):
        if rel in renamed.values() and rel not in b_files:
            continue  # shown under its new path
        a_md5 = a_files.get(renamed.get(rel, rel))
        b_md5 = b_files.get(rel)
        found.append({"path": rel, "a_md5": a_md5, "b_md5": b_md5, "fact": None,
                      "a_path": None, "b_path": None})
    same = [f for f in found if f["a_md5"] == f["b_md5"]]
    if same:  # unchanged: their facts say all (and are kept once read)
        basic = facts.basic([f["a_md5"] for f in same], full=True)
        for entry in same:
            entry["fact"] = basic.get(entry["a_md5"])
    changed = [f for f in found if f["a_md5"] != f["b_md5"]]
    paths = facts.paths([m for f in changed for m in (f["a_md5"], f["b_md5"]) if m])
    for entry in changed:
        entry["a_path"], entry["b_path"] = paths.get(entry["a_md5"]), paths.get(entry["b_md5"])
    return found


def _coco_entry(pair: dict, iou: float) -> dict | None:
    """One entry of "annotations", or None when the file is COCO on neither side."""
    head = {"path": pair["path"], "a_md5": pair["a_md5"], "b_md5": pair["b_md5"]}
    if pair["a_md5"] == pair["b_md5"]:
        fact = pair["fact"]
        if not fact or fact.get("type") != "coco":
            return None
        return {**head, **_unchanged(fact)}
    from dataver.visual import boxes

    a = boxes.load(pair["a_path"]) if pair["a_path"] else None
    b = boxes.load(pair["b_path"]) if pair["b_path"] else None
    if a is None and b is None:
        return None
    return {**head, **_diff(a, b, iou)}


def _unchanged(fact: dict) -> dict:
    """The diff of a COCO file with itself, from its fact (no parse)."""
    from dataver.visual.boxes import CLASSES

    per_category = [{"id": c["id"], "name": c["name"], **dict.fromkeys(CLASSES, 0),
                     "unchanged": c["instances"]} for c in fact.get("per_category", [])]
    summary = {"images": 0, **dict.fromkeys(CLASSES, 0),
               "unchanged": sum(c["unchanged"] for c in per_category)}
    return {"summary": summary, "categories": {"added": [], "removed": [], "renamed": []},
            "per_category": per_category, "images": []}


def _diff(a, b, iou: float) -> dict:
    import gc

    from dataver.visual import boxes

    enabled = gc.isenabled()
    gc.disable()  # a million small objects and no cycle: the collector would only rescan them
    try:
        return boxes.diff(a, b, iou)
    finally:
        if enabled:
            gc.enable()


_MEMO: dict = {}  # (a key, b key, iou) -> annotation diff, the last few (the UI pages them)
_MEMO_SIZE = 4


def annotation_diff(a_doc_path: str | None, b_doc_path: str | None,
                    iou: float = DEFAULT_IOU) -> dict:
    """The annotation diff of two COCO files (a path None: absent on that side):
    ``{"summary", "categories", "per_category", "images"}`` as in :func:`image_diff`. The
    last few results are kept in memory (by path, size and mtime), so paging through one is
    cheap. Raises VisualError when neither file is COCO."""
    from dataver.visual import boxes

    iou = check_iou(iou)
    key = (_stat_key(a_doc_path), _stat_key(b_doc_path), iou)
    if key in _MEMO:
        return _MEMO[key]
    a = boxes.load(a_doc_path) if a_doc_path else None
    b = boxes.load(b_doc_path) if b_doc_path else None
    if a is None and b is None:
        raise VisualError("is not a COCO annotation file", path=a_doc_path or b_doc_path)
    result = _diff(a, b, iou)
    while len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = result
    return result


def _stat_key(path: str | None):
    if path is None:
        return None
    st = os.stat(path)
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ino)
