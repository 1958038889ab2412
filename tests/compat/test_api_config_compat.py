"""`config=` and `remote_config=` of `dataver.api.open/read/get_url` against `dvc.api`: data read
from a local and an S3 remote that only the call names (the repository configures none)."""
from __future__ import annotations

import os
import shutil

import pytest

from dataver import api
from dataver.cli.main import main
from tests.compat.test_api_compat import dvc_api, ours
from tests.conftest import git
from tests.history_helpers import write

VERSIONS = {"v1": {"model.pt": b"\x00\x01 weights 1", "data/images/cat.jpg": b"\xff\xd8 cat 1"},
            "v2": {"model.pt": b"\x00\x01 weights 2", "data/images/cat.jpg": b"\xff\xd8 cat 2"}}


@pytest.fixture
def unconfigured(git_dir, tmp_path, server_pool):
    """A repo whose data was pushed to a local store and an S3 bucket through remotes in
    `config.local` (never committed); returns (local clone path, bare clone URI, store, s3 conf)."""
    from dataver.repo import Repo

    store, s3 = str(tmp_path / "store"), server_pool("s3").remote()
    Repo.init(str(git_dir))
    assert main(["remote", "add", "--local", "store", store]) == 0
    assert main(["remote", "add", "--local", "s3r", s3["url"]]) == 0
    for key, value in s3.items():
        assert key == "url" or main(["remote", "modify", "--local", "s3r", key, value]) == 0
    for tag, files in VERSIONS.items():
        for rel, data in files.items():
            write(git_dir / rel, data)
        assert main(["add", "-q", "model.pt", "data"]) == 0
        assert main(["push", "-q", "-r", "store"]) == 0 and main(["push", "-q", "-r", "s3r"]) == 0
        git(git_dir, "add", "-A")
        git(git_dir, "commit", "-qm", tag)
        git(git_dir, "tag", tag)
    bare, clone = tmp_path / "bare.git", tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--bare", str(git_dir), str(bare))
    git(tmp_path, "clone", "-q", str(git_dir), str(clone))
    return str(clone), bare.as_uri(), store, s3


def calls_for(repo: str, store: str, s3: dict) -> list[tuple[str, dict]]:
    local_cfg = {"remote": {"mine": {"url": store}}, "core": {"remote": "mine"}}
    s3_cfg = {"remote": {"s3r": s3}, "core": {"remote": "s3r"}}
    reads = [("model.pt", "v1", {"config": local_cfg}),
             ("data/images/cat.jpg", "v2", {"remote": "mine", "remote_config": {"url": store}}),
             ("model.pt", "v2", {"config": s3_cfg}),
             ("data/images/cat.jpg", "v1", {"remote": "s3r", "remote_config": s3}),
             # remote_config over a remote config= defines
             ("model.pt", "v2", {"remote": "s3r", "config": {"remote": {"s3r": {"url": "s3://nope/x"}}},
                                 "remote_config": s3})]
    calls = [("read", {"path": p, "repo": repo, "rev": rev, "mode": "rb", **kw}) for p, rev, kw in reads]
    calls += [("get_url", {"path": "model.pt", "repo": repo, "rev": "v1", "config": local_cfg}),
              ("get_url", {"path": "data", "repo": repo, "rev": "v2", "remote": "s3r",
                           "remote_config": s3})]
    return calls


def test_remote_given_only_in_the_call_matches_dvc(unconfigured):
    clone, bare, store, s3 = unconfigured
    for repo in (bare, clone):
        calls = calls_for(repo, store, s3)
        if repo == clone:  # no remote named, none configured: remote_config is the remote
            calls.append(("read", {"path": "model.pt", "repo": clone, "rev": "v1",
                                   "remote_config": {"url": store}}))
        theirs = dvc_api(calls)  # first: DVC streams from the remote, leaving no cache behind
        results = []
        for func, kwargs in calls:
            shutil.rmtree(f"{clone}/.dvc/cache", ignore_errors=True)  # each call from its remote
            results.append(ours(func, kwargs))
        assert results == theirs, repo
    assert theirs[0] == VERSIONS["v1"]["model.pt"].decode("latin-1")


def test_without_the_call_config_the_data_is_unreachable(unconfigured):
    clone, bare, store, _s3 = unconfigured
    for repo in (bare, clone):
        with pytest.raises(api.RemoteError, match="no default remote"):
            api.read("model.pt", repo=repo, rev="v1")
    with pytest.raises(api.UserError, match="remote_config names no remote and has no 'url'"):
        api.read("model.pt", repo=clone, rev="v1", remote_config={"jobs": 2})
    with api.open("model.pt", repo=clone, rev="v2", mode="rb", remote="r",
                  remote_config={"url": store}) as fobj:
        assert fobj.read() == VERSIONS["v2"]["model.pt"]
    # nothing was written to the clone's config files
    assert git(clone, "status", "--porcelain") == ""
    assert not os.path.exists(os.path.join(clone, ".dvc", "config.local"))
