"""Image facts with Pillow: a basic fact from the header alone, a deep fact from a full decode.

Basic (``Image.open`` parses headers; no pixel is decoded): format (from the magic number),
width, height, mode, EXIF orientation (tag 274) and frames. Orientation is read only when the
header carried EXIF (``"exif" in im.info``; TIFF: its own tag): asking a PNG for EXIF it has
not seen yet would make Pillow decode it. Frames: GIF is asked ``is_animated`` first (it skips
the first frame's data blocks, no decoding) and counted only when animated (a scan of the
block structure); PNG, WebP and JPEG/MPO know their count from the header; TIFF walks its
directories. WebP is the exception to "headers only": Pillow's WebP reader takes the whole
file at open.

Decompression bombs: an image declaring more than twice ``Image.MAX_IMAGE_PIXELS`` becomes an
error fact (reason ``"bomb"``) and is never decoded, not even deep. Between once and twice the
limit Pillow only warns: the fact is normal, with ``"large": True``.

Deep: a full decode with ``LOAD_TRUNCATED_IMAGES`` off (so truncation is an error) of the
first frame; ``pixels`` is the SHA-1 (faster than MD5 here, see the notes of
:func:`deep_fact`) of mode, size and decoded bytes, palette images taken as RGB(A) so that the
same picture saved as GIF and PNG matches; ``phash`` is a 64-bit DCT perceptual hash.
"""
from __future__ import annotations

import warnings

from dataver.facts import need, one_line

_PALETTE_MODES = ("P", "PA")


def image_facts(fp, fmt: str, want_basic: bool = True, want_deep: bool = False,
                path: str | None = None) -> tuple[dict | None, dict | None]:
    """``(basic fact or None, deep fact or None)`` of the image in ``fp`` (a binary file
    positioned at its start; for deep facts, ideally an in-memory one), whose magic number
    says ``fmt``. One ``Image.open`` serves both. ``path`` is only cut out of error texts."""
    Image = need("PIL.Image")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # Pillow's warnings go here, not to the user
            im = Image.open(fp, formats=[fmt])
        large = any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught)
    except Image.DecompressionBombError as exc:
        return _failed(fmt, exc, "bomb", want_basic, want_deep, "too large to decode: ")
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad input
        reason = _reason(exc)
        return _failed(fmt, exc, reason, want_basic, want_deep, "", path)
    basic = header_fact(im, fmt, large) if want_basic else None
    deep = deep_fact(im, path) if want_deep else None
    return basic, deep


def header_fact(im, fmt: str, large: bool = False) -> dict:
    """The basic fact of an opened image (nothing decoded)."""
    fact = {"type": "image", "format": fmt, "width": im.width, "height": im.height,
            "mode": im.mode, "orientation": _orientation(im, fmt), "frames": _frames(im, fmt)}
    if large:
        fact["large"] = True
    return fact


def deep_fact(im, path: str | None = None) -> dict:
    """Decode ``im`` fully: ``{"decoded", "error", "pixels", "phash"}``.

    Per 1080p JPEG on one core (Xeon, Pillow 13 with libjpeg-turbo): the decode ~8 ms, packing
    the pixels ~1.3 ms, SHA-1 over them ~3.5 ms (MD5: ~9 ms, hence SHA-1), the perceptual
    hash's reduction ~1.4 ms: 65-85 images/s.
    """
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail, not be padded
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im.load()
    except Exception as exc:  # noqa: BLE001 - decoders raise many types on bad data
        return {"decoded": False, "error": one_line(exc, path), "pixels": None, "phash": None}
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    if im.mode in _PALETTE_MODES:
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    return {"decoded": True, "error": None, "pixels": pixel_digest(im), "phash": phash(im)}


def pixel_digest(im) -> str:
    """Hex SHA-1 of mode, size and pixel bytes: equal for equal pixels, whatever the file."""
    import hashlib

    digest = hashlib.sha1(f"{im.mode} {im.width}x{im.height}\n".encode())
    for chunk in _pixel_chunks(im):
        digest.update(chunk)
    return digest.hexdigest()


def _pixel_chunks(im):
    """``im.tobytes()`` in pieces: the same bytes without joining 6 MB per 1080p image
    (~2.5 ms). Uses Pillow's raw encoder as ``tobytes`` does; any trouble with that private
    API falls back to ``tobytes``."""
    from PIL import Image

    try:
        encoder = Image._getencoder(im.mode, "raw", im.mode)
        encoder.setimage(im.im, (0, 0, *im.size))
    except Exception:  # noqa: BLE001 - Pillow changed its internals
        yield im.tobytes()
        return
    try:
        while im.width and im.height:
            _, status, data = encoder.encode(max(1 << 20, im.width * 4))
            yield data
            if status:
                if status < 0:
                    raise ValueError(f"encoder error {status} reading the pixels")
                break
    finally:
        encoder.cleanup()


def phash(im) -> str | None:
    """The DCT perceptual hash (as imagehash's ``phash``): grey 32x32, 2-D DCT-II, the 8x8
    lowest frequencies, each bit = coefficient above their median. The median leaves out the DC
    term, which only says how bright the picture is. 16 hex digits; None if the mode has no grey
    reading."""
    np = need("numpy")
    try:
        grey = _grey32(im)
    except Exception:  # noqa: BLE001 - a mode Pillow cannot resize or make grey
        return None
    low = _dct8() @ np.asarray(grey, dtype=np.float64) @ _dct8().T
    coefficients = low.ravel()
    bits = coefficients > np.median(coefficients[1:])
    return np.packbits(bits).tobytes().hex()  # first coefficient = most significant bit


def _grey32(im):
    from PIL import Image

    if im.mode == "1" or im.mode.startswith("I;16"):
        im = im.convert("L" if im.mode == "1" else "I")
    # reducing_gap: Pillow box-reduces first, so this costs ~1.4 ms on 1080p, not a full
    # resample; Lanczos as imagehash's phash (the most stable under rescaling of those tried)
    small = im.resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return small if small.mode in ("L", "I", "F") else small.convert("L")


_DCT_CACHE: list = []


def _dct8():
    """The first 8 rows of the 32-point DCT-II matrix (no scaling: only the order of
    coefficients matters)."""
    if not _DCT_CACHE:
        np = need("numpy")
        k = np.arange(8)[:, None]
        n = np.arange(32)[None, :]
        _DCT_CACHE.append(np.cos(np.pi * (2 * n + 1) * k / 64.0))
    return _DCT_CACHE[0]


def _orientation(im, fmt: str) -> int | None:
    try:
        if fmt == "TIFF":
            value = im.tag_v2.get(274)
        elif "exif" in im.info:
            value = im.getexif().get(274)
        else:
            return None
    except Exception:  # noqa: BLE001 - corrupt EXIF says nothing about the image
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _frames(im, fmt: str) -> int:
    try:
        if fmt == "GIF" and not im.is_animated:
            return 1
        return int(getattr(im, "n_frames", 1))
    except Exception:  # noqa: BLE001 - broken later frames: the first one still stands
        return 1


def _reason(exc: BaseException) -> str:
    """``"unreadable"`` for a failure to read the file (an I/O error: says nothing about its
    content, so the fact is not stored), else ``"corrupt"``."""
    return "unreadable" if isinstance(exc, OSError) and exc.errno is not None else "corrupt"


def _failed(fmt: str, exc: BaseException, reason: str, want_basic: bool, want_deep: bool,
            prefix: str, path: str | None = None) -> tuple[dict | None, dict | None]:
    text = one_line(exc, path)
    if reason == "corrupt" and type(exc).__name__ == "UnidentifiedImageError":
        text = f"not a readable {fmt} image"  # Pillow's text names the file object
    basic = None
    if want_basic:
        basic = {"type": "image", "format": fmt, "error": text, "reason": reason}
    deep = None
    if want_deep:
        deep = {"decoded": False, "error": prefix + text, "pixels": None, "phash": None}
        if reason == "unreadable":
            deep["reason"] = reason  # not about the content: the caller must not store it
    return basic, deep
