"""dvc.yaml / dvc.lock parsing (dataver.dvcfile.pipeline_loads)."""
from __future__ import annotations

import pytest

from dataver import dvcfile
from dataver.errors import DvcFileError
from dataver.hashing import LEGACY, MD5

YAML = """\
stages:
  prep:
    wdir: ..
    cmd: python prep.py
    deps:
    - raw
    - s3://bucket/remote-dep
    outs:
    - out.txt
    - big:
        cache: false
    metrics:
    - m.json:
        cache: false
  train:
    foreach: [a, b]
    do:
      cmd: train ${item}
      outs:
      - model-${item}.pt
  never:
    cmd: make
    outs:
    - nv.bin
"""
LOCK = """\
schema: '2.0'
stages:
  prep:
    cmd: python prep.py --old
    deps:
    - path: raw
      hash: md5
      md5: 0cc175b9c0f1b6a831c399e269772661
      size: 1
    outs:
    - path: out.txt
      hash: md5
      md5: 92eb5ffee6ae2fec3ad71c777531578f
      size: 1
    - path: big
      md5: 4a8a08f09d37b73795649038408b5f33.dir
      size: 3
      nfiles: 1
  train@a:
    cmd: train a
    outs:
    - path: model-a.pt
      hash: md5
      md5: 8277e0910d750195b448797616e091ad
      size: 1
"""


def stages(yaml=YAML, lock=LOCK, path="/repo/sub/dvc.yaml"):
    return {s.name: s for s in dvcfile.pipeline_loads(yaml, lock, path)}


def test_stages_with_lock_hashes_wdir_and_cache_flags():
    result = stages()
    assert list(result) == ["prep", "train@a", "never"]
    prep = result["prep"]
    assert prep.locked and prep.command_changed
    outs = {o.path: o for o in prep.outs}
    assert outs["../out.txt"].md5 == "92eb5ffee6ae2fec3ad71c777531578f" and outs["../out.txt"].cache
    assert outs["../big"].hash_name == LEGACY and outs["../big"].is_dir and not outs["../big"].cache
    assert outs["../m.json"].md5 is None and not outs["../m.json"].cache  # declared, not locked
    assert [d.path for d in prep.deps] == ["../raw"]  # the URL dependency is left out
    assert prep.out_abspath(outs["../out.txt"]) == "/repo/out.txt"
    assert [o.path for o in result["train@a"].outs] == ["model-a.pt"]
    assert result["train@a"].outs[0].hash_name == MD5
    never = result["never"]
    assert not never.locked and not never.command_changed and never.outs[0].md5 is None


def test_without_lock_file():
    result = stages(lock=None)
    assert not result["prep"].locked and "train@a" not in result
    assert all(o.md5 is None for o in result["prep"].outs)


def test_lock_schema_1_layout_is_read():
    lock1 = "prep:\n  cmd: python prep.py\n  outs:\n  - path: out.txt\n    md5: 92eb5ffee6ae2fec3ad71c777531578f\n"
    prep = stages(lock=lock1)["prep"]
    assert not prep.command_changed
    assert {o.path: o.md5 for o in prep.outs}["../out.txt"] == "92eb5ffee6ae2fec3ad71c777531578f"


@pytest.mark.parametrize("lock, error", [
    ("schema: '3.0'\nstages: {}\n", DvcFileError),
    ("schema: '2.0'\nstages: [1]\n", DvcFileError),
    ("schema: '2.0'\nstages:\n  prep:\n    outs: {}\n", DvcFileError),
    ("schema: '2.0'\nstages:\n  prep:\n    outs:\n    - path: x\n      md5: nothex\n", DvcFileError),
    ("schema: '2.0'\nstages:\n  prep:\n    outs:\n    - path: 'a\\\\b'\n", DvcFileError),
    ("{{{", DvcFileError),
])
def test_bad_lock_files_are_refused(lock, error):
    with pytest.raises(error) as info:
        stages(lock=lock)
    assert "dvc.lock" in str(info.value)


def test_bad_dvc_yaml_is_refused():
    with pytest.raises(DvcFileError) as info:
        stages(yaml="stages:\n  prep: 3\n")
    assert "dvc.yaml" in str(info.value) and "prep" in str(info.value)
