"""`dataver ui` in headless Debian Chromium (tests/func/browser.py): overlays drawn (SVG rects
and polygons counted), the comparison's modes, filters and counts against the generator's
known changes, markup in names staying text, no console error, and screenshots (saved for
docs/ui.md with DATAVER_SCREENSHOTS=1). These tests fail, never skip, when Chromium is missing
(scripts/setup.sh --test)."""
from __future__ import annotations

import io
import json
import os
import re

import pytest

from tests.conftest import ROOT, git
from tests.func import browser
from tests.func.ui_server import repo, server  # noqa: F401 - fixtures
from tests.func import visual_data as vd
from tests.func.ui_server import Server

# Read now: the autouse isolated_env fixture removes DATAVER_* variables before each test.
SAVE_DOC_SCREENSHOTS = os.environ.get("DATAVER_SCREENSHOTS") == "1"
DOC_IMAGES = os.path.join(ROOT, "docs", "img")



@pytest.fixture(scope="module")
def driver():
    reason = browser.missing()
    if reason:
        pytest.fail(f"the UI browser tests need Chromium: {reason}", pytrace=False)
    with browser.chromium(window=(1280, 900)) as drv:
        yield drv


def visit(driver, server, path: str) -> None:
    driver.get(server.url + path)
    browser.wait_for(driver, "return document.body.dataset.ready === '1'")
    browser.wait_for(driver, "return Array.from(document.images).every(function (i) {"
                             " return i.loading === 'lazy' || !i.getAttribute('src') || i.complete; })")


def clean_console(driver) -> None:
    assert browser.errors(browser.console(driver)) == []


def shot(driver, tmp_path, name: str, full_page: bool = True) -> None:
    """A screenshot of the page (for docs/ui.md too with DATAVER_SCREENSHOTS=1)."""
    path = browser.screenshot(driver, str(tmp_path / name), full_page=full_page)
    assert os.path.getsize(path) > 5_000
    if SAVE_DOC_SCREENSHOTS:
        browser.screenshot(driver, os.path.join(DOC_IMAGES, name), full_page=full_page, palette=True)
    driver.set_window_size(1280, 900)


def shot_item(driver, tmp_path, name: str, path_end: str) -> None:
    """A screenshot of the one compared image whose path ends with ``path_end``."""
    from PIL import Image

    item = driver.execute_script(
        "var end = arguments[0]; return Array.from(document.querySelectorAll('article.item')).find("
        "function (a) { return a.querySelector('a.path').textContent.endsWith(end); })", path_end)
    driver.execute_script("arguments[0].scrollIntoView()", item)
    png = item.screenshot_as_png
    assert len(png) > 5_000
    targets = [str(tmp_path / name)] + ([os.path.join(DOC_IMAGES, name)] if SAVE_DOC_SCREENSHOTS else [])
    for target in targets:
        with Image.open(io.BytesIO(png)) as image:
            image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def test_browser_versions_and_browse(driver, server, tmp_path):
    visit(driver, server, "/")
    assert driver.execute_script("return document.querySelectorAll('#versions tr.version').length") == 3
    clean_console(driver)
    shot(driver, tmp_path, "ui-versions.png")
    driver.find_element("css selector", 'a.compare[href="/compare/v1/v2"]')
    visit(driver, server, "/browse/v2/data/images")
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # lazy thumbnails
    browser.wait_for(driver, "return Array.from(document.querySelectorAll('img.thumb')).every("
                             "function (i) { return i.complete; })")
    driver.execute_script("window.scrollTo(0, 0)")
    loaded = driver.execute_script(
        "return Array.from(document.querySelectorAll('img.thumb')).map(function (i) {"
        " return i.complete && i.naturalWidth > 0; })")
    assert len(loaded) == 12 and all(loaded)
    clean_console(driver)
    shot(driver, tmp_path, "ui-browse.png")
    assert all(url.startswith(server.url) for url in browser.resources(driver))


def test_browser_file_draws_boxes_and_polygons(driver, server, tmp_path):
    visit(driver, server, "/file/v2/data/images/img_000.png")
    assert driver.execute_script("return document.querySelectorAll('#overlay rect').length") == 3
    assert driver.execute_script("return document.querySelectorAll('#overlay polygon').length") == 3
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('#overlay text')).map(function (t) { return t.textContent; })")
    assert sorted(labels) == ["cat", "cat", "puppy"]
    box = driver.execute_script("var r = document.querySelector('#overlay').getBoundingClientRect();"
                                "var i = document.querySelector('#large').getBoundingClientRect();"
                                "return [r.width, r.height, i.width, i.height];")
    assert box[0] == box[2] and box[1] == box[3] and box[0] >= 384  # the overlay covers the image
    clean_console(driver)
    shot(driver, tmp_path, "ui-file.png")


def test_browser_compare_modes_filters_and_counts(driver, server, tmp_path):
    visit(driver, server, "/compare/v1/v2/data")
    count = "return document.querySelectorAll(arguments[0]).length"
    assert driver.execute_script(count, "article.item") == 11
    assert driver.execute_script(count, ".layer-b svg rect.box-added") == vd.EXPECTED_BOXES["added"]
    assert driver.execute_script(count, ".layer-a svg rect.box-removed") == vd.EXPECTED_BOXES["removed"]
    assert driver.execute_script(count, ".layer-b svg rect.box-relabeled") == vd.EXPECTED_BOXES["relabeled"]
    clean_console(driver)
    shot(driver, tmp_path, "ui-compare.png", full_page=False)
    modes = {}
    for mode in ("swipe", "onion", "difference", "side"):
        driver.find_element("css selector", f'#modes a[data-mode="{mode}"]').click()
        browser.wait_for(driver, f"return document.querySelector('#modes a.current').dataset.mode === '{mode}'")
        shown = driver.execute_script("return Array.from(document.querySelectorAll('article.item')).map("
                                      "function (a) { return a.dataset.mode; })")
        if mode == "difference":  # an image whose bytes did not change has no difference
            assert shown.count("difference") == 3 and set(shown) == {"difference", "side"}
        else:
            assert set(shown) == {mode}
        modes[mode] = driver.current_url
        assert (f"mode={mode}" in driver.current_url) == (mode != "side")
        if mode == "difference":
            browser.wait_for(driver, "return Array.from(document.querySelectorAll("
                                     "'article[data-mode=difference] img.difference')).every("
                                     "function (i) { return i.complete && i.naturalWidth > 0; })")
        if mode == "swipe":
            item = "document.querySelector('article[data-mode=swipe]')"
            driver.execute_script(f"var s = {item}.querySelector('.slider'); s.value = 80;"
                                  "s.dispatchEvent(new Event('input'));")
            assert "80%" in driver.execute_script(f"return {item}.querySelector('.layer-b').style.clipPath")
        if mode == "onion":
            item = "document.querySelector('article[data-mode=onion]')"
            driver.execute_script(f"var s = {item}.querySelector('.slider'); s.value = 30;"
                                  "s.dispatchEvent(new Event('input'));")
            assert driver.execute_script(f"return {item}.querySelector('.layer-b').style.opacity") == "0.3"
        if mode != "side":
            shot_item(driver, tmp_path, f"ui-compare-{mode}.png", "images/img_006.png")
    # a mode's URL reopens it
    visit(driver, server, modes["onion"].replace(server.url, ""))
    assert driver.execute_script("return document.querySelector('article.item').dataset.mode") == "onion"
    # one item's own buttons switch it alone
    visit(driver, server, "/compare/v1/v2/data?class=changed")
    driver.find_element("css selector", "#item-0 .item-modes button[data-mode=swipe]").click()
    assert driver.execute_script("return [document.querySelector('#item-0').dataset.mode,"
                                 " document.querySelector('#item-1').dataset.mode]") == ["swipe", "side"]
    # filtering by class through the links
    visit(driver, server, "/compare/v1/v2/data")
    driver.find_element("css selector", '#filters a[data-class="boxes-relabeled"]').click()
    browser.wait_for(driver, "return document.body.dataset.ready === '1' && location.search.indexOf('boxes-relabeled') > 0")
    assert driver.execute_script(count, "article.item") == 1
    assert driver.execute_script(count, "article.item svg rect.box-relabeled") == 2  # A and B
    clean_console(driver)


def test_browser_error_page_is_clean(driver, server):
    driver.get(server.url + "/browse/nope/data")
    assert driver.find_element("id", "error-message").text == "unknown revision 'nope'"
    errors = browser.errors(browser.console(driver))
    assert len(errors) == 1 and "/browse/nope/data - Failed to load resource" in errors[0]  # its 404


def test_markup_in_names_stays_text(tmp_path, monkeypatch, driver):
    """A file named like HTML and a COCO category holding </script> are shown as text."""
    from dataver.cli.main import main
    from dataver.repo import Repo

    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q")
    Repo.init(str(tmp_path)).close()
    data = tmp_path / "data"
    data.mkdir()
    name = '<img src=x onerror="window.__pwned=1">.png'
    (data / name).write_bytes(vd.image_bytes(1))
    doc = {"images": [{"id": 1, "file_name": name, "width": 64, "height": 48}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 9, 9]}],
           "categories": [{"id": 1, "name": "</script><script>window.__pwned=2</script>"}]}
    (data / "coco.json").write_text(json.dumps(doc))
    assert main(["add", "-q", "data"]) == 0
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "x")
    srv = Server(str(tmp_path))
    try:
        listing = srv.page("/browse/HEAD/data")
        assert "<img src=x" not in listing and "&lt;img src=x onerror=" in listing
        url = re.search(r'href="(/file/HEAD/data/[^"]+)"', listing).group(1)
        page = srv.page(url)
        assert "</script><script>" not in page and "\\u003c/script\\u003e" in page
        for path in ("/browse/HEAD/data", url):  # and in Chromium: nothing runs
            visit(driver, srv, path)
            assert driver.execute_script("return window.__pwned === undefined")
        assert driver.execute_script("return document.querySelector('#overlay text').textContent") == \
            doc["categories"][0]["name"]
        clean_console(driver)
    finally:
        srv.stop()
