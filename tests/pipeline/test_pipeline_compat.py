"""Compat with real DVC 3.67.1: the same `stage add` bytes; on a pipeline in the shape of DVC's
docs (prepare -> featurize -> train -> evaluate, params.yaml, metrics), byte-identical dvc.lock
and cache, and each tool sees the other's result as up to date."""
from __future__ import annotations

import pytest

from tests.compat.conftest import dataver, dvc, snapshot
from tests.conftest import git

SCRIPTS = {
    "src/prepare.py": "import sys, os\nos.makedirs('data/prepared', exist_ok=True)\n"
                      "lines = open('data/data.xml').read().splitlines()\n"
                      "open('data/prepared/train.tsv','w').write('\\n'.join(lines[:2]))\n"
                      "open('data/prepared/test.tsv','w').write('\\n'.join(lines[2:]))\n",
    "src/featurize.py": "import os\nos.makedirs('data/features', exist_ok=True)\n"
                        "for n in ('train', 'test'):\n"
                        "    open(f'data/features/{n}.pkl','w').write(open(f'data/prepared/{n}.tsv').read().upper())\n",
    "src/train.py": "open('model.pkl','w').write(open('data/features/train.pkl').read()[::-1])\n",
    "src/evaluate.py": "import json\njson.dump({'avg_prec': 0.9, 'roc_auc': 0.8}, open('eval/metrics.json','w'))\n",
}
PARAMS = ("prepare:\n  split: 0.20\n  seed: 20170428\nfeaturize:\n  max_features: 100\n  ngrams: 1\n"
          "train:\n  seed: 20170428\n  n_est: 50\n  min_split: 0.01\n")


def _stages(tool, root, py):
    tool("stage", "add", "-n", "prepare", "-p", "prepare.seed,prepare.split", "-d", "src/prepare.py",
         "-d", "data/data.xml", "-o", "data/prepared", f"{py} src/prepare.py data/data.xml", cwd=root)
    tool("stage", "add", "-n", "featurize", "-p", "featurize.max_features,featurize.ngrams",
         "-d", "src/featurize.py", "-d", "data/prepared", "-o", "data/features",
         f"{py} src/featurize.py data/prepared data/features", cwd=root)
    tool("stage", "add", "-n", "train", "-p", "train", "-d", "src/train.py", "-d", "data/features",
         "-o", "model.pkl", f"{py} src/train.py data/features model.pkl", cwd=root)
    tool("stage", "add", "-n", "evaluate", "-d", "src/evaluate.py", "-d", "model.pkl",
         "-d", "data/features", "-M", "eval/metrics.json", "-w", ".",
         f"mkdir -p eval && {py} src/evaluate.py model.pkl data/features", cwd=root)


def _repo(path, tool, py):
    path.mkdir()
    git(path, "init", "-q")
    tool("init", cwd=path)
    for rel, text in SCRIPTS.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    (path / "data").mkdir(exist_ok=True)
    (path / "data" / "data.xml").write_text("<a/>\n<b/>\n<c/>\n")
    (path / "params.yaml").write_text(PARAMS)
    _stages(tool, path, py)
    return path


@pytest.fixture
def pair(tmp_path):
    return _repo(tmp_path / "dv", dataver, "python3"), _repo(tmp_path / "dvc", dvc, "python3")


def _shared(root):
    return {k: v for k, v in snapshot(root).items()
            if k in ("dvc.yaml", "dvc.lock", ".gitignore", "data/.gitignore")
            or k.startswith((".dvc/cache/files", ".dvc/cache/runs"))}


def test_stage_add_and_repro_match_dvc(pair):
    ours, theirs = pair
    assert (ours / "dvc.yaml").read_bytes() == (theirs / "dvc.yaml").read_bytes()
    dataver("repro", cwd=ours)
    dvc("repro", cwd=theirs)
    assert (ours / "dvc.lock").read_bytes() == (theirs / "dvc.lock").read_bytes()
    # the same run-cache entries too, and the uncached metrics file's object stored for them
    assert _shared(ours) == _shared(theirs)
    assert ".dvc/cache/files/md5/af/4ef8aac770b781df5983e7ea784707" in _shared(ours)
    # each tool sees the other's result as up to date
    assert "up to date" in dvc("status", cwd=ours).stdout
    assert "up to date" in dataver("repro", cwd=theirs).stdout
    # a param change re-runs from featurize on, with the same lock in both tools
    for root in (ours, theirs):
        (root / "params.yaml").write_text(PARAMS.replace("ngrams: 1", "ngrams: 2"))
    out = dataver("repro", cwd=ours).stdout
    assert "Stage 'prepare' didn't change" in out and "Running stage 'featurize'" in out
    dvc("repro", cwd=theirs)
    assert (ours / "dvc.lock").read_bytes() == (theirs / "dvc.lock").read_bytes()
    assert "up to date" in dvc("status", cwd=ours).stdout


def test_dataver_repro_after_dvc_edits_lock_in_place(pair):
    ours, theirs = pair
    dvc("repro", "train", cwd=theirs)
    (theirs / "data" / "data.xml").write_text("<a/>\n<b/>\n<d/>\n")
    dataver("repro", cwd=theirs)
    lock_after_dataver = (theirs / "dvc.lock").read_bytes()
    assert "up to date" in dvc("status", cwd=theirs).stdout
    dvc("repro", "-f", cwd=theirs)
    assert (theirs / "dvc.lock").read_bytes() == lock_after_dataver
