"""`.dir` manifests are untrusted: the whole-manifest fast check must accept exactly what the
entry-by-entry check accepts, and bad manifests are refused either way."""
import json
import random

import pytest

from dataver import manifest as M
from dataver.errors import DataverError

GOOD = "0123456789abcdef0123456789abcdef"


def _random_items(rng: random.Random) -> list:
    pieces = ["a", "b", ".", "..", "/", "\\", "\x00", "C:", "", "é", " ", "x.dir", ":"]
    items = []
    for _ in range(rng.randrange(0, 4)):
        md5 = GOOD if rng.random() < 0.8 else rng.choice([GOOD + ".dir", GOOD.upper(), 5, None, GOOD[:-1]])
        rel = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 6)))
        if rng.random() < 0.1:
            rel = rng.choice([None, 3, ["a"]])
        item = {"md5": md5, "relpath": rel}
        if rng.random() < 0.05:
            item = rng.choice(["s", None, [1], {"md5": GOOD}])
        items.append(item)
    return items


def test_fast_check_never_accepts_what_the_slow_check_refuses():
    rng = random.Random(7)
    accepted_fast = refused = 0
    for _ in range(5000):
        items = _random_items(rng)
        fast = M._fast_entries(items)
        try:
            slow = M._checked_entries(items, "m")
        except DataverError:
            slow = None
            refused += 1
        if fast is not None:
            accepted_fast += 1
            assert fast == slow, items
    assert accepted_fast > 500 and refused > 500  # both paths were exercised


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\b", "a//b", "a/",
                                 "", "a\x00b", "..", ".", "a/./b", "a/."])
def test_bad_relpath_refused(rel):
    items = [{"md5": GOOD, "relpath": "ok/file"}, {"md5": GOOD, "relpath": rel}]
    with pytest.raises(DataverError):
        M.Manifest.from_bytes(json.dumps(items).encode(), "where")


def test_good_manifest_round_trips():
    entries = {"a/b.png": GOOD, "é/c d": "f" * 32, "..x/y..": "0" * 32}
    data = M.Manifest(entries).to_bytes()
    assert M.Manifest.from_bytes(data, "w").entries == entries


def test_bytes_are_those_of_json_dumps():
    entries = {"z": GOOD, "a/é\u2603.png": "f" * 32, 'q"uote\\back\nline': "0" * 32, "B": GOOD}
    items = [{"md5": entries[r], "relpath": r} for r in sorted(entries)]
    assert M.Manifest(entries).to_bytes() == json.dumps(items, sort_keys=True).encode("utf-8")
    assert M.Manifest({}).to_bytes() == b"[]"
    assert M.Manifest({}).oid == "d751713988987e9331980363e24189ce.dir"


@pytest.mark.parametrize("rels, clash", [
    (["a", "a-b/c", "a/b"], "a"),  # "a-b" sorts between "a" and "a/b"
    (["x/y", "x/y/z", "x/yy"], "x/y"),
    (["p", "p-q", "q/p"], None),
])
def test_file_and_folder_clash_found_both_ways(rels, clash):
    long = "L" * (M._LONG + 1)  # one long relpath sends the check the sorted way
    for extra in ([], [long]):
        data = json.dumps([{"md5": GOOD, "relpath": r} for r in rels + extra]).encode()
        if clash is None:
            M.Manifest.from_bytes(data, "m")
            continue
        with pytest.raises(DataverError, match=f"'{clash}' is both a file and a directory"):
            M.Manifest.from_bytes(data, "m")


def test_a_mebibyte_relpath_is_read_in_linear_time():
    # Every parent of a 500,000-folder relpath looked up one by one: hours. Now a blink.
    rel = "a/" * (1 << 19) + "f"
    data = json.dumps([{"md5": GOOD, "relpath": rel}, {"md5": GOOD, "relpath": "b"}]).encode()
    assert len(M.Manifest.from_bytes(data, "m")) == 2
    with pytest.raises(DataverError, match="'a/a' is both a file and a directory"):
        M.Manifest.from_bytes(data[:-1] + b', {"md5": "%s", "relpath": "a/a"}]' % GOOD.encode(), "m")
    with pytest.raises(DataverError, match=r"^m: duplicate entry 'a/a/a.*\.\.\..*a/f'$"):
        M.Manifest.from_bytes(data[:-1] + b', {"md5": "%s", "relpath": "%s"}]'
                              % (GOOD.encode(), rel.encode()), "m")  # a short message all the same
