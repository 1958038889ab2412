"""What DVC 3 refuses in a `.dvc` file or a config file, dataver refuses too, and what it accepts
(every key it knows, in the places it knows them) dataver accepts. Each sample is put in a repo
holding one tracked file, and `status` is run by both tools.

Known difference: a `.dvc` file listing one output twice is refused by dataver (the two entries
could disagree; DVC quietly takes one), see docs/faults.md."""
from __future__ import annotations

import pytest

from tests.compat.conftest import dataver, dvc
from tests.conftest import git

pytestmark = pytest.mark.compat

A = "0cc175b9c0f1b6a831c399e269772661"

DVCFILES = {  # name -> (content of extra.dvc, refused)
    "every_known_key": (
        "md5: abcd\nwdir: .\nfrozen: false\nlocked: false\nalways_changed: false\ndesc: d\n"
        "meta: {a: 1}\ndeps:\n- path: src\n  md5: " + A + "\n  size: 1\n"
        f"outs:\n- md5: {A}\n  size: 1\n  isexec: true\n  hash: md5\n  path: x\n  checksum: abcd\n"
        "  etag: abcd\n  version_id: v\n  persist: true\n  cloud: {}\n  desc: d\n  type: t\n"
        "  labels: [a]\n  meta: {a: 1}\n  cache: true\n  remote: r\n  push: false\n  files: []\n"
        "  fs_config: {}\n", False),
    "outs_null": ("outs:\n", False),
    "only_unknown_keys": ("foo: 1\nbar: 2\n", True),
    "unknown_top_key": ("cmd: echo\nouts: []\n", True),
    "unknown_out_key": (f"outs:\n- md5: {A}\n  path: x\n  foo: 1\n", True),
    "unknown_dep_key": ("deps:\n- path: a\n  remote: r\nouts: []\n", True),
    "wdir_int": ("wdir: 3\nouts: []\n", True),
    "persist_int": (f"outs:\n- md5: {A}\n  path: x\n  persist: 1\n", True),
    "size_str": (f"outs:\n- md5: {A}\n  path: x\n  size: '5'\n", True),
}

CONFIGS = {  # name -> (content of .dvc/config, refused)
    "known_sections": ("[core]\n    autostage = true\n    remote = nope\n[feature]\n    x = 1\n"
                       "['remote \"r\"']\n    url = /tmp/r\n", False),
    "unknown_section": ("[foo]\n    bar = 1\n", True),
    "remote_without_url": ("['remote \"r\"']\n    user = x\n", True),
    "unknown_option": ("[state]\n    foo = 1\n", True),
    "bool_yes": ("[core]\n    autostage = yes\n", True),
    "bad_cache_type": ("[cache]\n    type = bogus\n", True),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("schema") / "repo"
    root.mkdir()
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    (root / "f.txt").write_text("f")
    dvc("add", "-q", "f.txt", cwd=root)
    return root


def both_refuse(root) -> tuple[bool, bool]:
    """(dvc refuses, dataver refuses) to run `status` here; dataver's refusal is one line."""
    theirs = dvc("status", cwd=root, ok=False)
    ours = dataver("status", cwd=root, ok=False)
    assert "Traceback" not in ours.stderr and ours.returncode in (0, 1), ours.stderr
    if ours.returncode:
        assert len(ours.stderr.splitlines()) == 1, ours.stderr
    return theirs.returncode != 0, ours.returncode != 0


@pytest.mark.parametrize("name", sorted(DVCFILES))
def test_dvcfile_refused_as_dvc_refuses_it(repo, name):
    content, refused = DVCFILES[name]
    (repo / "extra.dvc").write_text(content)
    try:
        assert both_refuse(repo) == (refused, refused)
    finally:
        (repo / "extra.dvc").unlink()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_refused_as_dvc_refuses_it(repo, name):
    content, refused = CONFIGS[name]
    config = repo / ".dvc" / "config"
    before = config.read_text()
    config.write_text(content)
    try:
        assert both_refuse(repo) == (refused, refused)
    finally:
        config.write_text(before)


def test_empty_dvcfile_tracks_nothing_for_both_but_dataver_warns(repo):
    (repo / "empty.dvc").write_text("")
    try:
        assert both_refuse(repo) == (False, False)
        err = dataver("status", cwd=repo).stderr
        assert err.startswith("WARNING: 'empty.dvc' is empty") and len(err.splitlines()) == 1
        assert dataver("-q", "status", cwd=repo).stderr == ""
    finally:
        (repo / "empty.dvc").unlink()
