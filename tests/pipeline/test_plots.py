"""`dataver plots show|diff|templates` against real DVC 3.67.1 (the same plot ids, revisions,
data rows, titles and errors in `--json`), and the HTML page in headless Chromium (every
chart drawn, no console error, no network request)."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.compat.conftest import dataver, dvc
from tests.conftest import git
from tests.func import browser
from tests.func.test_card_render import driver, open_report  # noqa: F401 - driver: the Chromium fixture

GEN = ("import json, os, sys\n"
       "k = float(open('scale.txt').read())\n"
       "os.makedirs('eval', exist_ok=True)\n"
       "json.dump({'roc': [{'fpr': i / 4, 'tpr': min(1.0, k * i / 4)} for i in range(5)]},\n"
       "          open('eval/roc.json', 'w'))\n"
       "open('eval/hist.tsv', 'w').write('bin\\tcount\\n' + ''.join(f'{i}\\t{int(k * i)}\\n' for i in range(3)))\n"
       "os.makedirs('eval/images', exist_ok=True)\n"
       "for name, width in (('a', int(k * 10)), ('b', 3)):\n"
       "    open(f'eval/images/{name}.svg', 'w').write(\n"
       "        f'<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"4\"></svg>')\n")
DVC_YAML = """stages:
  evaluate:
    cmd: python3 gen.py
    deps:
    - gen.py
    - scale.txt
    plots:
    - eval/roc.json:
        x: fpr
        y: tpr
        title: ROC
    - eval/images
    - eval/hist.tsv:
        cache: false
        x: bin
plots:
- train.csv
- pr.json:
    x: step
    y: precision
    title: Precision
- losses:
    x: epoch
    y:
      train.csv: [loss, acc]
- confusion:
    template: confusion
    x: actual
    y:
      cm.csv: predicted
    y_label: predicted class
- both:
    y:
      train.csv: acc
      val.csv: acc
- img.png
"""
def _png() -> bytes:
    """A 1x1 PNG image."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


PNG = _png()


def _csv(rows) -> str:
    return "epoch,loss,acc\n" + "".join(f"{i + 1},{loss},{acc}\n" for i, (loss, acc) in enumerate(rows))


def _write(root, files: dict) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


@pytest.fixture
def plots_repo(tmp_path):
    """Two commits made with real DVC (`dvc repro` caches the stage's plot), and a changed
    train.csv in the workspace."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    _write(root, {"gen.py": GEN, "scale.txt": "0.5", "dvc.yaml": DVC_YAML, "img.png": PNG,
                  "train.csv": _csv([(0.9, 0.5), (0.6, 0.7)]), "val.csv": _csv([(1.0, 0.4), (0.8, 0.6)]),
                  "pr.json": json.dumps([{"step": 1, "precision": 0.5}, {"step": 2, "precision": 0.75}]),
                  "cm.csv": "actual,predicted\ncat,cat\ndog,cat\ndog,dog\n"})
    dvc("repro", "-q", cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "one")
    _write(root, {"scale.txt": "0.8", "train.csv": _csv([(0.8, 0.55), (0.5, 0.75), (0.3, 0.8)]),
                  "cm.csv": "actual,predicted\ncat,cat\ndog,dog\ndog,dog\ncat,dog\n"})
    dvc("repro", "-q", cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "two")
    _write(root, {"train.csv": _csv([(0.7, 0.6), (0.4, 0.8), (0.2, 0.9)])})
    return root


def _shape(report: dict) -> dict:
    """What both tools must agree on: per plot id its entries' type, revisions, data rows and
    title (images: the file name written); the errors' plot, revision and type."""
    data = {}
    for plot_id, entries in report["data"].items():
        data[plot_id] = [
            (e["type"], e["revisions"], os.path.basename(e["url"]), open(e["url"], "rb").read())
            if e["type"] == "image" else
            (e["type"], e["revisions"], e["content"]["data"]["values"], e["content"]["title"])
            for e in entries]
    errors = [(e["name"], e["rev"], e["type"]) for e in report.get("errors", [])]
    return {"ids": list(report["data"]), "data": data, "errors": errors}


def _both(root, *args) -> tuple[dict, dict]:
    ours = json.loads(dataver("plots", *args, "--json", "-o", "ours", cwd=root).stdout)
    theirs = json.loads(dvc("plots", *args, "--json", "-o", "theirs", cwd=root).stdout)
    return _shape(ours), _shape(theirs)


def test_plots_json_matches_dvc(plots_repo):
    ours, theirs = _both(plots_repo, "show")
    assert ours == theirs
    assert ours["ids"] == ["train.csv", "pr.json", "losses", "confusion", "both", "img.png",
                           "eval/roc.json", "eval/images/a.svg", "eval/images/b.svg", "eval/hist.tsv"]
    rows = ours["data"]["losses"][0][2]
    assert {r["field"] for r in rows} == {"loss", "acc"} and "dvc_inferred_y_value" in rows[0]
    assert {r["filename"] for r in ours["data"]["both"][0][2]} == {"train.csv", "val.csv"}
    # targets: plot ids, or files (a file no plot is named after gets default options)
    ours, theirs = _both(plots_repo, "show", "cm.csv", "pr.json", "nope.csv", "eval/roc.json")
    assert ours == theirs
    assert ours["ids"] == ["dvc.yaml::pr.json", "pr.json", "eval/roc.json", "cm.csv"]
    assert [e[3]["text"] for e in (ours["data"]["dvc.yaml::pr.json"] + ours["data"]["pr.json"])] == \
        ["Precision", "pr.json"]
    ours, theirs = _both(plots_repo, "diff", "HEAD~1", "--targets", "losses", "val.csv")
    assert ours == theirs and ours["ids"] == ["losses", "val.csv"]
    # options for the targets
    ours, theirs = _both(plots_repo, "show", "-x", "epoch", "-y", "loss", "--title", "T", "train.csv")
    assert ours == theirs and ours["data"]["train.csv"][0][3]["text"] == "T"
    ours, theirs = _both(plots_repo, "show", "-x", "epoch", "train.csv", "pr.json")
    assert ours == theirs and ours["errors"] == [("dvc.yaml::pr.json", "workspace", "FieldNotFoundError"),
                                                 ("pr.json", "workspace", "FieldNotFoundError")]
    ours, theirs = _both(plots_repo, "show", "--no-header", "cm.csv")
    assert ours == theirs and ours["data"]["cm.csv"][0][2][0]["0"] == "actual"


def test_plots_diff_json_matches_dvc(plots_repo):
    for revs in [(), ("HEAD~1",), ("HEAD~1", "HEAD")]:
        ours, theirs = _both(plots_repo, "diff", *revs)
        assert ours == theirs, revs
        roc = ours["data"]["eval/roc.json"][0]  # the stage's cached plot: from the cache at a rev
        expected = list(revs) if len(revs) == 2 else ["workspace", *(revs or ("HEAD",))]
        assert roc[1] == expected and {r["rev"] for r in roc[2]} == set(expected)


def test_plots_diff_fetches_cached_plots_from_the_remote(plots_repo, tmp_path):
    before = json.loads(dataver("plots", "diff", "HEAD~1", "HEAD", "--json", cwd=plots_repo).stdout)
    dvc("remote", "add", "-d", "store", str(tmp_path / "store"), cwd=plots_repo)
    dataver("push", "-A", cwd=plots_repo)  # both commits' roc.json
    shutil.rmtree(plots_repo / ".dvc" / "cache")  # read-only files, writable folders
    after = json.loads(dataver("plots", "diff", "HEAD~1", "HEAD", "--json", cwd=plots_repo).stdout)
    assert _shape(after) == _shape(before)
    assert len({r["tpr"] for r in after["data"]["eval/roc.json"][0]["content"]["data"]["values"]}) > 5


def test_missing_file_and_bad_type_are_errors_as_in_dvc(plots_repo):
    with open(plots_repo / "dvc.yaml", "a") as fobj:
        fobj.write("- missing.csv\n- notes.txt\n")
    (plots_repo / "notes.txt").write_text("hi\n")
    ours, theirs = _both(plots_repo, "show")
    assert ours == theirs
    assert ours["data"]["missing.csv"] == ours["data"]["notes.txt"] == []
    assert ours["errors"] == [("missing.csv", "workspace", "FileNotFoundError"),
                              ("notes.txt", "workspace", "PlotMetricTypeError")]
    proc = dataver("plots", "show", "-o", "out", cwd=plots_repo)
    assert "missing.csv" in proc.stderr and (plots_repo / "out" / "index.html").exists()


# --- the HTML page --------------------------------------------------------------------------

TEMPLATES = ("linear", "simple", "scatter", "smooth", "confusion", "confusion_normalized",
             "bar_horizontal", "bar_horizontal_sorted")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="red"/></svg>'


@pytest.fixture
def templates_repo(repo_dir):
    """One plot per built-in template (top-level plots, dataver alone), two images, two commits."""
    lines = ["plots:"]
    for name in TEMPLATES:
        if name.startswith("confusion"):
            lines += [f"- {name}:", f"    template: {name}", "    x: actual", "    y:", "      cm.csv: predicted"]
        elif name.startswith("bar"):
            lines += [f"- {name}:", f"    template: {name}", "    x: importance", "    y:", "      imp.csv: feature"]
        else:
            lines += [f"- {name}:", f"    template: {name}", "    x: epoch", "    y:", "      train.csv: [loss, acc]"]
    lines += ["- img.png", "- pics/chart.svg"]
    _write(repo_dir, {"dvc.yaml": "\n".join(lines) + "\n", "img.png": PNG, "pics/chart.svg": SVG,
                      "train.csv": _csv([(0.9 - i / 10, 0.5 + i / 20) for i in range(6)]),
                      "cm.csv": "actual,predicted\n" + "cat,cat\ndog,cat\ndog,dog\nbird,bird\nbird,cat\n" * 3,
                      "imp.csv": "feature,importance\nsize,0.5\ncolour,0.2\nshape,0.3\n"})
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "plots")
    _write(repo_dir, {"train.csv": _csv([(0.8 - i / 10, 0.55 + i / 20) for i in range(6)])})
    return repo_dir


def _assert_drawn(drv, charts: int, images: int) -> None:
    figures = drv.execute_script("return document.querySelectorAll('figure.plot[data-plot]').length")
    assert figures == charts
    drawn = drv.execute_script(
        "return Array.from(document.querySelectorAll('figure.plot[data-plot]'))"
        ".filter(f => f.dataset.state === 'drawn' && f.querySelector('svg.marks')).length")
    assert drawn == charts
    shown = drv.execute_script(
        "return Array.from(document.querySelectorAll('figure.plot img')).filter(i => i.naturalWidth > 0).length")
    assert shown == images
    assert browser.errors(browser.console(drv)) == []
    assert all(url.startswith(("data:", "blob:", "file:")) for url in browser.resources(drv))


def test_html_diff_draws_every_template_offline(driver, templates_repo):  # noqa: F811
    proc = dataver("plots", "diff", cwd=templates_repo)
    page = templates_repo / "dvc_plots" / "index.html"
    assert proc.stdout.strip() == page.as_uri()
    assert sorted(os.listdir(page.parent / "static")) == [
        "HEAD_img.png", "HEAD_pics_chart.svg", "workspace_img.png", "workspace_pics_chart.svg"]
    html = page.read_text()
    assert "https://cdn" not in html and "<script src" not in html
    assert open_report(driver, html, page) == len(TEMPLATES)
    _assert_drawn(driver, len(TEMPLATES), images=4)
    # the revisions share a chart: one line per revision and series in the linear plot
    paths = driver.execute_script(
        "return document.querySelector('figure[data-plot=\"plot-0\"]').querySelectorAll('path[aria-roledescription=\"line mark\"]').length")
    assert paths == 4


def test_html_show_with_a_custom_page_and_output_dir(driver, templates_repo, tmp_path):  # noqa: F811
    custom = tmp_path / "page.html"
    custom.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>mine</title></head>"
                      "<body><h1 id='mine'>My plots</h1>{plot_divs}</body></html>")
    dataver("plots", "show", "-o", str(tmp_path / "out"), "--html-template", str(custom),
            "linear", "confusion", "img.png", cwd=templates_repo)
    page = tmp_path / "out" / "index.html"
    assert open_report(driver, page.read_text(), page) == 2
    assert driver.execute_script("return document.getElementById('mine').textContent") == "My plots"
    _assert_drawn(driver, 2, images=2)  # img.png as defined and as a file, as DVC lists it


# --- command line ----------------------------------------------------------------------------

def test_templates_command_and_show_vega(templates_repo):
    names = dataver("plots", "templates", cwd=templates_repo).stdout.split()
    assert names == list(TEMPLATES)
    spec = json.loads(dataver("plots", "templates", "confusion", cwd=templates_repo).stdout)
    assert spec["data"]["values"] == "<DVC_METRIC_DATA>"
    vega = json.loads(dataver("plots", "show", "--show-vega", "train.csv", "-x", "epoch", "-y", "loss",
                              "--title", "Loss", cwd=templates_repo).stdout)
    assert vega["title"]["text"] == "Loss" and vega["encoding"]["y"]["field"] == "loss"
    assert [r["loss"] for r in vega["data"]["values"]][:2] == ["0.8", "0.7000000000000001"]


def test_custom_template_from_dvc_plots_folder(templates_repo):
    (templates_repo / ".dvc" / "plots").mkdir()
    (templates_repo / ".dvc" / "plots" / "mine.json").write_text(json.dumps(
        {"data": {"values": "<DVC_METRIC_DATA>"}, "mark": "point",
         "encoding": {"x": {"field": "<DVC_METRIC_X>"}, "y": {"field": "<DVC_METRIC_Y>"},
                      "color": "<DVC_METRIC_UNKNOWN_ANCHOR>"}}))
    out = json.loads(dataver("plots", "show", "train.csv", "-t", "mine", "--json", cwd=templates_repo).stdout)
    content = out["data"]["train.csv"][0]["content"]
    assert content["encoding"] == {"x": {"field": "step"}, "y": {"field": "acc"}}
    assert len(content["data"]["values"]) == 6


def test_odd_values_in_data_files(templates_repo):
    (templates_repo / "dvc.yaml").write_text("plots:\n- days.yaml:\n    x: day\n- nan.json\n")
    (templates_repo / "days.yaml").write_text("- {day: 2024-01-02, n: 1}\n- {day: 2024-01-03, n: 2}\n")
    (templates_repo / "nan.json").write_text('{"log": [{"v": NaN}, {"v": 1.5}, {"v": Infinity}]}')
    out = json.loads(dataver("plots", "show", "--json", cwd=templates_repo).stdout)
    assert [r["day"] for r in out["data"]["days.yaml"][0]["content"]["data"]["values"]] == \
        ["2024-01-02", "2024-01-03"]
    dataver("plots", "show", cwd=templates_repo)
    html = (templates_repo / "dvc_plots" / "index.html").read_text()
    assert '{"v":null,"step":0,"rev":"workspace"}' in html and "NaN" not in html.split("<script>")[0]


def test_bad_definitions_are_one_line_errors(templates_repo):
    dvc_yaml = templates_repo / "dvc.yaml"
    dvc_yaml.write_text("plots:\n- ../outside.csv\n")
    proc = dataver("plots", "show", cwd=templates_repo, ok=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "dvc.yaml" in proc.stderr and "leaves the repository" in proc.stderr
    dvc_yaml.write_text("plots:\n- train.csv:\n    template: nosuch\n")
    out = json.loads(dataver("plots", "show", "--json", cwd=templates_repo).stdout)
    assert out["data"] == {"train.csv": []} and out["errors"][0]["type"] == "TemplateError"
    custom = templates_repo / "page.html"
    custom.write_text("<html><body>no marker</body></html>")
    dvc_yaml.write_text("plots:\n- train.csv\n")
    proc = dataver("plots", "show", "--html-template", str(custom), cwd=templates_repo, ok=False)
    assert proc.returncode == 1 and "{plot_divs}" in proc.stderr and len(proc.stderr.splitlines()) == 1
