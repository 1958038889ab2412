"""Cards kept with their version: the canonical card bytes are an object in the cache (named
by their md5, like any file object, so push/pull/fetch/gc carry them), and the output's
``meta`` in its `.dvc` file records the card's id. DVC 3 reads ``meta`` and ignores it.

A card names the output version it describes (``output.md5``); a stored card whose version is
not the output's (the data changed since) is never used.
"""
from __future__ import annotations

from dataver.dvcfile import CARD_META_KEY as META_KEY
from dataver.dvcfile import card_oid as stored_id  # noqa: F401 - the id recorded for an output
from dataver.hashing import MD5, md5_bytes


def put(odb, data: bytes) -> str:
    """Store card bytes in the cache; their id."""
    oid = md5_bytes(data)
    odb.add_bytes(data, oid, MD5)
    return oid


def load(odb, oid: str, out) -> dict | None:
    """The stored card ``oid`` if it is in the cache, sound, and describes ``out``'s current
    version; else None (the caller computes a new one)."""
    from dataver.cards.canonical import loads

    if not odb.exists(oid, MD5) or not odb.sound(oid, MD5):
        return None
    try:
        with open(odb.path(oid, MD5), "rb") as fobj:
            card = loads(fobj.read())
    except (OSError, ValueError):
        return None
    if card.get("output", {}).get("md5") != out.md5:
        return None
    return card


def record(dvcfile_path: str, out, oid: str) -> bool:
    """Write ``oid`` into the ``meta`` of output ``out`` in the `.dvc` file ``dvcfile_path``
    (loaded again round-trip, so comments and key order stay); False if it was there already.
    Other ``meta`` keys are kept; a new ``meta`` goes where DVC writes it (after ``path``,
    ``desc``, ``type`` and ``labels``)."""
    from dataver import dvcfile

    if stored_id(out) == oid:
        return False
    doc = dvcfile.load(dvcfile_path)
    entry = next(o.data for o in doc.outs if o.path == out.path)
    meta = entry.get("meta")
    if not hasattr(meta, "get"):
        keys = list(entry)
        at = max((keys.index(k) + 1 for k in ("path", "desc", "type", "labels") if k in keys),
                 default=len(keys))
        entry.insert(at, "meta", {})
        meta = entry["meta"]
    meta[META_KEY] = oid
    dvcfile.save(dvcfile_path, doc.data)
    return True
