"""Box matching of the annotation diff (dataver.visual.boxes) on small hand-made COCO files: each
class, the IoU threshold's edge, an optimal assignment where a greedy one is wrong, ties,
duplicates, categories added/removed/renamed, empty or absent sides and wrongly typed input."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from dataver.visual import boxes, matching


@pytest.fixture
def coco(tmp_path):
    """``coco(boxes_by_file, categories)`` -> a loaded side; boxes: [(category, [x, y, w, h])].
    Image ids and annotation ids are numbered per call, from a different base each time."""
    made = []

    def make(by_file: dict, categories=((1, "cat"), (2, "dog")), raw=None):
        base = 1 + 1000 * len(made)
        doc = raw or {"images": [], "annotations": [], "categories": [
            {"id": i, "name": n} for i, n in categories]}
        if raw is None:
            for k, (name, items) in enumerate(sorted(by_file.items())):
                doc["images"].append({"id": base + k, "file_name": name, "width": 100,
                                      "height": 100})
                for cat, box in items:
                    doc["annotations"].append({"id": base + len(doc["annotations"]),
                                               "image_id": base + k, "category_id": cat,
                                               "bbox": box})
        path = tmp_path / f"{len(made)}.json"
        path.write_text(json.dumps(doc))
        made.append(path)
        return boxes.load(str(path))
    return make


def classes(result) -> Counter:
    return Counter(b["class"] for im in result["images"] for b in im["boxes"])


def test_each_class(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10]), (1, [50, 50, 10, 10]), (2, [20, 20, 10, 10]),
                        (1, [80, 0, 10, 10])]})
    b = coco({"x.jpg": [(1, [0, 0, 10, 10]),       # unchanged
                        (1, [52, 50, 10, 10]),     # moved
                        (1, [20, 20, 10, 10]),     # relabeled (dog -> cat)
                        (2, [0, 80, 10, 10])]})    # added; the box at x=80 removed
    result = boxes.diff(a, b)
    assert result["summary"] == {"images": 1, "added": 1, "removed": 1, "moved": 1,
                                 "relabeled": 1, "unchanged": 1}
    by_class = {b["class"]: b for b in result["images"][0]["boxes"]}
    assert by_class["moved"]["a"]["bbox"] == [50, 50, 10, 10]
    assert by_class["moved"]["b"]["bbox"] == [52, 50, 10, 10]
    assert by_class["moved"]["iou"] == pytest.approx(80 / 120, abs=1e-6)
    assert by_class["relabeled"]["a"]["category"] == "dog"
    assert by_class["relabeled"]["b"]["category"] == "cat"
    assert by_class["removed"]["b"] is None and by_class["added"]["a"] is None


def test_identical_images_are_not_listed_whatever_the_order_and_ids(coco):
    items = [(1, [0, 0, 10, 10]), (2, [5, 5, 3, 3]), (1, [0, 0, 10, 10])]
    a = coco({"x.jpg": items, "y.jpg": [(1, [1, 1, 1, 1])]})
    b = coco({"x.jpg": items[::-1], "y.jpg": [(1, [1, 1, 1, 1])]})
    result = boxes.diff(a, b)
    assert result["images"] == []
    assert result["summary"] == {"images": 0, "added": 0, "removed": 0, "moved": 0,
                                 "relabeled": 0, "unchanged": 4}


def test_iou_threshold_edge(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10])]})
    b = coco({"x.jpg": [(1, [0, 0, 20, 10])]})  # IoU exactly 0.5
    assert boxes.diff(a, b, 0.5)["summary"]["moved"] == 1
    over = boxes.diff(a, b, 0.51)["summary"]
    assert (over["moved"], over["added"], over["removed"]) == (0, 1, 1)
    assert boxes.diff(a, b, 1.0)["summary"]["moved"] == 0


def test_optimal_assignment_beats_greedy(coco):
    # A1-B1 has the best IoU (0.82), but taking it leaves A2-B2 (0.33) below the threshold;
    # A1-B2 + A2-B1 (0.67 each) match both boxes
    a = coco({"x.jpg": [(1, [0, 0, 10, 10]), (1, [3, 0, 10, 10])]})
    b = coco({"x.jpg": [(1, [1, 0, 10, 10]), (1, [-2, 0, 10, 10])]})
    result = boxes.diff(a, b)
    assert result["summary"]["moved"] == 2
    pairs = {tuple(x["a"]["bbox"]): tuple(x["b"]["bbox"]) for x in result["images"][0]["boxes"]}
    assert pairs == {(0, 0, 10, 10): (-2, 0, 10, 10), (3, 0, 10, 10): (1, 0, 10, 10)}


def test_exact_ties_pair_boxes_of_the_same_category(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10]), (2, [0, 0, 10, 10])]})
    b = coco({"x.jpg": [(2, [1, 0, 10, 10]), (1, [1, 0, 10, 10])]})
    assert classes(boxes.diff(a, b)) == Counter(moved=2)


def test_unchanged_boxes_pair_first_and_duplicates_count_once(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10]), (1, [0, 0, 10, 10]), (2, [40, 40, 5, 5])]})
    b = coco({"x.jpg": [(1, [0, 0, 10, 10]), (2, [41, 40, 5, 5])]})
    assert classes(boxes.diff(a, b)) == Counter(unchanged=1, removed=1, moved=1)


def test_bbox_within_tolerance_is_unchanged(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10]), (2, [50, 50, 5, 5])]})
    b = coco({"x.jpg": [(1, [0, 0, 10.0000001, 10]), (2, [60, 60, 5, 5])]})
    assert classes(boxes.diff(a, b)) == Counter(unchanged=1, added=1, removed=1)


def test_relabeled_box_may_also_move(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10])]})
    b = coco({"x.jpg": [(2, [1, 0, 10, 10])]})
    assert classes(boxes.diff(a, b)) == Counter(relabeled=1)


def test_images_matched_by_file_name(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10])], "gone.jpg": [(1, [0, 0, 5, 5])]})
    b = coco({"x.jpg": [(1, [0, 0, 10, 10])], "new.jpg": [(2, [0, 0, 5, 5])] * 2})
    result = boxes.diff(a, b)
    rows = {im["file_name"]: im for im in result["images"]}
    assert sorted(rows) == ["gone.jpg", "new.jpg"]
    assert rows["gone.jpg"]["b_id"] is None and rows["gone.jpg"]["a_id"] is not None
    assert Counter(b["class"] for b in rows["new.jpg"]["boxes"]) == Counter(added=2)
    assert result["summary"]["unchanged"] == 1


def test_categories_added_removed_renamed_and_per_category(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10]), (3, [20, 20, 5, 5])]},
             categories=[(1, "cat"), (2, "dog"), (3, "fish")])
    b = coco({"x.jpg": [(1, [0, 0, 10, 10]), (4, [20, 20, 5, 5])]},
             categories=[(1, "cat"), (2, "puppy"), (4, "horse")])
    result = boxes.diff(a, b)
    assert result["categories"] == {"added": [{"id": 4, "name": "horse"}],
                                    "removed": [{"id": 3, "name": "fish"}],
                                    "renamed": [{"id": 2, "a": "dog", "b": "puppy"}]}
    per = {c["name"]: c for c in result["per_category"]}
    assert [c["id"] for c in result["per_category"]] == [1, 2, 3, 4]
    assert per["cat"]["unchanged"] == 1 and per["puppy"]["unchanged"] == 0
    assert per["horse"]["relabeled"] == 1 and per["fish"]["relabeled"] == 0


def test_empty_and_absent_sides(coco):
    a = coco({"x.jpg": [(1, [0, 0, 10, 10])], "y.jpg": [(2, [1, 1, 5, 5])]})
    assert boxes.diff(a, None)["summary"]["removed"] == 2
    assert boxes.diff(None, a)["summary"]["added"] == 2
    empty = coco({})
    assert boxes.diff(empty, empty)["summary"] == dict.fromkeys(("images", *boxes.CLASSES), 0)
    assert boxes.diff(None, None)["images"] == []
    bare = coco({"x.jpg": []})
    assert boxes.diff(bare, a)["summary"]["added"] == 2


def test_wrong_types_are_skipped(coco):
    doc = {"images": [{"id": 1, "file_name": "x.jpg"}, {"id": "2", "file_name": "y.jpg"},
                      {"id": 3, "file_name": None}, "junk"],
           "categories": [{"id": 1, "name": "cat"}, {"id": "2", "name": "dog"}, {"id": 5}],
           "annotations": [
               {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
               {"id": 2, "image_id": 1, "category_id": 1, "bbox": "0,0,10,10"},
               {"id": "3", "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]},
               {"id": 4, "image_id": 1, "category_id": 1.5, "bbox": [0, 0, 1, 1]},
               {"id": 5, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]},  # no image 2
               {"id": 6, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1]},
               "junk"]}
    side = coco({}, raw=doc)
    assert side.images == {1: "x.jpg"} and side.categories == {1: "cat", 5: "5"}
    result = boxes.diff(None, side)
    assert result["summary"]["added"] == 1  # only annotation 1 is whole, on a listed image


def test_not_coco_or_invalid_json_loads_as_none(tmp_path):
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "bad.json").write_text('{"images": [], "annotations": [')
    (tmp_path / "other.json").write_text('{"images": [], "annotations": {}}')
    for name in ("list.json", "bad.json", "other.json"):
        assert boxes.load(str(tmp_path / name)) is None


def test_many_images_match_as_one_at_a_time(coco, monkeypatch):
    """Chunks of images (a small chunk size here) give the same result as one chunk."""
    a = coco({f"{i}.jpg": [(1, [0, 0, 10, 10]), (1, [3, 0, 10, 10]), (2, [50, 50, 4, 4])]
              for i in range(30)})
    b = coco({f"{i}.jpg": [(1, [1, 0, 10, 10]), (1, [-2, 0, 10, 10]), (2, [50, 50, 4, 4])]
              for i in range(30)})
    whole = boxes.diff(a, b)
    monkeypatch.setattr(matching, "PAIRS_PER_CHUNK", 5)
    assert boxes.diff(a, b) == whole
    assert whole["summary"]["moved"] == 60 and whole["summary"]["unchanged"] == 30


def test_small_assignments_are_as_optimal_as_scipys():
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(7)
    for _ in range(300):
        rows, cols = rng.integers(1, 9, 2)
        gain = rng.random((rows, cols)) * (rng.random((rows, cols)) < 0.6)
        r, c = matching.best_assignment(gain)
        sr, sc = linear_sum_assignment(gain, maximize=True)
        assert gain[r, c].sum() == pytest.approx(gain[sr, sc].sum())
        assert len(set(r.tolist())) == len(r) and len(set(c.tolist())) == len(c)
