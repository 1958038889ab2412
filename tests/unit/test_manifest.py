"""Directory manifests: canonical bytes, oids, and validation of untrusted manifests."""
from __future__ import annotations

import hashlib
import json

import pytest

from dataver.errors import CorruptObjectError, UnsafePathError
from dataver.manifest import Manifest, is_dir_oid, valid_oid

A, B = hashlib.md5(b"a").hexdigest(), hashlib.md5(b"b").hexdigest()


def test_empty_manifest_is_dvcs_empty_dir():
    assert Manifest({}).to_bytes() == b"[]"
    assert Manifest({}).oid == "d751713988987e9331980363e24189ce.dir"


def test_bytes_are_sorted_compact_json_without_newline():
    data = Manifest({"z.txt": A, "a/b.txt": B}).to_bytes()
    assert data == (f'[{{"md5": "{B}", "relpath": "a/b.txt"}}, '
                    f'{{"md5": "{A}", "relpath": "z.txt"}}]').encode()
    assert Manifest({"z.txt": A, "a/b.txt": B}).oid == hashlib.md5(data).hexdigest() + ".dir"


def test_sort_is_code_point_order():
    names = ["a/b", "a-b", "a.b", "a0", "B", "a", "é", "_x"]
    data = Manifest({n: A for n in names}).to_bytes()
    order = [item["relpath"] for item in json.loads(data)]
    assert order == sorted(names) == ["B", "_x", "a", "a-b", "a.b", "a/b", "a0", "é"]


def test_unicode_is_ascii_escaped():
    data = Manifest({"café/日本.jpg": A}).to_bytes()
    assert data == f'[{{"md5": "{A}", "relpath": "caf\\u00e9/\\u65e5\\u672c.jpg"}}]'.encode()
    assert data.isascii()
    assert Manifest.from_bytes(data, "x").entries == {"café/日本.jpg": A}


def test_round_trip():
    manifest = Manifest({"x/y.bin": A, "z": B})
    assert Manifest.from_bytes(manifest.to_bytes(), "where").entries == manifest.entries
    assert len(manifest) == 2


def test_oid_helpers():
    assert is_dir_oid(A + ".dir") and not is_dir_oid(A)
    assert valid_oid(A) and valid_oid(A + ".dir")
    for bad in (A.upper(), A[:-1], A + ".dirx", "../" + A[3:], None, 5, ""):
        assert not valid_oid(bad)


@pytest.mark.parametrize("items, error", [
    ([{"md5": A, "relpath": "../x"}], UnsafePathError),
    ([{"md5": A, "relpath": "/etc/x"}], UnsafePathError),
    ([{"md5": A, "relpath": "a\x00b"}], UnsafePathError),
    ([{"md5": A, "relpath": "a\\b"}], UnsafePathError),
    ([{"md5": A, "relpath": "a/./b"}], UnsafePathError),
    ([{"md5": A, "relpath": 7}], UnsafePathError),
    ([{"md5": "nothex", "relpath": "a"}], CorruptObjectError),
    ([{"relpath": "a"}], CorruptObjectError),
    (["a"], CorruptObjectError),
    ([{"md5": A + ".dir", "relpath": "a"}], CorruptObjectError),
    ([{"md5": A, "relpath": "a"}, {"md5": B, "relpath": "a"}], CorruptObjectError),
    ([{"md5": A, "relpath": "a"}, {"md5": B, "relpath": "a/b/c"}], CorruptObjectError),
    ({"md5": A, "relpath": "a"}, CorruptObjectError),
])
def test_untrusted_manifest_refused(items, error):
    with pytest.raises(error) as info:
        Manifest.from_bytes(json.dumps(items).encode(), "the-object")
    assert "the-object" in str(info.value)


@pytest.mark.parametrize("data", [b"", b"not json", b"\xff\xfe[]", b"[1,"])
def test_undecodable_manifest_refused(data):
    with pytest.raises(CorruptObjectError, match="not a directory manifest"):
        Manifest.from_bytes(data, "obj")
