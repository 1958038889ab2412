"""Rendering shared by the routes: the Jinja2 environment (autoescaped), URLs of every view,
pagination, and the small formatting helpers the view dicts are built with."""
from __future__ import annotations

import time
from urllib.parse import quote, urlencode

PER_PAGE = 50


def environment(folder: str):
    """Jinja2 environment over ``folder``: autoescaped, undefined names are errors."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(folder), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def render(request, template: str, context: dict, status: int = 200):
    """An HTML response of ``template`` with ``context`` (plus the repository's name)."""
    from starlette.responses import HTMLResponse

    app = request.app
    service = app.state.service
    page = app.state.env.get_template(template).render(
        repo_name=service.root.rstrip("/").rpartition("/")[2] or service.root, **context)
    return HTMLResponse(page, status_code=status)


# --- URLs ----------------------------------------------------------------------------------

def _q(query: dict | None) -> str:
    query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    return "?" + urlencode(query) if query else ""


def rev_part(rev: str) -> str:
    return quote(rev, safe="")


def browse_url(rev: str, path: str = "", **query) -> str:
    tail = "/" + quote(path, safe="/") if path else ""
    return f"/browse/{rev_part(rev)}{tail}{_q(query)}"


def file_url(rev: str, path: str) -> str:
    return f"/file/{rev_part(rev)}/{quote(path, safe='/')}"


def compare_url(a: str, b: str, output: str = "", **query) -> str:
    tail = "/" + quote(output, safe="/") if output else ""
    return f"/compare/{rev_part(a)}/{rev_part(b)}{tail}{_q(query)}"


def thumb_url(md5: str, size: int = 256) -> str:
    return f"/thumb/{md5}?size={size}"


def object_url(md5: str) -> str:
    return f"/object/{md5}"


def difference_url(a: str, b: str, size: int = 512) -> str:
    return f"/difference/{a}/{b}?size={size}"


# --- pages and figures -----------------------------------------------------------------------

def pager(total: int, page: int, per_page: int, url_of) -> dict:
    """Pagination of ``total`` items: the slice to show and the links (``url_of(page)``)."""
    pages = max(1, (total + per_page - 1) // per_page)
    page = min(page, pages)
    start = (page - 1) * per_page
    return {"page": page, "pages": pages, "total": total, "start": start,
            "end": min(start + per_page, total), "first": start + 1 if total else 0,
            "prev": url_of(page - 1) if page > 1 else None,
            "next": url_of(page + 1) if page < pages else None}


def size(n) -> str:
    """Bytes for people: 1.2 MB (decimal units, as file managers show)."""
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def num(n) -> str:
    return "-" if n is None else f"{n:,}"


def when(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def crumbs(rev: str, path: str) -> list[dict]:
    """Links to each folder above ``path`` (repo-relative) at ``rev``, the last unlinked."""
    result = [{"label": rev, "url": browse_url(rev)}]
    parts = path.split("/") if path else []
    for i, part in enumerate(parts):
        result.append({"label": part, "url": browse_url(rev, "/".join(parts[:i + 1]))})
    if result:
        result[-1] = {**result[-1], "url": None}
    return result
