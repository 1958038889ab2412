"""Unit tests: stage entries, params, graph order and refusals, dvc.lock entries."""
from __future__ import annotations

import pytest

from dataver import dvcfile
from dataver.pipeline import graph, lock, params
from dataver.pipeline.stage import OutSpec, PipelineStage, parse_param_args, stage_definition


def _stage(tmp_path, name, deps=(), outs=()):
    return PipelineStage(name, str(tmp_path / "dvc.yaml"), str(tmp_path),
                         {"cmd": "x", "deps": list(deps), "outs": list(outs)})


def test_stage_definition_matches_dvc_order():
    outs = [OutSpec("zz"), OutSpec("bb"), OutSpec("aa", cache=False), OutSpec("m1", "metrics"),
            OutSpec("p", persist=True)]
    entry = stage_definition("echo", ["d2", "d1"], outs,
                             parse_param_args(["other.yaml:", "params.yaml:x", "b,a"]))
    assert dvcfile.dumps({"stages": {"s": entry}}) == (
        "stages:\n  s:\n    cmd: echo\n    deps:\n    - d1\n    - d2\n    params:\n    - a\n"
        "    - b\n    - x\n    - other.yaml:\n    outs:\n    - aa:\n        cache: false\n    - bb\n"
        "    - p:\n        persist: true\n    - zz\n    metrics:\n    - m1\n")


def test_params_lookup_and_change(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  lr: 0.10\n  n: [1, 2]\n")
    got = params.values(str(tmp_path), [("params.yaml", ["train.lr", "train"])])
    assert got == {"params.yaml": {"train.lr": 0.1, "train": {"lr": 0.1, "n": [1, 2]}}}
    assert not params.changed(got, {"params.yaml": {"train.lr": 0.1, "train": {"lr": 0.1, "n": [1, 2]},
                                                    "gone": 1}}, [("params.yaml", ["train.lr", "train"])])
    assert params.changed(got, {"params.yaml": {"train.lr": 0.2}}, [("params.yaml", ["train.lr"])])
    with pytest.raises(params.ParamsError, match="missing"):
        params.values(str(tmp_path), [("params.yaml", ["nope"])])


def test_graph_order_is_dfs_postorder(tmp_path):
    a = _stage(tmp_path, "a", outs=["A"])
    b = _stage(tmp_path, "b", deps=["A"], outs=["B"])
    c = _stage(tmp_path, "c", deps=["A/x"], outs=["C"])
    d = _stage(tmp_path, "d", deps=["B", "C"], outs=["D"])
    g = graph.build([d, c, b, a])
    assert [s.name for s in graph.plan(g)] == ["a", "b", "c", "d"]
    assert [s.name for s in graph.plan(g, [b])] == ["a", "b"]
    assert [s.name for s in graph.plan(g, [b], downstream=True)] == ["b", "d"]
    assert [s.name for s in graph.plan(g, [d], single=True)] == ["d"]


def test_graph_refuses_cycles_and_duplicate_outputs(tmp_path):
    with pytest.raises(graph.PipelineError, match="cycle"):
        graph.build([_stage(tmp_path, "a", deps=["B"], outs=["A"]),
                     _stage(tmp_path, "b", deps=["A"], outs=["B"])])
    with pytest.raises(graph.PipelineError, match="specified in stages 'a' and 'b'"):
        graph.build([_stage(tmp_path, "a", outs=["A"]), _stage(tmp_path, "b", outs=["A"])])
    with pytest.raises(graph.PipelineError, match="inside"):
        graph.build([_stage(tmp_path, "a", outs=["A"]), _stage(tmp_path, "b", outs=["A/b"])])


def test_lock_entry_layout(tmp_path):
    entry = lock.stage_entry("c", [lock.hash_entry("z", "a0" * 16, 1, None, False),
                                   lock.hash_entry("a", "b1" * 16 + ".dir", 2, 1, False)],
                             {"o.yaml": {"b": 1}, "params.yaml": {"y": 2, "x": 1}},
                             [lock.hash_entry("m", "c2" * 16, 3, None, True)])
    path = tmp_path / "dvc.lock"
    assert lock.write(str(path), "s", entry)
    assert not lock.write(str(path), "s", entry)
    assert path.read_text() == (
        "schema: '2.0'\nstages:\n  s:\n    cmd: c\n    deps:\n    - path: a\n      hash: md5\n"
        f"      md5: {'b1' * 16}.dir\n      size: 2\n      nfiles: 1\n    - path: z\n      hash: md5\n"
        f"      md5: {'a0' * 16}\n      size: 1\n    params:\n      params.yaml:\n        x: 1\n"
        "        y: 2\n      o.yaml:\n        b: 1\n    outs:\n    - path: m\n      hash: md5\n"
        f"      md5: {'c2' * 16}\n      size: 3\n      isexec: true\n")


def test_a_second_status_in_one_process_sees_a_changed_dependency(repo_dir):
    """The verified-dependency memo is per call: a later call sees edits made in between."""
    from dataver.repo import Repo
    from tests.conftest import run_dvc

    (repo_dir / "data").mkdir()
    (repo_dir / "data" / "a.txt").write_text("a")
    (repo_dir / "dvc.yaml").write_text(
        "stages:\n  one:\n    cmd: cp data/a.txt o1\n    deps:\n    - data\n    outs:\n    - o1\n"
        "  two:\n    cmd: cp data/a.txt o2\n    deps:\n    - data\n    outs:\n    - o2\n")
    with Repo() as repo:
        assert repo.repro() and repo.status() == {}
        (repo_dir / "data" / "a.txt").write_text("changed")
        changed = repo.status()
    assert set(changed) == {"one", "two"}
    assert run_dvc("status", "--json", cwd=repo_dir).stdout.strip().startswith('{"one"')
