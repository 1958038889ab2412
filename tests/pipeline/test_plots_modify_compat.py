"""`dataver plots modify` against real DVC 3.67.1: the same dvc.yaml bytes after each change
(an output and a metric turned into plots, properties set and unset, comments kept), the same
refusals with dvc.yaml untouched, and both tools' status clean afterwards."""
from __future__ import annotations

import pytest

from tests.compat.conftest import dataver, dvc, dvc_repo, make_tree

pytestmark = pytest.mark.compat

DVC_YAML = """\
# the evaluation stage
stages:
  ev:
    cmd: printf 'x,y\\n1,2\\n' > p.csv; cp p.csv m.csv; echo '{"a":1}' > s.json; echo {} > o.json
    outs:
    - o.json:
        cache: false
    - m.csv
    metrics:
    - s.json:
        cache: false
    plots:
    - p.csv:
        cache: false
        title: Old
"""

STEPS = [
    ["p.csv", "-x", "x", "-y", "y", "--no-header", "--x-label", "X"],
    ["p.csv", "--unset", "title", "x_label"],
    ["m.csv", "--template", "scatter", "--title", "M"],
    ["s.json", "-y", "a"],
    ["p.csv", "--unset", "x", "y", "header"],
]
REFUSED = [
    ["o.json", "--unset", "x"],          # not a plot
    ["p.csv", "--unset", "y_label"],     # a property it does not have
    ["nope.csv", "-x", "a"],             # no such output
]


@pytest.fixture
def twins(tmp_path):
    roots = []
    for name in ("ours", "theirs"):
        root = dvc_repo(tmp_path / name)
        make_tree(root, {"dvc.yaml": DVC_YAML})
        dvc("repro", "-q", cwd=root)
        roots.append(root)
    return roots


def test_each_change_writes_dvc_yaml_as_dvc_does(twins):
    ours, theirs = twins
    for step in STEPS:
        mine = dataver("plots", "modify", *step, cwd=ours)
        dvc("plots", "modify", *step, cwd=theirs)
        assert (ours / "dvc.yaml").read_text() == (theirs / "dvc.yaml").read_text(), step
        assert mine.stdout == "Modifying stage 'ev' in 'dvc.yaml'\n"
    assert "# the evaluation stage" in (ours / "dvc.yaml").read_text()
    assert "plots:\n    - m.csv:\n        template: scatter\n        title: M\n" in (ours / "dvc.yaml").read_text()
    for root in twins:
        assert dataver("status", cwd=root).stdout == "Data and pipelines are up to date.\n"
        assert dvc("status", cwd=root).stdout == "Data and pipelines are up to date.\n"


@pytest.mark.parametrize("step", REFUSED, ids=["not-a-plot", "missing-property", "no-output"])
def test_refusals_match_dvc_and_leave_dvc_yaml_alone(twins, step):
    ours, theirs = twins
    mine = dataver("plots", "modify", *step, cwd=ours, ok=False)
    assert dvc("plots", "modify", *step, cwd=theirs, ok=False).returncode != 0
    assert mine.returncode == 1 and mine.stderr.startswith("ERROR: ") and mine.stderr.count("\n") == 1
    assert (ours / "dvc.yaml").read_text() == DVC_YAML == (theirs / "dvc.yaml").read_text()


def test_an_unknown_template_is_refused(twins):
    ours, _ = twins
    proc = dataver("plots", "modify", "p.csv", "-t", "nosuch", cwd=ours, ok=False)
    assert proc.returncode == 1 and "template 'nosuch' not found" in proc.stderr
    assert (ours / "dvc.yaml").read_text() == DVC_YAML
