"""Compare two cards: every figure with both values and the change, per-category counts,
histograms side by side, and the checks that appeared or went away; ``--fail-if``
expressions over the result turn it into a CI gate (syntax in docs/cards.md)."""
from __future__ import annotations

import ast

from dataver.errors import UserError

# (name, label, path in the card)
FIGURES = [
    ("files", "Files", ("files", "count")),
    ("bytes", "Bytes", ("files", "bytes")),
    ("duplicates", "Duplicate files", ("files", "duplicates", "files")),
    ("images", "Images", ("images", "count")),
    ("images.readable", "Readable images", ("images", "readable")),
    ("images.width.median", "Median image width", ("images", "width", "median")),
    ("images.height.median", "Median image height", ("images", "height", "median")),
    ("pdfs", "PDF files", ("pdfs", "count")),
    ("pdfs.pages", "PDF pages", ("pdfs", "pages")),
    ("checkpoints", "Checkpoints", None),
    ("coco.images", "COCO images", None),
    ("coco.annotations", "COCO annotations", None),
    ("coco.categories", "COCO categories", None),
    ("errors", "Error-level checks", None),
    ("warnings", "Warning-level checks", None),
]
HISTOGRAMS = [
    ("files.size_histogram", "File sizes (bytes)", ("files", "size_histogram")),
    ("images.megapixels_histogram", "Image megapixels", ("images", "megapixels_histogram")),
    ("pdfs.pages_histogram", "PDF pages", ("pdfs", "pages_histogram")),
]


class FailIfError(UserError):
    """A --fail-if expression that cannot be read."""


def _get(card: dict | None, path):
    value = card
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _value(card: dict | None, name: str, path):
    if card is None:
        return None
    if path is not None:
        return _get(card, path)
    if name == "checkpoints":
        return len(card.get("checkpoints") or []) or None
    if name.startswith("coco."):
        cocos = card.get("coco") or []
        return sum(c.get(name[5:]) or 0 for c in cocos) if cocos else None
    severity = name[:-1]
    return sum(c["count"] for c in card.get("checks", []) if c["severity"] == severity)


def change(a, b) -> tuple:
    """(delta, percent change) of two figures; None where it does not apply."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return None, None
    return b - a, (None if a == 0 else (b - a) * 100.0 / a)


def _categories(a: dict | None, b: dict | None) -> list[dict]:
    def table(card):
        rows = {}
        for coco in (card or {}).get("coco") or []:
            for cat in coco.get("per_category") or []:
                rows[(coco["path"], str(cat.get("name")))] = cat
        return rows

    old, new = table(a), table(b)
    rows = []
    for key in sorted(set(old) | set(new)):
        x, y = old.get(key, {}), new.get(key, {})
        delta, pct = change(x.get("instances", 0), y.get("instances", 0))
        rows.append({"file": key[0], "name": key[1], "a_instances": x.get("instances"),
                     "b_instances": y.get("instances"), "delta": delta, "pct": pct,
                     "a_images": x.get("images"), "b_images": y.get("images")})
    rows.sort(key=lambda r: (-abs(r["delta"] or 0), r["file"], r["name"]))
    return rows


def _checks(a: dict | None, b: dict | None) -> dict:
    old = {c["code"]: c for c in (a or {}).get("checks", [])}
    new = {c["code"]: c for c in (b or {}).get("checks", [])}
    return {
        "appeared": [new[c] for c in new if c not in old],
        "gone": [old[c] for c in old if c not in new],
        "changed": [{"code": c, "severity": new[c]["severity"], "a": old[c]["count"],
                     "b": new[c]["count"]} for c in new if c in old and old[c]["count"] != new[c]["count"]],
    }


def diff_cards(a: dict | None, b: dict | None, a_rev: str, b_rev: str) -> dict:
    """The comparison of card ``a`` (at ``a_rev``) with card ``b``; either may be None (the
    output does not exist on that side)."""
    figures = []
    for name, label, path in FIGURES:
        x, y = _value(a, name, path), _value(b, name, path)
        if x is None and y is None:
            continue
        if path is None:  # counted figures: none on one side is zero there
            x, y = x or 0, y or 0
        delta, pct = change(x, y)
        figures.append({"name": name, "label": label, "a": x, "b": y, "delta": delta, "pct": pct})
    histograms = []
    for name, label, path in HISTOGRAMS:
        x, y = _get(a, path), _get(b, path)
        if x is None and y is None:
            continue
        edges = (x or y)["edges"]
        zeros = [0] * (len(edges) - 1)
        histograms.append({"name": name, "label": label, "edges": edges,
                           "a": (x or {}).get("counts", zeros), "b": (y or {}).get("counts", zeros)})
    output = (b or a or {}).get("output", {}).get("path")
    return {"output": output, "a": {"rev": a_rev, "card": a}, "b": {"rev": b_rev, "card": b},
            "figures": figures, "categories": _categories(a, b), "histograms": histograms,
            "checks": _checks(a, b), "failed": []}


# --- --fail-if ----------------------------------------------------------------------------------
class _Figure:
    """A figure in an expression: ``.a``, ``.b``, ``.delta``, ``.pct``; alone, its ``b`` value."""

    def __init__(self, a=None, b=None):
        self.a, self.b = a, b
        self.delta, self.pct = change(a or 0, b or 0)
        if self.pct is None:  # from nothing to something: an infinite rise; from 0 to 0: none
            self.pct = 0.0 if not b else float("inf")


def _namespace(d: dict) -> dict:
    names = {f["name"].replace(".", "_"): _Figure(f["a"], f["b"]) for f in d["figures"]}
    checks = d["checks"]
    names["new_errors"] = sum(1 for c in checks["appeared"] if c["severity"] == "error")
    names["new_warnings"] = sum(1 for c in checks["appeared"] if c["severity"] == "warning")
    names["new_checks"] = len(checks["appeared"])
    names["gone_checks"] = len(checks["gone"])
    cats = {r["name"]: _Figure(r["a_instances"] or 0, r["b_instances"] or 0) for r in d["categories"]}
    names["category"] = cats
    losses = [-c.pct for c in cats.values() if (c.a or 0) > 0]
    names["max_category_loss_pct"] = max(losses, default=0.0)
    gains = [c.pct for c in cats.values() if (c.a or 0) > 0]
    names["max_category_gain_pct"] = max(gains, default=0.0)
    counts = {}
    for side in ("a", "b"):
        for c in (d[side]["card"] or {}).get("checks", []):
            counts.setdefault(c["code"], [0, 0])[side == "b"] = c["count"]
    names["check"] = {code: _Figure(x, y) for code, (x, y) in counts.items()}
    return names


_OPS = {ast.Gt: lambda x, y: x > y, ast.GtE: lambda x, y: x >= y, ast.Lt: lambda x, y: x < y,
        ast.LtE: lambda x, y: x <= y, ast.Eq: lambda x, y: x == y, ast.NotEq: lambda x, y: x != y}


def _eval(node, names: dict, expr: str):
    def bad(why: str):
        return FailIfError(f"--fail-if {expr!r}: {why}", hint="see `Expressions` in docs/cards.md")

    if isinstance(node, ast.Expression):
        return _eval(node.body, names, expr)
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, names, expr) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        value = _number(_eval(node.operand, names, expr))
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.Compare):
        left = _number(_eval(node.left, names, expr))
        for op, right_node in zip(node.ops, node.comparators):
            right = _number(_eval(right_node, names, expr))
            if type(op) not in _OPS:
                raise bad("only <, <=, >, >=, == and != compare")
            if not _OPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(k for k in names if k not in ("category", "check")))
            raise bad(f"unknown name {node.id!r} (known: {known}, category[NAME], check[CODE])")
        return names[node.id]
    if isinstance(node, ast.Attribute) and node.attr in ("a", "b", "delta", "pct"):
        value = _eval(node.value, names, expr)
        if not isinstance(value, _Figure):
            raise bad(f".{node.attr} applies to a figure")
        return getattr(value, node.attr)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
            and isinstance(node.slice.value, str):
        table = _eval(node.value, names, expr)
        if not isinstance(table, dict):
            raise bad("[...] applies to category and check")
        return table.get(node.slice.value, _Figure(0, 0))
    raise bad("use figures, numbers, comparisons, and/or/not")


def _number(value):
    if isinstance(value, _Figure):
        return value.b or 0
    return value


def fail_if(d: dict, expressions: list[str]) -> list[str]:
    """The expressions that hold for the diff ``d`` (recorded in ``d["failed"]``)."""
    names = _namespace(d)
    fired = []
    for expr in expressions:
        try:
            tree = ast.parse(expr.strip(), mode="eval")
        except SyntaxError:
            raise FailIfError(f"--fail-if {expr!r} is not an expression",
                              hint="for example: \"new_errors > 0 or max_category_loss_pct > 10\"") from None
        if _eval(tree, names, expr):
            fired.append(expr)
    d["failed"] = fired
    return fired
