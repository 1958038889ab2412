"""Exports of an image diff for code review: ``dataver diff A B --html FILE`` writes one
self-contained HTML page, ``dataver diff A B --md DIR`` a Markdown summary with an old | new
thumbnail table, ready for a pull-request comment (docs/ui.md, "Exports for code review").

Both start from the JSON of the visual diff (:mod:`dataver.visual.model`; the ``annotations``
key when it was asked for) and say the same things: counts per change class of each output,
the box changes of each COCO file per category, then the first ``limit`` changed images as A | B
thumbnails. An image is *changed* when its file changed (any status but ``other``) or its boxes
did; it is listed once, in path order, output by output. Image bytes are read through
:mod:`dataver.revdata` (cache objects, fetched from the default remote on demand: only those
shown), thumbnails come from :mod:`dataver.visual.thumbs`. In the HTML page boxes are SVG over
the thumbnails, coloured by class; in Markdown a column counts them.
"""
from __future__ import annotations

import base64
import dataclasses
import os
import posixpath

from dataver.errors import UserError

THUMB_SIZE = 256  # px, the longer side of a thumbnail
BOX_CLASSES = ("added", "removed", "moved", "relabeled", "unchanged")
FILE_CLASSES = ("added", "removed", "renamed", "reencoded", "changed", "unchanged", "other")
FILE_LABELS = {"reencoded": "re-encoded", "changed": "pixels changed", "boxes": "boxes changed",
               "other": "other files"}
MARKER = ".dataver-export"  # in a --md folder: names the files the export wrote
SUMMARY = "summary.md"
THUMBS = "thumbs"
TOP_CATEGORIES = 40  # rows of a per-category table in Markdown (changed categories first)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")


@dataclasses.dataclass
class Changed:
    """One changed image of an output: its file ``status`` ("boxes" when only its boxes
    changed), ``a``/``b`` as ``(path in the output, md5)`` (None: absent on that side), the
    file's ``error`` (a side that does not decode) and its box pairs from the COCO diff."""
    output: str
    path: str
    status: str
    a: tuple[str, str] | None
    b: tuple[str, str] | None
    error: str | None = None
    boxes: list = dataclasses.field(default_factory=list)

    @property
    def old_path(self) -> str | None:
        return self.a[0] if self.status == "renamed" and self.a else None

    def box_counts(self) -> dict[str, int]:
        counts = {c: 0 for c in BOX_CLASSES}
        for box in self.boxes:
            counts[box.get("class")] = counts.get(box.get("class"), 0) + 1
        return counts


@dataclasses.dataclass
class Thumb:
    """A side's thumbnail: JPEG bytes, the image's stored size and EXIF orientation (None when
    its header does not read) and the error of an image that does not decode."""
    jpeg: bytes | None
    size: tuple[int, int] | None = None
    orientation: int = 1
    error: str | None = None


# --- the changed images --------------------------------------------------------------------

class Sides:
    """The outputs at the diff's two revisions (``result["a"]``/``["b"]``; "workspace" or None
    is the workspace), opened through revdata when first needed."""

    def __init__(self, repo, result: dict):
        from dataver.revdata import WORKSPACE

        self.repo = repo
        self.revs = {s: None if result.get(s) in (None, WORKSPACE) else result[s] for s in "ab"}
        self._data: dict = {}
        self._files: dict = {}

    def data(self, output: str, side: str):
        """The :class:`~dataver.revdata.OutputData` of ``output`` at ``side`` ("a" or "b")."""
        if side not in self._data:
            from dataver.revdata import outputs_at

            self._data[side] = {d.path: d for d in outputs_at(self.repo, None, self.revs[side])}
        try:
            return self._data[side][output]
        except KeyError:
            raise UserError(f"is not a tracked output at {self.revs[side] or 'the workspace'}",
                            path=output) from None

    def files(self, output: str, side: str) -> dict[str, str]:
        """path in the output -> md5, of every file of ``output`` at ``side``."""
        if (output, side) not in self._files:
            self._files[output, side] = self.data(output, side).files()[0]  # no stat per file
        return self._files[output, side]


def changed_images(result: dict, sides: Sides) -> list[Changed]:
    """Every changed image of every output of ``result``, output by output, in path order."""
    rows: list[Changed] = []
    for out in result.get("outputs") or []:
        by_path: dict[str, Changed] = {}
        for f in out.get("files") or []:
            if _is_image(f):
                a = (f.get("old_path") or f["path"], f["a_md5"]) if f.get("a_md5") else None
                b = (f["path"], f["b_md5"]) if f.get("b_md5") else None
                by_path[f["path"]] = Changed(out["path"], f["path"], f["status"], a, b, f.get("error"))
        for ann in out.get("annotations") or []:
            _add_boxes(by_path, out, ann, sides)
        rows += sorted(by_path.values(), key=lambda r: r.path)
    return rows


def _is_image(f: dict) -> bool:
    if f.get("status") in (None, "other", "unchanged"):
        return False
    return bool(f.get("a_image") or f.get("b_image") or f.get("error")) \
        or f["path"].lower().endswith(IMAGE_SUFFIXES)


def _add_boxes(by_path: dict, out: dict, ann: dict, sides: Sides) -> None:
    """Attach the box pairs of the COCO file ``ann`` to the rows of their images (new rows for
    images whose file did not change)."""
    images = ann.get("images") or []
    names = [img.get("file_name") or "" for img in images]
    where = {s: _Resolver(sides, out, s, names) for s in "ab" if out.get(f"{s}_md5")}
    for img, name in zip(images, names):
        a, b = (where[s].find(img, name) if s in where else None for s in "ab")
        path = (b or a or (posixpath.normpath(name),))[0]
        row = by_path.get(path) or (by_path.get(a[0]) if a else None)
        if row is None:
            row = by_path[path] = Changed(out["path"], path, "boxes", a, b)
        row.boxes += img.get("boxes") or []


class _Resolver:
    """COCO ``file_name`` -> ``(path, md5)`` in an output at one side: under the folder where
    most of the names exist (the card builder's guess), unless the diff names the path."""

    def __init__(self, sides: Sides, out: dict, side: str, names: list[str]):
        from dataver.cards.coco_checks import guess_base

        self.side = side
        self.files = sides.files(out["path"], side)
        self.base = guess_base({"image_files": [(n,) for n in names]}, self.files) or ""

    def find(self, img: dict, name: str) -> tuple[str, str] | None:
        path = img.get(f"{self.side}_path") or posixpath.normpath(posixpath.join(self.base, name))
        md5 = self.files.get(path)
        return (path, md5) if md5 else None


def load_thumbs(rows: list[Changed], sides: Sides) -> dict[str, Thumb]:
    """md5 -> :class:`Thumb` of both sides of ``rows``; one fetch per output and side for the
    objects the cache lacks. An object that cannot be had gets a Thumb with its error."""
    wanted: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        for side, pair in (("a", row.a), ("b", row.b)):
            if pair:
                wanted.setdefault((row.output, side), {})[pair[1]] = pair[0]
    thumbs: dict[str, Thumb] = {}
    for (output, side), items in wanted.items():
        try:
            paths = sides.data(output, side).local_paths([(rel, md5) for md5, rel in items.items()])
        except UserError as exc:
            thumbs.update({md5: Thumb(None, error=str(exc)) for md5 in items if md5 not in thumbs})
            continue
        workspace = sides.revs[side] is None  # a file there may change under the same md5
        for md5 in items:
            if md5 not in thumbs or thumbs[md5].jpeg is None:  # the other side may have it
                thumbs[md5] = thumbnail(sides.repo, md5, paths[md5], keep=not workspace)
    return thumbs


def thumbnail(repo, md5: str, path: str, keep: bool = True) -> Thumb:
    """The thumbnail of the image at ``path`` (object ``md5``), with its stored size and EXIF
    orientation for drawing boxes; ``keep``: read from and kept in the thumbnail cache."""
    from dataver.visual import thumbs

    jpeg, error = thumbs.thumbnail_bytes(repo, md5, path, THUMB_SIZE, cache=keep)
    size, orientation = _header(path) if error is None else (None, 1)
    return Thumb(jpeg, size, orientation, error)


def _header(path: str) -> tuple[tuple[int, int] | None, int]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            orientation = im.getexif().get(274, 1)
            return im.size, orientation if orientation in range(1, 9) else 1
    except Exception:  # noqa: BLE001 - any decoder failure: no frame for boxes
        return None, 1


# --- shared display pieces -----------------------------------------------------------------

def exif_matrix(orientation: int, width: int, height: int) -> tuple[tuple[int, ...], int, int]:
    """``(matrix, display width, display height)``: the SVG matrix ``(a, b, c, d, e, f)`` that
    takes stored-pixel coordinates (COCO boxes: loaders do not rotate) to those of the image
    as shown, rotated by its EXIF orientation as the thumbnail is (Pillow's exif_transpose)."""
    w, h = width, height
    return {
        1: ((1, 0, 0, 1, 0, 0), w, h), 2: ((-1, 0, 0, 1, w, 0), w, h),
        3: ((-1, 0, 0, -1, w, h), w, h), 4: ((1, 0, 0, -1, 0, h), w, h),
        5: ((0, 1, 1, 0, 0, 0), h, w), 6: ((0, 1, -1, 0, h, 0), h, w),
        7: ((0, -1, -1, 0, h, w), h, w), 8: ((0, -1, 1, 0, 0, w), h, w),
    }.get(orientation, ((1, 0, 0, 1, 0, 0), w, h))


def box_summary(counts: dict[str, int]) -> str:
    """``1 added, 1 removed``: the non-zero box classes of an image."""
    return ", ".join(f"{n} {cls}" for cls, n in counts.items() if n)


def category_line(cats: dict) -> str:
    """``added horse (5); removed fish (4); renamed dog → puppy (2)``, or ""."""
    parts = []
    for key in ("added", "removed"):
        if cats.get(key):
            parts.append(f"{key} " + ", ".join(f"{c.get('name')} ({c.get('id')})" for c in cats[key]))
    if cats.get("renamed"):
        parts.append("renamed " + ", ".join(f"{c.get('a')} → {c.get('b')} ({c.get('id')})"
                                            for c in cats["renamed"]))
    return "; ".join(parts)


def per_category(rows: list[dict]) -> tuple[list[dict], int]:
    """``(categories with a box change, the most changed first; how many others there are)``:
    the categories whose boxes all stayed are only counted."""
    def changes(r):
        return sum(r.get(c) or 0 for c in BOX_CLASSES if c != "unchanged")
    changed = sorted((r for r in rows if changes(r)), key=lambda r: (-changes(r), str(r.get("name"))))
    return changed, len(rows) - len(changed)


def still(n: int) -> str:
    """The note under a per-category table: ``3 categories without a change``, or ""."""
    return "" if not n else f"{n} {'category' if n == 1 else 'categories'} without a change"


def revs(result: dict) -> tuple[str, str]:
    """Display names of the two sides (distinct even when both print alike)."""
    ra, rb = str(result.get("a") or "HEAD"), str(result.get("b") or "workspace")
    return (ra, rb) if ra != rb else (f"A: {ra}", f"B: {rb}")


def data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


# --- HTML ----------------------------------------------------------------------------------

def write_html(result: dict, path: str, repo, limit: int = 200) -> None:
    """Write the diff ``result`` as one self-contained HTML file at ``path`` (atomically): the
    summaries, then the first ``limit`` changed images as A | B thumbnails (data: URIs) with
    their boxes drawn as SVG; 2-up, swipe and onion-skin modes. The page fetches nothing."""
    from dataver.visual import export_html

    sides = Sides(repo, result)
    rows = changed_images(result, sides)
    shown = rows[:max(limit, 0)]
    html = export_html.render(result, shown, len(rows), load_thumbs(shown, sides))
    _write_text(path, html)


# --- Markdown ------------------------------------------------------------------------------

def write_md(result: dict, directory: str, repo, limit: int = 20) -> list[str]:
    """Write ``DIR/summary.md`` and the thumbnails of the first ``limit`` changed images into
    ``DIR/thumbs/<md5>.jpg`` (linked from the summary by relative paths); returns the paths
    written (summary first). ``directory`` must be new, empty, or hold only a previous export
    (its marker file names every file in it); files of an earlier export that this one does not
    need are removed, nothing else ever is."""
    from dataver.visual import export_md

    previous = _check_export_dir(directory)
    sides = Sides(repo, result)
    rows = changed_images(result, sides)
    shown = rows[:max(limit, 0)]
    thumbs = load_thumbs(shown, sides)
    text = export_md.render(result, shown, len(rows), thumbs, THUMBS)
    written = {f"{THUMBS}/{md5}.jpg": t.jpeg for md5, t in thumbs.items() if t.jpeg}
    _write_marker(directory, previous | {SUMMARY, *written})  # a killed export stays removable
    for rel, jpeg in sorted(written.items()):
        _write_bytes(os.path.join(directory, *rel.split("/")), jpeg)
    _write_text(os.path.join(directory, SUMMARY), text)
    for rel in sorted(previous - {SUMMARY, *written}):
        _remove_own(directory, rel)
    _write_marker(directory, {SUMMARY, *written})
    return [os.path.join(directory, SUMMARY)] + [os.path.join(directory, *r.split("/"))
                                                 for r in sorted(written)]


def _check_export_dir(directory: str) -> set[str]:
    """The files of a previous export in ``directory`` (empty for a new or empty folder);
    a one-line error for a folder holding anything else."""
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise UserError("exists and is not a folder", path=directory, hint="name a new folder")
    found = _files_under(directory) if os.path.isdir(directory) else set()
    if not found:
        return set()
    listed = _read_marker(directory)
    if listed is None or found - listed - {MARKER}:
        raise UserError("is not empty and does not hold only a previous `diff --md` export",
                        path=directory, hint="name a new or empty folder; nothing was written")
    return listed


def _files_under(directory: str) -> set[str]:
    """Relative POSIX paths of the entries under ``directory``: files and symlinks as they are,
    folders (but ``thumbs``) with a trailing ``/``, so an empty stray folder counts too."""
    found = set()
    for top, dirs, files in os.walk(directory):
        rel = os.path.relpath(top, directory).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        found.update(prefix + name for name in files)
        for name in dirs:
            link = os.path.islink(os.path.join(top, name))
            if link or prefix + name != THUMBS:
                found.add(prefix + name + ("" if link else "/"))
    return found


def _read_marker(directory: str) -> set[str] | None:
    import json

    try:
        with open(os.path.join(directory, MARKER), encoding="utf-8") as fobj:
            data = json.load(fobj)
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ok = isinstance(files, list) and all(isinstance(f, str) and _own_name(f) for f in files)
    return set(files) if ok else None


def _own_name(rel: str) -> bool:
    """A name an export writes: summary.md or thumbs/<hex>.jpg (so a tampered marker cannot
    make the export delete anything else)."""
    name = rel[len(THUMBS) + 1:-4] if rel.startswith(THUMBS + "/") and rel.endswith(".jpg") else None
    return rel == SUMMARY or (name is not None and name.isalnum() and name.isascii())


def _write_marker(directory: str, files: set[str]) -> None:
    import json

    text = json.dumps({"written_by": "dataver diff --md", "files": sorted(files)}, indent=1) + "\n"
    _write_text(os.path.join(directory, MARKER), text)


def _remove_own(directory: str, rel: str) -> None:
    path = os.path.join(directory, *rel.split("/"))
    try:
        if os.path.isfile(path) and not os.path.islink(path):
            os.unlink(path)
    except OSError:
        pass  # a stale thumbnail left behind is harmless


def _write_text(path: str, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


def _write_bytes(path: str, data: bytes) -> None:
    from dataver.atomic import write_bytes_atomic

    try:
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise UserError(f"cannot write: {exc.strerror or exc}", path=path) from None
