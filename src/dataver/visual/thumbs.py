"""Thumbnails and pixel differences for the UI and the exports (Pillow).

Thumbnails are kept in ``.dvc/tmp/dataver/thumbs/<md5>-<size>.jpg``: an object never changes,
so neither does its thumbnail, and the second view of a page reads small files only. Each is
written atomically (temp file, then rename), so two processes making the same one at once are
harmless. A thumbnail is the image turned upright by its EXIF orientation, RGB (transparency
over white), fitted into ``size`` x ``size``. An image that does not decode gets a placeholder
naming the error; placeholders are not kept, so a fixed decoder is used on the next view.
"""
from __future__ import annotations

import io
import os

FOLDER = ("dataver", "thumbs")  # under .dvc/tmp
QUALITY = 85
BACKGROUND = (255, 255, 255)
PLACEHOLDER = (236, 236, 236)
AMPLIFY_MAX = 8.0  # a faint difference is stretched at most this much to be seen


def cache_dir(repo) -> str:
    return os.path.join(repo.tmp_dir, *FOLDER)


def thumbnail(repo, md5: str, path: str, size: int = 256) -> str:
    """The path of the JPEG thumbnail of object ``md5`` (a readable copy at ``path``), made
    and kept on first use. For an image that does not decode, the path of a placeholder
    (``<md5>-<size>.bad.jpg``, remade on every call)."""
    folder = cache_dir(repo)
    good = os.path.join(folder, f"{md5}-{size}.jpg")
    if os.path.exists(good):
        return good
    data, error = _make(path, size)
    target = good if error is None else os.path.join(folder, f"{md5}-{size}.bad.jpg")
    _store(target, data)
    return target


def thumbnail_bytes(repo, md5: str, path: str, size: int = 256,
                    cache: bool = True) -> tuple[bytes, str | None]:
    """``(JPEG bytes, None)`` of the thumbnail, or ``(placeholder JPEG, error)``. ``cache``
    False: neither read nor kept (a workspace file may change under the same name)."""
    kept = os.path.join(cache_dir(repo), f"{md5}-{size}.jpg")
    if cache:
        try:
            with open(kept, "rb") as fobj:
                return fobj.read(), None
        except FileNotFoundError:
            pass
    data, error = _make(path, size)
    if cache and error is None:
        _store(kept, data)
    return data, error


def _store(path: str, data: bytes) -> None:
    from dataver.atomic import write_bytes_atomic

    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_bytes_atomic(path, data)


def _make(path: str, size: int) -> tuple[bytes, str | None]:
    try:
        im = open_upright(path, size)
        im.thumbnail((size, size), _resample(), reducing_gap=2.0)
    except Exception as exc:  # noqa: BLE001 - any decoder failure becomes the placeholder
        error = _error_text(exc, path)
        return placeholder(error, size), error
    out = io.BytesIO()
    im.save(out, "JPEG", quality=QUALITY, optimize=False)
    return out.getvalue(), None


def open_upright(path: str, size: int | None = None):
    """The image at ``path`` fully decoded, turned by its EXIF orientation, in RGB
    (transparency composed over white). With ``size``, a JPEG is decoded at the smallest
    scale (1/2, 1/4, 1/8) still at least that big: up to 60x less work for a thumbnail."""
    import warnings

    from PIL import Image, ImageFile, ImageOps

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, not grey padding
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                if size and im.format == "JPEG":
                    im.draft("RGB", (size, size))
                im.load()
                im = ImageOps.exif_transpose(im)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return _rgb(im)


def _rgb(im):
    from PIL import Image

    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "RGBa"):
        rgba = im.convert("RGBA")
        base = Image.new("RGB", rgba.size, BACKGROUND)
        base.paste(rgba, mask=rgba.getchannel("A"))
        return base
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        im = _stretch(im)  # 16-bit and float greys: their range mapped onto 0..255
    return im if im.mode == "RGB" else im.convert("RGB")


def _stretch(im):
    import numpy as np
    from PIL import Image

    values = np.asarray(im, dtype=np.float64)
    low, high = np.nanmin(values), np.nanmax(values)
    scaled = (values - low) * (255.0 / (high - low)) if high > low else values * 0
    return Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), "L")


def _resample():
    from PIL import Image

    return Image.Resampling.LANCZOS


def _error_text(exc: BaseException, path: str) -> str:
    from dataver.facts import one_line

    if type(exc).__name__ == "UnidentifiedImageError":
        return "not a readable image"
    return one_line(exc, path)


def placeholder(text: str, size: int = 256, fmt: str = "JPEG") -> bytes:
    """A ``size`` x ``size`` grey image with ``text`` (an error) written on it, wrapped."""
    import textwrap

    from PIL import Image, ImageDraw

    im = Image.new("RGB", (size, size), PLACEHOLDER)
    draw = ImageDraw.Draw(im)
    font = _font(max(10, size // 16))
    width = max(8, int(size / (font.getlength("x") or 6)) - 2)
    lines = textwrap.wrap(text, width)[: max(1, size // (font.size + 4) - 1)] if text else []
    line_height = font.size + 4
    top = max(4, (size - line_height * len(lines)) // 2)
    for i, line in enumerate(lines):
        draw.text((6, top + i * line_height), line, fill=(90, 20, 20), font=font)
    draw.rectangle([0, 0, size - 1, size - 1], outline=(180, 180, 180))
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


def _font(px: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=px)  # Pillow >= 10.1: a scalable font
    except TypeError:
        return ImageFont.load_default()


def difference_image(path_a: str, path_b: str, size: int = 256):
    """The pixel difference of two images as a Pillow image: both turned upright, scaled to
    the same size (B's shape fitted into ``size`` x ``size``), their absolute difference per
    channel, stretched so that the largest is bright (at most AMPLIFY_MAX times)."""
    import numpy as np
    from PIL import Image

    a, b = open_upright(path_a, size), open_upright(path_b, size)
    fitted = b.copy()
    fitted.thumbnail((size, size), _resample(), reducing_gap=2.0)
    shape = fitted.size
    a, b = (im.resize(shape, _resample()) if im.size != shape else im for im in (a, b))
    delta = np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16))
    peak = int(delta.max())
    gain = min(AMPLIFY_MAX, 255.0 / peak) if peak else 1.0
    return Image.fromarray(np.clip(delta * gain, 0, 255).astype(np.uint8), "RGB")


def pixel_difference(*args, size: int | None = None) -> bytes:
    """PNG bytes of the pixel difference (:func:`difference_image`). Two call forms:

    - ``pixel_difference(path_a, path_b, size=256)``;
    - ``pixel_difference(repo, a_md5, path_a, b_md5, path_b, size=256)``: the same, kept in
      the thumbnail folder as ``<a_md5>-<b_md5>-<size>.diff.png``.

    When a side does not decode: a PNG placeholder naming the error (never kept)."""
    if len(args) in (2, 3) and all(isinstance(a, (str, os.PathLike)) for a in args[:2]):
        path_a, path_b = args[0], args[1]
        size = size or (args[2] if len(args) == 3 else 256)
        return _difference_png(path_a, path_b, size)[0]
    repo, a_md5, path_a, b_md5, path_b = args[:5]
    size = size or (args[5] if len(args) > 5 else 256)
    kept = os.path.join(cache_dir(repo), f"{a_md5}-{b_md5}-{size}.diff.png")
    try:
        with open(kept, "rb") as fobj:
            return fobj.read()
    except FileNotFoundError:
        pass
    data, error = _difference_png(path_a, path_b, size)
    if error is None:
        _store(kept, data)
    return data


def _difference_png(path_a: str, path_b: str, size: int) -> tuple[bytes, str | None]:
    try:
        im = difference_image(path_a, path_b, size)
    except Exception as exc:  # noqa: BLE001 - a side that does not decode
        error = _error_text(exc, os.fspath(path_a)).replace(os.fspath(path_b), "file")
        return placeholder(error, size, "PNG"), error
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue(), None
