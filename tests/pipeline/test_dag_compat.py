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


@pytest.fixture(scope="module")
def with_data_sources(tmp_path_factory):
    """A pipeline fed by `.dvc` files: one used by two stages, one in a subfolder used by a
    stage there, one that nothing uses, and an import of a file outside the repository."""
    home = tmp_path_factory.mktemp("dag-sources")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, home)
        (home / "outside.txt").write_text("o\n")
        root = dvc_repo(home / "repo", {
            "raw.txt": "r\n", "sub/labels.txt": "l\n", "zz/notes.txt": "n\n",
            "dvc.yaml": "stages:\n  prep:\n    cmd: echo > prep.txt\n    deps: [raw.txt, ext.txt]\n"
                        "    outs: [prep.txt]\n  eval:\n    cmd: echo > eval.txt\n"
                        "    deps: [prep.txt, raw.txt]\n    outs: [eval.txt]\n",
            "sub/dvc.yaml": "stages:\n  join:\n    cmd: echo > j.txt\n    deps: [labels.txt, ../prep.txt]\n"
                            "    outs: [j.txt]\n"})
        for target in ("raw.txt", "sub/labels.txt", "zz/notes.txt"):
            dvc("add", "-q", target, cwd=root)
        dvc("import-url", "-q", str(home / "outside.txt"), "ext.txt", cwd=root)
        yield root


@pytest.mark.parametrize("args,cwd", [
    (("--dot",), ""), (("--mermaid",), ""), (("--dot", "-o"), ""), (("--md", "eval"), ""),
    (("--dot", "raw.txt.dvc"), ""), (("--mermaid", "--full", "raw.txt.dvc"), ""),
    (("--dot", "--full", "zz/notes.txt.dvc"), ""), (("--dot",), "sub"), (("--mermaid", "-o"), "sub"),
    (("--dot", "prep.txt"), ""), (("--mermaid", "raw.txt"), ""), (("--dot", "j.txt"), "sub"),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else v or "root")
def test_dvc_files_are_nodes_as_in_dvc(with_data_sources, args, cwd):
    where = with_data_sources / cwd
    ours = dataver("dag", *args, cwd=where).stdout
    assert ours == dvc("dag", *args, cwd=where).stdout
    assert ".dvc" in ours or "-o" in args


def test_a_target_that_is_nothing_is_one_line(with_data_sources):
    proc = dataver("dag", "nope.txt", cwd=with_data_sources, ok=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "'nope.txt' is neither a stage nor an output" in proc.stderr


def _boxes(drawing: str) -> dict[str, tuple[int, int, int]]:
    """{label: (row, first column, last column)} of the boxes of a drawing."""
    lines = drawing.splitlines()
    found = {}
    for row, line in enumerate(lines):
        for start in [i for i, ch in enumerate(line) if ch == "|" and line[i + 1:i + 2] == " "]:
            end = line.find(" |", start + 2)
            border = "+" + "-" * (end - start) + "+"
            if end > 0 and row and lines[row - 1][start:end + 2] == border == lines[row + 1][start:end + 2]:
                found[line[start + 2:end]] = (row, start, end + 1)
    return found


def _joined(drawing: str, upper, lower) -> bool:
    """Whether a run of ``*`` leads from just under box ``upper`` to just above box ``lower``."""
    grid = drawing.splitlines()
    cell = lambda r, c: grid[r][c] if 0 <= r < len(grid) and 0 <= c < len(grid[r]) else " "
    start = [(upper[0] + 2, c) for c in range(upper[1], upper[2] + 1) if cell(upper[0] + 2, c) == "*"]
    goal = {(lower[0] - 2, c) for c in range(lower[1], lower[2] + 1)}
    seen, todo = set(start), list(start)
    while todo:
        r, c = todo.pop()
        if (r, c) in goal:
            return True
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                nxt = (r + dr, c + dc)
                if nxt not in seen and cell(*nxt) == "*":
                    seen.add(nxt)
                    todo.append(nxt)
    return False


@pytest.mark.parametrize("args", [(), ("-o",)], ids=["stages", "outs"])
def test_drawing_has_every_node_and_edge(with_data_sources, args):
    """The default output draws each node once, every producer above its users and a line of
    `*` between them (what DVC's drawing shows, not its exact characters)."""
    drawing = dataver("dag", *args, cwd=with_data_sources).stdout
    dot = dataver("dag", "--dot", *args, cwd=with_data_sources).stdout.splitlines()
    nodes = [line[1:-2] for line in dot if line.endswith('";') and " -> " not in line]
    edges = [tuple(part.strip('";') for part in line.split(" -> ")) for line in dot if " -> " in line]
    boxes = _boxes(drawing)
    assert sorted(boxes) == sorted(nodes) and all(drawing.count(f"| {n} |") == 1 for n in nodes)
    assert edges
    for producer, user in edges:
        assert boxes[producer][0] < boxes[user][0], (producer, user)
        assert _joined(drawing, boxes[producer], boxes[user]), (producer, user, drawing)
    assert "zz/notes.txt.dvc" in boxes or "zz/notes.txt" in boxes  # a node with no edge is drawn


def test_drawing_of_a_long_chain_and_a_wide_fan(tmp_path):
    """Edges that skip layers run between boxes, not through them."""
    stages = "".join(f"  s{i}:\n    cmd: echo\n    deps: [f{i - 1}.txt]\n    outs: [f{i}.txt]\n"
                     for i in range(1, 8))
    stages += "".join(f"  w{i}:\n    cmd: echo\n    deps: [f0.txt, f6.txt]\n    outs: [w{i}.txt]\n"
                      for i in range(6))
    root = dvc_repo(tmp_path / "repo", {"dvc.yaml": "stages:\n  s0:\n    cmd: echo\n    outs: [f0.txt]\n" + stages})
    drawing = dataver("dag", cwd=root).stdout
    boxes = _boxes(drawing)
    assert len(boxes) == 14
    for i in range(6):
        assert _joined(drawing, boxes["s0"], boxes[f"w{i}"]) and _joined(drawing, boxes["s6"], boxes[f"w{i}"])
    for row, first, last in boxes.values():  # no `*` inside a box
        assert "*" not in drawing.splitlines()[row][first:last + 1]
