"""The one reader of dvc.yaml files and file contents at a revision or in the workspace
(pipeline/revfiles.py), against real DVC 3.67.1: `params diff`, `metrics show/diff` and `plots
diff` on a templated pipeline (a vars file, ${...} in paths and commands, foreach) across two
commits whose vars differ, each revision resolved with its own vars files (read from git);
cached plots read from the cache; dvc.yaml files in DVC's order; and `status` of templated
stages, resolved as DVC resolves them."""
from __future__ import annotations

import json

import pytest

from tests.compat.conftest import dataver, dvc, make_tree, status_json
from tests.conftest import git
from tests.pipeline.test_plots import _shape

GEN = ("import json, os, sys\n"
       "name, lr, folder = sys.argv[1:]\n"
       "os.makedirs(folder, exist_ok=True)\n"
       "json.dump({'acc': 1 - float(lr), 'model': name}, open(f'{folder}/{name}.json', 'w'))\n"
       "open(f'{folder}/{name}.csv', 'w').write(''.join(f'{i},{float(lr) * i}\\n' for i in range(3)))\n")
DVC_YAML = """\
vars:
  - custom.yaml
stages:
  train:
    foreach: ${models}
    do:
      cmd: python3 gen.py ${item} ${train.lr} ${folder}
      deps:
      - gen.py
      params:
      - train.lr
      - custom.yaml:
        - folder
      metrics:
      - ${folder}/${item}.json:
          cache: false
      plots:
      - ${folder}/${item}.csv:
          header: false
metrics:
- ${folder}/small.json
"""


def dvc_repo(root, files: dict):
    """A new git repository at ``root`` initialised by real DVC, holding ``files``."""
    root.mkdir()
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    make_tree(root, files)
    return root


@pytest.fixture
def templated(tmp_path):
    """Two commits made by real DVC; the second renames the output folder (a vars value) and
    changes the learning rate; the workspace changes it again without running anything."""
    root = dvc_repo(tmp_path / "repo", {"gen.py": GEN, "dvc.yaml": DVC_YAML})
    for number, (folder, lr) in enumerate((("eval", "0.1"), ("results", "0.25")), 1):
        make_tree(root, {"custom.yaml": f"folder: {folder}\n",
                         "params.yaml": f"models: [small, large]\ntrain:\n  lr: {lr}\n"})
        dvc("repro", "-q", cwd=root)
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"c{number}")
    (root / "params.yaml").write_text("models: [small, large]\ntrain:\n  lr: 0.5\n")
    return root


def _json(tool, root, *args):
    return json.loads(tool(*args, "--json", cwd=root).stdout)


def test_params_and_metrics_of_a_templated_pipeline_match_dvc(templated):
    for args in (("params", "diff", "HEAD~1"), ("params", "diff", "HEAD~1", "HEAD", "--all"),
                 ("metrics", "diff", "HEAD~1", "HEAD"), ("metrics", "show", "-A")):
        ours, theirs = _json(dataver, templated, *args), _json(dvc, templated, *args)
        assert ours == theirs, args
    diff = _json(dataver, templated, "params", "diff", "HEAD~1", "HEAD")
    assert diff["params.yaml"]["train.lr"] == {"old": 0.1, "new": 0.25, "diff": 0.15}
    assert diff["custom.yaml"]["folder"] == {"old": "eval", "new": "results"}
    metrics = _json(dataver, templated, "metrics", "diff", "HEAD~1", "HEAD")
    assert set(metrics) == {"eval/small.json", "eval/large.json", "results/small.json",
                            "results/large.json"}  # each revision's own folder
    shown = dataver("metrics", "show", cwd=templated).stdout
    assert shown == dvc("metrics", "show", cwd=templated).stdout and "results/large.json" in shown


def test_plots_of_a_templated_pipeline_match_dvc(templated):
    for revs in (("HEAD~1", "HEAD"), ("HEAD~1",)):
        ours = _json(dataver, templated, "plots", "diff", *revs, "-o", "ours")
        theirs = _json(dvc, templated, "plots", "diff", *revs, "-o", "theirs")
        assert _shape(ours) == _shape(theirs), revs
    assert set(ours["data"]) == {"eval/small.csv", "eval/large.csv", "results/small.csv",
                                 "results/large.csv"}
    rows = ours["data"]["eval/small.csv"][0]["content"]["data"]["values"]
    assert {r["rev"] for r in rows} == {"HEAD~1"} and rows[1]["1"] == "0.1"


# --- status of templated stages ---------------------------------------------------------------
STATUS_YAML = """\
stages:
  gen:
    foreach: ${models}
    do:
      cmd: echo ${item} ${train.lr} > out-${item}.txt
      outs:
      - out-${item}.txt
  single:
    cmd: echo ${train.epochs} '\\${HOME}' > single.txt
    deps:
    - out-a.txt
    outs:
    - single.txt
  grid:
    matrix:
      m: ${models}
    cmd: echo ${item.m} ${train.lr} > grid-${item.m}.txt
    params:
    - train.epochs
    outs:
    - grid-${item.m}.txt:
        cache: false
"""


@pytest.fixture
def status_repo(tmp_path):
    root = dvc_repo(tmp_path / "status", {
        "dvc.yaml": STATUS_YAML, "params.yaml": "models: [a, b]\ntrain:\n  lr: 0.1\n  epochs: 3\n"})
    dvc("repro", "-q", cwd=root)
    return root


@pytest.mark.parametrize("params", [
    "models: [a, b]\ntrain:\n  lr: 0.1\n  epochs: 3\n",  # nothing changed
    "models: [a, b]\ntrain:\n  lr: 0.2\n  epochs: 3\n",  # a value used via ${} in commands
    "models: [a, b]\ntrain:\n  lr: 0.1\n  epochs: 4\n",  # in a command and in a stage's params
    "models: [a, c]\ntrain:\n  lr: 0.1\n  epochs: 3\n",  # a generated stage never run
])
def test_status_of_templated_stages_matches_dvc(status_repo, params):
    (status_repo / "params.yaml").write_text(params)
    ours, theirs = status_json(dataver, status_repo), status_json(dvc, status_repo)
    assert ours == theirs
    if "lr: 0.2" in params:
        assert ours["gen@a"] == ours["grid@b"] == ["changed command"] and "single" not in ours
    if "models: [a, c]" in params:
        assert "gen@c" in ours and "gen@b" not in ours
    assert dataver("status", cwd=status_repo).stdout == dvc("status", cwd=status_repo).stdout


def test_a_cached_plot_gone_from_the_workspace_is_read_from_the_cache(templated):
    """As DVC's data filesystem: a cached output missing on disk is read by its recorded hash."""
    (templated / "results" / "small.csv").unlink()
    ours = _json(dataver, templated, "plots", "show", "-o", "ours")
    assert _shape(ours) == _shape(_json(dvc, templated, "plots", "show", "-o", "theirs"))
    assert len(ours["data"]["results/small.csv"][0]["content"]["data"]["values"]) == 3


def test_dvc_yaml_files_are_read_in_dvcs_order(tmp_path):
    """Top-down, a folder's dvc.yaml before its subfolders', folders as git sorts them (`a-b/`
    before `a/`): the order of metrics and of plot ids, in the workspace and at a revision."""
    files = {}
    for folder in ("", "a/", "a/b/", "ab/", "a-b/"):
        files.update({f"{folder}p.csv": "x,y\n1,2\n", f"{folder}m.json": '{"v": 1}',
                      f"{folder}dvc.yaml": "plots:\n- p.csv\nmetrics:\n- m.json\n"})
    root = dvc_repo(tmp_path / "nested", files)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "c1")
    shown = dataver("metrics", "show", cwd=root).stdout
    assert shown == dvc("metrics", "show", cwd=root).stdout
    assert [line.split()[0] for line in shown.splitlines()[1:]] == \
        ["m.json", "a-b/m.json", "a/m.json", "a/b/m.json", "ab/m.json"]
    for args in (("show",), ("diff", "HEAD")):
        ours = _json(dataver, root, "plots", *args, "-o", "ours")
        assert list(ours["data"]) == list(_json(dvc, root, "plots", *args, "-o", "theirs")["data"])
