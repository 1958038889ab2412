"""`fetch --max-size` and `fetch --type`: the same objects reach the cache as with real DVC
(outputs strictly below the size, whole directories by their total size; outputs declared as
metrics or plots), and the same count is printed."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.compat.conftest import dataver, dvc, dvc_repo, make_tree

pytestmark = pytest.mark.compat

DVC_YAML = """\
stages:
  m:
    cmd: sh mk.sh
    metrics: [m.json]
    plots: [p.csv]
    outs: [o.txt]
"""
MAKE = """echo '{"a": 1}' > m.json; printf 'x,y\\n1,2\\n' > p.csv; echo zz > o.txt\n"""


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """A repository whose data is all on a local remote: files of 4, 5 and 10 bytes, a
    directory of 5 bytes, and a stage with a metric (9 bytes), a plot (8) and an output (3)."""
    base = tmp_path_factory.mktemp("fetchfilters")
    root = dvc_repo(base / "repo")
    dvc("remote", "add", "-d", "r", str(base / "remote"), cwd=root)
    make_tree(root, {"s4.txt": "1234", "s5.txt": "12345", "s10.txt": "1234567890",
                     "d/a": "12", "d/b": "345"})
    dvc("add", "-q", "s4.txt", "s5.txt", "s10.txt", "d", cwd=root)
    (root / "mk.sh").write_text(MAKE)
    (root / "dvc.yaml").write_text(DVC_YAML)
    dvc("repro", "-q", cwd=root)
    dvc("push", "-q", cwd=root)
    shutil.rmtree(root / ".dvc" / "cache")
    return root


def _cached(root) -> list[str]:
    cache = root / ".dvc" / "cache" / "files"
    return sorted(os.path.relpath(os.path.join(d, f), cache) for d, _, fs in os.walk(cache) for f in fs)


CASES = [["--max-size", "5"], ["--max-size", "6"], ["--max-size", "0"], ["--max-size", "4", "d"],
         ["--type", "metrics"], ["--type", "plots"], ["--type", "metrics", "--type", "plots"],
         ["--max-size", "9", "--type", "metrics"], ["--max-size", "10", "--type", "metrics"]]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_fetch_filters_as_dvc(pushed, tmp_path, args):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    shutil.copytree(pushed, ours)
    shutil.copytree(pushed, theirs)
    mine = dataver("fetch", *args, cwd=ours).stdout
    real = dvc("fetch", *args, cwd=theirs).stdout
    assert _cached(ours) == _cached(theirs)
    assert mine.strip() == real.strip()
    if args == ["--max-size", "5"]:
        assert len(_cached(ours)) == 2  # s4.txt and o.txt (3 bytes); not s5.txt, nor d (5)


def test_filters_refuse_revision_options(pushed, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(pushed, root)
    proc = dataver("fetch", "--max-size", "5", "-a", cwd=root, ok=False)
    assert proc.returncode != 0 and "--max-size" in proc.stderr
    assert "Traceback" not in proc.stderr
