"""`.dvc` fields of older or hand-edited files: ``wdir``, per-output ``remote``, and the key order
of a `.dvc` file written anew (as by `move`)."""
from __future__ import annotations

import os

import pytest

from dataver import dvcfile
from dataver.errors import DvcFileError
from dataver.ops.sync import by_remote
from dataver.transfer import Used

OUT = "- md5: b1946ac92492d2347c6235b4d2611184\n  size: 6\n  hash: md5\n  path: data/f.txt\n"


def test_wdir_moves_the_base_of_output_paths():
    dfile = dvcfile.reads("wdir: ../..\nouts:\n" + OUT, "/r/meta/x/f.dvc")
    assert dfile.wdir == "/r"
    assert dfile.out_abspath(dfile.outs[0]) == os.path.normpath("/r/data/f.txt")
    assert dvcfile.reads("outs:\n" + OUT, "/r/meta/f.dvc").wdir == "/r/meta"


@pytest.mark.parametrize("wdir", ["/abs", "a\\\\b"])
def test_wdir_must_be_a_relative_folder(wdir):
    with pytest.raises(DvcFileError, match="'wdir'"):
        dvcfile.reads(f'wdir: "{wdir}"\nouts:\n' + OUT, "/r/f.dvc")


def test_output_remote_is_read():
    dfile = dvcfile.reads("outs:\n" + OUT + "  remote: r2\n", "/r/f.dvc")
    assert dfile.outs[0].remote == "r2"


def test_by_remote_follows_dvc():
    own, plain = Used("a", "0" * 32, remote="r2"), Used("b", "1" * 32)
    assert by_remote([own, plain], None) == {None: [plain], "r2": [own]}
    assert by_remote([own, plain], "r2") == {"r2": [own, plain]}
    assert by_remote([own, plain], "r3") == {"r3": [plain]}  # another remote's output: left out
    assert by_remote([own], "r3") == {"r3": []}


def test_fresh_document_uses_dvc_key_order():
    doc = dvcfile.loads("frozen: false\nwdir: ..\nouts:\n- path: a\n  cache: true\n  desc: d\n"
                        "  md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\ndesc: top\n", "/r/f.dvc").data
    text = dvcfile.dumps(dvcfile.fresh_document(doc, doc["outs"]))
    assert text == ("desc: top\nouts:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n"
                    "  path: a\n  desc: d\n")
