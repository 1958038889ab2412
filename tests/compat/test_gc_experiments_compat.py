"""`gc --all-experiments` keeps what DVC's experiments (refs under `refs/exps`, made here by a
real `dvc exp run`) use, and removes the same objects as DVC 3.67.1's own gc does."""
from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from tests.compat.conftest import dataver, dvc, dvc_pipeline
from tests.conftest import git

pytestmark = pytest.mark.compat

PIPELINE = {
    "params.yaml": "n: 1\n",
    "dvc.yaml": "stages:\n  gen:\n    cmd: echo ${n} > out.txt\n    params:\n    - n\n    outs:\n    - out.txt\n",
}


def _cache(root) -> set[str]:
    cache = os.path.join(root, ".dvc", "cache")
    return {os.path.relpath(os.path.join(d, f), cache) for d, _, fs in os.walk(cache) for f in fs}


def _cached(root, text: str) -> bool:
    oid = hashlib.md5(text.encode()).hexdigest()
    return os.path.exists(os.path.join(root, ".dvc", "cache", "files", "md5", oid[:2], oid[2:]))


@pytest.fixture
def with_experiments(tmp_path):
    """A pipeline at n=1 (committed), two experiments (n=2, n=3) and an unused object, the
    workspace back at the baseline; as a (dataver's, DVC's) pair of copies."""
    root = dvc_pipeline(tmp_path / "made", PIPELINE)
    dvc("exp", "run", "-q", "-S", "n=2", cwd=root)
    dvc("exp", "run", "-q", "-S", "n=3", cwd=root)
    git(root, "checkout", "--", "params.yaml", "dvc.lock")
    dvc("checkout", "-q", "-f", cwd=root)
    (root / "scratch.txt").write_text("unused\n")
    dvc("add", "-q", "scratch.txt", cwd=root)
    (root / "scratch.txt.dvc").unlink()
    assert len(git(root, "for-each-ref", "refs/exps/").splitlines()) >= 2
    copies = tmp_path / "ours", tmp_path / "theirs"
    for copy in copies:
        shutil.copytree(root, copy, symlinks=True)
    return copies


def test_experiment_outputs_are_kept_as_dvc_keeps_them(with_experiments):
    ours, theirs = with_experiments
    dry = dataver("gc", "-w", "--dry", cwd=ours).stdout
    assert "Would remove 3 objects" in dry  # without the option: both experiments' outputs go too
    proc = dataver("gc", "-w", "--all-experiments", "-f", cwd=ours)
    assert "and all experiments of the current repo" in proc.stderr
    dvc("gc", "-w", "--all-experiments", "-f", cwd=theirs)
    assert _cache(ours) == _cache(theirs)
    assert _cached(ours, "2\n") and _cached(ours, "3\n") and _cached(ours, "1\n")
    assert not _cached(ours, "unused\n")
    assert dvc("exp", "apply", git(ours, "for-each-ref", "--format=%(refname:short)",
                                    "refs/exps/").split()[0], cwd=ours).returncode == 0
