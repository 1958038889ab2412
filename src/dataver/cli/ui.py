"""`dataver ui`: a local web app to browse the data of any version and compare two versions
image by image (see docs/ui.md). Serves on 127.0.0.1 unless --host names another address."""
from __future__ import annotations

import sys

from dataver.cli.main import common
from dataver.cli.output import echo

DEFAULT_PORT = 8765
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(sub) -> None:
    p = sub.add_parser(
        "ui", help="browse and compare versions of the data in a local web app",
        description="Start a local web app: the versions of the data with their cards, "
                    "browsing any output at any revision (thumbnails, COCO boxes), and "
                    "comparing two revisions image by image and box by box. Read-only; data "
                    "missing from the cache is fetched from the default remote when shown. "
                    "Ctrl-C stops it.")
    common(p)
    p.add_argument("--port", type=_port, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1); any other address lets "
                        "whoever can reach it read the repository's data")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.add_argument("--no-browser", action="store_true",
                   help="never open a browser (the default; wins over --open)")
    p.set_defaults(func=run)


def _port(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number (0-65535), not {text!r}")
    return value


def run(args) -> int:
    from dataver.errors import UserError
    from dataver.facts import need

    for module in ("starlette", "uvicorn", "jinja2", "PIL", "numpy"):
        try:
            need(module)
        except UserError:
            raise UserError(f"`dataver ui` needs {module}",
                            hint="pip install 'dataver[ui]'") from None
    sock = _bind(args.host, args.port)
    if args.host not in LOOPBACK:
        print(f"WARNING: listening on {args.host}: anyone who can reach this address can read "
              "the data of this repository", file=sys.stderr)
    from dataver.ui.app import create_app

    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"

    def started() -> None:  # uvicorn handles Ctrl-C from here on
        echo(args, f"dataver ui: serving {app.state.service.root} at {url} (Ctrl-C to stop)")
        sys.stdout.flush()
        if args.open and not args.no_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        hosts = ["*"] if args.host in ("0.0.0.0", "::", "") else [args.host]
        app = create_app(".", hosts=hosts, on_start=started)
        _serve(app, sock)
    except KeyboardInterrupt:  # before uvicorn took over Ctrl-C, or re-raised by it
        pass
    finally:
        sock.close()
    print("dataver ui: stopped", file=sys.stderr)
    return 0


def _bind(host: str, port: int):
    """A listening socket on ``host:port``, or a one-line error (in use, bad address)."""
    import socket

    from dataver.errors import UserError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UserError(f"cannot listen on {host!r}: {exc.strerror}",
                        hint="give an IP address with --host") from None
    family, _type, _proto, _name, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}",
                        hint="pick another port with --port (0: any free one)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _serve(app, sock) -> None:
    """Serve until Ctrl-C (or SIGTERM); uvicorn finishes the open requests, then the app
    closes the repository."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
