"""Behaviours on older or hand-edited repositories, both tools on the same repository: `move`
writes the `.dvc` file it creates in DVC's key order, a `.dvc/.gitignore` lacking lines gets
them back when a command opens the repository, and a malformed `config.local` is an error."""
from __future__ import annotations

import pytest

from tests.compat.conftest import dataver, dvc
from tests.conftest import git

pytestmark = pytest.mark.compat

TOOLS = {"dataver": dataver, "dvc": dvc}
HAND_WRITTEN = """# written by hand
frozen: false
outs:
- path: a.txt
  md5: 60b725f10c9c85c70d97880dfe8191b3
  cache: true
  desc: the a file
  size: 2
  remote: r2
  hash: md5
desc: top
"""
WDIR = """wdir: ..
outs:
- md5: 60b725f10c9c85c70d97880dfe8191b3
  desc: kept here
  size: 2
  hash: md5
  path: a.txt
"""


def made(tmp_path, name: str, dvcfile: str, text: str):
    root = tmp_path / name
    (root / "sub").mkdir(parents=True)
    git(root, "init", "-q")
    dvc("init", cwd=root)
    (root / "a.txt").write_text("a\n")
    (root / dvcfile).write_text(text)
    git(root, "add", ".dvc", dvcfile)
    git(root, "commit", "-qm", "data")
    return root


@pytest.mark.parametrize("dvcfile,text,src,dst,written", [
    ("a.txt.dvc", HAND_WRITTEN, "a.txt", "sub/b.txt", "sub/b.txt.dvc"),  # renamed: a new file
    ("meta/a.dvc", WDIR, "a.txt", "sub/b.txt", "meta/a.dvc"),  # edited in place, path from wdir
])
def test_move_writes_what_dvc_writes(tmp_path, dvcfile, text, src, dst, written):
    roots = {}
    for name in TOOLS:
        (tmp_path / name / "meta").mkdir(parents=True)
        roots[name] = made(tmp_path, name, dvcfile, text)
        TOOLS[name]("move", src, dst, cwd=roots[name])
    ours, theirs = ((roots[n] / written).read_text() for n in ("dataver", "dvc"))
    assert ours == theirs
    assert (roots["dataver"] / dst).read_text() == "a\n"


@pytest.mark.parametrize("command", [("status",), ("checkout",), ("add", "a.txt")])
@pytest.mark.parametrize("old", ["/config.local\n/cache\n", "/cache", ""])
def test_dvc_gitignore_gets_missing_lines_back(tmp_path, command, old):
    results = {}
    for name in TOOLS:
        root = made(tmp_path, name, "x.txt", "x\n")
        (root / ".dvc" / ".gitignore").write_text(old)
        TOOLS[name](*command, cwd=root)
        results[name] = (root / ".dvc" / ".gitignore").read_text()
    assert results["dataver"] == results["dvc"]
    assert "/tmp" in results["dataver"].splitlines()


def test_config_and_remote_commands_leave_dvc_gitignore_alone(tmp_path):
    root = made(tmp_path, "dataver", "x.txt", "x\n")
    (root / ".dvc" / ".gitignore").write_text("/cache\n")
    dataver("remote", "list", cwd=root)
    dataver("config", "core.autostage", "false", cwd=root)
    assert (root / ".dvc" / ".gitignore").read_text() == "/cache\n"


@pytest.mark.parametrize("content", ["[core\nbad", "remote = r1\n", "[core]\n    nonsense = 1\n"])
@pytest.mark.parametrize("command", [("status",), ("push",), ("config", "-l")])
def test_malformed_config_local_is_an_error_naming_it(tmp_path, content, command):
    root = made(tmp_path, "dataver", "x.txt", "x\n")
    (root / ".dvc" / "config.local").write_text(content)
    if command != ("config", "-l") or "nonsense" not in content:  # DVC's `config -l` lists it
        assert dvc(*command, cwd=root, ok=False).returncode != 0
    proc = dataver(*command, cwd=root, ok=False)
    if command == ("config", "-l") and "nonsense" in content:
        return  # listing does not validate, as DVC's
    assert proc.returncode != 0
    assert "config.local" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
