"""Per-file facts, keyed by object md5: what a file is (image header, PDF, checkpoint header,
COCO summary), computed once and shared by every revision, clone and feature using the cache.

A fact is a small JSON-able dict with a ``"type"``; it never names a path (one object may live
under many paths), so the card builder does every path-dependent check (extension vs format).
Kinds: ``"basic"`` (headers only; never a full image decode) and ``"deep"`` (images: a full
decode). Facts are stored under ``(md5, kind, FACTS_VERSION)``: bump the version whenever a
fact's meaning or wording changes, and old facts are simply no longer found.

Heavy libraries (Pillow, numpy, orjson, pypdf) are imported only inside the functions that use
them, through :func:`need`, so importing this package costs next to nothing.
"""
from __future__ import annotations

FACTS_VERSION = 1

# import name -> the distribution to install; all of them come with `dataver[cards]`
_PACKAGES = {"PIL": "Pillow", "numpy": "numpy", "orjson": "orjson", "pypdf": "pypdf",
             "jinja2": "Jinja2"}


def need(module: str):
    """Import ``module`` (e.g. ``"PIL.Image"``) and return it, or raise a UserError naming the
    package to install: data cards' libraries are an optional extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        from dataver.errors import UserError

        top = module.partition(".")[0]
        raise UserError(f"data cards need {_PACKAGES.get(top, top)}",
                        hint="pip install 'dataver[cards]'") from exc


def one_line(exc: BaseException, path: str | None = None) -> str:
    """``exc`` as one short line fit for a fact: the same for the same content on every run,
    so no path (``path`` is cut out), no object repr and no memory address."""
    import re

    text = str(exc) or type(exc).__name__
    if path:
        text = text.replace(path, "file")
    text = re.sub(r"<[^<>]*(?: at 0x[0-9a-fA-F]+|name=)[^<>]*>", "file", text)
    text = re.sub(r"0x[0-9a-fA-F]{6,}", "0x...", text)
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


from dataver.facts.sniff import sniff  # noqa: E402 - after the helpers the modules use
from dataver.facts.store import FactStore  # noqa: E402
from dataver.facts.collect import collect  # noqa: E402

__all__ = ["FACTS_VERSION", "FactStore", "collect", "need", "one_line", "sniff"]
