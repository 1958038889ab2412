"""`remove STAGE` leaves the same dvc.yaml, dvc.lock, .gitignore and workspace as `dvc remove`
on copies of one pipeline (stages of the root dvc.yaml and of a subdirectory's)."""
from __future__ import annotations

import shutil

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, dvc_pipeline
from tests.conftest import git

pytestmark = pytest.mark.compat

DVC_YAML = """\
# the pipeline (this comment stays)
stages:
  prepare:
    cmd: echo a > x.txt
    outs:
    - x.txt
  train:  # trains
    cmd: cat x.txt > y.txt && echo 1 > m.json
    deps:
    - x.txt
    outs:
    - y.txt
    metrics:
    - m.json:
        cache: false
"""
SUB_YAML = """\
stages:
  only:
    cmd: echo s > s.txt
    outs:
    - s.txt
"""


@pytest.fixture
def pipeline(tmp_path):
    return dvc_pipeline(tmp_path / "base", {"dvc.yaml": DVC_YAML, "sub/dvc.yaml": SUB_YAML})


@pytest.mark.parametrize("targets", [
    ["train"], ["train", "--outs"], ["prepare", "dvc.yaml:train"], ["sub/dvc.yaml:only", "--outs"],
    ["prepare"],
])
def test_remove_stage_as_dvc_does(pipeline, tmp_path, targets):
    ours = shutil.copytree(pipeline, tmp_path / "ours", symlinks=True)
    theirs = shutil.copytree(pipeline, tmp_path / "theirs", symlinks=True)
    dataver("remove", *targets, cwd=ours)
    dvc("remove", *targets, cwd=theirs)
    assert_same(ours, theirs)
    assert git(ours, "status", "--short") == git(theirs, "status", "--short") != ""


def test_unknown_stage_is_refused_and_nothing_changes(pipeline):
    before = git(pipeline, "status", "--short")
    for target in ("nope", "dvc.yaml:nope", "other/dvc.yaml:x"):
        proc = dataver("remove", "train", target, cwd=pipeline, ok=False)
        assert proc.returncode == 1 and proc.stderr.startswith("ERROR: ") and "Traceback" not in proc.stderr
    assert git(pipeline, "status", "--short") == before  # train was not removed either
