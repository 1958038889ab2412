"""COCO facts (dataver.facts.coco) and COCO cross-checks (dataver.cards.coco_checks): one
crafted fixture per check code, wrong types, not-COCO and invalid JSON, the byte scan against
a plain parse, and a generated 20,000-image file against the generator's own counts."""
from __future__ import annotations

import copy
import json
import math
import os
import sys

import pytest

pytest.importorskip("numpy")
pytest.importorskip("orjson")

from dataver.cards.coco_checks import cross_checks, guess_base  # noqa: E402
from dataver.facts import coco, json_pieces  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BASE = {
    "info": {"description": "a [tricky] \"string\" {with} brackets \\"},
    "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
               {"id": 2, "file_name": "b.jpg", "width": 200, "height": 100}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 300.5,
         "iscrowd": 0, "segmentation": [[10, 10, 30, 10, 30, 30]]},
        {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 150, 50], "area": 7000,
         "iscrowd": 1, "segmentation": {"counts": [0, 5, 19995], "size": [100, 200]}},
        {"id": 3, "image_id": 2, "category_id": 1, "bbox": [10.5, 20, 40, 10], "iscrowd": 0,
         "segmentation": []},
    ],
    "categories": [{"id": 1, "name": "cat", "supercategory": "animal"},
                   {"id": 2, "name": "dog"}],
}


def fact_of(tmp_path, doc, name="c.json", raw=None) -> dict:
    path = tmp_path / name
    path.write_bytes(raw if raw is not None else json.dumps(doc).encode())
    return coco.coco_fact(str(path))


def edited(**changes) -> dict:
    """BASE with top-level lists replaced or extended: images=[...], add_images=[...], ..."""
    doc = copy.deepcopy(BASE)
    for key, value in changes.items():
        if key.startswith("add_"):
            doc[key[4:]] += value
        else:
            doc[key] = value
    return doc


def check(fact, code):
    found = [c for c in fact["checks"] if c["code"] == code]
    return found[0] if found else None


def test_clean_file_figures(tmp_path):
    fact = fact_of(tmp_path, BASE)
    assert fact["checks"] == []
    assert (fact["type"], fact["images"], fact["annotations"], fact["categories"]) == ("coco", 2, 3, 2)
    assert fact["per_category"] == [
        {"id": 1, "name": "cat", "supercategory": "animal", "instances": 2, "images": 2},
        {"id": 2, "name": "dog", "supercategory": None, "instances": 1, "images": 1}]
    bpi = fact["boxes_per_image"]
    assert (bpi["min"], bpi["max"], bpi["mean"], bpi["median"]) == (1, 2, 1.5, 1.5)
    assert bpi["histogram"]["edges"] == coco.BOXES_PER_IMAGE_EDGES
    assert bpi["histogram"]["counts"][1:3] == [1, 1] and sum(bpi["histogram"]["counts"]) == 2
    # area field when there is one (300.5 small, 7000 medium), else the box: 40*10 = 400 small
    assert fact["area_bands"] == {"small": 2, "medium": 1, "large": 0}
    aspect = fact["aspect_ratio"]["histogram"]
    assert len(aspect["counts"]) == len(aspect["edges"]) - 1 == len(coco.ASPECT_EDGES) - 1
    ratios = {1.0: 0, 3.0: 0, 4.0: 0}  # w/h of the three boxes, in the bins of [1, 1.414), ...
    for ratio in ratios:
        ratios[ratio] = max(i for i, e in enumerate(aspect["edges"]) if e <= ratio)
    assert [aspect["counts"][i] for i in ratios.values()] == [1, 1, 1] and sum(aspect["counts"]) == 3
    assert fact["iscrowd"] == {"0": 2, "1": 1}
    assert fact["segmentation"] == {"polygon": 1, "rle": 1, "none": 1}
    assert fact["image_files"] == [["a.jpg", 100, 80, 1], ["b.jpg", 200, 100, 2]]


def test_fact_is_plain_json_and_deterministic(tmp_path):
    first = fact_of(tmp_path, BASE, "one.json")
    second = fact_of(tmp_path, BASE, "two.json")
    assert first == second
    assert json.loads(json.dumps(first)) == first  # JSON-able: no numpy scalars
    for value in (first["boxes_per_image"]["mean"], first["boxes_per_image"]["median"]):
        assert type(value) is float


def test_duplicate_image_id_keeps_the_first_entry(tmp_path):
    doc = edited(add_images=[{"id": 1, "file_name": "z.jpg", "width": 5, "height": 5}])
    fact = fact_of(tmp_path, doc)
    assert check(fact, "coco.duplicate-image-id") == {
        "code": "coco.duplicate-image-id", "count": 1, "examples": ["1"]}
    assert check(fact, "coco.bbox-out-of-bounds") is None  # bounds of a.jpg, not of z.jpg
    assert ["z.jpg", 5, 5, 1] in fact["image_files"]


def test_duplicate_annotation_and_category_ids(tmp_path):
    extra = dict(BASE["annotations"][0], image_id=2)
    doc = edited(add_annotations=[extra, dict(extra)],
                 add_categories=[{"id": 2, "name": "hound"}])
    fact = fact_of(tmp_path, doc)
    assert check(fact, "coco.duplicate-annotation-id")["count"] == 2  # id 1 three times
    assert check(fact, "coco.duplicate-annotation-id")["examples"] == ["1"]
    assert check(fact, "coco.duplicate-category-id")["examples"] == ["2"]
    assert [c["name"] for c in fact["per_category"]] == ["cat", "dog"]  # the first entry names it


def test_unknown_image_and_category_ids(tmp_path):
    doc = edited(add_annotations=[
        {"id": 7, "image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2]},
        {"id": 8, "image_id": 1, "category_id": 42, "bbox": [1, 1, 2, 2]}])
    fact = fact_of(tmp_path, doc)
    assert check(fact, "coco.unknown-image-id")["examples"] == ["annotation 7: image 99"]
    assert check(fact, "coco.unknown-category-id")["examples"] == ["annotation 8: category 42"]
    assert check(fact, "coco.unknown-image-id")["count"] == 1
    assert fact["boxes_per_image"]["max"] == 2  # image 1: annotations 1 and 8


@pytest.mark.parametrize("bbox", [[1, 1, 0, 5], [1, 1, 5, -2], [1, 1, float("nan"), 5],
                                  [1, 1, float("inf"), 5], [float("-inf"), 1, 5, 5]])
def test_bbox_invalid(tmp_path, bbox):
    doc = edited(add_annotations=[{"id": 9, "image_id": 1, "category_id": 1, "bbox": bbox}])
    fact = fact_of(tmp_path, doc)  # NaN / Infinity: written by Python's json, read by it too
    assert check(fact, "coco.bbox-invalid") == {
        "code": "coco.bbox-invalid", "count": 1, "examples": ["annotation 9"]}
    assert sum(fact["aspect_ratio"]["histogram"]["counts"]) == 3  # left out of box figures
    assert fact["per_category"][0]["instances"] == 3  # still an instance of its category


def test_huge_number_literal_is_an_infinite_box(tmp_path):
    raw = json.dumps(BASE).replace('"bbox": [10, 10, 20, 20]', '"bbox": [10, 10, 1e999, 20]')
    fact = fact_of(tmp_path, None, raw=raw.encode())
    assert check(fact, "coco.bbox-invalid")["examples"] == ["annotation 1"]


def test_bbox_out_of_bounds_beyond_one_pixel(tmp_path):
    doc = edited(add_annotations=[
        {"id": 10, "image_id": 1, "category_id": 1, "bbox": [90, 10, 20, 20]},   # right edge 110
        {"id": 11, "image_id": 1, "category_id": 1, "bbox": [-1.5, 0, 10, 10]},  # left of 0
        {"id": 12, "image_id": 1, "category_id": 1, "bbox": [0, 0, 100.9, 80]},  # within 1 px
        {"id": 13, "image_id": 1, "category_id": 2, "bbox": [-0.9, 70, 5, 10.9]}])
    fact = fact_of(tmp_path, doc)
    assert check(fact, "coco.bbox-out-of-bounds") == {
        "code": "coco.bbox-out-of-bounds", "count": 2,
        "examples": ["image 1: annotation 10", "image 1: annotation 11"]}


def test_duplicate_box_same_image_and_category_above_iou(tmp_path):
    def ann(aid, box, image=1, cat=1):
        return {"id": aid, "image_id": image, "category_id": cat, "bbox": box}
    doc = edited(annotations=[
        ann(1, [10, 10, 20, 20]),
        ann(2, [10, 10, 20, 20]),           # exact repeat of 1
        ann(3, [10.2, 10.2, 20, 20]),       # IoU 0.96 with 1: near repeat
        ann(4, [11, 10, 20, 20]),           # IoU 0.905 with 1: a neighbour, not a repeat
        ann(5, [10, 10, 20, 20], cat=2),    # other category
        ann(6, [10, 10, 20, 20], image=2),  # other image
        ann(7, [50, 50, 30, 30]), ann(8, [50, 50, 30, 30])])
    fact = fact_of(tmp_path, doc)
    assert check(fact, "coco.duplicate-box") == {
        "code": "coco.duplicate-box", "count": 3,
        "examples": ["image 1: annotations 1, 2", "image 1: annotations 1, 3",
                     "image 1: annotations 7, 8"]}


def test_duplicate_box_long_runs_take_the_exact_path(tmp_path):
    boxes = [{"id": i, "image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10]}
             for i in range(1, 201)]
    boxes += [{"id": 1000 + i, "image_id": 2, "category_id": 1, "bbox": [5, i * 0.001, 10, 10]}
              for i in range(100)]  # equal left edges: a long walk, all near repeats
    fact = fact_of(tmp_path, edited(annotations=boxes))
    assert check(fact, "coco.duplicate-box")["count"] == 199 + 99
    assert check(fact, "coco.duplicate-box")["examples"][0] == "image 1: annotations 1, 2"


def test_empty_category_and_image_without_annotations(tmp_path):
    doc = edited(add_categories=[{"id": 3, "name": "bird"}],
                 add_images=[{"id": 3, "file_name": "c.jpg", "width": 10, "height": 10}])
    fact = fact_of(tmp_path, doc)
    assert check(fact, "coco.empty-category")["examples"] == ["category 3 (bird)"]
    assert check(fact, "coco.image-without-annotations") == {
        "code": "coco.image-without-annotations", "count": 1, "examples": ["c.jpg"]}
    assert fact["boxes_per_image"]["min"] == 0
    assert fact["boxes_per_image"]["histogram"]["counts"][0] == 1


def test_wrong_types_are_findings_never_exceptions(tmp_path):
    doc = edited(
        images=BASE["images"] + [{"id": "3", "file_name": "s.jpg", "width": 1, "height": 1},
                                 {"id": 4, "file_name": 5, "width": "wide", "height": 0}, 7],
        categories=BASE["categories"] + [{"id": 3}, {"name": "no id"}],
        annotations=BASE["annotations"] + [
            {"id": "a", "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]},
            {"id": 20, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2]},
            {"id": 21, "image_id": 1, "category_id": 1, "bbox": [1, "1", 2, 2]},
            {"id": 22, "image_id": True, "category_id": 1, "bbox": [1, 1, 2, 2]},
            {"id": 23, "image_id": 1, "category_id": 1.0, "bbox": None},
            {"id": 24, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": "big",
             "iscrowd": 2, "segmentation": [1, 2, 3]},
            "not an annotation", {"id": 25}])
    fact = fact_of(tmp_path, doc)
    bad = check(fact, "coco.bad-type")
    # images: id "3"; image 4: width, height, file_name; images[4] is not an object (its
    # missing fields are not counted again); categories: category 3's name, categories[4]'s id;
    # annotations: id, bbox, bbox, image_id, category_id + bbox, area + iscrowd +
    # segmentation, not an object, image_id + category_id + bbox
    assert bad["count"] == 5 + 2 + 13
    assert bad["examples"] == ["images[2]: id", "image 4: width", "image 4: height",
                               "image 4: file_name", "images[4]: not an object"]
    assert fact["annotations"] == 3 + 8  # every entry counts, the figures skip the bad ones
    assert sum(c["instances"] for c in fact["per_category"]) == 3 + 1  # annotation 24 only
    assert fact["iscrowd"] == {"0": 2, "1": 1}  # 24's iscrowd is wrong: left out
    assert fact["segmentation"] == {"polygon": 1, "rle": 1, "none": 1}
    assert ["cat", "dog", ""] == [c["name"] for c in fact["per_category"]]
    assert fact["image_files"] == [["a.jpg", 100, 80, 1], ["b.jpg", 200, 100, 2]]
    assert check(fact, "coco.unknown-image-id") is None  # image 4 keeps its id


def test_annotation_examples_name_the_entry(tmp_path):
    doc = edited(annotations=[{"id": 5, "image_id": 1, "category_id": 1, "bbox": [1, 1]},
                              {"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}])
    bad = check(fact_of(tmp_path, doc), "coco.bad-type")
    assert bad["examples"] == ["annotation 5: bbox", "annotations[1]: id"]


def test_empty_lists(tmp_path):
    fact = fact_of(tmp_path, edited(images=[], categories=[]))
    assert check(fact, "coco.unknown-image-id")["count"] == 3
    assert check(fact, "coco.unknown-category-id")["count"] == 3
    assert fact["per_category"] == [] and fact["boxes_per_image"]["max"] is None
    empty = fact_of(tmp_path, {"images": [], "annotations": [], "categories": []})
    assert (empty["type"], empty["checks"], empty["area_bands"]["small"]) == ("coco", [], 0)


@pytest.mark.parametrize("doc", [[1, 2], {"images": [], "annotations": []},
                                 {"images": [], "annotations": {}, "categories": []},
                                 {"info": {"annotations": [], "images": [], "categories": []}},
                                 "annotations", None])
def test_json_that_is_not_coco(tmp_path, doc):
    assert fact_of(tmp_path, doc) == {"type": "json"}


@pytest.mark.parametrize("raw", [b"", b"{", b'{"images": [], "annotations": [}',
                                 json.dumps(BASE).encode()[:-40], b"\xff\xfe{}",
                                 json.dumps(BASE).encode().replace(b"[[10, 10, 30", b"[[10, x, 30"),
                                 json.dumps(BASE).encode().replace(b"30, 30]]", b"30, 30]]]")])
def test_invalid_json_is_one_line_error(tmp_path, raw):
    fact = fact_of(tmp_path, None, raw=raw)
    assert fact["type"] == "json"
    assert fact["error"].startswith("not valid JSON: ") and "\n" not in fact["error"]


def test_bom_and_pretty_printing_are_fine(tmp_path):
    plain = fact_of(tmp_path, BASE)
    pretty = json.dumps(BASE, indent=2).encode()
    assert fact_of(tmp_path, None, raw=pretty) == plain
    assert fact_of(tmp_path, None, raw=b"\xef\xbb\xbf" + pretty) == plain


def test_scan_finds_only_the_top_level_annotations(tmp_path, monkeypatch):
    doc = edited()
    doc["info"]["annotations"] = [{"id": 99, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]
    doc["licenses"] = [{"name": "annotations", "note": "]]}} \"annotations\": ["}]
    expected = fact_of(tmp_path, BASE, "plain.json")
    with monkeypatch.context() as patch:  # the scan must manage without a whole parse
        patch.setattr(coco, "_parse_whole", lambda data: pytest.fail("parsed whole"))
        assert fact_of(tmp_path, doc) == expected
        assert fact_of(tmp_path, None, raw=json.dumps(doc, indent=3).encode()) == expected
    # a repeated top-level key: the last one counts, as in every JSON parser
    raw = json.dumps(BASE)[:-1] + ', "annotations": []}'
    assert fact_of(tmp_path, None, raw=raw.encode())["annotations"] == 0


def test_nan_in_a_piece_needs_no_whole_parse(tmp_path, monkeypatch):
    monkeypatch.setattr(coco, "_parse_whole", lambda data: pytest.fail("parsed whole"))
    doc = edited(add_annotations=[{"id": 9, "image_id": 1, "category_id": 1,
                                   "bbox": [1, 1, float("nan"), 5]}])
    assert check(fact_of(tmp_path, doc), "coco.bbox-invalid")["count"] == 1


def test_json_that_is_not_coco_is_validated_piece_by_piece(tmp_path, monkeypatch):
    monkeypatch.setattr(json_pieces, "PIECE_BYTES", 1000)
    records = [{"id": i, "tags": ["a", "b"], "box": [i, i]} for i in range(500)]
    raw = json.dumps({"meta": {"n": 500}, "records": records}).encode()
    with monkeypatch.context() as patch:
        patch.setattr(coco, "_parse_whole", lambda data: pytest.fail("parsed whole"))
        assert fact_of(tmp_path, None, raw=raw) == {"type": "json"}
        assert fact_of(tmp_path, None, raw=json.dumps(records).encode()) == {"type": "json"}
    broken = raw.replace(b'"id": 250,', b'"id": 250,,')
    assert fact_of(tmp_path, None, raw=broken)["error"].startswith("not valid JSON: ")


def test_unbalanced_big_file_is_not_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(coco, "WHOLE_PARSE_LIMIT", 100)
    monkeypatch.setattr(coco, "_parse_whole", lambda data: pytest.fail("parsed whole"))
    raw = json.dumps(BASE).encode()[:-2]
    assert fact_of(tmp_path, None, raw=raw) == {
        "type": "json", "error": "not valid JSON: brackets or quotes do not balance"}


def test_deep_nesting_is_an_error_not_a_crash(tmp_path):
    deep = b"[" * 100000 + b"]" * 100000
    raw = json.dumps(BASE).encode().replace(b'"iscrowd": 0,', b'"x": ' + deep + b', "iscrowd": 0,', 1)
    assert fact_of(tmp_path, None, raw=raw)["error"].startswith("not valid JSON: ")
    assert fact_of(tmp_path, None, raw=deep)["error"].startswith("not valid JSON: ")


def _whole(monkeypatch, path):
    with monkeypatch.context() as patch:
        patch.setattr(json_pieces, "split", lambda data: None)
        return coco.coco_fact(path)


def test_pieces_give_the_same_fact_as_a_whole_parse(tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import coco_gen

    path = str(tmp_path / "gen.json")
    coco_gen.make_coco(path, images=300, annotations=3000, categories=12, seed=3)
    monkeypatch.setattr(json_pieces, "PIECE_BYTES", 20000)  # many pieces, cut at many commas
    pieces = coco.coco_fact(path)
    assert len(json_pieces.split(open(path, "rb").read())[1]) > 10
    assert pieces == _whole(monkeypatch, path)
    weird = tmp_path / "weird.json"  # strings with brackets, escapes, NaN in a polygon
    doc = edited(add_annotations=[
        {"id": 30, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "note": "[{\"]\\",
         "segmentation": [[1, float("nan"), 3, 4, 5, 6]]}])
    weird.write_text(json.dumps(doc, indent=1))
    assert coco.coco_fact(str(weird)) == _whole(monkeypatch, str(weird))
    assert coco.coco_fact(str(weird))["segmentation"]["polygon"] == 2


def test_generated_file_summarises_to_the_generator_counts(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import coco_gen

    path = str(tmp_path / "instances.json")
    truth = coco_gen.make_coco(path, images=20000, annotations=60000, seed=1)
    fact = coco.coco_fact(path)
    assert (fact["images"], fact["annotations"], fact["categories"]) == (20000, 60000, 80)
    assert {c["id"]: c["instances"] for c in fact["per_category"] if c["instances"]} == truth["instances"]
    assert fact["iscrowd"] == {"0": 60000 - truth["crowd"], "1": truth["crowd"]}
    assert fact["segmentation"] == {"polygon": 60000 - truth["crowd"], "rle": truth["crowd"], "none": 0}
    assert sum(fact["area_bands"].values()) == 60000
    assert sum(fact["boxes_per_image"]["histogram"]["counts"]) == 20000
    assert math.isclose(fact["boxes_per_image"]["mean"], 3.0)
    codes = {c["code"]: c["count"] for c in fact["checks"]}
    assert codes.pop("coco.image-without-annotations") == truth["images_without_annotations"]
    assert set(codes) <= {"coco.duplicate-box", "coco.empty-category"}  # chance only, no defects
    assert codes.get("coco.duplicate-box", 0) < 5
    assert len(fact["image_files"]) == 20000 and fact["image_files"][0][0] == "000000000001.jpg"


# --- cross checks ----------------------------------------------------------------------------

def image(width, height, **more):
    return {"type": "image", "format": "JPEG", "width": width, "height": height, "mode": "RGB",
            "orientation": None, "frames": 1, **more}


FILES = {"image_files": [["a.jpg", 100, 80, 1], ["b.jpg", 200, 100, 2], ["sub/c.jpg", 10, 10, 3]]}


def test_cross_checks_clean():
    entries = {"images/a.jpg": image(100, 80), "images/b.jpg": image(200, 100),
               "images/sub/c.jpg": image(10, 10), "other/x.jpg": image(1, 1)}
    assert cross_checks(FILES, entries, "images") == []


def test_missing_file():
    entries = {"images/a.jpg": image(100, 80), "images/sub/c.jpg": image(10, 10)}
    assert cross_checks(FILES, entries, "images") == [
        {"code": "coco.missing-file", "count": 1, "examples": ["b.jpg"]}]


def test_orphan_file_only_under_the_base():
    entries = {"a.jpg": image(100, 80), "b.jpg": image(200, 100), "sub/c.jpg": image(10, 10),
               "sub/d.png": image(1, 1), "extra.jpg": image(1, 1)}
    assert cross_checks(FILES, entries, "") == [
        {"code": "coco.orphan-file", "count": 2, "examples": ["extra.jpg", "sub/d.png"]}]
    assert cross_checks({"image_files": FILES["image_files"][2:]}, entries, "sub") == [
        {"code": "coco.missing-file", "count": 1, "examples": ["sub/c.jpg"]},
        {"code": "coco.orphan-file", "count": 2, "examples": ["sub/c.jpg", "sub/d.png"]}]


def test_size_mismatch_uses_stored_pixels():
    entries = {"a.jpg": image(80, 100, orientation=6), "b.jpg": image(201, 100),
               "sub/c.jpg": image(10, 10, error="truncated", reason="corrupt")}
    found = cross_checks(FILES, entries, "")
    assert found == [{"code": "coco.size-mismatch", "count": 2, "examples": [
        "a.jpg: JSON 100x80, file 80x100 (EXIF orientation 6: matches once rotated)",
        "b.jpg: JSON 200x100, file 201x100"]}]


def test_guess_base():
    paths = ["data/images/a.jpg", "data/images/b.jpg", "data/images/sub/c.jpg", "data/x.json"]
    assert guess_base(FILES, paths) == "data/images"
    assert guess_base(FILES, ["a.jpg", "b.jpg", "sub/c.jpg"]) == ""
    assert guess_base(FILES, ["a.jpg", "elsewhere/z.jpg"]) is None  # 1 of 3 names resolve
    assert guess_base(FILES, ["a.jpg", "b.jpg", "x/a.jpg"]) == ""  # ties: the shorter folder
    named = {"image_files": [["train2017/a.jpg", 1, 1, 1], ["train2017/b.jpg", 1, 1, 2]]}
    assert guess_base(named, ["coco/train2017/a.jpg", "coco/train2017/b.jpg"]) == "coco"
    assert guess_base({"image_files": []}, paths) is None
