"""PDF facts with pypdf: page count, encryption, and whether there is a text layer.

Text layer rule: any of the first 3 pages uses a font, in its own resources or in those of a
form XObject it draws. Text needs a font; a scan without OCR has only images. Looking at
resource dictionaries costs a few object reads, where extracting the text would parse every
content stream. (A page that declares a font but draws no text counts as text: rare.)

Encrypted files are tried with the empty user password (the usual "owner password only"
protection); one that still cannot be opened is ``{"encrypted": True, "pages": None,
"text": None}``. pypdf's own log messages and warnings about malformed files are silenced:
the fact, or its ``error``, is what we report.
"""
from __future__ import annotations

from dataver.facts import need, one_line

TEXT_PAGES = 3


def pdf_fact(fp, path: str | None = None) -> dict:
    """The fact of the PDF in ``fp`` (a binary file, seekable). ``path`` is only cut out of
    error texts."""
    pypdf = need("pypdf")
    import logging
    import warnings

    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)  # pypdf logs every repair it makes of a bad file
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _read(pypdf, fp)
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on bad input
        return {"type": "pdf", "error": one_line(exc, path)}
    finally:
        logger.setLevel(level)


def _read(pypdf, fp) -> dict:
    reader = pypdf.PdfReader(fp, strict=False)
    encrypted = bool(reader.is_encrypted)
    if encrypted and not _decrypt(pypdf, reader):
        return {"type": "pdf", "encrypted": True, "pages": None, "text": None}
    pages = reader.pages
    count = len(pages)
    text = any(_uses_font(pages[i]) for i in range(min(TEXT_PAGES, count)))
    return {"type": "pdf", "pages": count, "encrypted": encrypted, "text": text}


def _decrypt(pypdf, reader) -> bool:
    """Whether the empty user password opens it."""
    try:
        return reader.decrypt("") != pypdf.PasswordType.NOT_DECRYPTED
    except pypdf.errors.DependencyError:  # AES without the `cryptography` package
        return False


def _uses_font(page) -> bool:
    resources = _resolve(page.get("/Resources"))
    if not isinstance(resources, dict):
        return False
    if _resolve(resources.get("/Font")):
        return True
    xobjects = _resolve(resources.get("/XObject"))
    for xobject in (xobjects.values() if isinstance(xobjects, dict) else ()):
        form = _resolve(xobject)
        if isinstance(form, dict) and form.get("/Subtype") == "/Form":
            inner = _resolve(form.get("/Resources"))
            if isinstance(inner, dict) and _resolve(inner.get("/Font")):
                return True
    return False


def _resolve(obj):
    """The object an indirect reference points to (None stays None)."""
    return obj.get_object() if hasattr(obj, "get_object") else obj
