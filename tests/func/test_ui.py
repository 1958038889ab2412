"""`dataver ui` over HTTP: the app served for real (tests/func/ui_server.py) over a repo with
known changes: status codes, security cases, deep links, counts against the generator's known
changes, fetching only what is shown, no writes, and the command itself. The browser side is
in test_ui_browser.py."""
from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import ROOT, SRC, git
from tests.func.ui_server import repo, server  # noqa: F401 - fixtures
from tests.func import visual_data as vd
from tests.func.ui_server import MANY, OUTSIDE, Server, error_line, md5_of



# --- versions and browsing -----------------------------------------------------------------

def test_versions_lists_data_commits_with_links_and_stored_card(server):
    html = server.page("/")
    assert html.count('class="version"') == 3  # v1, v2, many+card (init touched no .dvc)
    assert '<span class="ref tag">v1</span>' in html and '<span class="ref tag">v2</span>' in html
    assert 'href="/compare/v1/v2"' in html and 'href="/browse/v2"' in html
    assert 'class="card-path">data</span>' in html  # the stored card of the newest commit
    assert "16 files" in html and "13 images" in html and "13 annotations" in html
    assert html.count("no stored card") == 2


def test_browse_lists_folders_and_a_page_of_thumbnails(server):
    html = server.page("/browse/v2/data/images")
    assert 'href="/browse/v2/data/images/moved"' in html
    tiles = re.findall(r'<img class="thumb" src="(/thumb/[0-9a-f]{32}\?size=256)"', html)
    assert len(tiles) == 12  # img_000..007, 010, 011, new_0, new_1
    status, headers, body = server.get(tiles[0])
    assert status == 200 and headers["content-type"] == "image/jpeg" and body[:3] == b"\xff\xd8\xff"
    assert "no-referrer" in headers["referrer-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    # the output root shows its folders; a revision alone lists the outputs
    assert 'href="/browse/v2/data/annotations"' in server.page("/browse/v2/data")
    assert 'href="/browse/HEAD/many"' in server.page("/browse/HEAD")
    assert server.get("/browse")[0] == 302


def test_pages_of_thumbnails_and_deep_links(server):
    first = server.page("/browse/HEAD/many")
    assert first.count('class="tile"') == 50 and "page 1 of 3" in first
    assert 'href="/browse/HEAD/many?page=2"' in first
    last = server.page("/browse/HEAD/many?page=3")
    assert last.count('class="tile"') == MANY - 100 and "m_119.png" in last and "m_000.png" not in last
    assert server.page("/browse/HEAD/many?page=3") == last  # the URL reopens the same view
    for bad in ("page=0", "page=x", "page=-1"):
        assert server.get(f"/browse/HEAD/many?{bad}")[0] == 400


def test_revisions_with_a_slash_and_relative_names(server):
    html = server.page("/browse/feature/x/data/images")
    assert "img_009.png" in html and "new_0.png" not in html  # v1's files
    assert 'href="/file/feature%2Fx/data/images/img_009.png"' in html
    assert server.page("/file/feature%2Fx/data/images/img_009.png") == \
        server.page("/file/feature/x/data/images/img_009.png")
    assert server.page("/browse/HEAD~1/data/images").count('class="tile"') == 12  # v2
    html = server.page("/compare/feature/x/v2/data")
    assert summary_counts(html, "files-counts") == vd.EXPECTED
    assert server.get("/?page=0")[0] == 400 and server.page("/?page=2").count('class="version"') == 0


def test_file_page_embeds_boxes_labels_and_polygons(server):
    html = server.page("/file/v2/data/images/img_001.png")
    data = json.loads(re.search(r'id="overlay-data">(.*?)</script>', html, re.S).group(1))
    assert (data["width"], data["height"]) == vd.SIZE
    assert sorted((s["label"], s["bbox"]) for s in data["shapes"]) == \
        [("bird", [40.0, 5.0, 10.0, 10.0]), ("cat", [7.0, 4.0, 20.0, 20.0])]
    assert all(len(s["polygons"]) == 1 for s in data["shapes"])
    obj = hashlib.md5(vd.image_bytes(1)).hexdigest()
    assert obj in html and "64 × 48 px" in html and "data/annotations/instances.json" in html
    # the same image in v1 had the box 3 px to the left
    old = server.page("/file/v1/data/images/img_001.png")
    assert "[4.0, 4.0, 20.0, 20.0]" in old
    # a folder named as a file is redirected to browsing, and the other way round
    assert server.get("/file/v2/data/images")[0] == 302
    assert server.get("/browse/v2/data/images/img_001.png")[0] == 302


def test_object_bytes_and_corrupt_image_placeholder(server, repo):
    from PIL import Image

    html = server.page("/file/v2/data/images/img_001.png")
    md5 = hashlib.md5(vd.image_bytes(1)).hexdigest()
    status, headers, body = server.get(f"/object/{md5}")
    assert status == 200 and headers["content-type"] == "image/png" and body == vd.image_bytes(1)
    assert "original bytes" in html
    corrupt = md5_of(os.path.join(repo, "data", vd.CORRUPT))
    server.page(f"/file/v2/data/{vd.CORRUPT}")
    status, headers, body = server.get(f"/thumb/{corrupt}?size=256")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(body)) as placeholder:
        placeholder.load()  # a real image naming the error, not the broken bytes


def test_text_files_are_tiles_without_thumbnails(server):
    html = server.page("/browse/v2/data/notes")
    assert 'class="filetype">txt<' in html and "<img" not in html.split('id="grid"')[1]


# --- errors and security -------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/browse/nope/data", "/browse/v2/nothing-here", "/file/v2/data/images/missing.png",
    "/file/v2/data/images", "/compare/v1/nope", "/browse/-n/data", "/browse/v2:data/x",
])
def test_unknown_revision_or_path_is_an_error_page(server, path):
    status, headers, body = server.get(path)
    if status == 302:
        return  # a folder named as a file: redirected, tested above
    html = body.decode()
    assert status == 404 and headers["content-type"].startswith("text/html")
    line = error_line(html)
    assert line and "\n" not in line and "Traceback" not in html


@pytest.mark.parametrize("path", [
    "/browse/v2/data/../../etc/passwd", "/file/v2/data/../../../../etc/passwd",
    "/file/v2/%2e%2e/%2e%2e/etc/passwd", "/file/v2/data/%2e%2e/%2e%2e/etc/passwd",
    "/file/v2/data%2f..%2f..%2fetc%2fpasswd", "/file/v2//etc/passwd", "/browse/v2//etc",
    "/file/v2/%2fetc%2fpasswd", "/file/v2/data/images/..%5c..%5cpasswd", "/file/v2/data/%00x",
    "/file/workspace/data/notes/leak.txt", "/file/workspace/etc-link/passwd",
    "/browse/workspace/etc-link", "/object/../../etc/passwd", "/thumb/%2e%2e%2fetc",
    "/object/00000000000000000000000000000000", "/static/../app.py", "/static/%2e%2e/app.py",
    "/file/v2/.git/config", "/file/workspace/.dvc/config",
])
def test_paths_outside_outputs_are_404(server, path):
    status, _headers, body = server.get(path)
    assert status == 404, (path, status, body[:300])
    assert b"root:" not in body and b"secret outside" not in body and b"[core]" not in body


def test_symlink_out_of_the_repo_is_never_served(server, repo):
    secret = md5_of(os.path.join(os.path.dirname(repo), OUTSIDE))
    server.page("/browse/workspace/data/notes")  # lists it: its md5 is known now
    for path in (f"/object/{secret}", f"/thumb/{secret}?size=256"):
        status, _headers, body = server.get(path)
        assert status == 404 and b"secret outside" not in body


def test_bad_parameters_and_hosts(server):
    md5 = hashlib.md5(vd.image_bytes(1)).hexdigest()
    server.page("/file/v2/data/images/img_001.png")
    assert server.get(f"/thumb/{md5}?size=99999")[0] == 400
    assert server.get(f"/thumb/{md5}?size=300")[0] == 400
    assert server.get(f"/thumb/{md5.upper()}")[0] == 404
    assert server.get("/compare/v1/v2?mode=nope")[0] == 400
    assert server.get("/compare/v1/v2?iou=2")[0] == 400
    assert server.get("/compare/v1/v2?class=bogus")[0] == 400
    # a page elsewhere that rebinds its name to 127.0.0.1 is refused
    assert server.get("/", headers={"Host": "evil.example:80"})[0] == 400
    assert server.get("/", headers={"Host": f"localhost:{server.port}"})[0] == 200
    # nothing writes: no POST anywhere
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/browse/v2/data", body=b"x")
    assert conn.getresponse().status == 405
    conn.close()


# --- comparison ----------------------------------------------------------------------------

def summary_counts(html: str, table: str) -> dict[str, int]:
    part = html.split(f'class="counts {table}"')[1].split("</table>")[0]
    return {k: int(v) for k, v in re.findall(r'data-class="(\w+)">(\d+)<', part)}


def item_paths(html: str) -> list[str]:
    return re.findall(r'<a class="path" href="[^"]*">([^<]*)</a>', html)


def test_compare_counts_equal_the_known_changes(server):
    html = server.page("/compare/v1/v2/data")
    files = summary_counts(html, "files-counts")
    assert files == vd.EXPECTED
    boxes = summary_counts(html, "box-counts")
    assert boxes == {k: v for k, v in vd.EXPECTED_BOXES.items() if k != "images"}
    assert f"{vd.EXPECTED_BOXES['images']} images with changed boxes" in html
    assert "renamed: dog → puppy (2)" in html and "added: horse (5)" in html and "removed: fish (4)" in html
    changed = {p for p, (s, _old) in vd.EXPECTED_FILES.items() if s != "other"} | \
        {"images/" + name for name in vd.EXPECTED_IMAGES}
    assert sorted(item_paths(html)) == sorted(f"data/{p}" for p in changed)
    data = json.loads(re.search(r'id="compare-data">(.*?)</script>', html, re.S).group(1))
    drawn = {}
    for item in data["items"]:
        for side in ("a", "b"):
            for shape in (item[side] or {}).get("shapes", []):
                drawn[(side, shape["class"])] = drawn.get((side, shape["class"]), 0) + 1
    assert drawn.get(("b", "added")) == vd.EXPECTED_BOXES["added"]
    assert drawn.get(("a", "removed")) == vd.EXPECTED_BOXES["removed"]
    assert drawn.get(("a", "moved")) == drawn.get(("b", "moved")) == vd.EXPECTED_BOXES["moved"]


@pytest.mark.parametrize("cls,expected", [
    ("added", ["images/new_0.png", "images/new_1.png"]),
    ("renamed", ["images/moved/img_008.png"]),
    ("reencoded", ["images/img_007.png"]),
    ("changed", ["images/img_004.png", "images/img_005.png", "images/img_006.png"]),
    ("boxes-relabeled", ["images/img_002.png"]),
    ("boxes-moved", ["images/img_001.png"]),
])
def test_compare_filter_by_class(server, cls, expected):
    html = server.page(f"/compare/v1/v2/data?class={cls}")
    assert sorted(item_paths(html)) == [f"data/{p}" for p in expected]


def test_compare_deep_links_reopen_the_same_view(server):
    url = "/compare/v1/v2/data?class=changed&mode=onion"
    html = server.page(url)
    assert 'data-mode="onion"' in html and 'class="mode current" href="' in html
    assert server.page(url) == html
    one = re.search(r'<a class="path" href="([^"]*)">data/images/img_006.png', html).group(1)
    single = server.page(one.replace("&amp;", "&"))
    assert item_paths(single) == ["data/images/img_006.png"] and 'data-mode="onion"' in single
    assert server.get("/compare/v1/v2/data?path=data/images/img_000.png")[0] == 404  # unchanged


def test_compare_form_redirects_and_workspace_side(server):
    status, headers, _body = server.get("/compare?a=v1&b=v2")
    assert status == 302 and headers["location"] == "/compare/v1/v2"
    html = server.page("/compare/HEAD/workspace")
    assert "No changed image" in html
    both = server.page("/compare/v1/HEAD")  # "many" came after v2: all of it added
    assert 'href="/compare/v1/HEAD/data"' in both and 'href="/compare/v1/HEAD/many"' in both
    assert "page 1 of 7" in both and 'href="/compare/v1/HEAD?page=2"' in both  # 11 + 120 items
    assert len(item_paths(server.page("/compare/v1/HEAD?page=7"))) == 131 - 120


def test_difference_image(server):
    html = server.page("/compare/v1/v2/data?class=changed")
    url = re.search(r'data-src="(/difference/[0-9a-f]{32}/[0-9a-f]{32}\?size=512)"', html).group(1)
    status, headers, body = server.get(url)
    assert status == 200 and headers["content-type"].startswith("image/")
    assert server.get("/difference/" + "0" * 32 + "/" + "1" * 32)[0] == 404


# --- read-only, fetch on demand, CLI -------------------------------------------------------

def test_the_ui_writes_nothing_outside_dvc_tmp(repo, server):
    from tests.func.helpers import snapshot

    cache = os.path.join(repo, ".dvc", "cache")
    before, objects = snapshot(repo), sorted(_files_under(cache))
    for path in ("/", "/browse/v1/data/images", "/file/v1/data/images/img_009.png",
                 "/compare/v1/v2/data?mode=difference", "/compare/HEAD/workspace"):
        server.page(path)
    after = snapshot(repo)
    assert {k: v for k, v in after["files"].items() if not k.startswith(os.path.join(".dvc", "cache"))} == \
        {k: v for k, v in before["files"].items() if not k.startswith(os.path.join(".dvc", "cache"))}
    assert after["index"] == before["index"]
    assert set(objects) <= set(_files_under(cache))  # nothing removed from the cache
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def _files_under(folder):
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            yield os.path.relpath(os.path.join(dirpath, name), folder)


def test_objects_are_fetched_on_demand_only_those_shown(repo, tmp_path):
    from tests.func.helpers import cache_objects

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", repo, str(clone))
    cache = clone / ".dvc" / "cache"
    srv = Server(str(clone))
    try:
        html = srv.page("/browse/v2/data/images")  # the manifest alone, then this page's images
        fetched = cache_objects(str(cache))
        shown = set(re.findall(r"/thumb/([0-9a-f]{32})", html))
        assert shown and shown <= fetched
        assert hashlib.md5(vd.image_bytes(9)).hexdigest() not in fetched  # v1 only: not shown
        assert srv.get(f"/thumb/{sorted(shown)[0]}?size=128")[0] == 200
        srv.page("/file/v1/data/images/img_009.png")
        assert hashlib.md5(vd.image_bytes(9)).hexdigest() in cache_objects(str(cache))
        assert not (clone / "data").exists()  # nothing checked out
    finally:
        srv.stop()


def test_cli_prints_the_url_warns_for_other_hosts_and_stops_on_ctrl_c(repo):
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-m", "dataver", "ui", "--port", "0"], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", line).group(1)
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopped" in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    other = subprocess.Popen([sys.executable, "-m", "dataver", "ui", "--port", "0", "--host", "0.0.0.0"],
                             cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "http://0.0.0.0:" in other.stdout.readline()
        other.send_signal(signal.SIGINT)
        _out, err = other.communicate(timeout=30)
        assert "WARNING: listening on 0.0.0.0" in err and other.returncode == 0
    finally:
        if other.poll() is None:
            other.kill()
            other.communicate()


def test_cli_errors_are_one_line(repo, tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "dataver", "ui", "--port", str(port)], cwd=repo,
                              capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith("ERROR: cannot listen on 127.0.0.1:")
    proc = subprocess.run([sys.executable, "-m", "dataver", "ui", "--port", "0"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and "not a dataver/DVC repository" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ui_modules_stay_out_of_plain_commands():
    code = ("import sys; from dataver.cli.main import main; main(['status', '-q']);"
            "print(any(m.startswith(('starlette', 'uvicorn', 'dataver.ui')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": SRC})
    assert out.stdout.strip().endswith("False")
