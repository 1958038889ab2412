"""The Markdown summary of ``dataver diff A B --md DIR`` (``DIR/summary.md``): per output the
counts per change class, the box changes of each COCO file per category, then an old | new
table of the first changed images whose thumbnails are linked by relative paths
(``thumbs/<md5>.jpg``, written next to it). GitHub-flavoured: tables, no raw HTML."""
from __future__ import annotations

from dataver.cards.render_md import code, esc, table
from dataver.visual.export import (
    BOX_CLASSES, FILE_CLASSES, FILE_LABELS, TOP_CATEGORIES, Changed, Thumb, box_summary,
    category_line, per_category, revs, still,
)


def render(result: dict, shown: list[Changed], total: int, thumbs: dict[str, Thumb],
           thumbs_dir: str) -> str:
    """The summary of ``result``, with the images ``shown`` (of ``total`` changed ones)."""
    ra, rb = revs(result)
    lines = [f"## Image diff {code(ra)} → {code(rb)}", ""]
    for out in result.get("outputs") or []:
        lines += _output(out)
    lines += _images(shown, total, thumbs, thumbs_dir, ra, rb)
    lines += ["_Made by `dataver diff --md`._", ""]
    return "\n".join(lines)


def _output(out: dict) -> list[str]:
    summary = out.get("summary") or {}
    lines = [f"### {code(out.get('path', ''))}", "",
             f"{code(out.get('a_md5') or 'none')} → {code(out.get('b_md5') or 'none')}", ""]
    lines += table([esc(FILE_LABELS.get(c, c)) for c in FILE_CLASSES],
                   [[str(summary.get(c) or 0) for c in FILE_CLASSES]], right=set(range(len(FILE_CLASSES))))
    for ann in out.get("annotations") or []:
        lines += _annotations(ann)
    return lines


def _annotations(ann: dict) -> list[str]:
    summary = ann.get("summary") or {}
    header = ["images changed", *BOX_CLASSES]
    lines = [f"#### Boxes in {code(ann.get('path', ''))}", ""]
    lines += table([esc(h) for h in header], [[str(summary.get(k) or 0) for k in ("images", *BOX_CLASSES)]],
                   right=set(range(len(header))))
    cats = category_line(ann.get("categories") or {})
    if cats:
        lines += [f"Categories: {esc(cats)}", ""]
    rows, others = per_category(ann.get("per_category") or [])
    body = [[esc(r.get("name")), *(str(r.get(c) or 0) for c in BOX_CLASSES)] for r in rows[:TOP_CATEGORIES]]
    lines += table(["category", *BOX_CLASSES], body, right=set(range(1, len(BOX_CLASSES) + 1)))
    notes = [f"{len(rows) - TOP_CATEGORIES} more changed categories (see `dataver diff --json`)"
             if len(rows) > TOP_CATEGORIES else "", still(others)]
    note = "; ".join(n for n in notes if n)
    return lines + ([note[:1].upper() + note[1:] + ".", ""] if note else [])


def _images(shown: list[Changed], total: int, thumbs: dict[str, Thumb], thumbs_dir: str,
            ra: str, rb: str) -> list[str]:
    if not total:
        return ["### Changed images", "", "No image changed.", ""]
    lines = [f"### Changed images ({len(shown)} of {total})", ""]
    several = len({r.output for r in shown}) > 1  # then each path names its output
    rows = [[code(f"{r.output}/{r.path}" if several else r.path), _change(r),
             _cell(r.a, thumbs, thumbs_dir, ra), _cell(r.b, thumbs, thumbs_dir, rb)] for r in shown]
    lines += table(["file", "change", f"old ({esc(ra)})", f"new ({esc(rb)})"], rows)
    if total > len(shown):
        lines += [f"{total - len(shown)} more changed images are not shown "
                  "(raise `--limit`, or see `dataver diff --html FILE`).", ""]
    return lines


def _change(row: Changed) -> str:
    parts = [esc(FILE_LABELS.get(row.status, row.status))]
    if row.old_path:
        parts.append(f"from {code(row.old_path)}")
    if row.boxes:
        parts.append(f"boxes: {esc(box_summary(row.box_counts()))}")
    if row.error:
        parts.append(f"error: {esc(row.error)}")
    return "; ".join(parts)


def _cell(pair: tuple[str, str] | None, thumbs: dict[str, Thumb], thumbs_dir: str, rev: str) -> str:
    if pair is None:
        return "—"
    thumb = thumbs.get(pair[1])
    if thumb is None or not thumb.jpeg:
        return f"*{esc(thumb.error if thumb else 'no thumbnail')}*"
    return f"![{esc(rev)}]({thumbs_dir}/{pair[1]}.jpg)"
