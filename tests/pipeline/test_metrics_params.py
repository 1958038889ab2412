"""`params diff`, `metrics show` and `metrics diff` against real DVC 3.67.1 on one repository of
three commits (params.yaml, a JSON params file a stage lists by key, a top-level params file;
JSON, YAML and CSV metrics, one of them a cached output) with workspace changes on top.

DVC builds its diff results from sets, so their key order changes from run to run: diffs are
compared as parsed JSON, `metrics show` (whose order is fixed) as exact text."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.compat.conftest import dataver, dvc
from tests.conftest import git

DVC_YAML = """\
stages:
  train:
    cmd: mkdir -p eval && cp src/metrics.json src/scores.yaml src/cached.json src/table.csv eval/
    deps:
    - src
    params:
    - train.lr
    - seed
    - other.json:
      - a.b
    metrics:
    - eval/metrics.json:
        cache: false
    - eval/scores.yaml:
        cache: false
    - eval/cached.json
params:
- extra.yaml
metrics:
- eval/table.csv
"""

# commit -> files written before `dvc repro` and the commit
COMMITS = [
    {"params.yaml": "train:\n  lr: 0.1\n  epochs: 10\n  layers: [1, 2]\nseed: 42\nname: foo\n",
     "other.json": '{"a": {"b": 1}, "c": "x"}', "extra.yaml": "depth: 3\n",
     "src/metrics.json": '{"acc": 0.9, "loss": {"train": 0.5, "val": 0.6}, "n": 3, "ok": true, "lst": [1]}',
     "src/scores.yaml": "auc: 0.81\nnested:\n  x: 1\n", "src/cached.json": '{"cached_acc": 0.5}',
     "src/table.csv": "a,b\n1,2\n"},
    {"params.yaml": "train:\n  lr: 0.05\n  epochs: 10\n  layers: [1, 2, 3]\nseed: 42\nname: bar\n"
                    "new: 1\n",
     "src/metrics.json": '{"acc": 0.95, "loss": {"train": 0.4, "val": 0.6}, "n": 3, "ok": false}',
     "src/scores.yaml": "auc: 0.8123456789\nnested:\n  x: 2\nextra: hello\n",
     "src/cached.json": '{"cached_acc": 0.75}'},
    {"extra.yaml": "depth: 4\nwidth: 2\n", "src/table.csv": "a,b\n3,4\n",
     "src/cached.json": '{"cached_acc": 0.8, "f1": {"macro": 0.7}}'},
]
WORKSPACE = {"params.yaml": "train:\n  lr: 0.01\n  epochs: 12\nseed: 42\n",
             "other.json": '{"a": {"b": 2}, "c": "y"}',
             "eval/metrics.json": '{"acc": 0.97, "loss": {"train": 0.3, "val": 0.6}, "n": 3}'}


def _write(root, files: dict) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            os.chmod(path, 0o644)  # a cached output may be a read-only link
            path.unlink()
        path.write_text(text)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """The repository (made by real DVC): three commits (the second tagged v2, the third on
    branch `more`, then back on main), the workspace edited after the third."""
    root = tmp_path_factory.mktemp("metrics") / "repo"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, root.parent)
        git(root, "init", "-q")
        dvc("init", "-q", cwd=root)
        (root / "dvc.yaml").write_text(DVC_YAML)
        for number, files in enumerate(COMMITS, 1):
            if number == 3:
                git(root, "checkout", "-q", "-b", "more")
            _write(root, files)
            dvc("repro", "-q", cwd=root)
            git(root, "add", "-A")
            git(root, "commit", "-qm", f"c{number}")
            if number == 2:
                git(root, "tag", "v2")
        git(root, "checkout", "-q", "main")
        _write(root, WORKSPACE)
        yield root


def _isolate(mp, home) -> None:
    """What tests/conftest.py's isolated_env does, for a fixture shared by the module."""
    for key in list(os.environ):
        if key.startswith(("GIT_", "DVC_")) and key != "DATAVER_DVC":
            mp.delenv(key, raising=False)
    for key, value in {"HOME": str(home), "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1",
                       "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
                       "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
                       "DVC_SITE_CACHE_DIR": str(home / "dvc-site"),
                       "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
                       "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}.items():
        mp.setenv(key, value)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")


def _both(root, *args):
    """(dataver's stdout, dvc's stdout) of the same command."""
    return dataver(*args, cwd=root).stdout, dvc(*args, cwd=root).stdout


REV_PAIRS = [(), ("HEAD~1", "HEAD"), ("v2", "more")]


@pytest.mark.parametrize("revs", REV_PAIRS)
@pytest.mark.parametrize("options", [(), ("--all",), ("--deps",), ("--targets", "other.json")])
def test_params_diff_json_matches_dvc(history, revs, options):
    ours, theirs = _both(history, "params", "diff", *revs, *options, "--json")
    assert json.loads(ours) == json.loads(theirs)


@pytest.mark.parametrize("revs", REV_PAIRS)
@pytest.mark.parametrize("options", [(), ("--all",), ("--targets", "eval/scores.yaml", "eval/table.csv")])
def test_metrics_diff_json_matches_dvc(history, revs, options):
    ours, theirs = _both(history, "metrics", "diff", *revs, *options, "--json")
    assert json.loads(ours) == json.loads(theirs)


@pytest.mark.parametrize("options", [(), ("-a",), ("-T",), ("-A",), ("eval/scores.yaml",),
                                     ("eval",), ("eval/metrics.json", "missing.json")])
def test_metrics_show_json_matches_dvc_exactly(history, options):
    ours, theirs = _both(history, "metrics", "show", *options, "--json")
    if "-A" in options:  # commits made in one second: git's and DVC's walks may order them apart
        assert json.loads(ours) == json.loads(theirs)
    else:
        assert ours == theirs


@pytest.mark.parametrize("options", [(), ("-a",), ("--md",), ("-T", "--precision", "2"), ("-A", "--md")])
def test_metrics_show_tables_match_dvc(history, options):
    ours, theirs = _both(history, "metrics", "show", *options)
    if "-A" in options:  # as above: the rows of commits made in one second may come apart
        assert sorted(ours.splitlines()) == sorted(theirs.splitlines()) and ours.count("\n") > 2
    else:
        assert ours == theirs and ours.count("\n") > 2


@pytest.mark.parametrize("args", [
    ("params", "diff", "--targets", "params.yaml"),
    ("params", "diff", "HEAD~1", "--targets", "params.yaml", "--md"),
    ("params", "diff", "v2", "--all", "--targets", "params.yaml", "--no-path"),
    ("metrics", "diff", "HEAD~1", "--targets", "eval/scores.yaml"),
    ("metrics", "diff", "v2", "more", "--all", "--targets", "eval/cached.json", "--md", "--precision", "2"),
])
def test_diff_tables_match_dvc(history, args):
    # one file each: DVC orders files arbitrarily, but keys within a file sorted
    ours, theirs = _both(history, *args)
    assert ours == theirs
    assert len(ours.splitlines()) >= 2


def test_cached_metrics_come_from_the_cache_at_each_revision(history, tmp_path):
    """A cached metrics output is read from the cache by the hash its revision's dvc.lock
    records; gone from the cache, it is reported per file and the rest still shown."""
    copy = tmp_path / "copy"
    shutil.copytree(history, copy, symlinks=True)
    (copy / "eval" / "cached.json").unlink()  # not in the workspace: the cache still has it
    ours, theirs = _both(copy, "metrics", "diff", "HEAD~1", "more", "--json")
    assert json.loads(ours) == json.loads(theirs)
    assert json.loads(ours)["eval/cached.json"]["cached_acc"] == {"old": 0.5, "new": 0.8, "diff": 0.30000000000000004}
    for dirpath, _dirs, files in os.walk(copy / ".dvc" / "cache"):
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o644)
    shutil.rmtree(copy / ".dvc" / "cache")
    ours, theirs = _both(copy, "metrics", "show", "-a", "--json")
    assert ours == theirs
    assert "No storage files available" in ours
    proc = dataver("metrics", "show", "-a", cwd=copy)
    assert proc.stderr == "WARNING: some files could not be read at: workspace, main, more (--json shows why)\n"
    assert "eval/table.csv" in proc.stdout


def test_python_api(history, monkeypatch):
    from dataver import api
    from dataver.repo import Repo

    monkeypatch.chdir(history)
    with Repo() as repo:
        changes, bad = repo.params_diff("v2", None, deps_only=True)
        assert changes["params.yaml"]["train.lr"] == {"old": 0.05, "new": 0.01, "diff": -0.04}
        assert bad == []
        shown = repo.metrics_show(all_tags=True)
        assert list(shown) == ["workspace", "v2"]
        assert repo.metrics_diff("v2", "more")[0]["eval/table.csv"][""]["new"] == "a,b 3,4"
    assert api.params_show(rev="more", deps=True) == {"train": {"lr": 0.05}, "seed": 42, "a": {"b": 1}}
    assert api.metrics_show("eval/scores.yaml", rev="v2") == {"auc": 0.8123456789, "nested": {"x": 2},
                                                              "extra": "hello"}


def test_errors_are_one_line(history):
    proc = dataver("params", "diff", "no-such-rev", cwd=history, ok=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "no-such-rev" in proc.stderr
    proc = dataver("params", "diff", "--targets", "../elsewhere.yaml", cwd=history, ok=False)
    assert proc.returncode == 1 and proc.stderr == \
        "ERROR: ../elsewhere.yaml: is outside the repository (name it relative to the repository root)\n"
    proc = dataver("metrics", cwd=history, ok=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


SUB_DVC_YAML = """\
params:
- conf.toml
metrics:
- m.yaml
stages:
  s:
    cmd: echo
    wdir: w
    params:
    - p.json:
    - lr
    metrics:
    - out.json:
        cache: false
"""


def test_nested_dvc_yaml_wdir_toml_and_whole_files_match_dvc(tmp_path):
    """A dvc.yaml in a subfolder: its top-level params (TOML) and metrics relative to it, a
    stage's wdir, a params file listed without keys (all of it) and the root params.yaml."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    versions = [
        {"sub/dvc.yaml": SUB_DVC_YAML, "sub/conf.toml": '[model]\ndepth = 3\nname = "x"\n',
         "sub/w/p.json": '{"k": 1, "l": {"m": [1, 2]}}', "sub/w/params.yaml": "lr: 1\n",
         "params.yaml": "lr: 9\n", "sub/m.yaml": "score: 1\n", "sub/w/out.json": '{"v": 2}'},
        {"sub/conf.toml": '[model]\ndepth = 4\nname = "y"\n', "sub/w/p.json": '{"k": 2, "l": {"m": [1]}}',
         "sub/w/params.yaml": "lr: 2\n", "sub/m.yaml": "score: 2\n", "sub/w/out.json": '{"v": 3}',
         "params.yaml": "lr: 10\n"},
    ]
    _write(root, versions[0])
    git(root, "add", "-A")
    git(root, "commit", "-qm", "one")
    _write(root, versions[1])
    for args in (("params", "diff"), ("params", "diff", "--deps"), ("params", "diff", "--all"),
                 ("metrics", "diff", "--all")):
        ours, theirs = _both(root, *args, "--json")
        assert json.loads(ours) == json.loads(theirs), args
    ours, theirs = _both(root, "metrics", "show", "--json")
    assert ours == theirs and '"sub/w/out.json"' in ours
    ours, theirs = _both(root / "sub", "params", "diff", "--deps", "--json")  # paths from sub/
    assert json.loads(ours) == json.loads(theirs) and "w/p.json" in json.loads(ours)
    # params targets are relative to the root, wherever the command runs (DVC's reading)
    ours, theirs = _both(root / "sub", "params", "diff", "--targets", "params.yaml", "--json")
    assert json.loads(ours) == json.loads(theirs) == \
        {"../params.yaml": {"lr": {"old": 9, "new": 10, "diff": 1}}}


def test_values_kept_and_compared_as_dvc_does():
    """Pure rules (observed with DVC 3.67.1): lists and nulls are not metrics; a whole-file
    string that is JSON compares as its value; a file that turns from text into a mapping gives
    'unable to parse' for each key; booleans subtract like numbers."""
    from dataver.pipeline.metrics import compare, extract

    assert extract({"a": [1], "b": None, "c": {"d": []}, "e": True, "f": "x"}) == {"e": True, "f": "x"}
    assert extract([1, 2]) is None
    data = lambda value: {"m.txt": {"data": value}}  # noqa: E731
    assert compare(data("1.5"), data(2)) == {"m.txt": {"": {"old": 1.5, "new": 2, "diff": 0.5}}}
    assert compare(data("a,b"), data({"x": 1})) == {"m.txt": {"x": {"old": "unable to parse", "new": 1}}}
    assert compare(data({"ok": True}), data({"ok": False})) == \
        {"m.txt": {"ok": {"old": True, "new": False, "diff": -1}}}
    assert compare(data({"l": [1, 2]}), data({"l": [1, 2]}), with_unchanged=True) == \
        {"m.txt": {"l": {"old": "[1, 2]", "new": "[1, 2]"}}}
