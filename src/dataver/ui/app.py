"""The Starlette application of `dataver ui`: routes, error pages and security headers.

:func:`create_app` opens the repository (on the service's worker thread) before it returns,
so a bad root fails at start-up with one line, not on the first request. Every page is
read-only: no route writes to the workspace, the cache or git (objects fetched from the remote
for display and thumbnails under ``.dvc/tmp`` aside), so there is no form to protect.
"""
from __future__ import annotations

import os

from dataver.ui.safety import BadRequest, NotFound

HERE = os.path.dirname(os.path.abspath(__file__))
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
# No inline script, no request to anywhere but this server; images may be data: URIs.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(root: str, hosts: list[str] | None = None, on_start=None):
    """The app serving the repository at or above ``root``; ``hosts``: extra Host header
    values to accept besides the loopback names (the address given with --host; "*": any,
    for a server listening on every address);
    ``on_start()`` is called once the server runs (uvicorn then handles Ctrl-C)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from dataver.ui import browse, compare, media, pages, versions
    from dataver.ui.service import Service

    service = Service(root)
    service.start()
    routes = [
        Route("/", versions.page),
        Route("/browse", browse.outputs_page),
        Route("/browse/{rest:path}", browse.page),
        Route("/file/{rest:path}", browse.file_page),
        Route("/compare", compare.form),
        Route("/compare/{rest:path}", compare.page),
        Route("/thumb/{md5}", media.thumb),
        Route("/object/{md5}", media.original),
        Route("/difference/{a}/{b}", media.difference),
        Mount("/static", StaticFiles(directory=os.path.join(HERE, "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=_lifespan(service, on_start),
                    exception_handlers=_handlers())
    app.state.service = service
    app.state.env = pages.environment(os.path.join(HERE, "templates"))
    app.add_middleware(_SecurityHeaders, hosts=set(LOCAL_HOSTS + [h for h in hosts or [] if h]))
    return app


def _lifespan(service, on_start):
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        if on_start is not None:
            on_start()
        try:
            yield
        finally:
            service.shutdown()

    return lifespan


def _handlers() -> dict:
    from starlette.exceptions import HTTPException

    from dataver.errors import DataverError

    async def not_found(request, exc):
        return _error_page(request, 404, str(exc))

    async def bad_request(request, exc):
        return _error_page(request, 400, str(exc))

    async def http_error(request, exc):
        return _error_page(request, exc.status_code, exc.detail or "")

    async def dataver_error(request, exc):
        message = exc.format() if hasattr(exc, "format") else str(exc)
        return _error_page(request, 400, message.splitlines()[0] if message else type(exc).__name__)

    async def bug(request, exc):  # uvicorn logs the traceback; the page says one line
        text = f"internal error: {type(exc).__name__}: {exc}"
        return _error_page(request, 500, text.splitlines()[0])

    return {NotFound: not_found, BadRequest: bad_request, HTTPException: http_error,
            DataverError: dataver_error, Exception: bug}


def _error_page(request, status: int, message: str):
    from dataver.ui.pages import render

    titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 500: "Error"}
    return render(request, "error.html.j2", {"title": titles.get(status, "Error"),
                                              "status": status, "message": message}, status)


class _SecurityHeaders:
    """Refuses a request whose Host header is not an address the server listens on (a page
    elsewhere cannot reach this server through DNS rebinding), and adds the
    Content-Security-Policy and its companions to every response."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
               (b"cross-origin-resource-policy", b"same-origin")]

    def __init__(self, app, hosts: set[str]):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "*" not in self.hosts and _host(scope) not in self.hosts:
            from starlette.responses import PlainTextResponse

            refused = PlainTextResponse("unknown Host header", status_code=400)
            return await refused(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)

        return await self.app(scope, receive, send_with_headers)


def _host(scope) -> str:
    """The host name of the request's Host header, without the port (IPv6 in brackets kept)."""
    value = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").strip()
    if value.startswith("["):
        return value[:value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value
