"""Option names, path storage and validation of `config` (dataver.ops.config)."""
from __future__ import annotations

import pytest

from dataver.config import ConfigFile
from dataver.errors import ConfigError
from dataver.ops import config as ops


@pytest.mark.parametrize("text, parsed, key", [
    ("core.autostage", (None, "core", "autostage"), "core"),
    ("Core.AutoStage", (None, "core", "autostage"), "core"),
    ("remote.MyRemote.url", ("remote", "myremote", "url"), "remote:myremote"),
    ("db.x.url", ("db", "x", "url"), 'db "x"'),
])
def test_parse_name(text, parsed, key):
    name = ops.parse_name(text)
    assert (name.named, name.section, name.option) == parsed and name.key == key


@pytest.mark.parametrize("text", ["core", "a.b.c.d", ""])
def test_bad_names(text):
    with pytest.raises(ConfigError):
        ops.parse_name(text)


def test_remote_without_name_is_an_unknown_section(tmp_path):
    with pytest.raises(ConfigError):
        ops.set_option(str(tmp_path), ops.parse_name("remote.url"), "/x")


def test_set_stores_paths_relative_to_config_file(tmp_path, monkeypatch):
    dvc_dir = tmp_path / "repo" / ".dvc"
    dvc_dir.mkdir(parents=True)
    (tmp_path / "repo" / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "repo" / "sub")
    ops.set_option(str(dvc_dir), ops.parse_name("cache.dir"), "../../cache")
    ops.set_option(str(dvc_dir), ops.parse_name("remote.r.url"), "~/store")
    ops.set_option(str(dvc_dir), ops.parse_name("remote.s.url"), "s3://b/p")
    text = (dvc_dir / "config").read_text()
    assert "dir = ../../cache\n" in text and "url = ~/store\n" in text and "url = s3://b/p\n" in text
    assert ops.get_option(str(dvc_dir), ops.parse_name("cache.dir")) == (str(tmp_path / "cache"), "repo")


def test_save_orders_sections_and_drops_comments(tmp_path):
    path = tmp_path / "config"
    path.write_text("# mine\n['remote \"r\"']\n    url = /x\n[core]\n    remote = r  # inline\n")
    conf = ConfigFile(str(path))
    conf.set("cache", "type", "hardlink,symlink")
    conf.save()
    assert path.read_text() == ('[core]\n    remote = r\n[cache]\n    type = "hardlink,symlink"\n'
                                "['remote \"r\"']\n    url = /x\n")


def test_validation_refuses_before_writing(tmp_path):
    dvc_dir = tmp_path / ".dvc"
    dvc_dir.mkdir()
    for name, value in (("cache.shared", "everyone"), ("cache.type", "reflink,teleport"),
                        ("core.no_scm", "yes"), ("bogus.x", "1"), ("cache.nothing", "1")):
        with pytest.raises(ConfigError):
            ops.set_option(str(dvc_dir), ops.parse_name(name), value)
    assert not (dvc_dir / "config").exists()
