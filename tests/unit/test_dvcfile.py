"""`.dvc` files: byte-exact new files, round-trip edits, and errors that say where."""
from __future__ import annotations

import os

import pytest

from dataver import dvcfile
from dataver.errors import DvcFileError
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
    assert dvcfile.load(str(path)).outs == []
