"""Exports of the visual diff for code review (`dataver diff A B --html FILE`, `--md DIR`) on the
generated two-version dataset of tests/func/visual_data.py, whose changes are known: the HTML
page opened in headless Debian Chromium (pairs, class counts, SVG boxes per class and where
they land, modes, a clean console, no request), the Markdown summary (tables, thumbnails,
relative links), objects fetched on demand (only those shown), and folders that are not ours.
Browser tests fail, never skip, when Chromium is missing (scripts/setup.sh --test)."""
from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter

import pytest

from dataver.cli.main import main
from tests.conftest import ROOT, git
from tests.func import browser
from tests.func.test_card_render import md_tables
from tests.func.visual_data import (
    CORRUPT, EXPECTED, EXPECTED_BOXES, EXPECTED_FILES, EXPECTED_IMAGES, SIZE, commit_versions,
)

# Read now: the autouse isolated_env fixture removes DATAVER_* variables before each test.
SAVE_DOC_SCREENSHOTS = os.environ.get("DATAVER_SCREENSHOTS") == "1"
DOC_IMAGE = os.path.join(ROOT, "docs", "img", "diff-export.png")
IMAGES_BASE = "images/"  # the COCO file names are relative to it
STATUS_OF = {path: status for path, (status, _old) in EXPECTED_FILES.items() if status != "other"}
# every changed image: its file changed, or only its boxes ("boxes")
CHANGED = {**{IMAGES_BASE + name: "boxes" for name in EXPECTED_IMAGES}, **STATUS_OF}


def cli(*args) -> int:
    return main(list(args))


def box_total(cls: str) -> int:
    return sum(counts.get(cls, 0) for counts in EXPECTED_IMAGES.values())


# rectangles drawn per side: a box pair shows its A geometry on A and its B geometry on B
RECTS = {"a": {c: box_total(c) for c in ("removed", "moved", "relabeled", "unchanged")},
         "b": {c: box_total(c) for c in ("added", "moved", "relabeled", "unchanged")}}


@pytest.fixture
def versions(repo_dir):
    """The dataset as `data`, committed as v1 and v2 (cwd: the repo)."""
    commit_versions(repo_dir)
    return repo_dir


def image_diff(capsys, *args) -> dict:
    capsys.readouterr()
    assert cli("diff", "v1", "v2", "--images", "--annotations", "--json", *args) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def result(versions, capsys) -> dict:
    return image_diff(capsys)


@pytest.fixture
def repo(versions):
    from dataver.repo import Repo

    with Repo() as r:
        yield r


# --- HTML without a browser ----------------------------------------------------------------

def test_html_is_one_offline_file(result, repo, tmp_path):
    from dataver.visual.export import write_html

    path = tmp_path / "diff.html"
    write_html(result, str(path), repo)
    html = path.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    markup = re.sub(r"(<script\b[^>]*>).*?</script>", r"\1</script>", html, flags=re.S)
    assert markup.count("<script") == 1
    assert re.findall(r'\bsrc="([^"]*)"', markup) and \
        all(u.startswith("data:image/jpeg;base64,") for u in re.findall(r'\bsrc="([^"]*)"', markup))
    assert not re.search(r"\b(href|srcset|data)=[\"']?(https?:)?//", markup, re.I)
    assert markup.count('<article class="pair"') == len(CHANGED)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, nothing left over


def test_html_limit_and_markup_in_names(result, repo, tmp_path):
    from dataver.visual.export import write_html

    hostile = "<img src=x onerror=alert(1)>"
    result["outputs"][0]["annotations"][0]["per_category"][0]["name"] = hostile
    result["outputs"][0]["files"][0]["error"] = "</script><script>alert(2)</script>"
    path = tmp_path / "diff.html"
    write_html(result, str(path), repo, limit=3)
    html = path.read_text(encoding="utf-8")
    assert hostile not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert(2)" not in html
    assert html.count('<article class="pair"') == 3
    assert f"3 shown of {len(CHANGED)}" in html


# --- HTML in Chromium ----------------------------------------------------------------------

@pytest.fixture
def driver():
    reason = browser.missing()
    if reason:
        pytest.fail(f"the HTML export tests need Chromium: {reason}", pytrace=False)
    with browser.chromium() as drv:
        yield drv


def js(driver, script: str):
    return driver.execute_script(script)


def rects(driver, side: str) -> Counter:
    classes = js(driver, f"return Array.from(document.querySelectorAll('.pane.{side} svg rect.box'))"
                         ".map(r => r.dataset.class)")
    return Counter(classes)


def test_html_export_in_chromium(driver, result, repo, tmp_path):
    from dataver.visual.export import write_html

    path = tmp_path / "diff.html"
    write_html(result, str(path), repo)
    driver.get(path.as_uri())
    browser.wait_for(driver, "return document.body.dataset.ready")
    pairs = js(driver, "return Array.from(document.querySelectorAll('article.pair'))"
                       ".map(p => [p.dataset.path, p.dataset.status])")
    assert dict(pairs) == CHANGED and [p for p, _ in pairs] == sorted(CHANGED)
    chips = js(driver, "return Array.from(document.querySelectorAll('.chips.files .chip'))"
                       ".map(c => [c.dataset.class, +c.querySelector('b').textContent])")
    assert dict(chips) == EXPECTED
    boxes = js(driver, "return Array.from(document.querySelectorAll('.chips.boxes .chip'))"
                       ".map(c => [c.dataset.class, +c.querySelector('b').textContent])")
    assert dict(boxes) == EXPECTED_BOXES
    assert {s: dict(rects(driver, s)) for s in "ab"} == {s: {c: n for c, n in r.items() if n}
                                                          for s, r in RECTS.items()}
    # every present side has a decoded thumbnail; the corrupt one says why
    assert js(driver, "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    corrupt = js(driver, f"return document.querySelector('article[data-path=\"{CORRUPT}\"] .pane.b')"
                         ".textContent")
    assert "error" in corrupt.lower() or "cannot" in corrupt.lower() or "truncated" in corrupt.lower()
    assert_box_lands_on_the_image(driver)
    assert_modes(driver)
    assert browser.errors(browser.console(driver)) == []
    assert all(url.startswith(("data:", "file:")) for url in browser.resources(driver))
    shot = whole_page(driver, str(tmp_path / "diff-export.png"))
    assert os.path.getsize(shot) > 10_000
    if SAVE_DOC_SCREENSHOTS:
        whole_page(driver, DOC_IMAGE, palette=True)


def whole_page(driver, path: str, palette: bool = False) -> str:
    """A screenshot of the whole page: the window is made as tall as the page plus what the
    window takes beyond its viewport (headless Chromium: 143 px, which browser.screenshot's
    full_page does not add, so the bottom of a long page would be cut off)."""
    extra = js(driver, "return window.outerHeight - window.innerHeight")
    height = js(driver, "return Math.ceil(document.documentElement.scrollHeight)")
    driver.set_window_size(1280, min(height + extra, 16000))
    return browser.screenshot(driver, path, full_page=False, palette=palette)


def assert_box_lands_on_the_image(driver) -> None:
    """The moved box of img_001 ([7, 4, 20, 20] at B, on a 64x48 image shown contained in the
    square frame) is drawn where those pixels are on screen."""
    got = js(driver, """
        const pane = document.querySelector('article[data-path="images/img_001.png"] .pane.b');
        const img = pane.querySelector('img').getBoundingClientRect();
        const r = pane.querySelector('rect.box.moved').getBoundingClientRect();
        return [img.left, img.top, img.width, img.height, r.left, r.top, r.width, r.height];""")
    il, it, iw, ih, rl, rt, rw, rh = got
    scale = min(iw / SIZE[0], ih / SIZE[1])
    left, top = il + (iw - SIZE[0] * scale) / 2, it + (ih - SIZE[1] * scale) / 2
    expected = (left + 7 * scale, top + 4 * scale, 20 * scale, 20 * scale)
    # the stroke (2 px, outside half included in the client rect) widens it a little
    for value, want in zip((rl, rt, rw, rh), expected):
        assert abs(value - want) <= 2.5, (got, expected)


def assert_modes(driver) -> None:
    """Swipe and onion skin stack B over A; the slider moves the swipe line or fades B."""
    a_frame = "document.querySelector('article.pair .pane.a .frame')"
    b_frame = "document.querySelector('article.pair .pane.b .frame')"

    def left(frame):
        return js(driver, f"return {frame}.getBoundingClientRect().left")

    def mode(name):
        js(driver, f"document.querySelector('[data-set-mode=\"{name}\"]').click()")
        assert js(driver, "return document.body.dataset.mode") == name

    slider = driver.find_element("id", "mix")
    assert left(a_frame) < left(b_frame)  # 2-up: side by side
    mode("swipe")
    driver.execute_script("arguments[0].value = 30; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert left(a_frame) == left(b_frame)
    assert "30%" in js(driver, f"return getComputedStyle({b_frame}).clipPath")
    mode("onion")
    assert float(js(driver, f"return getComputedStyle({b_frame}).opacity")) == pytest.approx(0.3)
    mode("2up")
    assert js(driver, "return document.querySelector('[data-set-mode=\"2up\"]')"
                      ".getAttribute('aria-pressed')") == "true"
    assert float(js(driver, f"return getComputedStyle({b_frame}).opacity")) == 1
    assert left(a_frame) < left(b_frame)


# --- Markdown ------------------------------------------------------------------------------


def image_table(text: str) -> list[list[str]]:
    [table] = [t for t in md_tables(text) if t[0][:2] == ["file", "change"]]
    assert {len(row) for row in table} == {4}
    assert all(re.fullmatch(r":?-{3,}:?", c) for c in table[1])
    return table[2:]


def links(text: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)


def test_markdown_export(result, repo, tmp_path):
    from PIL import Image

    from dataver.visual.export import write_md

    out = tmp_path / "review"
    written = write_md(result, str(out), repo)
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert written[0] == str(out / "summary.md")
    rows = image_table(text)
    assert [re.sub(r"`\s*", "", r[0]) for r in rows] == sorted(CHANGED)
    tables = md_tables(text)
    assert tables[0][0][0] == "added" and tables[0][2] == [str(EXPECTED[k]) for k in
                                                          ("added", "removed", "renamed", "reencoded",
                                                           "changed", "unchanged", "other")]
    assert tables[1][2] == [str(EXPECTED_BOXES[k]) for k in
                            ("images", "added", "removed", "moved", "relabeled", "unchanged")]
    assert len(tables[2]) - 2 == 5  # one row per category
    assert "renamed dog → puppy (2)" in text
    targets = links(text)
    assert targets and all(t.startswith("thumbs/") and t.endswith(".jpg") for t in targets)
    assert sorted(set(targets)) == sorted(os.path.relpath(p, out).replace(os.sep, "/") for p in written[1:])
    for target in set(targets):
        with Image.open(out / target) as im:  # the relative link resolves to a JPEG
            assert im.format == "JPEG" and max(im.size) <= 256
    # the removed image has no new side, the added one no old side
    row = dict((re.sub(r"`\s*", "", r[0]), r) for r in rows)
    assert row["images/img_009.png"][3] == "—" and row["images/new_0.png"][2] == "—"
    assert "from `images/img_008.png`" in row["images/moved/img_008.png"][1]


def test_markdown_limit_and_reexport(result, repo, tmp_path):
    from dataver.visual.export import write_md

    out = tmp_path / "review"
    first = write_md(result, str(out), repo, limit=20)
    (out / "summary.md").write_text("edited by hand: still ours\n")
    second = write_md(result, str(out), repo, limit=2)
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert len(image_table(text)) == 2 and f"{len(CHANGED) - 2} more changed images" in text
    kept = {p for p in second[1:]}
    assert all(os.path.exists(p) == (p in kept) for p in first[1:])  # stale thumbnails gone
    assert sorted(os.listdir(out / "thumbs")) == sorted(os.path.basename(p) for p in kept)


def test_markdown_refuses_a_folder_that_is_not_an_export(result, repo, tmp_path):
    from dataver.errors import UserError
    from dataver.visual.export import write_md

    out = tmp_path / "mine"
    (out / "thumbs").mkdir(parents=True)
    (out / "notes.txt").write_text("keep me")
    (out / "thumbs" / "holiday.jpg").write_bytes(b"\xff\xd8 mine")
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    with pytest.raises(UserError, match="not empty") as err:
        write_md(result, str(out), repo)
    assert "\n" not in str(err.value)
    # an export's marker does not make other files ours
    (out / ".dataver-export").write_text(json.dumps({"files": ["summary.md", "notes.txt"]}))
    with pytest.raises(UserError, match="not empty"):
        write_md(result, str(out), repo)
    (out / ".dataver-export").unlink()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert (out / "notes.txt").read_text() == "keep me"
    # an export next to a user's file in its thumbs folder is refused too
    exported = tmp_path / "export"
    write_md(result, str(exported), repo, limit=1)
    (exported / "thumbs" / "mine.jpg").write_bytes(b"mine")
    with pytest.raises(UserError, match="not empty"):
        write_md(result, str(exported), repo)
    assert (exported / "thumbs" / "mine.jpg").read_bytes() == b"mine"
    file = tmp_path / "a-file"
    file.write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        write_md(result, str(file), repo)


# --- objects fetched on demand -------------------------------------------------------------

def cached(repo_dir) -> set[str]:
    root = repo_dir / ".dvc" / "cache" / "files" / "md5"
    return {p.parent.name + p.name for p in root.glob("*/*")} if root.exists() else set()


def test_only_the_shown_objects_are_fetched(result, versions, tmp_path):
    from dataver.repo import Repo
    from dataver.visual.export import changed_images, Sides, write_md

    assert cli("remote", "add", "-q", "-d", "store", str(tmp_path / "store")) == 0
    git(versions, "commit", "-qam", "remote")
    assert cli("push", "-q", "-T") == 0
    shutil.rmtree(versions / ".dvc" / "cache")
    shutil.rmtree(versions / ".dvc" / "tmp" / "dataver" / "thumbs", ignore_errors=True)
    with Repo() as repo:
        written = write_md(result, str(tmp_path / "review"), repo, limit=4)
        shown = changed_images(result, Sides(repo, result))[:4]
    wanted = {pair[1] for row in shown for pair in (row.a, row.b) if pair}
    files = cached(versions)
    assert wanted <= files
    assert not {m for m in files if not m.endswith(".dir")} - wanted  # nothing else came
    assert len(written) == 1 + len(wanted)


# --- the EXIF frame of boxes ---------------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_matrix_follows_pillow(orientation):
    """A box corner in stored pixels lands, through exif_matrix, where Pillow's exif_transpose
    puts that pixel."""
    from PIL import Image, ImageOps

    from dataver.visual.export import exif_matrix

    w, h, x, y = 7, 4, 5, 1
    img = Image.new("L", (w, h))
    img.putpixel((x, y), 255)
    exif = img.getexif()
    exif[274] = orientation
    img.info["exif"] = exif.tobytes()
    shown = ImageOps.exif_transpose(img)
    (a, b, c, d, e, f), dw, dh = exif_matrix(orientation, w, h)
    assert shown.size == (dw, dh)
    # a pixel is the unit square at (x, y): map its centre
    cx, cy = a * (x + .5) + c * (y + .5) + e, b * (x + .5) + d * (y + .5) + f
    assert shown.getpixel((int(cx), int(cy))) == 255


# --- through the CLI -----------------------------------------------------------------------

def test_cli_writes_both_exports(versions, capsys):
    capsys.readouterr()
    assert cli("diff", "v1", "v2", "--annotations", "--html", "review.html") == 0
    html = (versions / "review.html").read_text(encoding="utf-8")
    assert html.count('<article class="pair"') == len(CHANGED)
    assert cli("diff", "v1", "v2", "--annotations", "--md", "review", "--limit", "3") == 0
    text = (versions / "review" / "summary.md").read_text(encoding="utf-8")
    assert len(image_table(text)) == 3
    assert all((versions / "review" / t).is_file() for t in links(text))
    capsys.readouterr()
    (versions / "mine").mkdir()
    (versions / "mine" / "todo.txt").write_text("mine")
    assert cli("diff", "v1", "v2", "--images", "--md", "mine") == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not empty" in err
    assert os.listdir(versions / "mine") == ["todo.txt"]


def test_images_that_cannot_be_had_are_named_not_fatal(result, versions, tmp_path):
    """No default remote and the objects gone from the cache: both exports are written, and
    each image that cannot be read says why in its place."""
    from dataver.repo import Repo
    from dataver.visual.export import write_html, write_md

    for obj in (versions / ".dvc" / "cache" / "files" / "md5").glob("*/*"):
        if not obj.name.endswith(".dir"):
            os.chmod(obj, 0o644)
            obj.unlink()
    shutil.rmtree(versions / ".dvc" / "tmp" / "dataver" / "thumbs", ignore_errors=True)
    with Repo() as repo:
        write_html(result, str(tmp_path / "d.html"), repo)
        write_md(result, str(tmp_path / "md"), repo)
    html = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert "data:image/jpeg" not in html and "no default remote" in html
    text = (tmp_path / "md" / "summary.md").read_text(encoding="utf-8")
    assert not links(text) and all("no default remote" in r[2] + r[3] for r in image_table(text)
                                   if r[2] != "—" or r[3] != "—")
    assert not (tmp_path / "md" / "thumbs").exists()
