"""Render a card, or a card diff, as GitHub-flavoured Markdown (pull requests, READMEs).

Tables for figures and checks, histograms as small tables with Unicode bars (no images, so the
text pastes anywhere), the user's notes in full. Only formats what the card dict holds.
"""
from __future__ import annotations

import re

from dataver.cards.render_text import (
    area_bands, by_counts, change, diff_label, figure, histogram_rows, hist_unit, note_sections, num,
    output_label, severity_summary, size, top_categories, trim_pair,
)

TOP_CATEGORIES = 40  # categories in the per-file table (the rest summed as "other")
TOP_CHANGES = 25  # category changes in a diff table
BAR_WIDTH = 20  # characters of the widest bar
_BLOCKS = " ▏▎▍▌▋▊▉█"
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&])")
_BADGE = {"error": "🔴 error", "warning": "🟠 warning", "info": "🔵 info"}


def esc(value) -> str:
    """Text safe in a table cell and as inline Markdown: punctuation that Markdown or HTML would
    read is backslash-escaped, line breaks become spaces."""
    text = " ".join(str(value).split())
    return _SPECIAL.sub(r"\\\1", text)


def code(value) -> str:
    """Inline code for ``value`` (a path, a check code), fenced so backticks inside survive."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def bar(count: int, top: int) -> str:
    """A Unicode bar of ``count`` against ``top`` (eighths of a block)."""
    if not count or not top:
        return ""
    eighths = max(1, round(count * BAR_WIDTH * 8 / top))
    return _BLOCKS[8] * (eighths // 8) + (_BLOCKS[eighths % 8] if eighths % 8 else "")


def table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    """A GFM table (cells already escaped); ``right``: right-aligned column indexes."""
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _hist_table(title: str, rows: list[tuple[str, int]]) -> list[str]:
    top = max((c for _, c in rows), default=0)
    body = [[esc(label), num(c), bar(c, top)] for label, c in rows]
    return table([esc(title), "count", ""], body, right={1})


def _details(summary: str, body: list[str]) -> list[str]:
    """A collapsed block (GitHub renders <details>); Markdown inside needs the blank lines."""
    if not body:
        return []
    return [f"<details><summary>{esc(summary)}</summary>", ""] + body + ["</details>", ""]


def card(card: dict) -> str:
    """Markdown of one card."""
    out = card.get("output") or {}
    stored = card.get("stored")
    lines = [f"### Data card: {code(output_label(card))}", "",
             f"{num(out.get('files'))} files · {size(out.get('bytes'))} · md5 {code(out.get('md5') or '-')}"
             + (f" · stored {code(stored)}" if stored else " · not stored")
             + (f" · {esc(card['rev'])}" if card.get("rev") else "")
             + (" · deep" if card.get("deep") else ""), ""]
    for section in (_checks, _files, _images, _cocos, _pdfs, _checkpoints, _notes):
        lines += section(card)
    return "\n".join(lines).rstrip("\n") + "\n"


def _check_rows(checks: list, prefix: list[str] | None = None) -> list[list[str]]:
    rows = []
    for c in checks:
        examples = "<br>".join(code(e) for e in (c.get("examples") or [])[:3])
        rows.append((prefix or []) + [_BADGE.get(c.get("severity"), esc(c.get("severity"))),
                                      code(c.get("code", "")), num(c.get("count")),
                                      esc(c.get("message") or ""), examples])
    return rows


def _checks(card: dict) -> list[str]:
    checks = card.get("checks") or []
    lines = [f"#### Checks: {severity_summary(checks)}", ""]
    return lines + table(["severity", "code", "count", "meaning", "examples"], _check_rows(checks), right={2})


def _files(card: dict) -> list[str]:
    files = card.get("files")
    if not files:
        return []
    lines = ["#### Files", ""]
    lines += table(["type", "files", "bytes"], [[esc(k), num(c), size(b)] for k, c, b in
                                                by_counts(files.get("by_type"))], right={1, 2})
    lines += _details("By extension", table(["extension", "files", "bytes"], [
        [code(k), num(c), size(b)] for k, c, b in by_counts(files.get("by_extension"))], right={1, 2}))
    rows = histogram_rows(files.get("size_histogram"), "bytes")
    lines += _hist_table("file size", rows)
    largest = files.get("largest") or []
    lines += _details("Largest files", table(["file", "bytes"], [
        [code(f.get("path", "")), size(f.get("bytes"))] for f in largest], right={1}))
    dups = files.get("duplicates") or {}
    if dups.get("groups"):
        lines += [f"Exact duplicates: {num(dups['groups'])} groups, {num(dups.get('files'))} extra copies, "
                  f"{size(dups.get('wasted_bytes'))} wasted.", ""]
    return lines


def _images(card: dict) -> list[str]:
    img = card.get("images")
    if not img:
        return []
    lines = [f"#### Images: {num(img.get('count'))}", ""]
    stats = [[axis, num(st.get("min")), num(st.get("median")), num(st.get("mean")), num(st.get("max"))]
             for axis in ("width", "height") if (st := img.get(axis))]
    lines += table(["pixels", "min", "median", "mean", "max"], stats, right={1, 2, 3, 4})
    for key, title in (("by_format", "format"), ("by_mode", "mode"), ("orientation", "EXIF orientation")):
        rows = by_counts(img.get(key))
        if rows:
            lines += [f"**{title}:** " + ", ".join(f"{esc(k)} {num(c)}" for k, c, _ in rows), ""]
    res = img.get("resolutions") or []
    if res:
        top = max(r["count"] for r in res)
        lines += table(["resolution", "images", ""], [[f"{r['width']}×{r['height']}", num(r["count"]),
                                                       bar(r["count"], top)] for r in res], right={1})
    lines += _hist_table("megapixels", histogram_rows(img.get("megapixels_histogram")))
    deep = img.get("deep")
    if deep:
        lines += [f"Deep check: {num(deep.get('decoded'))} decoded, {num(deep.get('corrupt'))} corrupt, "
                  f"{num(deep.get('pixel_duplicate_groups'))} same-pixel groups, "
                  f"{num(deep.get('near_duplicate_groups'))} near-duplicate groups.", ""]
    return lines


def _cocos(card: dict) -> list[str]:
    lines = []
    for coco in card.get("coco") or []:
        where = coco.get("images_output") or coco.get("images_base")
        lines += [f"#### COCO {code(coco.get('path'))}", "",
                  f"{num(coco.get('images'))} images · {num(coco.get('annotations'))} annotations · "
                  f"{num(coco.get('categories'))} categories"
                  + (f" · images in {code(where)}" if where else ""), ""]
        top = top_categories(coco.get("per_category"), TOP_CATEGORIES)
        peak = max((c.get("instances") or 0 for c in top if c.get("id") is not None), default=0)
        rows = [[esc(c.get("name")), num(c.get("instances")), num(c.get("images")),
                 bar(c.get("instances") or 0, peak) if c.get("id") is not None else ""] for c in top]
        lines += _details(f"Instances per category (top {TOP_CATEGORIES})",
                          table(["category", "instances", "images", ""], rows, right={1, 2}))
        bpi = coco.get("boxes_per_image") or {}
        lines += _hist_table("boxes per image", histogram_rows(bpi.get("histogram")))
        lines += _hist_table("box aspect ratio (w/h)",
                             histogram_rows((coco.get("aspect_ratio") or {}).get("histogram")))
        for title, pairs in (("box area", area_bands(coco.get("area_bands"))),
                             ("iscrowd", list((coco.get("iscrowd") or {}).items())),
                             ("segmentation", list((coco.get("segmentation") or {}).items()))):
            if pairs:
                lines += [f"**{title}:** " + ", ".join(f"{esc(k)} {num(v)}" for k, v in pairs), ""]
    return lines


def _pdfs(card: dict) -> list[str]:
    pdfs = card.get("pdfs")
    if not pdfs:
        return []
    keys = ("count", "pages", "with_text", "without_text", "encrypted", "unreadable")
    header = ["files"] + [k.replace("_", " ") for k in keys[1:]]
    return ["#### PDFs", ""] + table(header, [[num(pdfs.get(k)) for k in keys]], right=set(range(6)))


def _checkpoints(card: dict) -> list[str]:
    cps = card.get("checkpoints") or []
    rows = []
    for cp in cps:
        dtypes = ", ".join(f"{esc(k)} {num(v)}" for k, v in (cp.get("dtypes") or {}).items())
        rows.append([code(cp.get("path", "")), esc(cp.get("format") or "?"),
                     num(cp.get("tensors")), num(cp.get("parameters")),
                     ("error: " + esc(cp["error"])) if cp.get("error") else dtypes])
    return (["#### Checkpoints", ""] + table(["file", "format", "tensors", "parameters", "dtypes"],
                                             rows, right={2, 3})) if rows else []


def _notes(card: dict) -> list[str]:
    sections = note_sections(card.get("notes"))
    lines = ["#### Notes", ""] if sections else []
    for title, text in sections:
        lines += [f"##### {esc(title)}", "", text, ""]
    return lines


def diff(d: dict) -> str:
    """Markdown of a card diff: figures, category changes, histograms, checks."""
    a, b = d.get("a") or {}, d.get("b") or {}
    ra, rb = esc(a.get("rev") or "A"), esc(b.get("rev") or "B")
    name = diff_label(d)
    lines = [f"### Data card diff: {code(name)} ({ra} → {rb})", ""]
    if d.get("failed"):
        lines += ["**❌ Failed:** " + ", ".join(code(e) for e in d["failed"]), ""]
    rows = [[esc(f.get("label") or f.get("name", "")), figure(f.get("name", ""), f.get("a")),
             figure(f.get("name", ""), f.get("b")), change(f.get("name", ""), f.get("delta"), f.get("pct"))]
            for f in d.get("figures") or []]
    lines += table(["figure", ra, rb, "change"], rows, right={1, 2, 3})
    lines += _diff_checks(d.get("checks") or {}, ra, rb)
    lines += _diff_categories(d.get("categories") or [], ra, rb)
    for hist in d.get("histograms") or []:
        pairs = trim_pair(hist.get("edges") or [], hist.get("a") or [], hist.get("b") or [],
                          hist_unit(hist.get("name", "")))
        top = max((max(x, y) for _, x, y in pairs), default=0)
        lines += _details(hist.get("label") or hist.get("name", ""), table(
            ["bin", ra, "", rb, ""], [[esc(label), num(x), bar(x, top), num(y), bar(y, top)]
                                      for label, x, y in pairs], right={1, 3}))
    return "\n".join(lines).rstrip("\n") + "\n"


def _diff_checks(checks: dict, ra: str, rb: str) -> list[str]:
    rows = []
    for status in ("appeared", "gone"):
        rows += _check_rows(checks.get(status) or [], [status])
    for c in checks.get("changed") or []:
        rows.append(["changed", _BADGE.get(c.get("severity"), esc(c.get("severity"))),
                     code(c.get("code", "")), f"{num(c.get('a'))} → {num(c.get('b'))}", "", ""])
    if not rows:
        return ["#### Checks: no change", ""]
    header = ["", "severity", "code", "count", "meaning", "examples"]
    return ["#### Checks", ""] + table(header, rows, right={3})


def _diff_categories(cats: list, ra: str, rb: str) -> list[str]:
    changed = sorted((c for c in cats if c.get("delta")),
                     key=lambda c: (-abs(c["delta"]), c.get("file") or "", str(c.get("name"))))
    if not changed:
        return []
    rows = [[code(c.get("file") or ""), esc(c.get("name")), num(c.get("a_instances")),
             num(c.get("b_instances")), change("", c["delta"], c.get("pct")),
             f"{num(c.get('a_images'))} → {num(c.get('b_images'))}"] for c in changed[:TOP_CHANGES]]
    rest = len(changed) - TOP_CHANGES
    more = [f"…and {rest} more changed categories.", ""] if rest > 0 else []
    return ([f"#### Category instances ({len(changed)} changed, largest first)", ""]
            + table(["file", "category", ra, rb, "change", "images"], rows, right={2, 3, 4}) + more)

