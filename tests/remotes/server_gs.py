"""`gcp-storage-emulator` (pip) on 127.0.0.1 for the Google Cloud Storage remote tests, with one
bucket created at start. Clients reach it through ``endpointurl`` (and STORAGE_EMULATOR_HOST for
tools that read the environment) and anonymous credentials, so no Google login is ever tried.
Remote URL: ``gs://dataver-test/data`` with options ``endpointurl`` and
``allow_anonymous_login true``."""
from __future__ import annotations

import os
import urllib.error
import urllib.request

from .launch import RemoteServer, ServerProcess, find_exe, free_port

BUCKET = "dataver-test"


def start(base: str) -> RemoteServer:
    """Start the emulator (in-memory store, logs under ``base``)."""
    exe = find_exe("gcp-storage-emulator")
    port = free_port()
    argv = [exe, "start", "--host", "127.0.0.1", "--port", str(port),
            "--default-bucket", BUCKET, "--in-memory", "--quiet"]
    proc = ServerProcess(argv, os.path.join(base, "gcs.log"), cwd=base,
                         env={"STORAGE_BASE": base})
    endpoint = f"http://127.0.0.1:{port}"
    proc.wait_ready(lambda: _bucket_exists(endpoint), "gcp-storage-emulator")

    def fs_factory():
        # the plain JSON-API filesystem: gcsfs's default class first probes the bucket over gRPC,
        # which the emulator does not speak (a 60 s stall per bucket)
        from gcsfs.core import GCSFileSystem

        return GCSFileSystem(endpoint_url=endpoint, token="anon", project="test"), f"{BUCKET}/data"

    return RemoteServer(url=f"gs://{BUCKET}/data",
                        options={"endpointurl": endpoint, "allow_anonymous_login": "true"},
                        env={"STORAGE_EMULATOR_HOST": endpoint},
                        fs_factory=fs_factory, stop=proc.stop)


def _bucket_exists(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(f"{endpoint}/storage/v1/b/{BUCKET}", timeout=2)
    except (urllib.error.URLError, OSError):
        return False
    return True
