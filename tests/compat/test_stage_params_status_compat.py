"""`status` reports a stage's changed params as `dvc status` does (text and --json): keys
modified, deleted or new, a whole params file deleted or never locked, files beside a
subdirectory's dvc.yaml, and run from a subdirectory."""
from __future__ import annotations

import pytest

from tests.compat.conftest import dataver, dvc, dvc_pipeline

pytestmark = pytest.mark.compat

PARAMS = "train:\n  lr: 0.1\n  epochs: 3\nseed: 1\n"
DVC_YAML = """\
stages:
  train:
    cmd: echo t > model.txt
    params:
    - seed
    - train.epochs
    - train.lr
    - extra.yaml:
    outs:
    - model.txt
  plain:
    cmd: echo p > plain.txt
    outs:
    - plain.txt
"""
SUB_YAML = """\
stages:
  sub:
    cmd: echo s > s.txt
    wdir: work
    params:
    - k
    outs:
    - s.txt
"""


@pytest.fixture
def pipeline(tmp_path):
    return dvc_pipeline(tmp_path / "repo", {
        "params.yaml": PARAMS, "extra.yaml": "a: 1\nb: [1, 2]\n", "dvc.yaml": DVC_YAML,
        "sub/work/params.yaml": "k: x\n", "sub/dvc.yaml": SUB_YAML})


def both(root, *args, cwd=None):
    where = cwd or root
    ours, theirs = dataver("status", *args, cwd=where), dvc("status", *args, cwd=where)
    return ours.stdout, theirs.stdout


CHANGES = {
    "modified and deleted keys": {"params.yaml": "train:\n  lr: 0.2\nseed: 1\n"},
    "whole file: new, deleted and modified keys": {"extra.yaml": "a: 2\nc: 3\n"},
    "a list value changed": {"extra.yaml": "a: 1\nb: [1, 3]\n"},
    "params file deleted": {"params.yaml": None},
    "subdirectory stage with wdir": {"sub/work/params.yaml": "k: y\n"},
    "nothing changed": {},
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_params_in_stage_status_as_dvc(pipeline, change):
    for rel, text in CHANGES[change].items():
        if text is None:
            (pipeline / rel).unlink()
        else:
            (pipeline / rel).write_text(text)
    ours, theirs = both(pipeline, "--json")
    assert ours == theirs
    ours, theirs = both(pipeline)
    assert ours == theirs
    if change != "nothing changed":
        assert "changed deps" in ours


def test_params_of_a_never_run_stage_and_from_a_subdirectory(pipeline):
    (pipeline / "dvc.lock").unlink()
    (pipeline / "sub" / "work" / "params.yaml").write_text("k: z\n")
    ours, theirs = both(pipeline, "--json")
    assert ours == theirs
    ours, theirs = both(pipeline, "--json", cwd=pipeline / "sub")
    assert ours == theirs and "params.yaml" in ours
