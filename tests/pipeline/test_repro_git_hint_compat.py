"""After `repro` runs stages, as DVC 3.67.1: the `dvc.lock` and `.gitignore` files it changed
are named in a `git add` hint (or staged, with core.autostage), and the push reminder follows;
with nothing to run, neither."""
from __future__ import annotations

import pytest

from tests.compat.conftest import dataver, dvc, make_tree
from tests.conftest import git

pytestmark = pytest.mark.compat

DVC_YAML = ("stages:\n  prep:\n    cmd: cp raw.txt out/prep.txt\n    deps: [raw.txt]\n"
            "    outs: [out/prep.txt]\n")


def _twins(tmp_path):
    roots = []
    for name in ("ours", "theirs"):
        root = tmp_path / name
        make_tree(root, {"raw.txt": "r\n", "dvc.yaml": DVC_YAML, "out/.keep": ""})
        git(root, "init", "-q")
        dvc("init", "-q", cwd=root)
        git(root, "add", "-A")
        git(root, "commit", "-qm", "init")
        roots.append(root)
    return roots


def _git_add_paths(text: str) -> set[str]:
    line = next(line for line in text.splitlines() if line.startswith("\tgit add "))
    return set(line.split()[2:])  # DVC names them in a set's order


def test_hint_names_what_dvc_names(tmp_path):
    ours, theirs = _twins(tmp_path)
    mine, real = dataver("repro", cwd=ours).stdout, dvc("repro", cwd=theirs).stdout
    assert _git_add_paths(mine) == _git_add_paths(real) == {"dvc.lock", "out/.gitignore"}
    tail = "\n\nTo enable auto staging, run:\n\n\t{} config core.autostage true\nUse `{} push` to send your updates to remote storage.\n"
    assert mine.endswith(tail.format("dataver", "dataver")) and real.endswith(tail.format("dvc", "dvc"))
    # nothing to run: no hint, no reminder
    assert dataver("repro", cwd=ours).stdout.endswith("Data and pipelines are up to date.\n")


def test_autostage_stages_what_it_changed(tmp_path):
    ours, theirs = _twins(tmp_path)
    for root, tool in ((ours, dataver), (theirs, dvc)):
        tool("config", "core.autostage", "true", cwd=root)
        out = tool("repro", cwd=root).stdout
        assert "git add" not in out
    staged = [sorted(git(root, "diff", "--cached", "--name-only").split()) for root in (ours, theirs)]
    assert staged[0] == staged[1] and "dvc.lock" in staged[0] and "out/.gitignore" in staged[0]
