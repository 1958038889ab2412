"""What a URL may name: a revision that resolves through git, a normalised path inside a
tracked output, an md5 the server has listed. Everything else is :class:`NotFound`, turned
into a 404 page with one line (never a traceback, never a file outside the repo or cache)."""
from __future__ import annotations

import os
import re

MAX_REV = 256
MAX_PATH = 4096
_MD5 = re.compile(r"[0-9a-f]{32}")
_BAD_REV_CHARS = re.compile(r"[\x00-\x20\x7f\\:]")


class NotFound(Exception):
    """A URL that names nothing the UI serves; the message is shown on the 404 page."""


class BadRequest(Exception):
    """A query parameter out of range; the message is shown on the 400 page."""


def clean_rev(text: str) -> str:
    """``text`` if it can be a revision name (no spaces, controls, ``:`` (``rev:path``) or
    backslash, not an option), else NotFound. Git still has to resolve it."""
    if not text or len(text) > MAX_REV or text.startswith("-") or _BAD_REV_CHARS.search(text):
        raise NotFound(f"unknown revision '{shown(text)}'")
    return text


def clean_path(text: str) -> str:
    """``text`` as a relative POSIX path with no empty, ``.`` or ``..`` part, no backslash, no
    NUL or control character; NotFound otherwise. A trailing ``/`` is dropped."""
    text = text.rstrip("/") if text != "/" else text
    if len(text) > MAX_PATH or text.startswith("/") or "\\" in text or \
            any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise NotFound(f"no such path '{shown(text)}'")
    parts = text.split("/") if text else []
    if any(p in ("", ".", "..") for p in parts):
        raise NotFound(f"no such path '{shown(text)}'")
    return text


def clean_md5(text: str) -> str:
    """A lower-case 32-hex md5, else NotFound."""
    if not _MD5.fullmatch(text or ""):
        raise NotFound("no such object")
    return text


def inside(path: str, root: str) -> bool:
    """Whether ``path``, with every symlink resolved, is ``root`` or below it (``root`` already
    resolved)."""
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def shown(text: str, limit: int = 120) -> str:
    """``text`` fit for a one-line message: control characters escaped, cut to ``limit``."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def int_param(query, name: str, default: int, low: int = 1, high: int = 1 << 30) -> int:
    """Query parameter ``name`` as an int in [low, high] (``default`` when absent), else
    BadRequest."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be a whole number, not '{shown(raw)}'") from None
    if not low <= value <= high:
        raise BadRequest(f"'{name}' must be between {low} and {high}")
    return value


def choice_param(query, name: str, allowed, default: str | None = None) -> str | None:
    """Query parameter ``name`` if it is one of ``allowed`` (``default`` when absent), else
    BadRequest."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise BadRequest(f"'{name}' must be one of {', '.join(allowed)}")
    return raw
