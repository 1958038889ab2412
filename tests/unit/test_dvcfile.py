"""`.dvc` files: byte-exact new files, round-trip edits, and errors that say where."""
from __future__ import annotations

import os

import pytest

from dataver import dvcfile
from dataver.errors import DataverWarning, DvcFileError, PathTooLongError
from dataver.hashing import LEGACY, MD5

A = "0cc175b9c0f1b6a831c399e269772661"
B = "92eb5ffee6ae2fec3ad71c777531578f"


def test_new_file_matches_dvc_bytes(tmp_path):
    path = str(tmp_path / "f.txt.dvc")
    dvcfile.save(path, dvcfile.new_document(dvcfile.new_out_map("f.txt", A, 6, None, False)))
    assert open(path).read() == f"outs:\n- md5: {A}\n  size: 6\n  hash: md5\n  path: f.txt\n"
    dvcfile.save(path, dvcfile.new_document(dvcfile.new_out_map("run.sh", A, 6, None, True)))
    assert open(path).read() == f"outs:\n- md5: {A}\n  size: 6\n  isexec: true\n  hash: md5\n  path: run.sh\n"
    dvcfile.save(path, dvcfile.new_document(dvcfile.new_out_map("data", A + ".dir", 9, 2, False)))
    assert open(path).read() == (f"outs:\n- md5: {A}.dir\n  size: 9\n  nfiles: 2\n  hash: md5\n"
                                 "  path: data\n")
    assert os.listdir(tmp_path) == ["f.txt.dvc"]  # no temp file left


def test_edit_keeps_comments_unknown_keys_and_order(tmp_path):
    text = (
        "# dataset of cats\n"
        "desc: cat pictures  # inline comment\n"
        "outs:\n"
        "- md5: " + A + ".dir\n"
        "  size: 10\n"
        "  nfiles: 2\n"
        "  hash: md5\n"
        "  path: cats\n"
        "  remote: backup\n"
        "  push: false\n"
        "meta:\n"
        "  owner: me\n"
    )
    path = tmp_path / "cats.dvc"
    path.write_text(text)
    dfile = dvcfile.load(str(path))
    out = dfile.outs[0]
    assert (out.md5, out.size, out.nfiles, out.hash_name, out.push, out.is_dir) == (A + ".dir", 10, 2, MD5, False, True)
    dvcfile.update_out_map(out.data, B + ".dir", 12, 3, False)
    dvcfile.save(str(path), dfile.data)
    assert path.read_text() == text.replace(A, B).replace("size: 10", "size: 12").replace("nfiles: 2", "nfiles: 3")


def test_unchanged_round_trip_is_byte_identical(tmp_path):
    text = f"outs:\n- md5: {A}\n  size: 1\n  hash: md5\n  path: a  # keep me\n  desc: x\n"
    path = tmp_path / "a.dvc"
    path.write_text(text)
    dvcfile.save(str(path), dvcfile.load(str(path)).data)
    assert path.read_text() == text


def test_legacy_entry_is_read_and_upgraded(tmp_path):
    path = tmp_path / "old.dvc"
    path.write_text(f"outs:\n- md5: {A}\n  size: 1\n  path: old\n  desc: legacy\n")
    out = dvcfile.load(str(path)).outs[0]
    assert out.hash_name == LEGACY
    dvcfile.update_out_map(out.data, B, 2, None, False)
    assert dvcfile.dumps({"outs": [out.data]}) == (
        f"outs:\n- md5: {B}\n  size: 2\n  path: old\n  desc: legacy\n  hash: md5\n")  # as DVC 3


def test_paths():
    assert dvcfile.dvcfile_for("/r/data") == "/r/data.dvc"
    assert dvcfile.is_dvcfile("x.dvc") and not dvcfile.is_dvcfile(".dvc") and not dvcfile.is_dvcfile("x.dvc.tmp")
    assert dvcfile.rel_out_path("/r/sub/x.dvc", "/r/sub/x") == "x"
    assert dvcfile.rel_out_path("/r/x.dvc", "/r/sub/deep/x") == "sub/deep/x"


@pytest.mark.parametrize("text, where", [
    ("outs: [\n", "invalid YAML at line"),
    ("outs:\n- md5: " + A + "\n  md5: " + A + "\n  path: x\n", "invalid YAML at line 3"),
    ("[1, 2]\n", "top level must be a mapping"),
    ("outs: {path: x}\n", "'outs' must be a list"),
    ("outs:\n- 5\n", "outs[0] must be a mapping"),
    ("outs:\n- md5: xyz\n  path: x\n", "outs[0].md5"),
    ("outs:\n- size: -1\n  path: x\n", "outs[0].size"),
    ("outs:\n- size: true\n  path: x\n", "outs[0].size"),
    ("outs:\n- nfiles: 1.5\n  path: x\n", "outs[0].nfiles"),
    ("outs:\n- path: x\n- path: /abs\n", "outs[1].path"),
    ("outs:\n- md5: " + A + "\n", "outs[0].path"),
    ("outs:\n- path: x\n  hash: sha256\n", "outs[0].hash"),
    ("outs:\n- path: x\n  cache: sometimes\n", "outs[0].cache"),
    ("deps: 5\n", "'deps' must be a list"),
])
def test_errors_say_which_file_and_where(tmp_path, text, where):
    path = tmp_path / "bad.dvc"
    path.write_text(text)
    with pytest.raises(DvcFileError) as info:
        dvcfile.load(str(path))
    message = str(info.value)
    assert str(path) in message and where in message and "\n" not in message


def test_not_utf8_and_loads_from_bytes(tmp_path):
    with pytest.raises(DvcFileError, match="UTF-8"):
        dvcfile.loads(b"outs:\n- path: \xff\n", "/r/x.dvc")
    dfile = dvcfile.loads(f"outs:\n- md5: {A}\n  path: sub/x\n".encode(), "/r/x.dvc")
    assert dfile.out_abspath(dfile.outs[0]) == os.path.normpath("/r/sub/x")


def test_empty_file_has_no_outputs(tmp_path):
    path = tmp_path / "empty.dvc"
    path.write_text("")
    for parse in (dvcfile.load, dvcfile.read):  # as DVC takes it, but most likely truncated
        with pytest.warns(DataverWarning, match="empty.dvc' is empty"):
            assert parse(str(path)).outs == []


# --- what DVC 3's schema accepts and refuses ---------------------------------------------------

# Every key DVC 3.67.1 accepts, at the top and in an output (see tests/compat/test_schema_compat.py)
EVERY_KEY = (
    "md5: abc\nwdir: .\nfrozen: true\nlocked: false\nalways_changed: false\ndesc: d\nmeta: 1\n"
    "deps:\n- path: src\n  repo:\n    url: u\n    rev_lock: r\n"
    f"outs:\n- md5: {A}\n  size: 1\n  nfiles: 1\n  isexec: true\n  hash: md5\n  path: x\n"
    "  checksum: c\n  etag: e\n  version_id: v\n  persist: true\n  cloud: {}\n  desc: d\n"
    "  type: t\n  labels: [a]\n  meta: {a: 1}\n  cache: true\n  remote: r\n  push: false\n"
    "  files: []\n  fs_config: {}\n"
)


@pytest.mark.parametrize("text, outs", [
    (EVERY_KEY, 1),
    ("outs:\n", 0),  # `outs:` with nothing: DVC takes it as no outputs
    ("deps:\nouts: []\nwdir:\n", 0),
])
def test_every_key_dvc_accepts_is_accepted(tmp_path, text, outs):
    path = tmp_path / "ok.dvc"
    path.write_text(text)
    for parse in (dvcfile.load, dvcfile.read):
        assert len(parse(str(path)).outs) == outs


@pytest.mark.parametrize("text, where", [
    ("foo: 1\nbar: 2\n", "unknown key 'foo'"),  # only unknown keys: was taken as tracking nothing
    ("cmd: echo\nouts: []\n", "unknown key 'cmd'"),
    (f"outs:\n- md5: {A}\n  path: x\n  foo: 1\n", "unknown key 'foo' in outs[0]"),
    (f"outs:\n- md5: {A}\n  path: x\n- foo: 1\n  path: y\n", "unknown key 'foo' in outs[1]"),
    ("deps:\n- path: a\n  remote: r\nouts: []\n", "unknown key 'remote' in deps[0]"),
    ("deps:\n- 3\nouts: []\n", "deps[0] must be a mapping"),
    ("wdir: 3\nouts: []\n", "'wdir' must be a string"),
    ("desc: 5\nouts: []\n", "'desc' must be a string"),
    ("frozen: yes please\nouts: []\n", "'frozen' must be true or false"),
    ("outs: ''\n", "'outs' must be a list"),
    (f"outs:\n- md5: {A}\n  path: x\n  persist: 1\n", "outs[0].persist must be true or false"),
    (f"outs:\n- md5: {A}\n  path: x\n  remote: [a]\n", "outs[0].remote must be a string"),
    (f"outs:\n- md5: {A}\n  path: x\n  labels: a\n", "outs[0].labels must be a list"),
    (f"outs:\n- md5: {A}\n  path: x\n- md5: {B}\n  path: ./x\n", "output 'x' is listed twice"),
])
def test_what_dvc_refuses_is_refused(tmp_path, text, where):
    path = tmp_path / "bad.dvc"
    path.write_text(text)
    for parse in (dvcfile.load, dvcfile.read):
        with pytest.raises(DvcFileError) as info:
            parse(str(path))
        message = str(info.value)
        assert str(path) in message and where in message and "\n" not in message


def test_name_too_long_for_a_dvc_file():
    dvcfile.check_name_fits("/r/" + "a" * 251, "x")  # a 255-byte .dvc name: fine
    with pytest.raises(PathTooLongError, match="252 bytes; at most 251"):
        dvcfile.check_name_fits("/r/" + "a" * 252, "x")
    with pytest.raises(PathTooLongError, match="at most 251"):
        dvcfile.check_name_fits("/r/" + "é" * 126, "x")  # bytes count, not characters
