"""Canonical card bytes: the same card gives the same bytes, so a card is content-addressed
like data and two cards of the same data (and dataver version) have the same id."""
from __future__ import annotations

import math

SIGNIFICANT = 6  # float digits kept: enough for every figure, stable across platforms


def normalize(value):
    """``value`` with floats rounded to :data:`SIGNIFICANT` digits (integral ones as ints),
    tuples as lists, and NaN/infinity as None (JSON has no spelling for them)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 2 ** 53:
            return int(value)
        return float(f"{value:.{SIGNIFICANT}g}")
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def dumps(card: dict) -> bytes:
    """Deterministic JSON bytes of ``card``: sorted keys, normalized numbers, 2-space indent
    (readable in the cache, and diffable)."""
    import orjson

    return orjson.dumps(normalize(card), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def loads(data: bytes) -> dict:
    """Parse card bytes (from the cache: untrusted)."""
    import orjson

    card = orjson.loads(data)
    if not isinstance(card, dict) or card.get("card") != 1:
        raise ValueError("not a dataver card")
    return card
