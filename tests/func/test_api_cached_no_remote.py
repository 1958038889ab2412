"""`dataver.api.read`/`open` of data already in the cache need no remote: an absent default
remote, a remote section without a url, or no remote at all do not stop them (DVC's API refuses
such a config even then). Data not in the cache still fails with a one-line error naming the
remote."""
from __future__ import annotations

import pytest

from dataver import api
from dataver.errors import UserError
from tests.compat.conftest import dvc, dvc_repo, make_tree
from tests.conftest import git

CONFIGS = {
    "no remote": "",
    "default remote absent": "[core]\n    remote = nope\n",
    "remote without url": "['remote \"r\"']\n    user = me\n[core]\n    remote = r\n",
    "url of an unknown scheme": "['remote \"r\"']\n    url = nosuch://x\n[core]\n    remote = r\n",
}


@pytest.fixture
def cached(tmp_path):
    """A repository made by DVC: a file and a directory in the cache, deleted from the workspace."""
    root = dvc_repo(tmp_path / "repo")
    make_tree(root, {"f.txt": "f\n", "d/a": "hi\n"})
    dvc("add", "-q", "f.txt", "d", cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    (root / "f.txt").unlink()
    (root / "d" / "a").unlink()
    return root


@pytest.mark.parametrize("name", list(CONFIGS), ids=list(CONFIGS))
def test_cached_data_reads_whatever_the_remote_config(cached, name):
    (cached / ".dvc" / "config").write_text(CONFIGS[name])
    assert api.read("f.txt", repo=str(cached)) == "f\n"
    assert api.read("d/a", repo=str(cached), rev="HEAD") == "hi\n"
    with api.open("d/a", repo=str(cached), mode="rb") as fobj:
        assert fobj.read() == b"hi\n"


def test_a_broken_remote_in_config_overrides_does_not_matter_either(cached):
    broken = {"remote": {"x": {"user": "me"}}, "core": {"remote": "x"}}
    assert api.read("d/a", repo=str(cached), config=broken) == "hi\n"
    assert api.read("f.txt", repo=str(cached), remote="absent") == "f\n"


def test_uncached_data_still_needs_the_remote(cached):
    (cached / ".dvc" / "config").write_text(CONFIGS["remote without url"])
    for path in (cached / ".dvc" / "cache" / "files" / "md5").rglob("*"):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    with pytest.raises(UserError) as info:
        api.read("f.txt", repo=str(cached))
    assert "'r'" in str(info.value) and "url" in str(info.value)
