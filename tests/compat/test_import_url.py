"""`import-url`, `get-url`, `ls-url` and `update` of URL imports against real DVC 3.x: local files
and directories, S3 (`rclone serve s3`) and plain HTTP. Each tool works its own sibling repo on the
same source; the repos (`.dvc` files, `.gitignore`, cache) must come out byte-identical."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, make_tree, status_json
from tests.conftest import dvc_bin, tree

pytestmark = pytest.mark.compat

SOURCE = {"a.txt": "hello\n", "d/b": "x\n", "d/sub1": "yy\n", "d/s/c": "z\n"}


@pytest.fixture
def src(tmp_path):
    """Source files beside the repos: ``../src/...`` from either repo."""
    make_tree(tmp_path / "src", SOURCE)
    return tmp_path / "src"


def both(pair, *args):
    """Run the same command with dataver in repo a and dvc in repo b."""
    a, b = pair
    return dataver(*args, cwd=a), dvc(*args, cwd=b)


def _names(root):
    return sorted(p for p in os.listdir(root) if p not in (".git", ".dvc"))


# --- ls-url ---------------------------------------------------------------------------------------
def test_ls_url_prints_what_dvc_prints(src, tmp_path):
    for args in (["src/d"], ["src/d", "-R"], ["src/d", "--size", "-R"], ["src/d", "-L", "1"],
                 ["src/d", "-R", "-L", "1"], ["src/d", "-R", "-L", "2"], ["src/a.txt"],
                 ["src/a.txt", "--size"], ["src"], ["src", "-T"], ["src", "-T", "--size", "-L", "1"],
                 ["src/a.txt", "-T", "--size"]):
        ours = dataver("ls-url", *args, cwd=tmp_path)
        assert ours.stdout == dvc("ls-url", *args, cwd=tmp_path).stdout, args


def test_ls_url_json_equals_dvc_api(src, tmp_path):
    script = ("import json, sys; from dvc.repo import Repo; "
              "print(json.dumps(Repo.ls_url(sys.argv[1], recursive=sys.argv[2] == '1')))")
    python = os.path.join(os.path.dirname(dvc_bin()), "python")
    for url, rec in (("src/d", False), ("src/d", True), ("src/a.txt", False)):
        theirs = subprocess.run([python, "-c", script, url, "1" if rec else "0"], cwd=tmp_path,
                                capture_output=True, text=True, check=True).stdout
        ours = dataver("ls-url", "--json", url, *(["-R"] if rec else []), cwd=tmp_path).stdout
        assert json.loads(ours) == json.loads(theirs), url


def test_bad_url_is_one_line_error(tmp_path):
    for args in (["ls-url", "nope"], ["get-url", "nope"], ["ls-url", "foo://x/y"],
                 ["get-url", "x", "--fs-config", "novalue"]):
        proc = dataver(*args, cwd=tmp_path, ok=False)
        assert proc.returncode == 1, args
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ERROR:") and "Traceback" not in proc.stderr


# --- get-url --------------------------------------------------------------------------------------
def test_get_url_copies_like_dvc(src, tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for path, tool in ((ours, dataver), (theirs, dvc)):
        path.mkdir()
        tool("get-url", "../src/d", cwd=path)
        tool("get-url", "../src/a.txt", "copy.txt", cwd=path)
        tool("get-url", "../src/a.txt", "d", cwd=path)  # into an existing directory
        again = tool("get-url", "../src/a.txt", "copy.txt", cwd=path, ok=False)
        assert again.returncode != 0 and "already exists" in again.stderr
        tool("get-url", "-f", "../src/d/b", "copy.txt", cwd=path)
    assert tree(ours) == tree(theirs)
    assert (ours / "copy.txt").read_text() == "x\n"


# --- import-url and update, local -----------------------------------------------------------------
def test_import_url_local_file_and_dir_byte_identical(pair, src):
    a, b = pair
    both(pair, "import-url", "../src/a.txt")
    both(pair, "import-url", "../src/d", "data")
    both(pair, "import-url", str(src / "d" / "b"), "abs.txt")
    both(pair, "remote", "add", "source", str(src))
    both(pair, "import-url", "remote://source/d/s", "via-remote")
    assert_same(a, b)
    assert "path: remote://source/d/s" in (a / "via-remote.dvc").read_text()
    assert (a / "data" / "s" / "c").read_text() == "z\n"
    # dvc is content with dataver's result, and the other way round
    assert "up to date" in dvc("status", cwd=a).stdout
    assert json.loads(dataver("status", "--json", cwd=b).stdout or "{}") == {}
    (a / "a.txt").unlink()
    dvc("checkout", cwd=a)
    assert (a / "a.txt").read_text() == "hello\n"


def test_update_after_the_source_changed(pair, src):
    a, b = pair
    both(pair, "import-url", "../src/a.txt")
    both(pair, "import-url", "../src/d", "data")
    ours, _ = both(pair, "update", "a.txt.dvc", "data.dvc")
    assert "'a.txt.dvc' didn't change, skipping" in ours.stdout
    assert_same(a, b)
    (src / "a.txt").write_text("changed\n")
    (src / "d" / "new").write_text("new file\n")
    # a frozen import's source is not compared by status (DVC warns it is not shown)
    assert status_json(dataver, a) == status_json(dvc, a) == {}
    ours, theirs = both(pair, "update", "a.txt.dvc", "data.dvc")
    assert_same(a, b)
    importing = sorted(line for line in ours.stdout.splitlines() if line.startswith("Importing"))
    assert importing == sorted(line for line in theirs.stdout.splitlines()
                               if line.startswith("Importing"))  # DVC's order is its own
    assert len(importing) == 2
    assert (a / "a.txt").read_text() == "changed\n"
    assert (a / "data" / "new").read_text() == "new file\n"
    (src / "a.txt").write_text("changed again\n")
    both(pair, "update", "--no-download", "a.txt.dvc")  # version recorded, no data
    assert_same(a, b)
    assert not (a / "a.txt").exists()


def test_update_recursive_updates_the_imports_in_a_directory(pair, src):
    a, b = pair
    for root, tool in ((a, dataver), (b, dvc)):
        make_tree(root, {"sub/plain.txt": "plain\n"})
        tool("add", "sub/plain.txt", cwd=root)
    both(pair, "import-url", str(src / "a.txt"), "sub/x.txt")
    both(pair, "import-url", str(src / "d"), "sub/data")
    (src / "a.txt").write_text("changed\n")
    (src / "d" / "b").write_text("changed too\n")
    both(pair, "update", "-R", "sub")
    assert_same(a, b)
    assert (a / "sub" / "x.txt").read_text() == "changed\n"
    assert (a / "sub" / "data" / "b").read_text() == "changed too\n"


def test_no_exec_and_no_download_byte_identical(pair, src):
    a, b = pair
    both(pair, "import-url", "--no-exec", "../src/d", "ne")
    both(pair, "import-url", "--no-download", "../src/d", "nd")
    both(pair, "import-url", "--no-download", "../src/a.txt")
    assert_same(a, b)
    assert _names(a) == [".dvcignore", ".gitignore", "a.txt.dvc", "nd.dvc", "ne.dvc"]
    both(pair, "update", "ne.dvc")  # the deferred import happens now
    assert_same(a, b)
    assert (a / "ne" / "sub1").read_text() == "yy\n"


def test_import_url_to_remote_keeps_no_copy(pair, src, tmp_path):
    a, b = pair
    for root, tool in ((a, dataver), (b, dvc)):
        tool("remote", "add", "-d", "store", str(tmp_path / f"store-{root.name}"), cwd=root)
    both(pair, "import-url", "--to-remote", "../src/d", "data")
    both(pair, "import-url", "--to-remote", "../src/a.txt")
    assert (a / "data.dvc").read_bytes() == (b / "data.dvc").read_bytes()
    assert (a / "a.txt.dvc").read_bytes() == (b / "a.txt.dvc").read_bytes()
    assert not (a / "data").exists() and not (a / ".dvc" / "cache").exists()
    objects = lambda store: sorted(os.path.relpath(os.path.join(d, f), store)  # noqa: E731
                                   for d, _, fs in os.walk(store) for f in fs
                                   if not f.endswith(".tmp") and not f.startswith("."))
    assert objects(tmp_path / "store-a") == objects(tmp_path / "store-b")
    (src / "d" / "s" / "c").write_text("changed\n")
    both(pair, "update", "--to-remote", "data.dvc")
    assert (a / "data.dvc").read_bytes() == (b / "data.dvc").read_bytes()
    assert objects(tmp_path / "store-a") == objects(tmp_path / "store-b")
    assert not (a / "data").exists() and not (a / ".dvc" / "cache").exists()
    dvc("pull", cwd=a)  # dvc gets dataver's upload
    assert (a / "data" / "s" / "c").read_text() == "changed\n"
    assert (a / "a.txt").read_text() == "hello\n"


# --- S3 and HTTP ------------------------------------------------------------------------------------
@pytest.fixture
def s3_source(server_pool, monkeypatch):
    """A prefix on the rclone S3 server holding SOURCE; credentials in the environment (as DVC
    reads them), the endpoint given with --fs-config."""
    import s3fs

    server = server_pool("s3")
    conf = server.remote()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", conf["access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", conf["secret_access_key"])
    fs = s3fs.S3FileSystem(key=conf["access_key_id"], secret=conf["secret_access_key"],
                           client_kwargs={"endpoint_url": conf["endpointurl"]},
                           skip_instance_cache=True)
    root = conf["url"][len("s3://"):]
    for rel, text in SOURCE.items():
        fs.pipe(f"{root}/{rel}", text.encode())
    return conf["url"], f"endpointurl={conf['endpointurl']}", fs, root


def test_import_url_s3_byte_identical_and_update(pair, s3_source):
    a, b = pair
    url, endpoint, fs, root = s3_source
    both(pair, "import-url", f"{url}/a.txt", "--fs-config", endpoint)
    both(pair, "import-url", f"{url}/d", "data", "--fs-config", endpoint)
    assert_same(a, b)
    assert "etag:" in (a / "a.txt.dvc").read_text()
    ours = dataver("ls-url", f"{url}/d", "-R", "--size", "--fs-config", endpoint, cwd=a).stdout
    assert ours == dvc("ls-url", f"{url}/d", "-R", "--size", "--fs-config", endpoint, cwd=b).stdout
    fs.pipe(f"{root}/a.txt", b"new content\n")
    fs.pipe(f"{root}/d/s/c", b"zz\n")
    both(pair, "update", "a.txt.dvc", "data.dvc")
    assert_same(a, b)
    assert (a / "a.txt").read_text() == "new content\n"
    assert (a / "data" / "s" / "c").read_text() == "zz\n"
    assert "up to date" in dvc("status", cwd=a).stdout
    both(pair, "import-url", "--no-download", f"{url}/d", "nd", "--fs-config", endpoint)
    both(pair, "import-url", "--no-exec", f"{url}/a.txt", "ne", "--fs-config", endpoint)
    assert_same(a, b)
    both(pair, "update", "nd.dvc", "ne.dvc")  # the deferred downloads
    assert_same(a, b)
    assert (a / "ne").read_text() == "new content\n"


@pytest.fixture
def http_url(src):
    """`python -m http.server` serving the source directory (no ETag: DVC records fsspec's
    checksum of the HEAD answer)."""
    from tests.remotes.servers import free_port, wait_for_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(src)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_import_url_http_byte_identical(pair, http_url):
    a, b = pair
    both(pair, "import-url", f"{http_url}/a.txt", "h.txt")
    assert_same(a, b)
    assert "checksum:" in (a / "h.txt.dvc").read_text()
    assert (a / "h.txt").read_text() == "hello\n"
    ours, _ = both(pair, "update", "h.txt.dvc")
    assert "didn't change" in ours.stdout


def test_import_url_ssh_byte_identical(pair, server_pool):
    """SSH sources are versioned by their content's md5. (WebDAV is not compared: DVC 3.67.1
    fails on a webdav:// import-url with "unexpected error - '<path>/.'".)"""
    a, b = pair
    server = server_pool("ssh")
    conf = server.remote()
    fs, root = server.filesystem()
    name = conf["url"].rsplit("/", 1)[1]
    for rel, text in SOURCE.items():
        path = f"{root}/{name}/{rel}"
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe(path, text.encode())
    options = ["--fs-config", *(f"{k}={v}" for k, v in conf.items() if k != "url")]
    both(pair, "import-url", f"{conf['url']}/a.txt", *options)
    both(pair, "import-url", f"{conf['url']}/d", "data", *options)
    assert_same(a, b)
    assert (a / "data" / "s" / "c").read_text() == "z\n"
    fs.pipe(f"{root}/{name}/d/b", b"changed\n")
    both(pair, "update", "a.txt.dvc", "data.dvc")
    assert_same(a, b)
    assert (a / "data" / "b").read_text() == "changed\n"
