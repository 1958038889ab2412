"""`dataver add` and `dvc add` on the same data write the same bytes: `.dvc` files, `.dir` objects,
cache files (and their 0444 mode), `.gitignore` lines and the git index."""
from __future__ import annotations

import random
import unicodedata

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, index, make_tree, snapshot, status_json
from tests.conftest import git

pytestmark = pytest.mark.compat

CAFE_NFC = unicodedata.normalize("NFC", "café")
CAFE_NFD = unicodedata.normalize("NFD", "café")
LONG_DIR = "a directory name with spaces that is long enough to need wrapping by the yaml dumper"

_GEN = random.Random(0)
# over 16 MiB, so dataver spreads the work over worker processes: small files (read whole),
# two larger ones (streamed), an empty one, and the same content in several places
SPREAD = {f"data/d{i % 7}/img{i:03d}.jpg": _GEN.randbytes(60_000 + i) for i in range(300)}
SPREAD.update({"data/big/a.bin": _GEN.randbytes(3 << 20), "data/big/b.bin": _GEN.randbytes(1 << 20),
               "data/empty": b"", "data/dup1": b"twice" * 9000, "data/d3/dup2": b"twice" * 9000})

CASES = {
    "spread_over_workers": (SPREAD, ["data"], ()),
    "single_file": ({"data.bin": b"\x00\x01binary\r\n" * 100}, ["data.bin"], ()),
    "nested_dir": (
        {"data/a.txt": "a", "data/sub/b.txt": "b\r\nline", "data/sub/deeper/c.bin": b"\xff" * 3000,
         "data/z.txt": "z", "data/B.txt": "upper", "data/sub-x/d": "d"},
        ["data"], (),
    ),
    "unicode_names": (
        {f"data/{CAFE_NFC}.txt": "nfc", f"data/{CAFE_NFD}.txt": "nfd", "data/日本/語.json": "{}",
         f"{CAFE_NFD}-file.txt": "single nfd", f"{CAFE_NFC} dir/x": "x"},
        ["data", f"{CAFE_NFD}-file.txt", f"{CAFE_NFC} dir"], (),
    ),
    "duplicates": (
        {"data/one": "same", "data/two": "same", "data/sub/three": "same", "copy": "same"},
        ["data", "copy"], (),
    ),
    "empty_dirs": (
        {"data/empty": None, "data/sub/also-empty": None, "data/file": "f", "void": None},
        ["data", "void"], (),
    ),
    "executable_file": ({"run.sh": "#!/bin/sh\necho hi\n", "data/tool": "x"}, ["run.sh", "data"],
                        ("run.sh", "data/tool")),
    "dvcignore": (
        {".dvcignore": "*.tmp\nscratch/\n!keep.tmp\n", "data/a.txt": "a", "data/b.tmp": "tmp",
         "data/keep.tmp": "kept", "data/scratch/x": "x", "data/sub/scratch/y": "y",
         "proj/.dvcignore": "local.txt\n/data/anchored\nlogs/\n", "proj/data/local.txt": "l",
         "proj/data/deep/local.txt": "l2", "proj/data/anchored": "an", "proj/data/deep/anchored": "k",
         "proj/data/logs/x.log": "log", "proj/data/ok.txt": "ok", "ignored.tmp": "never added"},
        ["data", "proj/data"], (),
    ),
    "already_gitignored": (
        {".gitignore": "*.pt\n/models\n", "model.pt": "w", "models/m1": "m", "other": "o"},
        ["model.pt", "models", "other"], (),
    ),
    "long_paths": (
        {f"{LONG_DIR}/file": "f", f"{LONG_DIR} and a file with a long name too.txt": "long"},
        [LONG_DIR, f"{LONG_DIR} and a file with a long name too.txt"], (),
    ),
    "gitignore_escaping": (
        {" leading space": "1", "trailing space ": "2", "#hash": "3", "star*name": "4", "!bang": "5",
         "q?mark": "6", "[brackets]": "7", "plain name": "9"},
        [" leading space", "trailing space ", "#hash", "star*name", "!bang", "q?mark", "[brackets]",
         "plain name"], (),
    ),
    "file_in_subdir": (
        {"sub/deeper/file.txt": "in sub", "sub/other.txt": "o", "sub/.gitignore": "*.log\n"},
        ["sub/deeper/file.txt", "sub/other.txt"], (),
    ),
    "existing_gitignore_without_newline": (
        {".gitignore": "*.pyc", "model.pt": b"\x80weights"}, ["model.pt"], (),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_add_matches_dvc(pair, case):
    spec, targets, executable = CASES[case]
    a, b = pair
    for root in pair:
        make_tree(root, spec, executable)
    dataver("add", *targets, cwd=a)
    dvc("add", *targets, cwd=b)
    assert_same(a, b)
    assert index(a) == index(b)
    assert status_json(dvc, a) == {} == status_json(dataver, b)  # each reads the other's repo


def test_add_empty_directory_is_empty_manifest(pair):
    a, b = pair
    for root in pair:
        (root / "void").mkdir()
    dataver("add", "void", cwd=a)
    dvc("add", "void", cwd=b)
    assert_same(a, b)
    assert (a / ".dvc/cache/files/md5/d7/51713988987e9331980363e24189ce.dir").read_bytes() == b"[]"


def test_add_executable_sets_isexec(pair):
    a, b = pair
    for root in pair:
        make_tree(root, {"tool": "#!/bin/sh\n"}, ("tool",))
    dataver("add", "tool", cwd=a)
    dvc("add", "tool", cwd=b)
    assert "  isexec: true\n" in (a / "tool.dvc").read_text()
    assert_same(a, b)


def test_dvcignore_inside_added_directory_is_refused_like_dvc(pair):
    a, b = pair
    for root in pair:
        make_tree(root, {"data/sub/.dvcignore": "x\n", "data/sub/y": "y"})
    got, want = dataver("add", "data", cwd=a, ok=False), dvc("add", "data", cwd=b, ok=False)
    assert (got.returncode, want.returncode) == (1, 255)
    assert ".dvcignore file should not be" in got.stderr and "Traceback" not in got.stderr
    assert_same(a, b)


@pytest.mark.parametrize("spec, target", [({"back\\slash": "x"}, "back\\slash"),
                                          ({"data/ok": "o", "data/sub/a\\b": "x"}, "data")])
def test_backslash_names_refused_before_writing(pair, spec, target):
    a = pair[0]
    make_tree(a, spec)
    before = snapshot(a)
    proc = dataver("add", target, cwd=a, ok=False)
    assert proc.returncode == 1 and "backslash" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(a) == before


def test_add_from_subdirectory_cwd(pair):
    a, b = pair
    for root in pair:
        make_tree(root, {"sub/file.txt": "x", "sub/dir/y": "y"})
    dataver("add", "file.txt", "dir", cwd=a / "sub")
    dvc("add", "file.txt", "dir", cwd=b / "sub")
    assert_same(a, b)


# (data, target, text put before and after dvc's own .dvc file, new data, made executable)
READD_CASES = {
    "file_with_comments": (
        {"data.txt": "v1"}, "data.txt", "# top comment\n",
        "  desc: my data  # inline comment\n  remote: myremote\nmeta:\n  owner: me\n",
        {"data.txt": "version two"}, (),
    ),
    "dir_with_unknown_keys": (
        {"data/a": "a", "data/b": "b"}, "data", "",
        "  desc: images\n  push: false\n# trailing comment\n", {"data/a": "changed", "data/c": "new"}, (),
    ),
    "file_becomes_executable": (
        {"run": "v1"}, "run", "", "  desc: d\n", {"run": "v2"}, ("run",),
    ),
    "unchanged_data": ({"same.txt": "s"}, "same.txt", "# keep me\n", "  desc: same\n", {}, ()),
}


@pytest.mark.parametrize("case", sorted(READD_CASES))
def test_readd_keeps_user_edits_like_dvc(pair, case):
    spec, target, before, after, change, executable = READD_CASES[case]
    a, b = pair
    for root in pair:
        make_tree(root, spec)
        dvc("add", target, cwd=root)  # the same starting point in both repos
        dvcfile = root / f"{target}.dvc"
        dvcfile.write_text(before + dvcfile.read_text() + after)
        make_tree(root, change, executable)
    dataver("add", target, cwd=a)
    dvc("add", target, cwd=b)
    assert_same(a, b)
    text = (a / f"{target}.dvc").read_text()
    assert before in text and after.splitlines()[0] in text


def test_readd_of_restyled_dvcfile_like_dvc(pair):
    """Indented lists, quoted scalars, flow mappings: both tools re-dump them the same way."""
    a, b = pair
    for root in pair:
        make_tree(root, {"g": "v1"})
        dvc("add", "g", cwd=root)
        dvcfile = root / "g.dvc"
        lines = dvcfile.read_text().splitlines()  # "outs:", "- md5: ...", "  size: ...", ...
        text = "\n".join(["outs:", "  " + lines[1]] + ["    " + line.strip() for line in lines[2:]]) + "\n"
        text = text.replace("path: g", "path: 'g'  # quoted\n    desc: \"d\"\n    meta: {a: 1, b: [1, 2]}")
        dvcfile.write_text(text)
        make_tree(root, {"g": "v2"})
    dataver("add", "g", cwd=a)
    dvc("add", "g", cwd=b)
    assert_same(a, b)
    assert "meta: {a: 1, b: [1, 2]}" in (a / "g.dvc").read_text()


def test_autostage_matches_dvc(pair):
    a, b = pair
    for root, tool in ((a, dataver), (b, dvc)):
        (root / ".dvc/config").write_text("[core]\n    autostage = true\n")
        make_tree(root, {"data/x": "x", "sub/f": "f"})
        tool("add", "data", "sub/f", cwd=root)
    assert_same(a, b)
    assert index(a) == index(b)
    assert any(line.endswith("sub/.gitignore") for line in index(a))


@pytest.mark.parametrize("in_git", [True, False])
def test_init_matches_dvc(tmp_path, in_git):
    a, b = tmp_path / "a", tmp_path / "b"
    args = [] if in_git else ["--no-scm"]
    for path in (a, b):
        path.mkdir()
        if in_git:
            git(path, "init", "-q")
    dataver("init", *args, cwd=a)
    dvc("init", *args, cwd=b)
    assert_same(a, b)
    if in_git:
        assert index(a) == index(b)
        assert (a / ".dvc/.gitignore").read_text() == "/config.local\n/tmp\n/cache\n"
    else:
        assert (a / ".dvc/config").read_text() == "[core]\n    no_scm = True\n"


def test_init_force_in_existing_repo_matches_dvc(pair):
    a, b = pair
    for root in pair:
        (root / ".dvcignore").write_text("*.tmp\n")
    dataver("init", "-f", cwd=a)
    dvc("init", "-f", cwd=b)
    assert_same(a, b)
    assert snapshot(a)[".dvcignore"][0] == b"*.tmp\n"


def test_commit_matches_dvc(pair):
    a, b = pair
    for root, tool in ((a, dataver), (b, dvc)):
        make_tree(root, {"data/x": "x", "data/sub/y": "y", "f.txt": "f"})
        tool("add", "data", "f.txt", cwd=root)
        (root / "f.txt.dvc").write_text((root / "f.txt.dvc").read_text() + "  desc: kept\n")
        for rel in ("data/x", "f.txt"):
            (root / rel).chmod(0o644)
        make_tree(root, {"data/x": "x2", "data/new": "n", "f.txt": "f2"})
        tool("commit", "-f", cwd=root)
    assert_same(a, b)
    assert status_json(dvc, a) == {} == status_json(dataver, b)
