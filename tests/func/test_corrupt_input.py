"""Corrupt input of every shape: `.dvc` files, `.dir` objects stored under their correct md5 name,
and config files. Every command that reads it exits 1 with one `ERROR:` line naming the file and
what to do (no traceback), and changes nothing: the workspace, the `.dvc` files, the cache and
the git index are exactly as before (tests/func/helpers.refuses).

Objects whose content changed after they were stored are test_integrity's business."""
from __future__ import annotations

import json

import pytest

from tests.func.helpers import cli, refuses
from tests.func.test_faults import put_object

A = "0cc175b9c0f1b6a831c399e269772661"  # md5(b"a")
GOOD = f"  size: 1\n  hash: md5\n  path: x\n"


@pytest.fixture
def repo(repo_dir, capsys):
    """A repo with a tracked file and directory (so every command has work to do), committed."""
    (repo_dir / "model.bin").write_text("weights")
    (repo_dir / "data").mkdir()
    (repo_dir / "data" / "one.txt").write_text("one")
    (repo_dir / "new.txt").write_text("not tracked yet")
    assert cli(capsys, "add", "model.bin", "data")[0] == 0
    return repo_dir


# --- .dvc files ---------------------------------------------------------------------------------

DVCFILES = {  # name -> (content, what the error says besides the file's name)
    "invalid_yaml": ("outs:\n- md5: [unclosed\n", "invalid YAML at line"),
    "not_utf8": (b"outs:\n- path: \xff\n", "not valid UTF-8"),
    "top_level_list": ("- outs\n", "top level must be a mapping"),
    "only_unknown_keys": ("foo: 1\nbar: 2\n", "unknown key 'foo'"),
    "unknown_out_key": (f"outs:\n- md5: {A}\n{GOOD}  colour: red\n", "unknown key 'colour' in outs[0]"),
    "outs_not_list": ("outs:\n  path: x\n", "'outs' must be a list"),
    "outs_scalar": ("outs: 5\n", "'outs' must be a list"),
    "out_not_map": ("outs:\n- just-a-string\n", "outs[0] must be a mapping"),
    "out_list": ("outs:\n- [a, b]\n", "outs[0] must be a mapping"),
    "md5_int": (f"outs:\n- md5: 12345\n{GOOD}", "outs[0].md5"),
    "md5_format": (f"outs:\n- md5: nothex\n{GOOD}", "is not a valid md5: 'nothex'"),
    "md5_list": (f"outs:\n- md5: [{A}]\n{GOOD}", "outs[0].md5"),
    "md5_dir_bad": (f"outs:\n- md5: zz.dir\n{GOOD}", "outs[0].md5"),
    "md5_traversal": (f"outs:\n- md5: ../../{A}\n{GOOD}", "outs[0].md5"),
    "size_str": (f"outs:\n- md5: {A}\n  size: big\n  path: x\n", "outs[0].size"),
    "size_quoted": (f"outs:\n- md5: {A}\n  size: '1'\n  path: x\n", "outs[0].size"),
    "size_negative": (f"outs:\n- md5: {A}\n  size: -1\n  path: x\n", "outs[0].size"),
    "nfiles_float": (f"outs:\n- md5: {A}.dir\n  nfiles: 1.5\n  path: x\n", "outs[0].nfiles"),
    "isexec_str": (f"outs:\n- md5: {A}\n  isexec: maybe\n  path: x\n", "outs[0].isexec"),
    "path_missing": (f"outs:\n- md5: {A}\n  size: 1\n", "outs[0].path"),
    "path_int": (f"outs:\n- md5: {A}\n  path: 7\n", "outs[0].path"),
    "path_empty": (f"outs:\n- md5: {A}\n  path: ''\n", "outs[0].path"),
    "path_absolute": (f"outs:\n- md5: {A}\n  path: /tmp/abs-out\n", "is absolute"),
    "path_escaping": (f"outs:\n- md5: {A}\n  path: ../../outside\n", "outside the repository"),
    "path_dotdot": (f"outs:\n- md5: {A}\n  path: sub/../../../outside\n", "outside the repository"),
    "path_is_root": (f"outs:\n- md5: {A}\n  path: ..\n", "not a valid output location"),
    "path_into_dvc": (f"outs:\n- md5: {A}\n  path: ../.dvc/config\n", "not a valid output location"),
    "path_backslash": (f"outs:\n- md5: {A}\n  path: 'a\\b'\n", "outs[0].path"),
    "path_nul": (f"outs:\n- md5: {A}\n  path: \"a\\0b\"\n", "outs[0].path"),
    "duplicate_outputs": (f"outs:\n- md5: {A}\n{GOOD}- md5: {A}\n  path: ./x\n",
                          "output 'x' is listed twice"),
    "deps_not_list": ("deps: 3\nouts: []\n", "'deps' must be a list"),
}
COMMANDS = (["status"], ["checkout"], ["commit"], ["add", "new.txt"], ["status", "sub/bad.dvc"],
            ["checkout", "sub/bad.dvc"])


@pytest.mark.parametrize("name", sorted(DVCFILES))
def test_corrupt_dvcfile(repo, capsys, name):
    content, says = DVCFILES[name]
    (repo / "sub").mkdir()
    (repo / "sub" / "bad.dvc").write_bytes(content if isinstance(content, bytes) else content.encode())
    for args in COMMANDS:
        line = refuses(capsys, repo, *args, expect=("sub/bad.dvc", says))
        assert line.endswith(")"), line  # and what to do about it: the hint, in parentheses
    assert not (repo.parent / "outside").exists()


# --- .dir objects -------------------------------------------------------------------------------

def entry(relpath, md5=A):
    return {"md5": md5, "relpath": relpath}


MANIFESTS = {  # name -> the object's bytes (stored under their own md5) and what the error says
    "not_json": (b"not json", "not a directory manifest"),
    "truncated_json": (b'[{"md5": "' + A.encode(), "not a directory manifest"),
    "not_utf8": (b"\xff\xfe[]", "not a directory manifest"),
    "not_list": (json.dumps(entry("a")).encode(), "expected a list"),
    "list_of_strings": (b'["a"]', "bad manifest entry"),
    "missing_md5": (json.dumps([{"relpath": "a"}]).encode(), "bad manifest entry"),
    "missing_relpath": (json.dumps([{"md5": A}]).encode(), "invalid path None"),
    "md5_int": (json.dumps([entry("a", 5)]).encode(), "bad manifest entry"),
    "md5_short": (json.dumps([entry("a", A[:-1])]).encode(), "bad manifest entry"),
    "relpath_int": (json.dumps([entry(3)]).encode(), "invalid path 3"),
    "relpath_empty": (json.dumps([entry("")]).encode(), "invalid path ''"),
    "escaping": (json.dumps([entry("../escaped")]).encode(), "escapes the workspace"),
    "escaping_inner": (json.dumps([entry("a/../../escaped")]).encode(), "escapes the workspace"),
    "absolute": (json.dumps([entry("/tmp/escaped")]).encode(), "escapes the workspace"),
    "drive_letter": (json.dumps([entry("C:escaped")]).encode(), "escapes the workspace"),
    "dot_component": (json.dumps([entry("a/./b")]).encode(), "escapes the workspace"),
    "leading_dot": (json.dumps([entry("./a")]).encode(), "escapes the workspace"),
    "trailing_slash": (json.dumps([entry("a/")]).encode(), "escapes the workspace"),
    "backslash": (json.dumps([entry("a\\b")]).encode(), "escapes the workspace"),
    "nul": (json.dumps([entry("a\x00b")]).encode(), "escapes the workspace"),
    "duplicate": (json.dumps([entry("a"), entry("a")]).encode(), "duplicate entry 'a'"),
    "file_and_folder": (json.dumps([entry("a"), entry("a/b")]).encode(), "both a file and a directory"),
    "nested_dir": (json.dumps([entry("a", A + ".dir")]).encode(), "nested directory entry"),
}


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_corrupt_manifest_in_the_cache(repo, capsys, name):
    content, says = MANIFESTS[name]
    put_object(repo, b"a")
    oid = put_object(repo, content, ".dir")
    (repo / "crafted.dvc").write_text(f"outs:\n- md5: {oid}\n  size: 1\n  nfiles: 1\n  hash: md5\n"
                                      "  path: crafted\n")
    for args in (["checkout"], ["checkout", "crafted"], ["checkout", "crafted/a"], ["status"],
                 ["status", "crafted.dvc"]):
        line = refuses(capsys, repo, *args, expect=(oid[:-4], says, "fix"))
        assert line.endswith(")"), line
    assert not (repo / "crafted").exists() and not (repo.parent / "escaped").exists()


# --- config -------------------------------------------------------------------------------------

CONFIGS = {  # name -> (text of .dvc/config, what the error says, commands that read it)
    "malformed_ini": ("[core\n    remote = x\n", "cannot parse config", None),
    "stray_option": ("autostage = true\n", "outside any section", None),
    "bad_cache_type": ("[cache]\n    type = teleport\n", "unknown cache.type 'teleport'", None),
    "bad_cache_types": ("[cache]\n    type = hardlink,teleport\n", "'teleport'", None),
    "autostage_not_bool": ("[core]\n    autostage = maybe\n", "'core.autostage' must be true or false",
                           None),
    "no_scm_yes": ("[core]\n    no_scm = yes\n", "'core.no_scm' must be true or false", None),
    "unknown_option": ("[core]\n    colour = red\n", "unknown option 'core.colour'", None),
    "unknown_section": ("[colours]\n    red = 1\n", "unknown section 'colours'", None),
    "remote_without_url": ("['remote \"r\"']\n    user = me\n", "remote 'r' has no url", None),
    "missing_default_remote": ("[core]\n    remote = nowhere\n", "'nowhere' does not exist",
                               (["push"], ["pull"], ["fetch"], ["status", "-c"])),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_invalid_config(repo, capsys, name):
    text, says, commands = CONFIGS[name]
    (repo / ".dvc" / "config").write_text(text)
    for args in commands or (["status"], ["checkout"], ["commit"], ["add", "new.txt"], ["push"]):
        line = refuses(capsys, repo, *args, expect=(".dvc/config", says))
        assert line.endswith(")"), line
