"""`import-url --version-aware` against real DVC 3.67.1 on moto's S3 server, whose bucket keeps
object versions: the same `.dvc` files (each file's version id, `push: false`), `pull` gets the
recorded versions from the source even after newer ones were written, `push` sends nothing, and
`update` records the new versions as DVC does."""
from __future__ import annotations

import shutil
import uuid

import pytest

from tests.compat.conftest import dataver, dvc, dvc_repo
from tests.conftest import tree
from tests.remotes.server_moto import BUCKET, KEY, SECRET, s3_client

pytestmark = pytest.mark.compat


@pytest.fixture
def source(versioned_s3, monkeypatch):
    """``(url of a folder d with x and y, url of a file f, endpoint, client)`` in the bucket;
    credentials in the environment, so the .dvc files hold only the endpoint."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    endpoint = versioned_s3.options["endpointurl"]
    client = s3_client(endpoint)
    prefix = uuid.uuid4().hex[:10]
    for key, body in (("d/x", b"x1"), ("d/sub/y", b"yy1"), ("f", b"f1")):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{key}", Body=body)
    base = f"s3://{BUCKET}/{prefix}"
    return base, endpoint, client, prefix


def _import(tool, root, base, endpoint):
    for name in ("d", "f"):
        tool("import-url", "-q", "--version-aware", f"{base}/{name}", "--fs-config",
             f"endpointurl={endpoint}", cwd=root)


@pytest.fixture
def twins(tmp_path, source):
    base, endpoint, _client, _prefix = source
    roots = {}
    for name, tool in (("dataver", dataver), ("dvc", dvc)):
        root = dvc_repo(tmp_path / name)
        dvc("remote", "add", "-d", "r", str(tmp_path / f"{name}-remote"), cwd=root)
        _import(tool, root, base, endpoint)
        roots[name] = root
    return roots


def test_same_dvc_files_as_dvc(twins):
    ours, theirs = twins["dataver"], twins["dvc"]
    for name in ("d.dvc", "f.dvc"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    text = (ours / "d.dvc").read_text()
    assert "  files:\n  - relpath: sub/y\n" in text and "version_id: " in text and "  push: false\n" in text
    assert tree(ours / "d") == {"x": b"x1", "sub/y": b"yy1"}


def test_pull_gets_the_recorded_versions_from_the_source(twins, source, tmp_path):
    _base, _endpoint, client, prefix = source
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/d/x", Body=b"x2-newer")
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/f", Body=b"f2-newer")
    ours = twins["dataver"]
    assert dataver("push", cwd=ours).stdout == "Everything is up to date.\n"  # push: false
    assert not (tmp_path / "dataver-remote").exists()
    copies = []
    for tool in (dataver, dvc):  # each tool pulls dataver's repository, cache and data gone
        copy = tmp_path / f"pulled-by-{tool.__name__}"
        shutil.copytree(ours, copy)
        for gone in ("d", "f", ".dvc/cache"):
            shutil.rmtree(copy / gone) if (copy / gone).is_dir() else (copy / gone).unlink()
        tool("pull", cwd=copy)
        copies.append(copy)
    for copy in copies:
        assert tree(copy / "d") == {"x": b"x1", "sub/y": b"yy1"}
        assert (copy / "f").read_bytes() == b"f1"
    assert dataver("status", cwd=copies[0]).stdout == "Data and pipelines are up to date.\n"


def test_update_records_the_new_versions_as_dvc(twins, source):
    _base, _endpoint, client, prefix = source
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/d/x", Body=b"x2-newer")
    dataver("update", "d.dvc", "f.dvc", cwd=twins["dataver"])
    dvc("update", "d.dvc", "f.dvc", cwd=twins["dvc"])
    for name in ("d.dvc", "f.dvc"):
        assert (twins["dataver"] / name).read_bytes() == (twins["dvc"] / name).read_bytes(), name
    assert (twins["dataver"] / "d" / "x").read_bytes() == b"x2-newer"


def test_a_recorded_version_that_is_gone_is_one_line(twins, source):
    _base, _endpoint, client, prefix = source
    ours = twins["dataver"]
    versions = client.list_object_versions(Bucket=BUCKET, Prefix=f"{prefix}/f")["Versions"]
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/f", Body=b"f2-newer")
    for version in versions:
        client.delete_object(Bucket=BUCKET, Key=f"{prefix}/f", VersionId=version["VersionId"])
    (ours / "f").unlink()
    shutil.rmtree(ours / ".dvc" / "cache")
    proc = dataver("pull", "f", cwd=ours, ok=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "'f.dvc'" in proc.stderr and "dataver update f.dvc" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_version_aware_needs_an_s3_url(tmp_path):
    root = dvc_repo(tmp_path / "r")
    (tmp_path / "src").write_text("x")
    proc = dataver("import-url", "--version-aware", str(tmp_path / "src"), cwd=root, ok=False)
    assert proc.returncode == 1 and "s3:// URLs only" in proc.stderr
    assert not (root / "src.dvc").exists()
