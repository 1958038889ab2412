"""Names and paths at the file system's limits: names of 255 bytes (NAME_MAX), paths of 4095
(PATH_MAX), folders nested deeper than Python's recursion limit, and crafted manifests and `.dvc`
files that name more than a disk can hold. Each either works or fails with one `ERROR:` line
that changes nothing; none prints a traceback."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from tests.func.helpers import cli, link_kind, refuses, remove_deep
from tests.func.test_faults import put_object

NAME = "n" * 255  # the longest name Linux file systems take


@pytest.fixture(autouse=True)
def _remove_deep_trees(tmp_path):
    """Delete what the test made: pytest's own clean-up (shutil.rmtree) fails on deep trees."""
    yield
    for child in tmp_path.iterdir():
        if child.is_dir() and not child.is_symlink():
            remove_deep(child)


def run(capsys, *args) -> tuple[int, str]:
    code, _out, err = cli(capsys, *args)
    assert "Traceback" not in err, err
    return code, err


def no_temp_files(root) -> bool:
    return not any(name.endswith((".dvtmp", ".dataver.tmp"))
                   for _dirpath, _dirs, names in os.walk(root) for name in names)


@pytest.mark.parametrize("cache_type", ["hardlink", "symlink", "copy"])
def test_names_of_255_bytes_with_every_link_type(repo_dir, capsys, cache_type):
    # a link is made under `<name>.<8 hex>.dvtmp` next to its file: too long a name for a 255-byte
    # one, unless shortened; and relinking a file that already is a hardlink left the temp file
    assert run(capsys, "config", "cache.type", cache_type)[0] == 0
    data = repo_dir / "data"
    data.mkdir()
    (data / NAME).write_text("longest")
    (data / ("m" * 200)).write_text("long")
    (repo_dir / ("f" * 251)).write_text("single")  # its .dvc file takes the other 4 bytes
    assert run(capsys, "add", "data", "f" * 251) == (0, "")
    for path in (data / NAME, repo_dir / ("f" * 251)):
        assert link_kind(path) == {"copy": "file"}.get(cache_type, cache_type)
    os.chmod(data, 0o755)
    for path in data.iterdir():
        path.unlink()
    assert run(capsys, "checkout") == (0, "")
    assert (data / NAME).read_text() == "longest"
    assert run(capsys, "status")[0] == 0 and "up to date" in capsys.readouterr().out + \
        cli(capsys, "status")[1]
    (data / ("m" * 200)).unlink()
    (data / ("m" * 200)).write_text("changed")
    assert run(capsys, "commit", "-f") == (0, "")
    assert run(capsys, "checkout", "--relink") == (0, "")
    assert (data / ("m" * 200)).read_text() == "changed" and no_temp_files(repo_dir)


@pytest.mark.parametrize("length", [240, 251])
def test_add_targets_with_long_names(repo_dir, capsys, length):
    # the .dvc file's temp name was `<name>.dvc.<pid>.<hex>.dataver.tmp`: too long from 240 bytes on
    name = "t" * length
    (repo_dir / name).write_text("x")
    assert run(capsys, "add", name) == (0, "")
    # a long scalar goes on a line of its own, in DVC's files as in ours
    assert (repo_dir / f"{name}.dvc").read_text().endswith(f"  path: \n    {name}\n")
    assert f"/{name}\n" in (repo_dir / ".gitignore").read_text() and no_temp_files(repo_dir)


@pytest.mark.parametrize("length", [252, 255])
def test_add_target_without_room_for_its_dvc_file(repo_dir, capsys, length):
    # DVC fails there too, with "unexpected error" after caching the file
    (repo_dir / ("t" * length)).write_text("x")
    refuses(capsys, repo_dir, "add", "t" * length,
            expect=("ttt", f"{length} bytes; at most 251", "shorter name"))
    # nor can an output be moved to such a name (the data was moved, then the command crashed)
    (repo_dir / "f").write_text("f")
    assert run(capsys, "add", "f")[0] == 0
    refuses(capsys, repo_dir, "move", "f", "u" * length, expect=("uuu", "shorter name"))


def deep_tree(root, levels: int, name: str = "f") -> str:
    """``root/a/a/.../a/name`` with ``levels`` folders, made by walking down (no long path is
    ever handed to the kernel); returns the folder's relpath."""
    here = os.getcwd()
    os.chdir(root)
    try:
        for _ in range(levels):
            os.mkdir("a")
            os.chdir("a")
        with open(name, "w") as fobj:
            fobj.write("deep")
    finally:
        os.chdir(here)
    return "/".join(["a"] * levels)


def test_tree_deeper_than_path_max(repo_dir, capsys):
    (repo_dir / "g").write_text("g")
    assert run(capsys, "add", "g")[0] == 0
    (repo_dir / "deep").mkdir()
    deep_tree(repo_dir / "deep", 5000)  # 10,000 bytes of path: no path reaches its bottom
    # status, commit and checkout look for .dvc files everywhere: they get past it
    for args in (["status"], ["commit"], ["checkout"]):
        assert run(capsys, *args)[0] == 0, args
    # what cannot be read cannot be tracked: refused, naming it and the fix
    before = {p: open(p, "rb").read() for p in (repo_dir / "g.dvc", repo_dir / ".gitignore")}
    for target in ("deep", "deep/a/a"):
        code, err = run(capsys, "add", target)
        assert code == 1 and len(err.splitlines()) == 1, err
        assert "deep/a/a/a/" in err and "nested too deeply" in err and ".dvcignore" in err
    assert not (repo_dir / "deep.dvc").exists() and not (repo_dir / "deep" / "a" / "a.dvc").exists()
    assert before == {p: open(p, "rb").read() for p in before}
    (repo_dir / ".dvcignore").write_text("/deep\n")  # the fix the message gives
    assert run(capsys, "status")[0] == 0


def test_file_past_path_max_in_a_readable_folder(repo_dir, capsys):
    (repo_dir / "deep").mkdir()
    rel = deep_tree(repo_dir / "deep", 1900, name="b" * 250)  # its folder fits; the file does not
    refuses(capsys, repo_dir, "add", "deep", expect=("bbbb", "too long to read", ".dvcignore"))
    assert os.path.basename(rel) == "a"


def test_tree_deeper_than_the_recursion_limit(repo_dir, capsys):
    # 1500 folders fit in PATH_MAX, but os.makedirs, os.walk and shutil.rmtree recurse once per
    # level and Python stops at 1000
    (repo_dir / "deep").mkdir()
    rel = deep_tree(repo_dir / "deep", 1500)
    leaf = os.path.join("deep", rel, "f")
    assert run(capsys, "add", "deep")[0] == 0
    os.chmod(repo_dir / "deep", 0o755)
    os.rename(repo_dir / "deep", repo_dir / "gone")  # out of the way without walking it
    assert run(capsys, "checkout")[0] == 0
    assert open(leaf).read() == "deep"
    assert run(capsys, "status")[0] == 0 and run(capsys, "commit", "-f")[0] == 0
    # a deep folder where a tracked file belongs: its content is in the cache, so it is removed
    (repo_dir / "model").write_text("deep")
    assert run(capsys, "add", "model")[0] == 0
    (repo_dir / "model").unlink()
    os.rename(repo_dir / "deep", repo_dir / "model")
    assert run(capsys, "checkout", "model")[0] == 0
    assert (repo_dir / "model").read_text() == "deep"


def dir_output(root, entries: list[tuple[str, bytes]], name="data") -> str:
    """A `.dvc` file for a directory output whose manifest lists ``entries`` (their objects
    stored), all under correct md5 names; returns the manifest's oid."""
    items = [{"md5": put_object(root, data), "relpath": rel} for rel, data in entries]
    oid = put_object(root, json.dumps(sorted(items, key=lambda i: i["relpath"]),
                                      sort_keys=True).encode(), ".dir")
    (root / f"{name}.dvc").write_text(f"outs:\n- md5: {oid}\n  size: 1\n  nfiles: {len(items)}\n"
                                      f"  hash: md5\n  path: {name}\n")
    return oid


@pytest.mark.parametrize("rel, expect", [
    ("x" * (1 << 20), "1048576 bytes, at most 255"),  # a mebibyte-long name
    ("/".join(["y" * 200] * 30), "too long for this system"),  # 6 KB of path
    ("a/" * 2040 + "f", "too long for this system"),  # fits alone, not below the repo
])
def test_manifest_naming_more_than_a_disk_holds(repo_dir, capsys, rel, expect):
    dir_output(repo_dir, [("ok.txt", b"ok"), (rel, b"a")])
    dir_output(repo_dir, [("fine.txt", b"fine")], name="other")
    for args in (["checkout"], ["checkout", "data"], ["checkout", "data/ok.txt"]):
        refuses(capsys, repo_dir, *args, expect=("data", expect))
    assert not (repo_dir / "data").exists() and not (repo_dir / "other").exists()
    assert run(capsys, "status")[0] == 0  # it reports the output missing; nothing to write


def test_output_path_longer_than_path_max(repo_dir, capsys):
    oid = put_object(repo_dir, b"a")
    (repo_dir / "x.dvc").write_text(f"outs:\n- md5: {oid}\n  size: 1\n  hash: md5\n"
                                    f"  path: {'a/' * 2100}f\n")
    for args in (["status"], ["checkout"], ["commit"]):
        refuses(capsys, repo_dir, *args, expect=("x.dvc", "too long to use"))
    assert hashlib.md5(b"a").hexdigest() == oid


def test_dvcfile_in_a_folder_at_the_edge_of_path_max(repo_dir, capsys):
    # its folder can be listed, the file itself cannot be opened: a one-line error, not a crash
    base = len(os.fsencode(str(repo_dir / "deep")))
    (repo_dir / "deep").mkdir()
    deep_tree(repo_dir / "deep", (4095 - base) // 2, name="x.dvc")
    for args in (["status"], ["checkout"], ["commit"]):
        refuses(capsys, repo_dir, *args, expect=("x.dvc", "too long to read", "nested less deeply"))
