"""Config: levels (system < global < repo < local), relative paths, validation naming the file."""
from __future__ import annotations

import os

import pytest

from dataver.config import Config, ConfigFile, level_path
from dataver.errors import ConfigError, RemoteError


@pytest.fixture
def dvc_dir(tmp_path):
    path = tmp_path / "repo" / ".dvc"
    path.mkdir(parents=True)
    return path


def write_level(level, dvc_dir, text):
    path = level_path(level, str(dvc_dir))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fobj:
        fobj.write(text)
    return path


def test_level_files_follow_environment(dvc_dir):
    assert level_path("system", str(dvc_dir)) == os.path.join(os.environ["DVC_SYSTEM_CONFIG_DIR"], "config")
    assert level_path("global", str(dvc_dir)) == os.path.join(os.environ["DVC_GLOBAL_CONFIG_DIR"], "config")
    assert level_path("repo", str(dvc_dir)) == str(dvc_dir / "config")
    assert level_path("local", str(dvc_dir)) == str(dvc_dir / "config.local")
    assert level_path("local", None) is None


def test_later_levels_win(dvc_dir):
    for level in ("system", "global", "repo", "local"):
        write_level(level, dvc_dir, f"[core]\n    remote = {level}\n[cache]\n    type = copy\n"
                    if level == "system" else f"[core]\n    remote = {level}\n")
    conf = Config(str(dvc_dir))
    assert conf.get("core", "remote") == "local" and conf.origin[("core", "remote")] == "local"
    assert conf.get("cache", "type") == "copy" and conf.origin[("cache", "type")] == "system"
    os.unlink(dvc_dir / "config.local")
    conf.reload()
    assert conf.get("core", "remote") == "repo"


def test_relative_paths_resolve_against_their_file(dvc_dir, tmp_path):
    write_level("global", dvc_dir, "[cache]\n    dir = ../shared-cache\n")
    conf = Config(str(dvc_dir))
    global_dir = os.environ["DVC_GLOBAL_CONFIG_DIR"]
    assert conf.get("cache", "dir") == os.path.abspath(os.path.join(global_dir, "..", "shared-cache"))
    write_level("repo", dvc_dir, "[cache]\n    dir = ../mycache\n"
                                 "['remote \"store\"']\n    url = ../../bucket\n"
                                 "['remote \"s3\"']\n    url = s3://bucket/path\n")
    conf = Config(str(dvc_dir))
    assert conf.get("cache", "dir") == str(tmp_path / "repo" / "mycache")
    assert conf.remotes()["store"]["url"] == str(tmp_path / "bucket")
    assert conf.remotes()["s3"]["url"] == "s3://bucket/path"


def test_booleans_and_link_types(dvc_dir):
    write_level("repo", dvc_dir, "[core]\n    autostage = true\n    no_scm = False\n"
                                 "[cache]\n    type = \"hardlink,symlink\"\n")
    conf = Config(str(dvc_dir))
    assert conf.get_bool("core", "autostage") is True and conf.get_bool("core", "no_scm") is False
    assert conf.get_bool("core", "check_update", default=True) is True
    assert conf.link_types() == ["hardlink", "symlink"]


@pytest.mark.parametrize("level, text, message", [
    ("repo", "[core]\n    autostage = perhaps\n", "core.autostage"),
    ("local", "[cache]\n    type = teleport\n", "teleport"),
    ("global", "[core]\n    no_such_option = 1\n", "core.no_such_option"),
    ("repo", "[core\n    remote = x\n", "cannot parse"),
    ("system", "stray = 1\n", "outside any section"),
])
def test_validation_errors_name_the_file(dvc_dir, level, text, message):
    path = write_level(level, dvc_dir, text)
    with pytest.raises(ConfigError) as info:
        Config(str(dvc_dir))
    assert message in str(info.value) and path in str(info.value)


def test_config_file_round_trip_and_atomic_save(dvc_dir):
    path = str(dvc_dir / "config")
    conf = ConfigFile(path)
    conf.set("core", "remote", "store")
    conf.set("remote:store", "url", "/data/a,b")
    conf.save()
    text = open(path).read()
    assert text == "[core]\n    remote = store\n['remote \"store\"']\n    url = \"/data/a,b\"\n"
    again = ConfigFile(path)
    assert again.get("remote:store", "url") == "/data/a,b" and again.sections() == ["core", "remote:store"]
    assert again.unset("core", "remote") and not again.unset("core", "remote")
    again.save()
    assert "[core]" not in open(path).read()
    assert sorted(os.listdir(dvc_dir)) == ["config"]  # no temp file left


def test_overrides_given_in_code_merge_over_every_level(dvc_dir, tmp_path, monkeypatch):
    repo_file = write_level("repo", dvc_dir, "[core]\n    remote = a\n['remote \"a\"']\n"
                            "    url = /store/a\n    jobs = 4\n")
    before = open(repo_file).read()
    monkeypatch.chdir(tmp_path)
    conf = Config(str(dvc_dir), {"remote": {"b": {"url": "rel/b"}}, "core": {"remote": "b"}})
    assert conf.get("core", "remote") == "b"
    # relative paths given in code are relative to the working directory, as in DVC
    assert conf.remotes()["b"] == {"url": str(tmp_path / "rel" / "b")}
    assert conf.remotes()["a"] == {"url": "/store/a", "jobs": "4"}
    # remote= names the default; remote_config= merges into that remote's section
    conf = Config(str(dvc_dir), None, "a", {"url": "/elsewhere", "jobs": 8})
    assert conf.get("core", "remote") == "a" and conf.remotes()["a"] == {"url": "/elsewhere", "jobs": 8}
    # without remote=, remote_config goes to the default remote, after config= picked it
    conf = Config(str(dvc_dir), {"core": {"remote": "c"}}, None, {"url": "/c"})
    assert conf.remotes()["c"] == {"url": "/c"}
    conf.reload()  # a reload keeps them
    assert conf.remotes()["c"] == {"url": "/c"} and open(repo_file).read() == before


def test_remote_config_without_any_remote_is_the_default(dvc_dir):
    conf = Config(str(dvc_dir), None, None, {"url": "/only"})
    name = conf.get("core", "remote")
    assert conf.remotes() == {name: {"url": "/only"}}
    with pytest.raises(ConfigError, match="remote_config names no remote and has no 'url'"):
        Config(str(dvc_dir), None, None, {"jobs": 2})


@pytest.mark.parametrize("overrides, message", [
    ({"core": {"nosuch": 1}}, "config given in code: unknown option 'core.nosuch'"),
    ({"core": {"autostage": "maybe"}}, "'core.autostage' must be true or false"),
    ({"remote": "x"}, "config['remote'] must be a dict, not str"),
    ({"remote": {"r": ["url"]}}, "config['remote']['r'] must be a dict, not list"),
    (["core"], "config must be a dict, not list"),
])
def test_bad_overrides_are_one_line_errors(dvc_dir, overrides, message):
    with pytest.raises(ConfigError) as info:
        Config(str(dvc_dir), overrides)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_parsed_config_is_reused_only_while_the_file_is_unchanged(dvc_dir):
    path = write_level("repo", dvc_dir, "[core]\n    remote = aaaa\n")
    assert Config(str(dvc_dir)).get("core", "remote") == "aaaa"
    assert (dvc_dir / "tmp" / "dataver" / "config.marshal").exists()
    assert Config(str(dvc_dir)).get("core", "remote") == "aaaa"  # from the store
    st = os.stat(path)
    with open(path, "w") as fobj:  # same size, same mtime as before: only the content differs
        fobj.write("[core]\n    remote = bbbb\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert Config(str(dvc_dir)).get("core", "remote") == "bbbb"


def test_unreadable_parsed_store_and_broken_config_are_not_trusted(dvc_dir):
    write_level("repo", dvc_dir, "[core]\n    remote = aaaa\n")
    Config(str(dvc_dir))
    store = dvc_dir / "tmp" / "dataver" / "config.marshal"
    store.write_bytes(b"\x00junk")
    assert Config(str(dvc_dir)).get("core", "remote") == "aaaa"
    write_level("repo", dvc_dir, "[core\n    remote = aaaa\n")
    for _ in range(2):  # a parse error is raised every time, never remembered
        with pytest.raises(ConfigError):
            Config(str(dvc_dir))


def test_reading_config_outside_a_repo_creates_nothing(tmp_path):
    missing = tmp_path / "no-repo" / ".dvc"
    Config(str(missing))
    assert not missing.exists()


@pytest.mark.parametrize("level, text, message", [
    ("repo", "[foo]\n    bar = 1\n", "unknown section 'foo'"),
    ("local", "[remote]\n    url = /x\n", "unknown section 'remote'"),
    ("repo", "['remote \"r\"']\n    user = x\n", "remote 'r' has no url"),
    ("repo", "[state]\n    foo = 1\n", "unknown option 'state.foo'"),
    ("global", "[core]\n    autostage = yes\n", "'core.autostage' must be true or false"),
    ("repo", "[cache]\n    verify = 1\n", "'cache.verify' must be true or false"),
])
def test_what_dvc_refuses_is_refused(dvc_dir, level, text, message):
    path = write_level(level, dvc_dir, text)
    with pytest.raises(ConfigError) as info:
        Config(str(dvc_dir))
    assert message in str(info.value) and path in str(info.value) and "\n" not in str(info.value)


def test_what_dvc_accepts_is_accepted(dvc_dir):
    write_level("repo", dvc_dir, "[Core]\n    autostage = True\n[feature]\n    whatever = 1\n"
                                 "[state]\n    row_limit = 10\n[plots]\n    auto_open = false\n"
                                 "['machine \"m\"']\n    cloud = aws\n['db \"d\"']\n    url = x\n"
                                 "['remote \"r\"']\n    url = /r\n")
    write_level("local", dvc_dir, "['remote \"r\"']\n    password = secret\n")  # url from repo
    conf = Config(str(dvc_dir))
    assert conf.get_bool("core", "autostage") and conf.remotes()["r"]["password"] == "secret"


def test_missing_default_remote_names_the_file(dvc_dir):
    path = write_level("global", dvc_dir, "[core]\n    remote = nope\n")
    conf = Config(str(dvc_dir))  # DVC too only minds when a remote is used
    error = conf.missing_remote("nope")
    assert isinstance(error, RemoteError)
    assert str(error).startswith(f"{path}: the default remote (core.remote) 'nope' does not exist")
    assert "dataver remote add nope URL" in str(error)
    assert str(conf.missing_remote("other")) == \
        "remote 'other' does not exist (see `dataver remote list`)"
