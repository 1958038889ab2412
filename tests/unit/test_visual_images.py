"""File classes of the visual diff (dataver.visual.images) from manifests and facts alone."""
from __future__ import annotations

from dataver.visual.images import classify, deep_pairs, pair_files

IMG = {"type": "image", "format": "PNG", "width": 4, "height": 3, "mode": "RGB"}


def test_renames_pair_in_sorted_order_whatever_the_manifest_order():
    a = {"z.png": "m1", "a.png": "m1", "keep.png": "k", "gone.png": "g"}
    b = {"keep.png": "k", "new/b.png": "m1", "new/a.png": "m1", "new/c.png": "m1"}
    for left, right in ((a, b), (dict(reversed(a.items())), dict(reversed(b.items())))):
        pairs = pair_files(left, right)
        assert pairs.renamed == [("a.png", "m1", "new/a.png", "m1"),
                                 ("z.png", "m1", "new/b.png", "m1")]
        assert pairs.added == [("new/c.png", "m1")] and pairs.removed == [("gone.png", "g")]
        assert pairs.unchanged == 1 and pairs.md5s() == {"m1", "g"}


def test_same_path_pairs_are_reencoded_changed_or_other():
    a = {"same.png": "a1", "new.png": "a2", "bad.png": "a3", "t.txt": "a4", "kind.png": "a5"}
    b = {"same.png": "b1", "new.png": "b2", "bad.png": "b3", "t.txt": "b4", "kind.png": "b5"}
    basic = {m: IMG for m in ("a1", "b1", "a2", "b2", "a3", "a5")}
    basic["b3"] = {"type": "image", "format": "PNG", "error": "broken header", "reason": "corrupt"}
    basic["a4"] = basic["b4"] = basic["b5"] = {"type": "other", "mime": None}
    pairs = pair_files(a, b)
    assert sorted(deep_pairs(pairs, basic)) == [("a1", "b1"), ("a2", "b2")]
    deep = {"a1": {"decoded": True, "pixels": "p"}, "b1": {"decoded": True, "pixels": "p"},
            "a2": {"decoded": True, "pixels": "p"}, "b2": {"decoded": True, "pixels": "q"}}
    summary, rows = classify(pairs, basic, deep, {"a1": 10, "b1": 12})
    got = {r["path"]: (r["status"], r["error"]) for r in rows}
    assert got == {"same.png": ("reencoded", None), "new.png": ("changed", None),
                   "bad.png": ("changed", "B: broken header"), "t.txt": ("other", None),
                   "kind.png": ("changed", None)}  # an image became something else
    assert summary == {"added": 0, "removed": 0, "renamed": 0, "reencoded": 1, "changed": 3,
                       "unchanged": 0, "other": 1}
    same = next(r for r in rows if r["path"] == "same.png")
    assert (same["a_size"], same["b_size"], same["a_image"]["width"]) == (10, 12, 4)
    assert next(r for r in rows if r["path"] == "bad.png")["b_image"] is None


def test_a_side_that_does_not_decode_is_changed_with_its_error():
    pairs = pair_files({"x.png": "a"}, {"x.png": "b"})
    deep = {"a": {"decoded": True, "pixels": "p"},
            "b": {"decoded": False, "error": "image file is truncated", "pixels": None}}
    _summary, [row] = classify(pairs, {"a": IMG, "b": IMG}, deep, {})
    assert (row["status"], row["error"]) == ("changed", "B: image file is truncated")


def test_one_side_only():
    summary, rows = classify(pair_files({}, {"x.png": "m", "y.txt": "n"}), {"m": IMG}, {}, {})
    assert summary["added"] == 2 and [r["b_image"] is not None for r in rows] == [True, False]
    summary, rows = classify(pair_files({"x.png": "m"}, {}), {"m": IMG}, {}, {})
    assert summary["removed"] == 1 and rows[0]["path"] == "x.png" and rows[0]["b_md5"] is None
