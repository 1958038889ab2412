"""`ls`, `get`, `import`, `du` options next to real DVC on the same source repositories: the
tree view and depth limit of `ls`, hashes, plain git sources, source config overrides."""
from __future__ import annotations

import pytest

from tests.compat.conftest import assert_same, dvc, make_tree
from tests.conftest import git, isolate, run_cli, run_dvc

pytestmark = pytest.mark.compat


def _new_repo(path, with_dvc: bool = True):
    """A fresh git work tree at ``path`` (with `dvc init` unless ``with_dvc`` is False)."""
    path.mkdir()
    git(path, "init", "-q")
    if with_dvc:
        dvc("init", "-q", cwd=path)
    return path


def _pair(tmp_path):
    """``ours`` and ``theirs``: one empty DVC repository for each tool."""
    return _new_repo(tmp_path / "ours"), _new_repo(tmp_path / "theirs")


def _commit(root, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A DVC repository made by dvc (tag v1, then v2 on main) pushed to the local remote
    ``store``, and a bare clone of it: ``(work tree, file:// URL of the bare clone)``."""
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp_path_factory.mktemp("home"))
        base = tmp_path_factory.mktemp("ls-src")
        src = _new_repo(base / "src")
        dvc("remote", "add", "-d", "store", str(base / "store"), cwd=src)
        make_tree(src, {"README.md": "hi\n", "code/x.py": "print(1)\n", "code/bin/m.bin": "zz\n",
                        "data/images/cat.jpg": "cat 1", "data/images/sub/dog.jpg": "dog",
                        "data/labels/a.json": "{}", "model.pt": "w" * 3000})
        dvc("add", "-q", "data", "model.pt", "code/bin/m.bin", cwd=src)
        dvc("push", "-q", cwd=src)
        _commit(src, "v1")
        git(src, "tag", "v1")
        make_tree(src, {"data/images/cat.jpg": "cat 2", "model.pt": "weights 2"})
        dvc("add", "-q", "data", "model.pt", cwd=src)
        dvc("push", "-q", cwd=src)
        _commit(src, "v2")
        bare = base / "src.git"
        git(base, "clone", "-q", "--bare", str(src), str(bare))
        yield src, bare.as_uri()


@pytest.fixture
def env(source, tmp_path, monkeypatch):
    """The source, and an empty working directory for each test."""
    monkeypatch.chdir(tmp_path)
    return source


def both(*args, cwd=None):
    """``(dataver's, dvc's)`` completed processes of the same command."""
    return run_cli(*args, cwd=cwd), run_dvc(*args, cwd=cwd, check=False)


# (options, path in the repository)
LS_CASES = [
    (["-T"], []), (["-T", "--size", "--show-hash"], []), (["-T"], ["data"]),
    (["-T"], ["./data/"]), (["-T", "--dvc-only"], []), (["-T", "-L", "1"], ["data"]),
    (["-T", "-L", "0"], []), (["-T"], ["data/labels/a.json"]), (["-R", "-L", "2"], ["data"]),
    (["-R", "-L", "3"], []), (["-R", "-L", "0", "--size", "--show-hash"], []),
    (["-R", "-L", "2", "--dvc-only"], []), (["-L", "2"], []), (["--show-hash"], []),
    (["-R", "--show-hash", "--size"], ["data"]), (["--show-hash", "--size"], ["model.pt"]),
    (["-T", "--size", "--rev", "v1"], []), (["-T", "--show-hash", "--rev", "v1"], ["data"]),
    (["-T", "--size", "-L", "0", "--rev", "v1"], []),
]
# A clone is read at a revision: sizes and hashes come from git objects and .dvc files.
URL_CASES = [LS_CASES[1], LS_CASES[5], LS_CASES[10], LS_CASES[14]]


@pytest.mark.parametrize("where", ["worktree", "url"])
def test_ls_tree_level_and_hash_print_what_dvc_prints(env, where):
    src, url = env
    location = str(src) if where == "worktree" else url
    for options, path in (LS_CASES if where == "worktree" else URL_CASES):
        ours, theirs = both("ls", *options, location, *path)
        assert theirs.returncode == 0, (options, path, theirs.stderr)
        assert (ours.returncode, ours.stdout) == (0, theirs.stdout), (options, path, ours.stderr)


def test_ls_tree_with_json_is_refused_as_by_dvc(env):
    src, _url = env
    ours, theirs = both("ls", "-T", "--json", str(src))
    assert ours.returncode != 0 and theirs.returncode != 0
    assert "cannot use --tree and --json options together" in ours.stderr.lower()
    assert "cannot use --tree and --json options together" in theirs.stderr.lower()
    assert ours.stdout == "" and len(ours.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A plain git repository (no `.dvc/`) and a bare clone: ``(work tree, file:// URL)``."""
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, tmp_path_factory.mktemp("home"))
        base = tmp_path_factory.mktemp("plain")
        work = _new_repo(base / "plain", with_dvc=False)
        make_tree(work, {"a.txt": "a\n", "sub/b.txt": "b\n", "sub/deep/c.txt": "c\n"},
                  executable=("a.txt",))
        _commit(work, "p")
        git(base, "clone", "-q", "--bare", str(work), str(base / "plain.git"))
        yield work, (base / "plain.git").as_uri()


def test_ls_and_du_of_a_plain_git_repository_match_dvc(plain, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    work, url = plain
    for args in (["ls", str(work)], ["ls", "-R", "--size", str(work)],
                 ["ls", "-T", "--size", "--show-hash", str(work)], ["ls", "--dvc-only", str(work)],
                 ["ls", "--json", "-R", url], ["ls", "-T", url, "sub"], ["du", str(work)],
                 ["du", url, "sub"]):
        ours, theirs = both(*args)
        assert theirs.returncode == 0, (args, theirs.stderr)
        assert ours.returncode == 0, (args, ours.stderr)
        assert _lines(args, ours.stdout) == _lines(args, theirs.stdout), args


def _lines(args, out: str):
    """`dvc du` of a work tree lists in the file system's order; dataver sorts."""
    return sorted(out.splitlines()) if args[0] == "du" else out


def test_get_and_import_from_plain_git_and_of_git_directories_match_dvc(plain, source, tmp_path):
    work, url = plain
    _src, dvc_url = source
    ours, theirs = _pair(tmp_path)
    gets = [[url, "a.txt"], [str(work), "sub", "-o", "sub_local"], [url, ".", "-o", "whole"],
            [dvc_url, "code"], [dvc_url, ".", "-o", "dvc_whole"]]
    for args in gets:
        for root, tool in ((ours, run_cli), (theirs, run_dvc)):
            proc = tool("get", *args, cwd=root)
            assert proc.returncode == 0, (args, proc.stderr)
    for args in ([url, "sub", "-o", "imported"], [dvc_url, "code", "-o", "code_imp"]):
        for root, tool in ((ours, run_cli), (theirs, run_dvc)):
            proc = tool("import", *args, cwd=root)
            assert proc.returncode == 0, (args, proc.stderr)
    assert_same(ours, theirs)
    assert (ours / "dvc_whole" / "code" / "bin" / "m.bin").read_bytes() == b"zz\n"
    assert not (ours / "dvc_whole" / "code" / "bin" / "m.bin.dvc").exists()
    assert (ours / "imported" / "deep" / "c.txt").read_bytes() == b"c\n"



def test_get_show_url_prints_the_remote_url_dvc_prints(env):
    _src, url = env
    for path in ("model.pt", "data", "data/images/cat.jpg"):
        ours, theirs = both("get", "--show-url", url, path)
        assert theirs.returncode == 0, theirs.stderr
        assert (ours.returncode, ours.stdout) == (0, theirs.stdout), (path, ours.stderr)
        assert "/files/md5/" in ours.stdout
    ours, theirs = both("get", "--show-url", url, "README.md")  # git's: no storage URL
    assert ours.returncode != 0 and theirs.returncode != 0
    assert "README.md" in ours.stderr and len(ours.stderr.strip().splitlines()) == 1


def test_import_no_exec_no_download_jobs_and_source_config_write_what_dvc_writes(env, tmp_path):
    src, url = env
    store = str(src.parent / "store")
    extra = tmp_path / "extra.cfg"
    extra.write_text("[core]\n    remote = store\n")
    imports = [["--no-exec", url, "data", "-o", "d1"], ["--no-exec", url, "README.md"],
               ["--no-download", url, "data", "-o", "d2"], ["--no-download", url, "model.pt"],
               ["--remote", "store", url, "model.pt", "-o", "m3"],
               ["--config", str(extra), url, "model.pt", "-o", "m4", "--remote-config", "jobs=3"],
               ["-j", "2", url, "model.pt", "-o", "m5", "--remote-config", f"url={store}"],
               ["--remote", "store", url, "data/images", "-o", "m6", "--remote-config", "jobs=2"]]
    gets = [["-j", "3", url, "data", "-o", "gd"], ["--config", str(extra), url, "model.pt", "-o", "gm"],
            [url, "model.pt", "-o", "gr", "--remote-config", f"url={store}"]]
    ours, theirs = _pair(tmp_path)
    for root, tool in ((ours, run_cli), (theirs, run_dvc)):
        for args in imports:
            proc = tool("import", "-q", *args, cwd=root)
            assert proc.returncode == 0, (args, proc.stderr)
        for args in gets:
            proc = tool("get", "-q", *args, cwd=root)
            assert proc.returncode == 0, (args, proc.stderr)
    assert_same(ours, theirs)
    assert not (ours / "d1").exists() and not (ours / "model.pt").exists()
    assert "md5:" not in (ours / "d2.dvc").read_text().split("outs:")[1]
    assert (ours / "gm").read_bytes() == b"weights 2"
    # update downloads what --no-exec and --no-download left out (the stage md5 of a --no-exec
    # file is appended at its end, as DVC does) and names each import, in no set order
    outputs = []
    for root, tool in ((ours, run_cli), (theirs, run_dvc)):
        proc = tool("update", "d1.dvc", "d2.dvc", "m3.dvc", "m6.dvc", cwd=root)
        assert proc.returncode == 0, proc.stderr
        outputs.append(sorted(proc.stdout.splitlines()))
    assert outputs[0] == outputs[1] and len(outputs[0]) == 4
    assert_same(ours, theirs, extra_in_right=lambda rel: rel.startswith(".dvc/cache/fs"))
    assert (ours / "d2" / "images" / "cat.jpg").read_bytes() == b"cat 2"


def test_source_config_reaches_ls_and_du_of_a_clone(env, tmp_path):
    """A clone has no data: `ls -R` of a tracked directory needs its manifest from the remote,
    which --config or --remote-config can point at another place."""
    src, url = env
    moved = tmp_path / "moved"
    import shutil

    shutil.copytree(src.parent / "store", moved)
    extra = tmp_path / "extra.cfg"
    extra.write_text(f"['remote \"other\"']\n    url = {moved}\n[core]\n    remote = other\n")
    for args in (["ls", "-R", "--config", str(extra), url, "data"],
                 ["ls", "-R", "--remote", "store", url, "data", "--remote-config", f"url={moved}"],
                 ["du", "--config", str(extra), url]):
        ours, theirs = both(*args)
        assert theirs.returncode == 0, (args, theirs.stderr)
        assert ours.returncode == 0, (args, ours.stderr)
        assert _lines(args, ours.stdout) == _lines(args, theirs.stdout), args
    bad = run_cli("ls", "--config", str(tmp_path / "nope.cfg"), url)
    assert bad.returncode == 1 and "nope.cfg" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_status_reports_an_update_available_as_dvc_does(tmp_path, monkeypatch):
    """Imports from a work tree, from a file:// URL (a branch) and pinned to a tag: after a new
    commit in the source the first two have an update available, the tag's has not;
    --no-updates leaves the check out."""
    monkeypatch.chdir(tmp_path)
    src, bare = _new_repo(tmp_path / "src"), tmp_path / "src.git"
    dvc("remote", "add", "-d", "store", str(tmp_path / "store"), cwd=src)
    make_tree(src, {"f.txt": "one\n"})
    dvc("add", "-q", "f.txt", cwd=src)
    dvc("push", "-q", cwd=src)
    _commit(src, "1")
    git(src, "tag", "v1")
    git(tmp_path, "clone", "-q", "--bare", str(src), str(bare))
    here = _new_repo(tmp_path / "here")
    dvc("import", "-q", "../src", "f.txt", cwd=here)
    dvc("import", "-q", bare.as_uri(), "f.txt", "-o", "g.txt", "--rev", "main", cwd=here)
    dvc("import", "-q", "../src", "f.txt", "-o", "pinned.txt", "--rev", "v1", cwd=here)
    _commit(here, "imports")
    commands = [["status"], ["status", "--json"], ["status", "--no-updates"], ["status", "-q"],
                ["status", "g.txt.dvc"], ["status", "--no-updates", "--json"]]
    for args in commands[:2]:
        ours, theirs = both(*args, cwd=here)
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), args
    make_tree(src, {"f.txt": "two\n"})
    dvc("add", "-q", "f.txt", cwd=src)
    git(src, "commit", "-qam", "2")
    git(src, "push", "-q", str(bare), "main")
    (here / "g.txt").chmod(0o644)
    (here / "g.txt").unlink()  # its output changed too: deps are listed before outs
    for args in commands:
        ours, theirs = both(*args, cwd=here)
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), args
    assert "update available:   f.txt (../src)" in run_cli("status", cwd=here).stdout
    assert "update available" not in run_cli("status", "--no-updates", cwd=here).stdout
