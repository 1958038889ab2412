"""`dataver.api` against `dvc.api` (run by DVC's own Python) on the same repositories."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from dataver import api
from tests.conftest import dvc_bin, git
from tests.history_helpers import tag_versions


DVC_CALLS = """
import json, sys, dvc.api as a
out = []
for func, kwargs in json.loads(sys.argv[1]):
    r = getattr(a, func)(**kwargs)
    out.append(r.decode("latin-1") if isinstance(r, bytes) else r)
print(json.dumps(out))
"""


def dvc_api(calls: list[tuple[str, dict]]) -> list:
    """Run ``dvc.api.<func>(**kwargs)`` for each call in one DVC interpreter (bytes as latin-1)."""
    python = os.path.join(os.path.dirname(dvc_bin()), "python")
    proc = subprocess.run([python, "-c", DVC_CALLS, json.dumps(calls)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def ours(func: str, kwargs: dict):
    result = getattr(api, func)(**kwargs)
    return result.decode("latin-1") if isinstance(result, bytes) else result


@pytest.fixture
def tagged(git_dir, tmp_path):
    """Tags v1..v3 changing a file and files in a directory, pushed to a local default remote
    (made with dataver, read by both)."""
    from dataver.repo import Repo

    Repo.init(str(git_dir))
    tag_versions(git_dir, tmp_path / "store", {
        f"v{n}": {"data/images/cat.jpg": b"\xff\xd8 cat %d" % n, "data/ann.json": b'{"v": %d}' % n,
                  "data/images/dog.jpg": b"\xff\xd8 dog", "model.pt": b"\x00\x01 weights %d" % n}
        for n in (1, 2, 3)}, ["data", "model.pt"])
    return git_dir


def test_read_and_get_url_match_dvc(tagged, tmp_path):
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(tagged), str(bare))
    calls = [("read", {"path": path, "rev": rev, "mode": "rb"})
             for rev in ("v1", "v2", "v3")
             for path in ("data/ann.json", "model.pt", "data/images/cat.jpg", "data.dvc")]
    # From a clone, data comes from the remote.
    calls += [("read", {"path": "data/images/cat.jpg", "repo": bare.as_uri(), "rev": rev, "mode": "rb"})
              for rev in ("v1", "v3")]
    calls += [("get_url", {"path": path, "rev": rev})
              for path, rev in (("model.pt", "v1"), ("data", "v2"), ("data/images/cat.jpg", "v1"))]
    assert [ours(func, kwargs) for func, kwargs in calls] == dvc_api(calls)
    assert api.read("data/ann.json", rev="v1") == '{"v": 1}'
    assert api.read("model.pt", repo=str(bare), rev="v2", mode="rb") == b"\x00\x01 weights 2"


def test_open_streams_text_and_binary(tagged):
    with api.open("data/ann.json", rev="v2") as fobj:
        assert fobj.read() == '{"v": 2}'
    with api.open("model.pt", rev="v3", mode="rb") as fobj:
        assert fobj.read(4) == b"\x00\x01 w"


@pytest.mark.parametrize("kwargs, expected", [
    ({"path": "data/nope.jpg", "rev": "v1"}, "'data/nope.jpg' does not exist at revision 'v1'"),
    ({"path": "model.pt", "rev": "nosuch"}, "unknown Git revision 'nosuch'"),
    ({"path": "data/images", "rev": "v1"}, "'data/images' is a directory"),
    ({"path": "x", "repo": "/nonexistent/repo"}, "cannot clone '/nonexistent/repo'"),
])
def test_errors_are_clear_and_typed(tagged, kwargs, expected):
    with pytest.raises(api.UserError) as info:
        api.read(**kwargs)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
