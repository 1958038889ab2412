"""``/browse/<rev>/<output>[/<folder>]``: the folder tree and a page of thumbnails;
``/file/<rev>/<path>``: one image large with its COCO shapes, and its details."""
from __future__ import annotations

import bisect
import posixpath

from dataver.ui import coco, pages
from dataver.ui.safety import int_param

TREE_LIMIT = 200  # subfolders listed per folder in the tree
LARGE = 1024  # px: the file page's image


async def outputs_page(request):
    """``/browse``: the workspace's outputs (every revision is one click away from ``/``)."""
    from starlette.responses import RedirectResponse

    return RedirectResponse(pages.browse_url("workspace"), status_code=302)


async def page(request):
    """``/browse/<rev>/<path>?page=N``: a folder (a file is redirected to its page)."""
    from starlette.responses import RedirectResponse

    service = request.app.state.service
    number = int_param(request.query_params, "page", 1)
    view = await service.call(browse_view, service, request.path_params["rest"], number)
    if isinstance(view, str):
        return RedirectResponse(view, status_code=302)
    return pages.render(request, "browse.html.j2", view)


async def file_page(request):
    """``/file/<rev>/<path>``: one file (a folder is redirected to browsing)."""
    from starlette.responses import RedirectResponse

    service = request.app.state.service
    view = await service.call(file_view, service, request.path_params["rest"])
    if isinstance(view, str):
        return RedirectResponse(view, status_code=302)
    return pages.render(request, "file.html.j2", view)


# --- views (worker thread) ------------------------------------------------------------------

def browse_view(service, rest: str, number: int):
    """The browse page's dict, or the URL to redirect to (a file)."""
    (rev,), path = service.split_revs(rest, 1)
    listing, rel, kind = service.locate(rev, path)
    if kind == "outputs":
        return _outputs_view(service, rev)
    if kind == "file":
        return pages.file_url(rev.name, path)
    names = listing.in_folder.get(rel, [])
    pager = pages.pager(len(names), number, pages.PER_PAGE,
                        lambda n: pages.browse_url(rev.name, path, page=n))
    shown = names[pager["start"]:pager["end"]]
    service.remember(listing, rev, shown)
    if rev.sha is not None:  # only what is shown: this page's images
        service.fetch([listing.files[r] for r in shown if coco.is_image(r)])
    return {
        "title": f"{path} at {rev.name}", "rev": rev.name, "path": path,
        "trail": pages.crumbs(rev.name, path), "tree": _tree(listing, rel, rev.name),
        "output": listing.path, "output_md5": listing.md5,
        "subfolders": [{"name": posixpath.basename(f),
                        "url": pages.browse_url(rev.name, listing.repo_path(f)),
                        "files": len(listing.in_folder.get(f, [])),
                        "folders": len(listing.folders.get(f, []))}
                       for f in listing.folders.get(rel, [])[:TREE_LIMIT]],
        "tiles": [_tile(listing, r, rev.name) for r in shown], "pager": pager,
        "compare": pages.compare_url("HEAD", rev.name) if rev.sha is None else None,
    }


def _outputs_view(service, rev) -> dict:
    outputs = service.outputs(rev)
    return {"title": f"outputs at {rev.name}", "rev": rev.name, "path": "",
            "trail": pages.crumbs(rev.name, ""), "tree": [], "output": None, "output_md5": None,
            "subfolders": [{"name": p, "url": pages.browse_url(rev.name, p), "files": None,
                            "folders": None} for p in outputs],
            "tiles": [], "pager": None, "compare": None}


def _tree(listing, rel: str, rev: str) -> list[dict]:
    """Rows of the folder tree: the output, each folder on the way to ``rel`` opened."""
    parts = rel.split("/") if rel else []
    chain = {""} | {"/".join(parts[:i + 1]) for i in range(len(parts))}
    rows = [{"depth": 0, "name": posixpath.basename(listing.path) or listing.path,
             "url": pages.browse_url(rev, listing.path), "current": rel == "", "more": 0}]
    stack = [(iter(listing.folders.get("", [])[:TREE_LIMIT]), "", 1)]  # no recursion: any depth
    while stack:
        subs, folder, depth = stack[-1]
        sub = next(subs, None)
        if sub is None:
            stack.pop()
            more = len(listing.folders.get(folder, [])) - TREE_LIMIT
            if more > 0:
                rows.append({"depth": min(depth, 12), "name": "", "url": None, "current": False,
                             "more": more})
            continue
        rows.append({"depth": min(depth, 12), "name": posixpath.basename(sub),
                     "url": pages.browse_url(rev, listing.repo_path(sub)),
                     "current": sub == rel, "more": 0})
        if sub in chain:
            stack.append((iter(listing.folders.get(sub, [])[:TREE_LIMIT]), sub, depth + 1))
    return rows


def _tile(listing, rel: str, rev: str) -> dict:
    md5, size = listing.files[rel], listing.size(rel)
    image = coco.is_image(rel)
    return {"name": posixpath.basename(rel) or posixpath.basename(listing.path),
            "url": pages.file_url(rev, listing.repo_path(rel)),
            "thumb": pages.thumb_url(md5) if image else None,
            "ext": posixpath.splitext(rel)[1].lstrip(".").lower() or "file",
            "size": pages.size(size), "md5": md5}


def file_view(service, rest: str):
    """The file page's dict, or the URL to redirect to (a folder)."""
    (rev,), path = service.split_revs(rest, 1)
    listing, rel, kind = service.locate(rev, path)
    if kind != "file":
        return pages.browse_url(rev.name, path)
    md5 = listing.files[rel]
    service.remember(listing, rev, [rel])
    local = service.object_path(md5)
    size = listing.size(rel)
    image = coco.is_image(path)
    fact = service.facts([(md5, local, path)]).get(md5, {}) if local else {}
    overlay = coco.image_annotations(service, rev, path) if image else None
    folder = rel.rpartition("/")[0]
    siblings = listing.in_folder.get(folder, [])
    at = bisect.bisect_left(siblings, rel)
    return {
        "title": f"{path} at {rev.name}", "rev": rev.name, "path": path,
        "trail": pages.crumbs(rev.name, path), "image": image and local is not None,
        "large": pages.thumb_url(md5, LARGE), "original": pages.object_url(md5),
        "details": _details(md5, size, fact, local, overlay),
        "overlay": _overlay(fact, overlay) if overlay else None,
        "prev": pages.file_url(rev.name, listing.repo_path(siblings[at - 1])) if at > 0 else None,
        "next": pages.file_url(rev.name, listing.repo_path(siblings[at + 1]))
        if at + 1 < len(siblings) else None,
        "folder": pages.browse_url(rev.name, listing.repo_path(folder)),
    }


def _details(md5: str, size, fact: dict, local, overlay) -> list[list[str]]:
    rows = [["md5", md5], ["size", pages.size(size) if size is not None else "-"]]
    if fact.get("type") == "image":
        rows.append(["format", str(fact.get("format") or "-")])
        rows.append(["dimensions", f"{fact.get('width')} × {fact.get('height')} px"])
        rows.append(["mode", str(fact.get("mode") or "-")])
        if fact.get("orientation") not in (None, 1):
            rows.append(["EXIF orientation", str(fact["orientation"])])
    elif fact.get("type"):
        rows.append(["type", str(fact["type"])])
    if fact.get("error"):
        rows.append(["error", str(fact["error"])])
    if local is None:
        rows.append(["error", "not in the cache, and it could not be fetched from the default "
                              "remote"])
    if overlay:
        rows.append(["COCO file", overlay["coco"]])
        rows.append(["annotations", pages.num(len(overlay["shapes"]) + overlay["more"])])
    return rows


def _overlay(fact: dict, overlay: dict) -> dict:
    """What the page's script draws: the image's size as shown, the matrix taking COCO's
    stored-pixel coordinates there (EXIF orientation), and the shapes."""
    width = fact.get("width") if fact.get("type") == "image" else None
    height = fact.get("height") if fact.get("type") == "image" else None
    width, height = width or overlay["width"] or 1, height or overlay["height"] or 1
    matrix, shown_w, shown_h = exif_matrix(fact.get("orientation") or 1, width, height)
    return {"width": shown_w, "height": shown_h, "matrix": matrix,
            "shapes": overlay["shapes"], "more": overlay["more"]}


def exif_matrix(orientation: int, width, height) -> tuple[list, int, int]:
    """``(SVG matrix, shown width, shown height)`` taking stored-pixel coordinates (COCO's: loaders
    do not rotate) to those of the image rotated by its EXIF orientation, as thumbnails are."""
    w, h = width, height
    return {
        2: ([-1, 0, 0, 1, w, 0], w, h), 3: ([-1, 0, 0, -1, w, h], w, h),
        4: ([1, 0, 0, -1, 0, h], w, h), 5: ([0, 1, 1, 0, 0, 0], h, w),
        6: ([0, 1, -1, 0, h, 0], h, w), 7: ([0, -1, -1, 0, h, w], h, w),
        8: ([0, -1, 1, 0, 0, w], h, w),
    }.get(orientation, ([1, 0, 0, 1, 0, 0], w, h))
