"""Render a card, or a card diff, as a plain-text terminal summary.

Renderers only format: every figure comes from the card dict (docs/cards.md). The small
formatting helpers here (sizes, numbers, histogram bin labels, note sections) are shared by
:mod:`.render_md` and :mod:`.render_html`, so the three outputs say the same thing the same way.
"""
from __future__ import annotations

import re

SEVERITIES = ("error", "warning", "info")
TOP_CATEGORIES = 10  # categories listed per COCO file in the text summary
TOP_CHANGES = 15  # category changes listed in a diff
EXAMPLES_WIDTH = 90  # characters of check examples on one line
AREA_BANDS = ("small", "medium", "large")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # would move the cursor, recolour, ...
_PLURAL = {"error": "errors", "warning": "warnings", "info": "info"}


# --- shared formatting helpers -------------------------------------------------------------

def size(value) -> str:
    """Bytes as a short IEC string: ``512 B``, ``3.94 GiB``."""
    if value is None:
        return "-"
    value = float(value)
    if abs(value) < 1024:
        return f"{value:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if abs(value) < 999.5 or unit == "PiB":
            break
    digits = 2 if abs(value) < 9.995 else 1 if abs(value) < 99.95 else 0
    return f"{value:.{digits}f} {unit}"


def short_size(value) -> str:
    """:func:`size` without trailing zeros, for round values such as histogram edges: ``4 KiB``."""
    text = size(value)
    number, _, unit = text.partition(" ")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return f"{number} {unit}"


def num(value) -> str:
    """A count or measure for people: thousands separators, at most 4 significant decimals."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


def figure(name: str, value) -> str:
    """``value`` of the figure called ``name``: sizes for ``*bytes`` figures, else a number."""
    return size(value) if name.endswith("bytes") else num(value)


def signed(name: str, delta) -> str:
    """A change with its sign: ``+500``, ``-1.2 MiB``, ``0``."""
    if delta is None:
        return "-"
    text = figure(name, abs(delta))
    return text if not delta else ("+" if delta > 0 else "-") + text


def pct(value) -> str:
    """A percentage change (the diff gives percent): ``+2.6%``; ``-`` when unknown."""
    if value is None:
        return "-"
    return f"{value:+.1f}%" if abs(value) < 1000 else f"{value:+,.0f}%"


def change(name: str, delta, percent) -> str:
    """Delta and percent together: ``+500 (+2.6%)``."""
    if delta is None:
        return "-"
    return signed(name, delta) if percent is None else f"{signed(name, delta)} ({pct(percent)})"


def bin_labels(edges: list, n: int, unit: str = "") -> list[str]:
    """Labels of ``n`` histogram bins over ``edges`` (numpy's convention: len(edges) == n + 1,
    values past the last edge counted in the last bin, which is therefore open: ``>= x``)."""
    fmt = short_size if unit == "bytes" else num
    edges = list(edges)
    labels = []
    for i in range(n):
        low = edges[i] if i < len(edges) else None
        high = edges[i + 1] if i + 1 < len(edges) else None
        if low is None:
            labels.append(f"bin {i + 1}")
        elif high is None or i == n - 1:
            labels.append(f">= {fmt(low)}")
        else:
            labels.append(f"{fmt(low)} - {fmt(high)}")
    return labels


def histogram_rows(hist: dict | None, unit: str = "") -> list[tuple[str, int]]:
    """``[(bin label, count)]`` of a ``{"edges", "counts"}`` histogram, with empty bins at either
    end left out (a report shows the occupied range)."""
    if not hist or not hist.get("counts"):
        return []
    counts = list(hist["counts"])
    labels = bin_labels(hist.get("edges") or [], len(counts), unit)
    used = [i for i, c in enumerate(counts) if c]
    if not used:
        return []
    return [(labels[i], counts[i]) for i in range(used[0], used[-1] + 1)]


def trim_pair(edges: list, a: list, b: list, unit: str = "") -> list[tuple[str, int, int]]:
    """``[(bin label, count in A, count in B)]`` of two histograms over the same edges, with the
    bins empty on both sides at either end left out."""
    n = max(len(a), len(b))
    a = list(a) + [0] * (n - len(a))
    b = list(b) + [0] * (n - len(b))
    labels = bin_labels(edges, n, unit)
    used = [i for i in range(n) if a[i] or b[i]]
    if not used:
        return []
    return [(labels[i], a[i], b[i]) for i in range(used[0], used[-1] + 1)]


def hist_unit(name: str) -> str:
    """The unit of a histogram by its name (only file sizes are bytes)."""
    return "bytes" if "size" in name else ""


def note_sections(notes) -> list[tuple[str, str]]:
    """``[(title, text)]`` of the filled note sections. Accepts the card's
    ``{"sections": [{"key", "title", "text"}]}`` and a plain ``{key: text}`` mapping."""
    if not notes:
        return []
    if isinstance(notes, dict) and isinstance(notes.get("sections"), list):
        items = [(s.get("title") or s.get("key") or "Notes", s.get("text") or "") for s in notes["sections"]]
    elif isinstance(notes, dict):
        items = [(str(k).replace("_", " ").capitalize(), v if isinstance(v, str) else "")
                 for k, v in notes.items() if k not in ("path", "exists")]
    else:
        items = [(s.get("title") or "Notes", s.get("text") or "") for s in notes]
    return [(title, text.strip()) for title, text in items if text and text.strip()]


def top_categories(per_category: list, n: int) -> list[dict]:
    """The ``n`` categories with most instances (ties by id), plus one ``other`` row summing the
    rest (only when there is a rest)."""
    ordered = sorted(per_category or [], key=lambda c: (-(c.get("instances") or 0), c.get("id") or 0))
    top, rest = ordered[:n], ordered[n:]
    if rest:
        top = top + [{"id": None, "name": f"other ({len(rest)} categories)",
                      "instances": sum(c.get("instances") or 0 for c in rest),
                      "images": None}]
    return top


def area_bands(bands: dict | None) -> list[tuple[str, int]]:
    """COCO area bands in COCO's order, small, medium, large (then any other key), whatever
    the order of the card's keys (canonical JSON sorts them)."""
    bands = bands or {}
    order = [k for k in AREA_BANDS if k in bands] + sorted(k for k in bands if k not in AREA_BANDS)
    return [(k, bands[k] or 0) for k in order]


def severity_counts(checks: list) -> dict[str, int]:
    """Number of checks (codes) of each severity."""
    counts = {s: 0 for s in SEVERITIES}
    for check in checks or []:
        counts[check.get("severity")] = counts.get(check.get("severity"), 0) + 1
    return counts


def severity_summary(checks: list) -> str:
    """``3 errors, 7 warnings, 4 info`` (``no checks fired`` when empty)."""
    if not checks:
        return "no checks fired"
    counts = severity_counts(checks)
    return ", ".join(f"{counts[s]} {_PLURAL[s] if counts[s] != 1 else s}" for s in SEVERITIES)


def by_counts(mapping: dict | None) -> list[tuple[str, int, int | None]]:
    """``[(key, count, bytes or None)]`` sorted by count, of ``{key: n}`` or
    ``{key: {"count", "bytes"}}``."""
    rows = []
    for key, value in (mapping or {}).items():
        if isinstance(value, dict):
            rows.append((key or "(none)", value.get("count") or 0, value.get("bytes")))
        else:
            rows.append((key or "(none)", value or 0, None))
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def output_label(card: dict) -> str:
    """The output's path as the card names it."""
    return (card.get("output") or {}).get("path") or "(output)"


def diff_label(d: dict) -> str:
    """The output a card diff compares (either side's card may be None: no output there)."""
    card = (d.get("b") or {}).get("card") or (d.get("a") or {}).get("card") or {}
    return d.get("output") or output_label(card)


# --- text layout ---------------------------------------------------------------------------

def _table(rows: list[list[str]], right: set[int] = frozenset(), indent: str = "  ") -> list[str]:
    """Rows as aligned columns (``right``: indexes of right-aligned columns)."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _bars(rows: list[tuple[str, int]], unit_width: int = 30) -> list[str]:
    """A histogram as labelled ``#`` bars."""
    top = max((c for _, c in rows), default=0) or 1
    return _table([[label, num(count), "#" * max(1 if count else 0, round(count * unit_width / top))]
                   for label, count in rows], right={1})


def _inline(rows) -> str:
    return ", ".join(f"{key} {num(count)}" for key, count, *_ in rows)


def card(card: dict) -> str:
    """The terminal summary of one card."""
    out = card.get("output") or {}
    lines = [f"{output_label(card)}: {num(out.get('files'))} files, {size(out.get('bytes'))}"
             f"  (md5 {out.get('md5') or '-'})"]
    stored = card.get("stored")
    at = f", at {card['rev']}" if card.get("rev") else ""
    lines.append(f"  card {'stored as ' + stored if stored else 'not stored'}{at}; "
                 f"deep facts: {num(bool(card.get('deep')))}")
    for section in (_files, _images, _cocos, _pdfs, _checkpoints, _checks, _notes):
        part = section(card)
        if part:
            lines += [""] + part
    return terminal_safe("\n".join(lines) + "\n")


def terminal_safe(text: str) -> str:
    """``text`` with control characters (from file names, category names, notes) shown as ``?``,
    so printing a card cannot drive the terminal."""
    return _CONTROL.sub("?", text.replace("\t", " "))


def _files(card: dict) -> list[str]:
    files = card.get("files")
    if not files:
        return []
    lines = ["Files"]
    lines += _table([[k, num(c), size(b)] for k, c, b in by_counts(files.get("by_type"))], right={1, 2})
    exts = by_counts(files.get("by_extension"))
    more = f", ... ({len(exts)} in all)" if len(exts) > 8 else ""
    lines.append("  extensions: " + _inline(exts[:8]) + more)
    rows = histogram_rows(files.get("size_histogram"), "bytes")
    if rows:
        lines += ["  size histogram:"] + ["  " + line for line in _bars(rows)]
    largest = files.get("largest") or []
    if largest:
        lines += ["  largest:"] + _table([[size(f.get("bytes")), f.get("path", "")] for f in largest[:5]],
                                          right={0}, indent="    ")
    dups = files.get("duplicates") or {}
    if dups.get("groups"):
        lines.append(f"  duplicates: {num(dups['groups'])} groups, {num(dups.get('files'))} extra copies, "
                     f"{size(dups.get('wasted_bytes'))} wasted")
    return lines


def _images(card: dict) -> list[str]:
    img = card.get("images")
    if not img:
        return []
    lines = [f"Images  {num(img.get('count'))}"]
    lines.append("  formats: " + _inline(by_counts(img.get("by_format"))))
    lines.append("  modes:   " + _inline(by_counts(img.get("by_mode"))))
    for axis in ("width", "height"):
        st = img.get(axis)
        if st:
            lines.append(f"  {axis + ':':8} min {num(st.get('min'))}, median {num(st.get('median'))}, "
                         f"mean {num(st.get('mean'))}, max {num(st.get('max'))}")
    res = img.get("resolutions") or []
    if res:
        lines.append("  top resolutions: " + ", ".join(f"{r['width']}x{r['height']} ({num(r['count'])})"
                                                     for r in res[:5]))
    rows = histogram_rows(img.get("megapixels_histogram"))
    if rows:
        lines += ["  megapixels:"] + ["  " + line for line in _bars(rows)]
    orient = img.get("orientation")
    if orient:
        lines.append("  EXIF orientation: " + _inline(by_counts(orient)))
    deep = img.get("deep")
    if deep:
        lines.append(f"  deep: {num(deep.get('decoded'))} decoded, {num(deep.get('corrupt'))} corrupt, "
                     f"{num(deep.get('pixel_duplicate_groups'))} same-pixel groups, "
                     f"{num(deep.get('near_duplicate_groups'))} near-duplicate groups")
    return lines


def _cocos(card: dict) -> list[str]:
    lines = []
    for coco in card.get("coco") or []:
        where = coco.get("images_output") or coco.get("images_base")
        lines += ([""] if lines else []) + [
            f"COCO  {coco.get('path')}: {num(coco.get('images'))} images, {num(coco.get('annotations'))} "
            f"annotations, {num(coco.get('categories'))} categories"
            + (f" (images in {where})" if where else "")]
        top = top_categories(coco.get("per_category"), TOP_CATEGORIES)
        lines += _table([["category", "instances", "images"]]
                        + [[str(c.get("name")), num(c.get("instances")),
                            num(c.get("images"))] for c in top], right={1, 2})
        bpi = coco.get("boxes_per_image") or {}
        if bpi:
            lines.append(f"  boxes per image: min {num(bpi.get('min'))}, median {num(bpi.get('median'))}, "
                         f"mean {num(bpi.get('mean'))}, max {num(bpi.get('max'))}")
        if coco.get("area_bands"):
            bands = area_bands(coco["area_bands"])
            lines.append("  box area: " + ", ".join(f"{k} {num(v)}" for k, v in bands))
        for key in ("iscrowd", "segmentation"):
            if coco.get(key):
                lines.append(f"  {key}: " + ", ".join(f"{k} {num(v)}" for k, v in coco[key].items()))
    return lines


def _pdfs(card: dict) -> list[str]:
    pdfs = card.get("pdfs")
    if not pdfs:
        return []
    return [f"PDFs  {num(pdfs.get('count'))} files, {num(pdfs.get('pages'))} pages; "
            f"with text {num(pdfs.get('with_text'))}, without text {num(pdfs.get('without_text'))}, "
            f"encrypted {num(pdfs.get('encrypted'))}, unreadable {num(pdfs.get('unreadable'))}"]


def _checkpoints(card: dict) -> list[str]:
    cps = card.get("checkpoints") or []
    if not cps:
        return []
    rows = []
    for cp in cps:
        if cp.get("error"):
            rows.append([cp.get("path", ""), cp.get("format") or "?", "error: " + str(cp["error"])])
        else:
            dtypes = ", ".join(f"{k} {num(v)}" for k, v in (cp.get("dtypes") or {}).items())
            figures = f"{num(cp.get('tensors'))} tensors, {num(cp.get('parameters'))} parameters"
            rows.append([cp.get("path", ""), cp.get("format") or "?", f"{figures} ({dtypes})"])
    return ["Checkpoints"] + _table(rows)


def _check_rows(checks: list) -> list[list[str]]:
    rows = []
    for c in checks:
        examples = c.get("examples") or []
        shown = "; ".join(str(e) for e in examples[:2]) + ("; ..." if len(examples) > 2 else "")
        shown = shown if len(shown) <= EXAMPLES_WIDTH else shown[:EXAMPLES_WIDTH - 3] + "..."
        rows.append([c.get("severity", ""), c.get("code", ""), num(c.get("count")), shown])
    return rows


def _checks(card: dict) -> list[str]:
    checks = card.get("checks") or []
    lines = [f"Checks  {severity_summary(checks)}"]
    return lines + _table(_check_rows(checks), right={2})


def _notes(card: dict) -> list[str]:
    sections = note_sections(card.get("notes"))
    if not sections:
        return []
    rows = [[title + ":", text.splitlines()[0]] for title, text in sections]
    return ["Notes"] + _table(rows)


def diff(d: dict) -> str:
    """The terminal summary of a card diff: figures, category changes, checks."""
    a, b = d.get("a") or {}, d.get("b") or {}
    ra, rb = a.get("rev") or "A", b.get("rev") or "B"
    lines = [f"Card diff of {diff_label(d)}: {ra} -> {rb}", ""]
    rows = [["figure", ra, rb, "change"]]
    for f in d.get("figures") or []:
        name = f.get("name", "")
        rows.append([f.get("label") or name, figure(name, f.get("a")), figure(name, f.get("b")),
                     change(name, f.get("delta"), f.get("pct"))])
    lines += _table(rows, right={1, 2, 3}, indent="")
    cats = [c for c in d.get("categories") or [] if c.get("delta")]
    if cats:
        cats.sort(key=lambda c: (-abs(c["delta"]), c.get("file") or "", str(c.get("name"))))
        lines += ["", f"Category instances (largest changes first, {len(cats)} changed)"]
        lines += _table([["file", "category", ra, rb, "change"]]
                        + [[c.get("file") or "", str(c.get("name")), num(c.get("a_instances")),
                            num(c.get("b_instances")), change("", c["delta"], c.get("pct"))]
                           for c in cats[:TOP_CHANGES]], right={2, 3, 4})
        if len(cats) > TOP_CHANGES:
            lines.append(f"  ... and {len(cats) - TOP_CHANGES} more")
    lines += ["", "Checks"] + _diff_checks(d.get("checks") or {}, ra, rb)
    if d.get("failed"):
        lines += ["", "FAILED: " + "; ".join(d["failed"])]
    return terminal_safe("\n".join(lines) + "\n")


def _diff_checks(checks: dict, ra: str, rb: str) -> list[str]:
    rows = []
    for status in ("appeared", "gone"):
        rows += [[status] + row for row in _check_rows(checks.get(status) or [])]
    for c in checks.get("changed") or []:
        rows.append(["changed", c.get("severity", ""), c.get("code", ""),
                     f"{num(c.get('a'))} -> {num(c.get('b'))}", ""])
    return _table(rows, right={3}) if rows else ["  no change"]
