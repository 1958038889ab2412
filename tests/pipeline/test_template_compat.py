"""Compat with real DVC 3.67.1 on templated pipelines (vars, ${...}, foreach over a list and a
dict, matrix, a sub-directory dvc.yaml with its own params.yaml and a wdir): byte-identical
dvc.lock files, each tool sees the other's result as up to date, and bad templating fails in
both with the same message and nothing written."""
from __future__ import annotations

import pytest

from tests.compat.conftest import dataver, dvc, make_tree
from tests.conftest import git

FILES = {
    "params.yaml": "models: [small, large]\nsizes:\n  a: 1\n  b: 2\ntrain:\n  epochs: 3\n  lr: 1e-3\n",
    "custom.yaml": "prefix: out\nunused: 1\n",
    "dvc.yaml": (
        "vars:\n  - custom.yaml:prefix\n  - extra: 7\n"
        "stages:\n"
        "  gen:\n    foreach: ${models}\n    do:\n"
        "      cmd: echo ${item} ${train.epochs} ${train.lr} > ${prefix}-${item}.txt\n"
        "      params:\n      - train.epochs\n"
        "      outs:\n      - ${prefix}-${item}.txt\n"
        "  size:\n    foreach: ${sizes}\n    do:\n"
        "      cmd: echo ${key} ${item} ${extra} ${train} > size-${key}.txt\n"
        "      deps:\n      - out-small.txt\n"
        "      outs:\n      - size-${key}.txt:\n          cache: false\n"
        "  mx:\n    matrix:\n      m: ${models}\n      n: [1, 2]\n"
        "    cmd: cat out-${item.m}.txt > mx-${item.m}-${item.n}.txt\n"
        "    deps:\n    - out-${item.m}.txt\n"
        "    outs:\n    - mx-${item.m}-${item.n}.txt\n"),
    "sub/params.yaml": "level: 5\n",
    "sub/work/.keep": "",
    "sub/dvc.yaml": (
        "stages:\n  build:\n    foreach: [x, y]\n    do:\n      wdir: work\n"
        "      cmd: echo ${item} ${level} '\\${HOME}' > built-${item}.txt\n"
        "      outs:\n      - built-${item}.txt\n"),
}
LOCKS = ("dvc.lock", "sub/dvc.lock")


def _repo(path, tool, files=FILES):
    path.mkdir()
    git(path, "init", "-q")
    tool("init", cwd=path)
    make_tree(path, files)
    return path


def _repro(tool, root, sub: bool = True):
    """Every stage of both dvc.yaml files. The sub-directory's stages one by one: given a
    target (here the cwd's dvc.yaml), DVC orders unrelated stages by hash, differently per run."""
    tool("repro", cwd=root)
    for name in ("build@x", "build@y") if sub else ():
        tool("repro", name, cwd=root / "sub")


def _locks(root) -> dict:
    return {rel: (root / rel).read_bytes() if (root / rel).exists() else None for rel in LOCKS}


def _entries(root) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load((root / "dvc.lock").read_bytes())["stages"]


@pytest.fixture
def pair(tmp_path):
    return _repo(tmp_path / "dv", dataver), _repo(tmp_path / "dvc", dvc)


def test_templated_repro_matches_dvc_both_ways(pair):
    ours, theirs = pair
    _repro(dataver, ours)
    _repro(dvc, theirs)
    assert _locks(ours) == _locks(theirs)
    lock = (ours / "dvc.lock").read_text()
    assert "gen@small:" in lock and "size@b:" in lock and "mx@large-2:" in lock
    assert "cmd: echo small 3 0.001 > out-small.txt" in lock
    assert (ours / "size-a.txt").read_text() == "a 1 7 --epochs 3 --lr 0.001\n"
    assert (ours / "sub" / "work" / "built-y.txt").read_text() == "y 5 ${HOME}\n"
    for rel in ("out-large.txt", "mx-small-1.txt", "sub/work/built-x.txt", ".gitignore",
                "sub/work/.gitignore"):
        assert (ours / rel).read_bytes() == (theirs / rel).read_bytes(), rel
    # each tool sees the other's result as up to date (`dvc status` looks at every dvc.yaml)
    for root in (ours, theirs):
        assert "up to date" in dvc("status", cwd=root).stdout
        assert "Running stage" not in dataver("repro", cwd=root).stdout
        out = dataver("repro", "build@x", "build@y", cwd=root / "sub").stdout
        assert "Running stage" not in out and "build@y' didn't change" in out


def test_param_change_reruns_the_same_generated_stages(pair):
    ours, theirs = pair
    _repro(dvc, ours, sub=False)
    _repro(dataver, theirs, sub=False)
    for root in (ours, theirs):
        (root / "params.yaml").write_text(FILES["params.yaml"].replace("epochs: 3", "epochs: 4"))
    out = dataver("repro", cwd=ours).stdout
    assert "Running stage 'gen@small'" in out and "Running stage 'size@a'" in out
    assert "Stage 'mx@small-1' didn't change" not in out  # its dep out-small.txt changed
    dvc("repro", cwd=theirs)
    assert _locks(ours) == _locks(theirs)
    assert "up to date" in dvc("status", "dvc.yaml", cwd=ours).stdout  # sub/ never ran here


def test_targets_and_dag_name_generated_stages(pair):
    ours, theirs = pair
    out = dataver("repro", "gen", cwd=ours).stdout
    assert "Running stage 'gen@small'" in out and "Running stage 'gen@large'" in out
    assert "size@" not in out
    out = dataver("repro", "mx@large-2", cwd=ours).stdout
    assert "Running stage 'mx@large-2'" in out and "mx@large-1" not in out
    dvc("repro", "gen", cwd=theirs)
    dvc("repro", "mx@large-2", cwd=theirs)
    # the same entries; their order is not compared: for a target DVC orders unrelated stages
    # by hash, differently from run to run
    assert _entries(ours) == _entries(theirs)
    assert sorted(_entries(ours)) == ["gen@large", "gen@small", "mx@large-2"]
    dag = dataver("dag", "--dot", cwd=ours).stdout
    assert '"gen@small" -> "mx@small-1";' in dag and '"sub/dvc.yaml:build@y";' in dag
    # stage add beside templated stages writes what dvc writes, and sees the generated outputs
    for tool, root in ((dataver, ours), (dvc, theirs)):
        tool("stage", "add", "-n", "extra", "-d", "out-small.txt", "-o", "extra.txt",
             "cat out-small.txt > extra.txt", cwd=root)
    assert (ours / "dvc.yaml").read_bytes() == (theirs / "dvc.yaml").read_bytes()
    clash = dataver("stage", "add", "-n", "clash", "-o", "out-large.txt", "true", cwd=ours, ok=False)
    assert "out-large.txt" in clash.stderr and "gen@large" in clash.stderr


@pytest.mark.parametrize("edit, expected", [
    (("${extra}", "${nope}"), "failed to parse 'stages.size@a.cmd' in 'dvc.yaml': Could not find 'nope'"),
    (("foreach: ${sizes}", "foreach: ${train.epochs}"),
     "failed to resolve 'stages.size.foreach' in 'dvc.yaml': expected list/dictionary, got int"),
    (("- extra: 7", "- models: 7"),
     "failed to parse 'vars' in 'dvc.yaml': cannot redefine 'models' from 'vars[1]' as it already "
     "exists in 'params.yaml'"),
])
def test_bad_templating_fails_like_dvc_and_writes_nothing(tmp_path, edit, expected):
    files = {**FILES, "dvc.yaml": FILES["dvc.yaml"].replace(*edit)}
    ours, theirs = _repo(tmp_path / "dv", dataver, files), _repo(tmp_path / "dvc", dvc, files)
    mine = dataver("repro", cwd=ours, ok=False)
    real = dvc("repro", cwd=theirs, ok=False)
    assert mine.returncode != 0 and real.returncode != 0
    assert expected in " ".join(real.stderr.split())  # DVC may break the line after the colon
    lines = mine.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in mine.stderr
    assert not (ours / "dvc.lock").exists() and not (ours / "out-small.txt").exists()
