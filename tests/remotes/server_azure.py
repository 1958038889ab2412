"""Azurite's blob service (npm package `azurite`, installed by scripts/setup.sh under
``.cache/azurite``) on 127.0.0.1 for the Azure remote tests, with one container created at start.
Clients use the well-known development account `devstoreaccount1` through a connection string.
Remote URL: ``azure://dataver-test/data`` with option ``connection_string``."""
from __future__ import annotations

import base64
import os
import sys

from .launch import ROOT, FsServer, ServerProcess, find_exe, free_port

CONTAINER = "dataver-test"
ACCOUNT = "devstoreaccount1"
# Azurite's fixed, public development key (documented by Microsoft; not a secret)
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
# where scripts/setup.sh installs it: this checkout, or the checkout owning the running venv
AZURITE_BINS = [os.path.join(base, ".cache", "azurite", "node_modules", ".bin")
                for base in (ROOT, os.path.dirname(sys.prefix))]


def connection_string(port: int, key: str = ACCOUNT_KEY) -> str:
    """The connection string for the development account on a local Azurite."""
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")


def start(base: str) -> FsServer:
    """Start azurite-blob with its workspace under ``base``."""
    exe = find_exe("azurite-blob", *AZURITE_BINS)
    port = free_port()
    workspace = os.path.join(base, "azurite")
    os.makedirs(workspace)
    argv = [exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", workspace,
            "--silent", "--loose", "--skipApiVersionCheck", "--disableTelemetry"]
    proc = ServerProcess(argv, os.path.join(base, "azurite.log"), cwd=base)
    proc.wait_port(port, "azurite-blob")
    conn = connection_string(port)
    try:
        _create_container(conn)
    except Exception as exc:
        raise proc.fail(f"azurite-blob refused to create container {CONTAINER} ({exc})") from exc

    def fs_factory():
        from adlfs import AzureBlobFileSystem

        return AzureBlobFileSystem(connection_string=conn), f"{CONTAINER}/data"

    wrong_key = base64.b64encode(b"not the account key" * 3).decode()
    return FsServer("azure", f"azure://{CONTAINER}/data", {"connection_string": conn},
                    unreachable={"connection_string": connection_string(free_port())},
                    bad_credentials={"connection_string": connection_string(port, wrong_key)},
                    missing_bucket_url="azure://no-such-container/x",
                    stop=proc.stop, fs_factory=fs_factory)


def _create_container(conn: str) -> None:
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(conn)
    try:
        client.create_container(CONTAINER)
    finally:
        client.close()


