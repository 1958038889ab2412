"""A small HTTP file server for the HTTP remote tests, run as its own process:
``python http_upload_server.py ROOT PORT [USER PASSWORD]``.

It serves what DVC's HTTP remote uses: GET (with a single byte Range) and HEAD to read, PUT or POST
with the body (Content-Length or chunked) to upload; each upload is written to a temp file and
renamed into place. Directories are not listed (403), like most production object servers, and
there is no DELETE, so a client can neither traverse nor remove. With USER and PASSWORD, every
request needs HTTP basic auth. Standalone (stdlib only) so it runs under any Python."""
from __future__ import annotations

import base64
import os
import re
import sys
import tempfile
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 1 << 20


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."
    auth: str | None = None

    def log_message(self, format, *args):  # quiet: the tests read only errors
        pass

    def _local_path(self) -> str | None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") or "\0" in p for p in parts):
            return None
        return os.path.join(self.root, *parts)

    def _reply(self, code: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if code == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="dataver-test"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorized(self) -> bool:
        if self.auth is None or self.headers.get("Authorization") == self.auth:
            return True
        self._drain_body()
        self._reply(401)
        return False

    def _checked_path(self) -> str | None:
        if not self._authorized():
            return None
        local = self._local_path()
        if local is None:
            self._drain_body()
            self._reply(400, b"bad path")
        return local

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        local = self._checked_path()
        if local is None:
            return
        if os.path.isdir(local):
            return self._reply(403, b"directory listing disabled")
        if not os.path.isfile(local):
            return self._reply(404, b"not found")
        size = os.path.getsize(local)
        start, end = self._byte_range(size)
        if start is None:
            return self._reply(416, headers={"Content-Range": f"bytes */{size}"})
        code = 206 if self.headers.get("Range") else 200
        self.send_response(code)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if self.command == "GET":
            self._send_file(local, start, end)

    def _byte_range(self, size: int) -> tuple[int | None, int]:
        header = self.headers.get("Range")
        if not header:
            return 0, size
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
        if not match or match.groups() == ("", ""):
            return None, 0
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size
        else:
            start, end = int(first), min(size, int(last) + 1 if last else size)
        return (start, end) if start < end or size == 0 else (None, 0)

    def _send_file(self, local: str, start: int, end: int) -> None:
        with open(local, "rb") as fobj:
            fobj.seek(start)
            left = end - start
            while left > 0:
                data = fobj.read(min(CHUNK, left))
                if not data:
                    break
                self.wfile.write(data)
                left -= len(data)

    def do_PUT(self):
        local = self._checked_path()
        if local is None:
            return
        if os.path.isdir(local):
            self._drain_body()
            return self._reply(409, b"is a directory")
        os.makedirs(os.path.dirname(local), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(local), prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for data in self._body_chunks():
                    out.write(data)
            os.replace(tmp, local)
        except BaseException:
            os.unlink(tmp)
            raise
        self._reply(201)

    do_POST = do_PUT

    def _body_chunks(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            yield from self._chunked_body()
            return
        yield from self._read_exactly(int(self.headers.get("Content-Length") or 0))

    def _read_exactly(self, left: int):
        while left > 0:
            data = self.rfile.read(min(CHUNK, left))
            if not data:
                raise ConnectionError("client closed the connection mid-body")
            left -= len(data)
            yield data

    def _chunked_body(self):
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            yield from self._read_exactly(size)
            self.rfile.readline()  # CRLF after each chunk

    def _drain_body(self) -> None:
        for _ in self._body_chunks():
            pass


def main(argv: list[str]) -> None:
    root, port = argv[0], int(argv[1])
    Handler.root = os.path.abspath(root)
    if len(argv) >= 4:
        token = base64.b64encode(f"{argv[2]}:{argv[3]}".encode()).decode()
        Handler.auth = f"Basic {token}"
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
