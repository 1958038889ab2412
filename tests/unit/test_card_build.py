"""The card builder, checks, canonical bytes, notes and card diff, on crafted facts (no files:
the fact extractors have tests of their own)."""
import pytest

from dataver.cards import canonical, checks, notes
from dataver.cards.build import build_card, histogram
from dataver.cards.diff import FailIfError, diff_cards, fail_if

OUT = {"path": "data", "md5": "0" * 32 + ".dir", "hash": "md5"}


def img(fmt="JPEG", w=640, h=480, mode="RGB", orientation=None):
    return {"type": "image", "format": fmt, "width": w, "height": h, "mode": mode,
            "orientation": orientation, "frames": 1}


def md5(n: int) -> str:
    return f"{n:032x}"


def codes(card) -> dict:
    return {c["code"]: c["count"] for c in card["checks"]}


def test_files_figures_and_duplicates():
    entries = [("a.jpg", md5(1), 100), ("b/a.jpg", md5(1), 100), ("c.txt", md5(2), 5000),
               ("empty.txt", md5(3), 0)]
    facts = {md5(1): img(), md5(2): {"type": "other"}}
    card = build_card(OUT, entries, facts)
    files = card["files"]
    assert (files["count"], files["bytes"]) == (4, 5200)
    assert files["by_type"]["image"] == {"count": 2, "bytes": 200}
    assert files["by_type"]["empty"]["count"] == 1
    assert files["by_extension"][".txt"] == {"count": 2, "bytes": 5000}
    assert files["largest"][0] == {"path": "c.txt", "bytes": 5000}
    assert files["duplicates"]["groups"] == 1 and files["duplicates"]["wasted_bytes"] == 100
    assert codes(card) == {"file.empty": 1, "file.duplicate": 1}
    assert card["output"]["files"] == 4


@pytest.mark.parametrize("name,fact,code", [
    ("x.png", img("JPEG"), "image.format-mismatch"),
    ("x.jpg", {"type": "image", "format": "JPEG", "error": "truncated", "reason": "corrupt"},
     "image.corrupt"),
    ("x.jpg", {"type": "other"}, "image.corrupt"),  # named as an image, is none
    ("x.png", {"type": "image", "format": "PNG", "error": "too big", "reason": "bomb"},
     "image.too-large"),
    ("x.jpg", img(orientation=6), "image.exif-rotated"),
    ("x.pdf", {"type": "pdf", "error": "EOF marker not found"}, "pdf.unreadable"),
    ("x.pdf", {"type": "pdf", "pages": 3, "encrypted": True, "text": None}, "pdf.encrypted"),
    ("x.pdf", {"type": "pdf", "pages": 3, "encrypted": False, "text": False}, "pdf.no-text"),
    ("m.pt", {"type": "checkpoint", "format": "pytorch", "error": "bad zip"}, "checkpoint.unreadable"),
    ("a.json", {"type": "json", "error": "not valid JSON: x"}, "json.invalid"),
])
def test_each_file_check(name, fact, code):
    card = build_card(OUT, [(name, md5(1), 10)], {md5(1): fact})
    assert codes(card) == {code: 1}
    assert card["checks"][0]["severity"] == checks.CHECKS[code][0]
    assert name in card["checks"][0]["examples"][0]


def test_good_files_raise_no_check():
    entries = [("a.jpg", md5(1), 10), ("b.png", md5(2), 10), ("d.pdf", md5(3), 10)]
    facts = {md5(1): img(), md5(2): img("PNG"), md5(3): {"type": "pdf", "pages": 2,
                                                        "encrypted": False, "text": True}}
    card = build_card(OUT, entries, facts)
    assert card["checks"] == []
    assert card["images"]["by_format"] == {"JPEG": 1, "PNG": 1}
    assert card["pdfs"]["pages"] == 2 and card["pdfs"]["with_text"] == 1


def test_mixed_modes_counts_the_minority():
    entries = [(f"{i}.png", md5(i + 1), 10) for i in range(5)]
    facts = {md5(i + 1): img("PNG", mode="L" if i == 4 else "RGB") for i in range(5)}
    card = build_card(OUT, entries, facts)
    assert codes(card) == {"image.mixed-modes": 1}
    assert card["checks"][0]["examples"] == ["4.png: L"]
    assert card["images"]["by_mode"] == {"L": 1, "RGB": 4}


def test_deep_pixel_and_near_duplicates():
    entries = [("a.png", md5(1), 10), ("a.jpg", md5(2), 10), ("b.jpg", md5(3), 10), ("c.jpg", md5(4), 10)]
    facts = {m: img() for m in (md5(2), md5(3), md5(4))}
    facts[md5(1)] = img("PNG")
    deep = {md5(1): {"decoded": True, "pixels": "p1", "phash": "h1"},
            md5(2): {"decoded": True, "pixels": "p1", "phash": "h1"},
            md5(3): {"decoded": True, "pixels": "p3", "phash": "h1"},
            md5(4): {"decoded": False, "error": "broken data stream"}}
    card = build_card(OUT, entries, facts, deep)
    assert codes(card) == {"image.corrupt": 1, "image.pixel-duplicate": 1, "image.near-duplicate": 1}
    assert card["images"]["deep"] == {"decoded": 3, "corrupt": 1, "pixel_duplicate_groups": 1,
                                      "near_duplicate_groups": 1}


def test_card_does_not_depend_on_entry_order_and_bytes_are_stable():
    entries = [(f"d/{i}.jpg", md5(i % 7 + 1), 1000 * i) for i in range(50)]
    facts = {md5(i + 1): img(w=100 + i, h=50 + i) for i in range(7)}
    one = canonical.dumps(build_card(OUT, entries, facts))
    two = canonical.dumps(build_card(OUT, list(reversed(entries)), dict(reversed(facts.items()))))
    assert one == two
    assert canonical.loads(one)["images"]["count"] == 50


def test_canonical_rounds_floats_and_drops_nan():
    assert canonical.normalize({"a": 1 / 3, "b": float("nan"), "c": 2.0, "d": (1, 2)}) == \
        {"a": 0.333333, "b": None, "c": 2, "d": [1, 2]}
    with pytest.raises(ValueError):
        canonical.loads(b'{"card": 99}')


def test_histogram_fixed_edges():
    h = histogram([0, 5, 10, 10_000], [0, 10, 100, 1000])
    assert h == {"edges": [0, 10, 100, 1000], "counts": [2, 1, 1]}  # past the end: last bin


def test_finalize_merges_and_orders():
    merged = checks.finalize([checks.finding("file.empty", 1, ["a"]),
                              checks.finding("coco.missing-file", 2, ["x", "y"]),
                              checks.finding("file.empty", 2, ["b", "c"]),
                              checks.finding("file.duplicate", 0, [])])
    assert [c["code"] for c in merged] == ["coco.missing-file", "file.empty"]
    assert merged[1]["count"] == 3 and merged[1]["examples"] == ["a", "b", "c"]


def test_notes_sections_and_settings():
    parsed = notes.parse("---\nimages: ../images\n---\n# data\nIntro.\n## Motivation\nCats.\n"
                         "## Uses\n<!-- only the template's question -->\n## Labeling\nBy us.\n")
    assert parsed["settings"] == {"images": "../images"}
    assert [(s["key"], s["text"]) for s in parsed["sections"]] == \
        [("summary", "Intro."), ("motivation", "Cats."), ("preprocessing", "By us.")]
    assert notes.parse(notes.template("data"))["sections"] == []


def _card(instances: dict, errors=()):
    cats = [{"id": i, "name": n, "instances": c, "images": c} for i, (n, c) in enumerate(instances.items())]
    return {"files": {"count": 10, "bytes": 100}, "coco": [{"path": "a.json", "annotations":
            sum(instances.values()), "per_category": cats}],
            "checks": [{"code": c, "severity": "error", "count": 1} for c in errors]}


def test_diff_figures_categories_and_checks():
    d = diff_cards(_card({"cat": 50, "dog": 50}), _card({"cat": 40, "dog": 50, "cow": 5},
                                                        ["coco.missing-file"]), "HEAD", "workspace")
    fig = {f["name"]: f for f in d["figures"]}
    assert (fig["coco.annotations"]["a"], fig["coco.annotations"]["b"]) == (100, 95)
    assert fig["coco.annotations"]["pct"] == -5.0
    cats = {c["name"]: c for c in d["categories"]}
    assert cats["cat"]["delta"] == -10 and cats["cat"]["pct"] == -20.0
    assert cats["cow"]["a_instances"] is None and cats["cow"]["b_instances"] == 5
    assert [c["code"] for c in d["checks"]["appeared"]] == ["coco.missing-file"]


@pytest.mark.parametrize("expr,fires", [
    ("new_errors > 0", True), ("new_errors > 1", False),
    ("max_category_loss_pct > 10", True), ("max_category_loss_pct > 25", False),
    ("category['cat'].pct <= -20", True), ("category['dog'].delta != 0", False),
    ("files.delta == 0 and coco_annotations.b < coco_annotations.a", True),
    ("check['coco.missing-file'] >= 1", True), ("not new_errors", False),
])
def test_fail_if(expr, fires):
    d = diff_cards(_card({"cat": 50, "dog": 50}), _card({"cat": 40, "dog": 50}, ["coco.missing-file"]),
                   "a", "b")
    assert fail_if(d, [expr]) == ([expr] if fires else [])


@pytest.mark.parametrize("expr", ["__import__('os')", "files.__class__", "nope > 1", "1 +", "'a' > 1"])
def test_fail_if_refuses_what_it_cannot_read(expr):
    d = diff_cards(_card({"cat": 1}), _card({"cat": 1}), "a", "b")
    with pytest.raises(FailIfError):
        fail_if(d, [expr])


def test_docs_list_every_check_with_its_severity():
    from tests.conftest import ROOT
    import os

    with open(os.path.join(ROOT, "docs", "cards.md"), encoding="utf-8") as fobj:
        text = fobj.read()
    for code, (severity, message) in checks.CHECKS.items():
        assert f"| `{code}` | {severity} | {message} |" in text, code
