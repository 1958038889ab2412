"""URL helpers of import-url: option parsing, names from listings, what `deps: path` records."""
from __future__ import annotations

import os

import pytest

from dataver.errors import UserError
from dataver.ops.import_url import dep_path
from dataver.ops.url_fs import check_relpath, open_url, parse_fs_config


def test_fs_config_pairs():
    assert parse_fs_config(["endpointurl=http://h:1", "user=a=b"]) == {
        "endpointurl": "http://h:1", "user": "a=b"}
    with pytest.raises(UserError):
        parse_fs_config(["novalue"])


@pytest.mark.parametrize("name", ["../x", "a/../../x", "a//b", "./a", "a\0b", ""])
def test_unsafe_listed_names_are_refused(name):
    with pytest.raises(UserError):
        check_relpath(name, "s3://b/p")


def test_listed_names_below_the_url_pass():
    check_relpath("a/b.c", "s3://b/p")


def test_dep_path_is_relative_to_the_dvc_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert dep_path("../src/a", str(tmp_path / "sub" / "a.dvc")) == "../../src/a"
    assert dep_path("/abs/a", str(tmp_path / "a.dvc")) == "/abs/a"
    assert dep_path("s3://b/k", str(tmp_path / "a.dvc")) == "s3://b/k"


def test_unknown_option_and_scheme_are_user_errors():
    with pytest.raises(UserError, match="unknown option"):
        open_url("s3://b/k", {"no_such_option": "1"})
    with pytest.raises(UserError, match="unsupported URL scheme"):
        open_url("foo://b/k")
    with pytest.raises(UserError, match="not configured"):
        open_url("remote://nope/x")
    assert open_url(os.curdir).is_local
