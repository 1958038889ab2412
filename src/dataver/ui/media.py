"""Image bytes: ``/thumb/<md5>?size=N``, ``/object/<md5>`` and
``/difference/<a>/<b>?size=N`` (the pixel difference of two versions of an image).

Only objects the server has listed are served (:meth:`Service.lookup`); anything else is a 404.
An object is read from the cache (fetched from the default remote when missing), or from its
workspace file when it was listed there and that file, symlinks resolved, is inside the
repository. Thumbnails come from :mod:`dataver.visual.thumbs` (cached under ``.dvc/tmp`` by md5
and size); a corrupt image or a missing object gets a placeholder image naming the problem.
"""
from __future__ import annotations

from dataver.ui.safety import BadRequest, NotFound, clean_md5, int_param

SIZES = (128, 256, 512, 1024)
FOREVER = {"cache-control": "private, max-age=31536000, immutable"}
TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"GIF87a": "image/gif",
         b"GIF89a": "image/gif", b"BM": "image/bmp", b"II*\x00": "image/tiff",
         b"MM\x00*": "image/tiff"}


def _size(request) -> int:
    size = int_param(request.query_params, "size", 256, low=16, high=4096)
    if size not in SIZES:
        raise BadRequest(f"'size' must be one of {', '.join(map(str, SIZES))}")
    return size


def _known(service, text: str) -> str:
    md5 = clean_md5(text)
    if service.lookup(md5) is None or service.escapes(md5):
        raise NotFound("no such object")
    return md5


async def _local(service, md5: str) -> str | None:
    """A readable path of known object ``md5``: at once when local, else after a fetch."""
    return service.cached_path(md5) or await service.call(service.object_path, md5)


async def thumb(request):
    """JPEG thumbnail of a listed object (a placeholder naming the problem when it cannot be
    had or does not decode)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    service = request.app.state.service
    md5, size = _known(service, request.path_params["md5"]), _size(request)
    path = await _local(service, md5)
    if path is None:
        data = await run_in_threadpool(_placeholder, "not in the cache", size)
        return Response(data, media_type="image/jpeg")
    stored = service.in_cache(md5, path)  # a workspace file may change: not kept
    data = await run_in_threadpool(_thumbnail, service, md5, path, size, stored)
    return Response(data, media_type="image/jpeg", headers=FOREVER if stored else None)


async def original(request):
    """The object's bytes: inline for raster images, a download otherwise."""
    from starlette.responses import FileResponse

    service = request.app.state.service
    md5 = _known(service, request.path_params["md5"])
    path = await _local(service, md5)
    if path is None:
        raise NotFound("the object is not in the cache and could not be fetched")
    with open(path, "rb") as fobj:
        head = fobj.read(12)
    kind = next((t for magic, t in TYPES.items() if head.startswith(magic)), None)
    if kind is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kind = "image/webp"
    if kind is None:  # not an image a browser shows inline: a download, never rendered
        return FileResponse(path, media_type="application/octet-stream",
                            headers={"content-disposition": f'attachment; filename="{md5}"'})
    headers = FOREVER if service.in_cache(md5, path) else None  # a workspace file may change
    return FileResponse(path, media_type=kind, headers=headers)


async def difference(request):
    """PNG of the pixel difference of two listed objects."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    service = request.app.state.service
    a = _known(service, request.path_params["a"])
    b = _known(service, request.path_params["b"])
    size = _size(request)
    a_path, b_path = await _local(service, a), await _local(service, b)
    if a_path is None or b_path is None:
        data = await run_in_threadpool(_placeholder, "not in the cache", size)
        return Response(data, media_type="image/jpeg")
    stored = service.in_cache(a, a_path) and service.in_cache(b, b_path)
    data = await run_in_threadpool(_difference, service, a, a_path, b, b_path, size, stored)
    return Response(data, media_type="image/png", headers=FOREVER if stored else None)


# --- through dataver.visual.thumbs (any thread) -----------------------------------------------

def _thumbnail(service, md5: str, path: str, size: int, stored: bool) -> bytes:
    from dataver.visual import thumbs

    return thumbs.thumbnail_bytes(service.repo, md5, path, size, cache=stored)[0]


def _difference(service, a: str, a_path: str, b: str, b_path: str, size: int,
                stored: bool) -> bytes:
    from dataver.visual import thumbs

    if stored:  # both cache objects: the difference is kept with the thumbnails
        return thumbs.pixel_difference(service.repo, a, a_path, b, b_path, size)
    return thumbs.pixel_difference(a_path, b_path, size)


def _placeholder(text: str, size: int) -> bytes:
    from dataver.visual import thumbs

    return thumbs.placeholder(text, size)
