"""`config` and `cache dir`: the files written must be byte-identical to what `dvc config`
writes, and reads must print what dvc prints."""
from __future__ import annotations

import os

from dataver.cli.main import main
from tests.conftest import run_cli, run_dvc
from tests.func.helpers import cli, twin_repos

EDITS = [
    ["config", "core.autostage", "true"],
    ["config", "cache.type", "hardlink,symlink"],
    ["config", "cache.shared", "group"],
    ["config", "--local", "core.remote", "myr"],
    ["config", "remote.myr.url", "/tmp/x"],
    ["config", "cache.dir", "../cachex"],
    ["config", "remote.r2.url", "s3://bucket/path"],
    ["config", "core.autostage", "false"],
    ["config", "--unset", "core.autostage"],
    ["config", "--local", "--unset", "core.remote"],
    ["config", "--global", "core.analytics", "false"],
    ["cache", "dir", "--local", "../c2"],
]


def read(path) -> bytes | None:
    try:
        with open(path, "rb") as fobj:
            return fobj.read()
    except FileNotFoundError:
        return None


def test_config_files_byte_identical_to_dvc(tmp_path, monkeypatch):
    dv, dvc, codes, dvc_codes = twin_repos(tmp_path, monkeypatch, {"sub/x": "x"}, EDITS)
    assert codes == dvc_codes == [0] * len(EDITS)
    for name in ("config", "config.local"):
        mine, theirs = read(os.path.join(dv, ".dvc", name)), read(os.path.join(dvc, ".dvc", name))
        assert mine == theirs, name
    text = read(os.path.join(dv, ".dvc", "config")).decode()
    assert '    type = "hardlink,symlink"\n' in text and "dir = ../../cachex\n" in text
    assert text.index("[cache]") < text.index("['remote \"myr\"']")
    assert read(os.path.join(dv, ".dvc", "config.local")) == b"[cache]\n    dir = ../../c2\n"
    glob = os.path.join(os.environ["DVC_GLOBAL_CONFIG_DIR"], "config")
    assert read(glob) == b"[core]\n    analytics = false\n"


def test_paths_from_subdirectory_and_emptied_config_like_dvc(tmp_path, monkeypatch):
    edits = [["config", "cache.dir", "../lc"], ["config", "remote.r.url", "../rel"],
             ["config", "--local", "core.remote", "r"], ["config", "--local", "--unset", "core.remote"]]
    roots = twin_repos(tmp_path, monkeypatch, {"sub/x": "x"}, [])[:2]
    for root in roots:
        for edit in edits:
            if root.endswith("dvc"):
                run_dvc(*edit, cwd=os.path.join(root, "sub"))
            else:
                monkeypatch.chdir(os.path.join(root, "sub"))
                assert main(edit) == 0
    for name in ("config", "config.local"):
        assert read(os.path.join(roots[0], ".dvc", name)) == read(os.path.join(roots[1], ".dvc", name))
    assert read(os.path.join(roots[0], ".dvc", "config.local")) == b"\n"  # what dvc leaves
    assert b"dir = ../lc\n" in read(os.path.join(roots[0], ".dvc", "config"))


def test_get_and_list_print_like_dvc(tmp_path, monkeypatch, capsys):
    edits = [["config", "cache.dir", "../cachex"], ["config", "remote.r.url", "rel"],
             ["config", "--local", "cache.dir", "lc"], ["config", "core.autostage", "true"]]
    dv, dvc, _, _ = twin_repos(tmp_path, monkeypatch, {}, edits)
    queries = [["config", "-l"], ["config", "-l", "--show-origin"], ["config", "cache.dir"],
               ["config", "--project", "cache.dir"], ["config", "--show-origin", "core.autostage"],
               ["config", "core.nothere"], ["config", "remote.r.url"], ["cache", "dir"],
               ["config", "--project", "-l"]]
    capsys.readouterr()
    for query in queries:
        monkeypatch.chdir(dv)
        assert main(query) == 0
        mine = capsys.readouterr().out
        theirs = run_dvc(*query, cwd=dvc).stdout
        assert mine.replace(dv, "ROOT") == theirs.replace(dvc, "ROOT"), query
    monkeypatch.chdir(dv)
    assert cli(capsys, "config", "core.autostage")[1] == "true\n"


def test_config_errors_are_one_line(repo_dir, capsys):
    cases = [(["config", "core.bogus", "1"], "core.bogus"), (["config", "cache.type", "bogus"], "bogus"),
             (["config", "core.autostage", "maybe"], "true or false"),
             (["config", "--unset", "core.autostage"], "autostage"),
             (["config", "--unset", "remote.zz.url"], "remote 'zz'"),
             (["config", "--global", "core.remote"], "remote"),
             (["config", "nosection"], "section.option"), (["config", "foo.bar", "1"], "foo"),
             (["config", "-l", "core.remote"], "--list"), (["config"], "NAME"),
             (["config", "--show-origin", "core.remote", "x"], "--show-origin")]
    before = read(repo_dir / ".dvc" / "config")
    for args, needle in cases:
        code, out, err = cli(capsys, *args)
        assert code == 1 and needle in err and err.count("\n") == 1, (args, err)
    assert read(repo_dir / ".dvc" / "config") == before


def test_remote_needs_url(repo_dir, capsys):
    assert cli(capsys, "config", "remote.r.url", "/x")[0] == 0
    code, _, err = cli(capsys, "config", "--unset", "remote.r.url")
    assert code == 1 and "url" in err
    assert cli(capsys, "config", "remote.q.region", "eu")[0] == 1
    assert b'remote "q"' not in read(repo_dir / ".dvc" / "config")


def test_config_outside_a_repo(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "config", "--global", "core.autostage", "true")[0] == 0
    assert cli(capsys, "config", "core.autostage")[1] == "true\n"
    assert cli(capsys, "config", "-l")[1] == "core.autostage=true\n"
    code, _, err = cli(capsys, "config", "--local", "core.autostage", "true")
    assert code == 1 and "not inside" in err


def test_cache_dir(repo_dir, capsys):
    assert cli(capsys, "cache", "dir")[1] == f"{repo_dir / '.dvc' / 'cache'}\n"
    os.mkdir(repo_dir / "sub")
    proc = run_cli("cache", "dir", "../../shared", cwd=repo_dir / "sub")
    assert proc.returncode == 0, proc.stderr
    assert b"[cache]\n    dir = ../../shared\n" == read(repo_dir / ".dvc" / "config")
    assert cli(capsys, "cache", "dir")[1] == f"{repo_dir.parent / 'shared'}\n"
    assert cli(capsys, "cache", "dir", "--unset")[0] == 0
    assert read(repo_dir / ".dvc" / "config") == b"\n"
    code, _, err = cli(capsys, "cache", "dir", "--unset")
    assert code == 1 and "dir" in err
