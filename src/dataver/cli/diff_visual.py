"""`dataver diff --images / --annotations / --html FILE / --md DIR`: the visual diff
(:mod:`dataver.visual`) printed as text or JSON, or written as a report for code review."""
from __future__ import annotations

import sys

from dataver.cli.output import echo
from dataver.errors import UserError

CLASSES = ("added", "removed", "renamed", "reencoded", "changed", "other")  # as printed
BOX_CLASSES = ("added", "removed", "moved", "relabeled", "unchanged")


def run(args) -> int:
    from dataver.progress import for_cli
    from dataver.repo import Repo
    from dataver.visual.model import DEFAULT_IOU, check_iou

    if args.markdown is True:  # `--md` without a directory, beside --images
        raise UserError("with --images or --annotations, --md writes a report into a directory",
                        hint="give one: --md DIR")
    iou = check_iou(args.iou) if args.iou is not None else DEFAULT_IOU
    limit = _limit(args.limit)
    with Repo() as repo:
        from dataver.visual.model import image_diff

        result = image_diff(repo, args.a_rev, args.b_rev, args.targets or None,
                            annotations=args.annotations, iou=iou,
                            progress=for_cli(args.quiet or args.json))
        _exports(args, result, repo, limit)
    if args.json:
        _print_json(result)
    elif not (args.html or args.md_dir):
        for line in text_lines(result, limit):
            echo(args, line)
    return 0


def _limit(text) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UserError(f"--limit must be a positive integer, not {text!r}")
    return value


def _exports(args, result: dict, repo, limit: int | None) -> None:
    if not (args.html or args.md_dir):
        return
    try:
        from dataver.visual import export
    except ImportError as exc:  # the exports come with a later part of this feature
        raise UserError("--html and --md DIR are not available in this build",
                        hint="use --json or the text output") from exc
    extra = {} if limit is None else {"limit": limit}
    if args.html:
        export.write_html(result, args.html, repo, **extra)
        echo(args, f"wrote {args.html}")
    if args.md_dir:
        export.write_md(result, args.md_dir, repo, **extra)
        echo(args, f"wrote {args.md_dir}")


def _print_json(result: dict) -> None:
    """orjson when present (a million boxes: ~0.3 s instead of ~3 s), else the standard
    library; the same document either way."""
    try:
        import orjson
    except ImportError:
        from dataver.cli.output import print_json

        print_json(result)
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    sys.stdout.flush()


def _size(image: dict | None) -> str | None:
    return f"{image['width']}x{image['height']}" if image else None


def file_line(output: str, row: dict) -> str:
    """``status  path  (old path)  AxB -> AxB  (error)``; paths relative to the repo."""
    parts = [row["status"].ljust(9), f"{output}/{row['path']}" if output else row["path"]]
    if row["old_path"]:
        parts.append(f"({output}/{row['old_path']})" if output else f"({row['old_path']})")
    sizes = [_size(row["a_image"]), _size(row["b_image"])]
    if row["status"] == "added":
        sizes[0] = None
    if all(sizes):
        parts.append(f"{sizes[0]} -> {sizes[1]}")
    elif any(sizes):
        parts.append(sizes[0] or sizes[1])
    if row.get("error"):
        parts.append(f"(error: {row['error']})")
    return "  ".join(parts)


def text_lines(result: dict, limit: int | None = None) -> list[str]:
    """Per output: a summary line, then one line per changed file (at most ``limit``); with
    annotations, per COCO file its summary, category changes and per-category table."""
    lines = []
    for out in result["outputs"]:
        summary = out["summary"]
        counts = ", ".join(f"{summary[c]} {c}" for c in CLASSES if summary[c])
        counts = (counts + ", " if counts else "") + f"{summary['unchanged']} unchanged"
        lines.append(f"{out['path']}: {counts}")
        files = out["files"] if limit is None else out["files"][:limit]
        lines += ["  " + file_line(out["path"], row) for row in files]
        if len(files) < len(out["files"]):
            lines.append(f"  ... and {len(out['files']) - len(files)} more")
        for ann in out.get("annotations", []):
            lines += annotation_lines(out["path"], ann)
    return lines


def annotation_lines(output: str, ann: dict) -> list[str]:
    s = ann["summary"]
    boxes = ", ".join(f"{s[c]} {c}" for c in BOX_CLASSES)
    lines = [f"  {output}/{ann['path']}: {s['images']} images changed; boxes: {boxes}"]
    cats = ann["categories"]
    changes = [f"added {c['name']} ({c['id']})" for c in cats["added"]]
    changes += [f"removed {c['name']} ({c['id']})" for c in cats["removed"]]
    changes += [f"renamed {c['a']} -> {c['b']} ({c['id']})" for c in cats["renamed"]]
    if changes:
        lines.append("    categories: " + "; ".join(changes))
    rows = [r for r in ann["per_category"] if any(r[c] for c in BOX_CLASSES[:4])]
    if rows:
        width = max(len("category"), *(len(r["name"]) for r in rows))
        lines.append("    " + "category".ljust(width) + "".join(f"  {c:>9}" for c in BOX_CLASSES))
        for r in rows:
            lines.append("    " + r["name"].ljust(width) +
                         "".join(f"  {r[c]:>9}" for c in BOX_CLASSES))
    return lines
