"""moto's standalone S3 server (pip ``moto[server]``) on 127.0.0.1, with one bucket whose
versioning is enabled: the server for cloud-versioned remotes (``version_aware``/``worktree``),
which `rclone serve s3` cannot be (it keeps no object versions).

Remote URL: ``s3://dataver-versioned/<name>`` with options ``endpointurl``, ``access_key_id``,
``secret_access_key`` (moto takes any key pair). Not in the conformance suite (SERVERS): it is
started only by the tests that ask for ``s3-versioned``.
"""
from __future__ import annotations

import os

from .launch import FsServer, ServerProcess, find_exe, free_port

BUCKET = "dataver-versioned"
KEY, SECRET = "motokey", "motosecret"
# moto lives in its own venv (scripts/setup.sh --test): its boto3 pins botocore exactly, which
# fights s3fs's aiobotocore pin in one environment (pip backtracks for many minutes)
MOTO_BIN = os.path.join(os.path.dirname(__file__), "..", "..", ".venv-moto", "bin")


def start(base: str) -> FsServer:
    """Start moto_server and create the versioned bucket."""
    port = free_port()
    proc = ServerProcess([find_exe("moto_server", MOTO_BIN), "-H", "127.0.0.1", "-p", str(port)],
                         os.path.join(base, "moto.log"), cwd=base)
    proc.wait_port(port, "moto_server")
    endpoint = f"http://127.0.0.1:{port}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    options = {"endpointurl": endpoint, "access_key_id": KEY, "secret_access_key": SECRET}
    return FsServer("s3-versioned", f"s3://{BUCKET}", options, stop=proc.stop)


def s3_client(endpoint: str):
    """A botocore S3 client on the server (botocore comes with s3fs), for tests that look at
    object versions directly."""
    import botocore.session

    return botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        region_name="us-east-1")
