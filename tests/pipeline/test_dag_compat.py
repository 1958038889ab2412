"""`dataver dag --dot/--mermaid/--md` byte for byte as `dvc dag` 3.67.1 prints them, on a
pipeline of branches, joins, a stage alone, a second dvc.yaml and a foreach group: the same
stages and edges in the same order, with and without a target (``--full`` too), with foreach
groups collapsed, as a graph of outputs (``-o``), and from a subfolder (names relative to it)."""
from __future__ import annotations

import pytest

from tests.compat.conftest import dataver, dvc
from tests.pipeline.test_metrics_params import _isolate
from tests.pipeline.test_revfiles_compat import dvc_repo

DVC_YAML = """\
stages:
  prep:
    cmd: echo > prep.txt
    deps: [raw.txt]
    outs: [prep.txt]
  feat_b:
    cmd: echo > b.txt
    deps: [prep.txt]
    outs: [b.txt]
  feat_a:
    cmd: echo > a.txt
    deps: [prep.txt]
    outs: [a.txt]
  train:
    cmd: echo > model.txt
    deps: [a.txt, b.txt]
    outs: [model.txt]
  lonely:
    cmd: echo > lonely.txt
    outs: [lonely.txt]
  eval:
    cmd: echo > eval.txt
    deps: [model.txt, a.txt, lonely.txt]
    outs: [eval.txt]
  apart:
    cmd: echo > apart.txt
    outs: [apart.txt]
  report:
    foreach: [x, y]
    do:
      cmd: echo > report-${item}.txt
      deps: [apart.txt]
      outs:
      - report-${item}.txt
"""
SUB_YAML = """\
stages:
  a:
    cmd: echo > x.txt
    deps: [../prep.txt]
    outs: [x.txt]
  B:
    cmd: echo > y.txt
    deps: [x.txt, ../eval.txt]
    outs: [y.txt]
"""


@pytest.fixture(scope="module")
def dag_repo(tmp_path_factory):
    home = tmp_path_factory.mktemp("dag")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, home)  # the module's repository outlives each test's isolated env
        yield dvc_repo(home / "repo", {"dvc.yaml": DVC_YAML, "sub/dvc.yaml": SUB_YAML, "raw.txt": "x\n"})


@pytest.mark.parametrize("args", [
    ("--dot",), ("--mermaid",), ("--md",), ("--dot", "eval"), ("--mermaid", "train"),
    ("--md", "sub/dvc.yaml:B"), ("--mermaid", "--full", "feat_b"), ("--dot", "--full", "train"),
    ("--dot", "--md", "report"), ("--mermaid", "report@y"), ("--mermaid", "--full", "apart"),
    ("--dot", "--collapse-foreach-matrix"), ("--mermaid", "--collapse-foreach-matrix"),
    ("--dot", "--collapse-foreach-matrix", "report"), ("--dot", "-o"), ("--mermaid", "-o"),
    ("--md", "-o", "eval"), ("--dot", "-o", "--full", "train"),
])
def test_dag_matches_dvc(dag_repo, args):
    ours = dataver("dag", *args, cwd=dag_repo).stdout
    assert ours == dvc("dag", *args, cwd=dag_repo).stdout
    assert ours.strip()


def test_mermaid_numbers_parts_in_turn(dag_repo):
    lines = dataver("dag", "--mermaid", cwd=dag_repo).stdout.splitlines()
    assert lines[1] == '\tnode1["eval"]' and lines[6] == '\tnode6["sub/dvc.yaml:B"]'
    assert lines[-5:] == ['\tnode9["apart"]', '\tnode10["report@x"]', '\tnode11["report@y"]',
                          "\tnode9-->node10", "\tnode9-->node11"]  # the second part, after the first


@pytest.mark.parametrize("args", [
    ("--dot",), ("--mermaid", "-o"), ("--md", "B"), ("--dot", "--full", "a"),
    ("--mermaid", "--collapse-foreach-matrix", "--full", "../dvc.yaml:apart"),
])
def test_dag_from_a_subfolder_names_as_dvc(dag_repo, args):
    """Stages of the cwd's dvc.yaml by name, others by their dvc.yaml's path from the cwd;
    outputs by their path from the cwd."""
    ours = dataver("dag", *args, cwd=dag_repo / "sub").stdout
    assert ours == dvc("dag", *args, cwd=dag_repo / "sub").stdout
    assert ours.strip() and "sub/" not in ours  # nothing named from the root


def test_outs_and_collapse_are_exclusive_as_in_dvc(dag_repo):
    ours = dataver("dag", "-o", "--collapse-foreach-matrix", cwd=dag_repo, ok=False)
    theirs = dvc("dag", "-o", "--collapse-foreach-matrix", cwd=dag_repo, ok=False)
    assert ours.returncode != 0 and theirs.returncode != 0 and not ours.stdout
    assert "`--outs` and `--collapse-foreach-matrix` are mutually exclusive" in ours.stderr
    assert "`--outs` and `--collapse-foreach-matrix` are mutually exclusive" in theirs.stderr
