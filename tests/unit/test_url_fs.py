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


@pytest.mark.parametrize("maxdepth", [None, 1, 2])
def test_local_walk_lists_what_fsspec_lists(tmp_path, maxdepth):
    from fsspec.implementations.local import LocalFileSystem

    from dataver.ops.ls_url import _walk_local

    for rel in ("a/1", "a/b/2", "a/b/c/3", "d/4", "5"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel * 3)
    os.symlink("a", tmp_path / "dirlink")
    os.symlink("nowhere", tmp_path / "a" / "broken")
    os.symlink("../5", tmp_path / "d" / "filelink")
    (tmp_path / "empty").mkdir()

    def shape(walk):
        return [(root, {n: (i["name"], i["size"], i["type"]) for n, i in dirs.items()},
                 {n: (i["name"], i["size"], i["type"]) for n, i in files.items()})
                for root, dirs, files in walk]

    base = str(tmp_path)
    assert shape(_walk_local(base, maxdepth)) == \
        shape(LocalFileSystem().walk(base, detail=True, maxdepth=maxdepth))


def test_local_info_matches_fsspec(tmp_path):
    from fsspec.implementations.local import LocalFileSystem

    from dataver.ops.url_fs import local_info

    (tmp_path / "f").write_text("12345")
    os.symlink("f", tmp_path / "l")
    for name in ("f", "l", ""):
        path = str(tmp_path / name) if name else str(tmp_path) + "/"
        theirs = LocalFileSystem().info(path)
        assert local_info(path) == {k: theirs[k] for k in ("name", "size", "type", "islink")}
