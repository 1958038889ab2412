"""A download whose body is cut off mid-stream is tried again, not reported as a failure.

rclone's S3 server, loaded by parallel tests on a small machine, sometimes drops a connection
in the middle of a GET body; obstore retries failed requests but not a body cut short. The
server here is a minimal S3 endpoint on 127.0.0.1 that cuts off its first CUTS answers for each
key, more than obstore's own (ranged) retries absorb.
"""
from __future__ import annotations

import http.server
import threading

import pytest

from dataver.remote.obstore_remote import ObstoreBackend, s3_store

BODY = bytes(range(256)) * 4096  # 1 MiB
CUTS = 4


class _CuttingHandler(http.server.BaseHTTPRequestHandler):
    served: dict[str, int] = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        count = self.served[self.path] = self.served.get(self.path, 0) + 1
        start = 0
        ranged = self.headers.get("Range", "")  # obstore resumes a cut body with bytes=N-
        if ranged.startswith("bytes="):
            start = int(ranged[len("bytes="):].split("-")[0])
        body = BODY[start:]
        self.send_response(206 if ranged else 200)
        self.send_header("Content-Length", str(len(body)))
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
        self.send_header("ETag", '"x"')
        self.send_header("Last-Modified", "Mon, 07 Dec 2026 00:00:00 GMT")
        self.end_headers()
        if count <= CUTS:
            self.wfile.write(body[:1000])  # then the connection closes: the body is cut off
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def cutting_server():
    _CuttingHandler.served = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CuttingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_body_cut_off_mid_stream_is_downloaded_again(cutting_server, tmp_path):
    endpoint = f"http://127.0.0.1:{cutting_server.server_address[1]}"
    conf = {"endpointurl": endpoint, "access_key_id": "a", "secret_access_key": "b"}
    backend = ObstoreBackend(s3_store("s3://bucket/prefix", conf, {}), "s3://bucket/prefix")
    local = tmp_path / "obj"
    failures = backend.get_many([("files/md5/ab/cdef", str(local))], jobs=1)
    assert failures == {}
    assert local.read_bytes() == BODY
    assert _CuttingHandler.served["/bucket/prefix/files/md5/ab/cdef"] > CUTS
