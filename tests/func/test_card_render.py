"""Card renderers: text, Markdown and the self-contained HTML report, on crafted cards
(tests/fixtures/cards: 20,000 images, two COCO files of 80 categories, PDFs, checkpoints and
checks of every severity). The HTML report is opened in headless Debian Chromium: the plots must
draw, the check table must be whole, the console must stay clean and no request may leave the
page. Browser tests fail, never skip, when Chromium is missing (scripts/setup.sh --test)."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SRC
from tests.func import browser

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "cards")
# Read now: the autouse isolated_env fixture removes DATAVER_* variables before each test.
SAVE_DOC_SCREENSHOTS = os.environ.get("DATAVER_SCREENSHOTS") == "1"
DOC_IMAGES = os.path.join(ROOT, "docs", "img")
XSS_NAME = "<script>alert(1)</script>"
XSS_NOTE = "Watch for </script><script>window.__pwned = 1</script> and <!-- in notes."


def load(name: str) -> dict:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as fobj:
        return json.load(fobj)


@pytest.fixture
def card() -> dict:
    return load("card.json")


@pytest.fixture
def card_diff() -> dict:
    return load("card_diff.json")


def minimal_card() -> dict:
    """A card of an output with two small text files: every optional section empty."""
    return {"card": 1, "dataver": "0.1.0", "deep": False,
            "output": {"path": "notes", "md5": "0" * 32 + ".dir", "hash": "md5", "files": 2, "bytes": 30},
            "files": {"count": 2, "bytes": 30, "by_type": {"other": {"count": 2, "bytes": 30}},
                      "by_extension": {".txt": {"count": 2, "bytes": 30}},
                      "size_histogram": {"edges": [0, 1024, 4096], "counts": [2, 0]},
                      "largest": [{"path": "a.txt", "bytes": 20}, {"path": "b.txt", "bytes": 10}],
                      "duplicates": {"groups": 0, "files": 0, "wasted_bytes": 0, "examples": []}},
            "images": None, "coco": [], "pdfs": None, "checkpoints": [], "checks": [], "stored": None}


def hostile(card: dict) -> dict:
    """``card`` with markup where people type text: a category name, a check example, a note."""
    card = copy.deepcopy(card)
    card["coco"][0]["per_category"][0]["name"] = XSS_NAME
    card["checks"][0]["examples"][0] = "<img src=x onerror=alert(2)>"
    card["notes"]["sections"][0]["text"] = XSS_NOTE
    return card


# --- text ----------------------------------------------------------------------------------

def test_text_card_names_figures_categories_and_checks(card):
    from dataver.cards import render_text

    text = render_text.card(card)
    assert text.startswith("data: 20,047 files, 3.94 GiB")
    assert "Images  20,000" in text
    assert "formats: JPEG 17,581, PNG 2,334" in text
    assert "annotations/instances_train.json: 16,000 images, 116,800 annotations, 80 categories" in text
    assert re.search(r"person\s+48,580\s+16,000", text)  # top category, instances and images
    assert "other (70 categories)" in text
    assert "box area: small 47,888, medium 39,712, large 29,200" in text  # COCO's band order
    assert "PDFs  37 files, 1,284 pages" in text
    assert "25,902,640 parameters (F16 350, F32 5)" in text
    assert "error: not a zip archive" in text
    assert "Checks  13 errors, 8 warnings, 6 info" in text
    for check in card["checks"]:
        assert re.search(rf"{check['severity']}\s+{re.escape(check['code'])}\s+{check['count']:,}\b", text)
    assert "Motivation:" in text and "Detector training data" in text
    assert "Replaces the 2022 set" not in text  # notes: first line only
    assert "Uses:" not in text  # an empty section is not shown


def test_text_diff_orders_changes_and_lists_checks(card_diff):
    from dataver.cards import render_text

    text = render_text.diff(card_diff)
    assert text.startswith("Card diff of data: HEAD -> workspace")
    assert re.search(r"Files\s+19,547\s+20,047\s+\+500 \(\+2\.6%\)", text)
    assert re.search(r"Bytes\s+3\.86 GiB\s+3\.94 GiB\s+\+76\.4 MiB \(\+1\.9%\)", text)
    categories = text.split("Category instances")[1]
    assert re.search(r"person\s+46,700\s+43,791\s+-2,909 \(-6\.2%\)", categories)
    assert categories.index("person") < categories.index("traffic light") < categories.index("hair drier")
    assert "-162 (-100.0%)" in categories
    assert re.search(r"appeared\s+error\s+coco\.missing-file\s+9", text)
    assert re.search(r"gone\s+error\s+coco\.duplicate-category-id\s+1", text)
    assert re.search(r"changed\s+warning\s+coco\.duplicate-box\s+57 -> 97", text)
    assert "FAILED: new_errors > 0; max_category_loss_pct > 10" in text


def test_text_shows_control_characters_harmlessly(card):
    from dataver.cards import render_text

    card["coco"][0]["per_category"][0]["name"] = "per\x1b[2Json\x07"
    text = render_text.card(card)
    assert "per?[2Json?" in text and "\x1b" not in text and "\x07" not in text


def test_text_and_markdown_of_a_card_with_empty_sections():
    from dataver.cards import render_md, render_text

    text = render_text.card(minimal_card())
    assert "notes: 2 files, 30 B" in text and "Checks  no checks fired" in text
    assert "Images" not in text and "COCO" not in text and "PDFs" not in text
    md = render_md.card(minimal_card())
    assert "#### Checks: no checks fired" in md and "#### Images" not in md
    assert_tables_well_formed(md)


# --- Markdown ------------------------------------------------------------------------------

def md_tables(text: str) -> list[list[list[str]]]:
    """The GFM tables of ``text``: rows of cells (split on pipes that are not escaped)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif current:
            tables.append(current)
            current = []
    return tables


def assert_tables_well_formed(text: str) -> list[list[list[str]]]:
    tables = md_tables(text)
    for table in tables:
        assert len(table) >= 3, table  # header, delimiter, at least one row
        assert all(re.fullmatch(r":?-{3,}:?", c) for c in table[1]), table[1]
        assert {len(row) for row in table} == {len(table[0])}, table
    return tables


def test_markdown_card_tables_and_notes(card):
    from dataver.cards import render_md

    md = render_md.card(card)
    tables = assert_tables_well_formed(md)
    assert len(tables) >= 10
    checks = next(t for t in tables if t[0][:3] == ["severity", "code", "count"])
    assert len(checks) - 2 == len(card["checks"])
    assert [row[1] for row in checks[2:]] == [f"`{c['code']}`" for c in card["checks"]]
    assert "| person (1) |" not in md and "| person | 48,580 | 16,000 |" in md
    assert "#### Checks: 13 errors, 8 warnings, 6 info" in md
    assert "| 1 MiB - 4 MiB | 13,700 | ████████████████████ |" in md  # the tallest bar: full width
    # Notes appear in full, as Markdown (their own table included).
    assert "##### Preprocessing / labeling" in md
    assert "Replaces the 2022 set." in md and "| 1 | vendor QA |" in md
    assert "##### Uses" not in md


def test_markdown_diff(card_diff):
    from dataver.cards import render_md

    md = render_md.diff(card_diff)
    tables = assert_tables_well_formed(md)
    figures = tables[0]
    assert figures[0] == ["figure", "HEAD", "workspace", "change"]
    assert ["Files", "19,547", "20,047", "+500 (+2.6%)"] in figures
    assert "**❌ Failed:** `new_errors > 0`, `max_category_loss_pct > 10`" in md
    cats = next(t for t in tables if t[0][:2] == ["file", "category"])
    assert cats[2][1:5] == ["person", "46,700", "43,791", "-2,909 (-6.2%)"]
    assert any(row[0] == "appeared" and row[2] == "`coco.missing-file`" for row in tables[1])
    assert any(row[0] == "changed" and row[3] == "57 → 97" for row in tables[1])


def test_diff_of_a_new_output_renders_in_every_format(card):
    from dataver.cards import render_html, render_md, render_text
    from dataver.cards.diff import diff_cards

    d = diff_cards(None, card, "HEAD", "workspace")  # the output is new in the workspace
    assert "Card diff of data: HEAD -> workspace" in render_text.diff(d)
    assert_tables_well_formed(render_md.diff(d))
    html = render_html.diff(d)
    assert data_block(html)["diff"]["a"]["card"] is None
    assert plot_count(html) >= 2


def test_markdown_escapes_markup_and_pipes(card):
    from dataver.cards import render_md

    card = hostile(card)
    card["coco"][0]["per_category"][1]["name"] = "left | right"
    md = render_md.card(card)
    assert_tables_well_formed(md)
    assert XSS_NAME not in md and "\\<script\\>alert(1)\\</script\\>" in md
    assert "left \\| right" in md


# --- HTML without a browser ----------------------------------------------------------------

def data_block(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="card-data">(.*?)</script>', html, re.S)
    assert match, "no data block"
    return json.loads(match.group(1))


def plot_count(html: str) -> int:
    return len(re.findall(r'<figure class="plot[ "]', html))


def test_html_is_one_offline_file(card):
    from dataver.cards import render_html

    html = render_html.card(card)
    assert "default-src 'none'" in html  # the page may fetch nothing
    markup = re.sub(r"(<script\b[^>]*>).*?</script>", r"\1</script>", html, flags=re.S)  # tags, not code
    assert markup.count("<script") == 5  # data, vega, vega-lite, vega-embed, the loader
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b[^>]*\b(src|href|data)=", markup, re.I)
    assert not re.search(r"\b(src|href)=[\"']?(https?:)?//", markup, re.I)
    assert "sourceMappingURL" not in html
    data = data_block(html)
    assert data["card"] == card
    assert len(data["plots"]) == plot_count(html) >= 5
    assert html.count("<tr class=\"check ") == len(card["checks"])


def test_html_data_block_cannot_end_early(card):
    from dataver.cards import render_html

    text = render_html.script_json({"note": XSS_NOTE, "amp": "a & b"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"note": XSS_NOTE, "amp": "a & b"}
    html = render_html.card(hostile(card))
    assert XSS_NAME not in html and "window.__pwned = 1</script>" not in html
    assert data_block(html)["card"]["notes"]["sections"][0]["text"] == XSS_NOTE


def test_html_renders_an_empty_card_and_notes_given_as_a_mapping():
    from dataver.cards import render_html, render_md, render_text

    card = minimal_card()
    card["notes"] = {"motivation": "Why: tests.", "uses": "  "}
    html = render_html.card(card)
    assert "No check fired." in html and "Why: tests." in html and ">Uses<" not in html
    assert plot_count(html) == 1  # the file size histogram only
    assert "Motivation:  Why: tests." in render_text.card(card)
    assert "##### Motivation" in render_md.card(card)


def test_importing_renderers_does_not_import_jinja2():
    code = ("import sys, dataver, dataver.cards.render_text, dataver.cards.render_md, "
            "dataver.cards.render_html; print('jinja2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": SRC})
    assert out.stdout.strip() == "False"


# --- HTML in Chromium ----------------------------------------------------------------------

@pytest.fixture
def driver():
    reason = browser.missing()
    if reason:
        pytest.fail(f"the HTML report tests need Chromium: {reason}", pytrace=False)
    with browser.chromium() as drv:
        yield drv


def open_report(driver, html: str, path) -> int:
    """Load ``html`` from ``path`` by file:// URL; the number of plots drawn, once known."""
    path.write_text(html, encoding="utf-8")
    driver.get(path.as_uri())
    try:
        return int(browser.wait_for(driver, "return document.body.dataset.rendered", timeout=30))
    except Exception as exc:
        raise AssertionError(f"plots never finished: {browser.errors(browser.console(driver))}") from exc


def assert_clean_page(driver, drawn: int, checks: int) -> None:
    plots = driver.execute_script("return document.querySelectorAll('.plot').length")
    assert drawn == plots >= 5
    assert driver.execute_script("return document.querySelectorAll('.plot svg.marks').length") == plots
    assert driver.execute_script("return document.querySelectorAll('#checks tbody tr').length") == checks
    assert browser.errors(browser.console(driver)) == []
    assert all(url.startswith(("data:", "blob:", "file:")) for url in browser.resources(driver))


def save_screenshot(driver, tmp_path, name: str) -> None:
    shot = browser.screenshot(driver, str(tmp_path / name))
    assert os.path.getsize(shot) > 10_000
    if SAVE_DOC_SCREENSHOTS:
        browser.screenshot(driver, os.path.join(DOC_IMAGES, name), palette=True)


def test_html_card_in_chromium(driver, card, tmp_path):
    from dataver.cards import render_html

    drawn = open_report(driver, render_html.card(card), tmp_path / "card.html")
    assert_clean_page(driver, drawn, len(card["checks"]))
    names = driver.execute_script(
        "return Array.from(document.querySelectorAll('.plot')).map(p => p.dataset.plot)")
    assert {"file-size", "megapixels", "formats", "modes", "coco-0-categories", "coco-0-boxes",
            "coco-0-area", "coco-0-aspect", "pdf-pages"} <= set(names)
    bars = driver.execute_script("return document.querySelectorAll("
                                 "'[data-plot=\"coco-0-categories\"] path[aria-roledescription=bar]').length")
    assert bars == 41  # top 40 categories and "other"
    save_screenshot(driver, tmp_path, "card-report.png")


def test_html_diff_in_chromium(driver, card_diff, tmp_path):
    from dataver.cards import render_html

    drawn = open_report(driver, render_html.diff(card_diff), tmp_path / "diff.html")
    checks = card_diff["checks"]
    assert_clean_page(driver, drawn, sum(len(checks[k]) for k in ("appeared", "gone", "changed")))
    failed = driver.find_element("css selector", ".failed").text
    assert "new_errors > 0" in failed and "max_category_loss_pct > 10" in failed
    save_screenshot(driver, tmp_path, "card-diff.png")


def test_html_markup_in_data_stays_text_in_chromium(driver, card, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException

    from dataver.cards import render_html

    card = hostile(card)
    drawn = open_report(driver, render_html.card(card), tmp_path / "hostile.html")
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is the check
    assert driver.execute_script("return window.__pwned === undefined")
    assert_clean_page(driver, drawn, len(card["checks"]))
    note = driver.execute_script("return document.querySelector('#notes .note').textContent")
    assert note == XSS_NOTE
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('#coco-0 td')).map(t => t.textContent)")
    assert XSS_NAME in cells
    labels = driver.execute_script(
        "return document.querySelector('[data-plot=\"coco-0-categories\"] svg').textContent")
    assert XSS_NAME in labels  # drawn as a label, not run


def test_html_plot_failure_is_a_console_error(driver, card, tmp_path):
    from dataver.cards import render_html

    html = render_html.card(card)
    html = html.replace('"mark":{"type":"bar"', '"mark":{"type":"no-such-mark"', 1)
    drawn = open_report(driver, html, tmp_path / "broken.html")
    plots = driver.execute_script("return document.querySelectorAll('.plot').length")
    assert drawn == plots - 1
    assert any("failed" in message for message in browser.errors(browser.console(driver)))
