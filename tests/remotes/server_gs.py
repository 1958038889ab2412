"""`gcp-storage-emulator` (pip) on 127.0.0.1 for the Google Cloud Storage remote tests, with one
bucket created at start. Clients reach it through ``endpointurl`` (gcsfs also honours
STORAGE_EMULATOR_HOST) and anonymous credentials, so no Google login is ever tried.
Remote URL: ``gs://dataver-test/data`` with options ``endpointurl`` and
``allow_anonymous_login true``."""
from __future__ import annotations

import importlib.util
import os
import sys
import urllib.error
import urllib.request

from .launch import FsServer, ServerError, ServerProcess, free_port

BUCKET = "dataver-test"
# The emulator serves one request at a time on http.server's default listen backlog of 5: with
# more concurrent clients, connections are dropped and time out, and some downloads come back
# truncated. A deeper backlog makes it queue them instead (its handling stays one at a time).
#
# Its multipart-upload parser (the stdlib email parser) also takes gcsfs's LF-delimited upload of
# content that ends in b"\r" as CRLF-delimited, so one random object in 256 is stored a byte
# short. The launcher replaces that parser with a byte-exact split that uses the line ending the
# client itself put after the opening delimiter.
RUN_EMULATOR = """
import http.server, json, re, sys
http.server.HTTPServer.request_queue_size = 512
from gcp_storage_emulator import server

_read_data = server._read_data

def read_multipart_related(handler, query):
    ctype = handler.headers.get("Content-Type") or ""
    if not ctype.startswith("multipart/related"):
        return _read_data(handler, query)
    delim = b"--" + re.search(r'boundary="?([^";]+)"?', ctype).group(1).encode()
    raw = server._decode_raw_data(server._read_raw_data(handler), handler)
    eol = b"\\r\\n" if raw.startswith(delim + b"\\r\\n") else b"\\n"
    meta, content = (p.split(eol + eol, 1) for p in raw.split(eol + delim)[:2])
    ctype1 = re.search(rb"(?im)^content-type:[ \\t]*([^\\r\\n;]+)", content[0])
    return {"meta": json.loads(meta[1]), "content": content[1],
            "content-type": ctype1.group(1).decode() if ctype1 else "application/octet-stream"}

server._read_data = read_multipart_related
from gcp_storage_emulator.__main__ import main
main(sys.argv[1:])
"""


def start(base: str) -> FsServer:
    """Start the emulator (in-memory store, logs under ``base``)."""
    if importlib.util.find_spec("gcp_storage_emulator") is None:
        raise ServerError("gcp-storage-emulator is not installed: run scripts/setup.sh --test")
    port = free_port()
    argv = [sys.executable, "-c", RUN_EMULATOR, "start", "--host", "127.0.0.1", "--port",
            str(port), "--default-bucket", BUCKET, "--quiet"]
    proc = ServerProcess(argv, os.path.join(base, "gcs.log"), cwd=base,
                         env={"STORAGE_BASE": base})
    endpoint = f"http://127.0.0.1:{port}"
    proc.wait_ready(lambda: _bucket_exists(endpoint), "gcp-storage-emulator")

    def fs_factory():
        # the plain JSON-API filesystem: gcsfs's default class first probes the bucket over gRPC,
        # which the emulator does not speak (a 60 s stall per bucket)
        from gcsfs.core import GCSFileSystem

        return GCSFileSystem(endpoint_url=endpoint, token="anon", project="test"), f"{BUCKET}/data"

    # the emulator accepts any caller, so there is no bad_credentials case
    return FsServer("gs", f"gs://{BUCKET}/data",
                    {"endpointurl": endpoint, "allow_anonymous_login": "true"},
                    unreachable={"endpointurl": f"http://127.0.0.1:{free_port()}"},
                    missing_bucket_url="gs://no-such-bucket/x",
                    stop=proc.stop, fs_factory=fs_factory)


def _bucket_exists(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(f"{endpoint}/storage/v1/b/{BUCKET}", timeout=2)
    except (urllib.error.URLError, OSError):
        return False
    return True
