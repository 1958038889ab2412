"""Sources and the converter: pointers and keys found from git objects alone, each object read
once (counted), checked against its pointer or key, stored under its md5; a mismatch stores
nothing; an interrupted run (in process, and a real SIGKILL) resumes."""
from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from dataver.hashing import md5_bytes
from dataver.migrate.annex import parse_key
from dataver.migrate.convert import Converter
from dataver.migrate.errors import ChecksumError, MigrateError
from dataver.migrate.lfs import format_pointer, parse_pointer
from dataver.migrate.sources import PathFilter, open_source, parse_size
from dataver.repo import Repo
from tests.conftest import SRC
from tests.migrate import require_tools
from tests.migrate.repos import (annex_repo, git, lfs_object_path, lfs_repo, plain_git_repo,
                                 simple_lfs_repo)

OID = hashlib.sha256(b"hello").hexdigest()


@pytest.fixture(autouse=True)
def _tools():
    require_tools("git-lfs", "git-annex")


def _repo(path) -> Repo:
    return Repo.init(str(path))


def _all_found(source, fx):
    """Every Found of every commit of the fixture (old commits included, nothing checked out)."""
    found = []
    for sha in fx.git("rev-list", "--all").split():
        found += source.scan(sha)
    return found


class Counted:
    """Wraps SourceObjects so that their reads are counted by id."""

    def __init__(self, objects):
        self.reads: dict[str, int] = {}
        for obj in objects:
            obj.read = self._wrap(obj.id, obj.read)
        self.objects = objects

    def _wrap(self, oid, read):
        def counted():
            self.reads[oid] = self.reads.get(oid, 0) + 1
            return read()
        return counted


def test_a_missing_tool_fails_naming_the_setup_command(monkeypatch):
    import tests.migrate as helpers

    monkeypatch.setitem(helpers._PROBES, "git-nothing", ["git", "no-such-subcommand-here"])
    with pytest.raises(AssertionError, match=r"git-nothing is not installed: run `bash scripts/setup.sh --test`"):
        require_tools("git-nothing")


# --- pointer and key formats -------------------------------------------------------------------
def test_lfs_pointer_parses_the_canonical_form():
    assert parse_pointer(format_pointer(OID, 5)) == (OID, 5)
    assert parse_pointer(b"just a small text file\n") is None
    assert parse_pointer(b"") is None


@pytest.mark.parametrize("bad", [
    f"version https://git-lfs.github.com/spec/v2\noid sha256:{OID}\nsize 5\n",
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID.upper()}\nsize 5\n",
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID[:-1]}\nsize 5\n",
    f"version https://git-lfs.github.com/spec/v1\noid md5:{OID}\nsize 5\n",
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\n",
    f"version https://git-lfs.github.com/spec/v1\nsize 5\noid sha256:{OID}\n",
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize 05\n",
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize -5\n",
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize 5",
    f"version https://git-lfs.github.com/spec/v1\r\noid sha256:{OID}\r\nsize 5\r\n",
    f"version https://git-lfs.github.com/spec/v1\next-0-foo sha256:{OID}\noid sha256:{OID}\nsize 5\n",
    f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize 5\nx-extra 1\n",
])
def test_lfs_pointer_malformed_is_an_error(bad):
    with pytest.raises(ValueError):
        parse_pointer(bad.encode())


def test_annex_keys():
    key = parse_key(f"SHA256E-s5--{OID}.tar.gz")
    assert (key.canonical, key.size, key.expected) == (f"SHA256-s5--{OID}", 5, ("sha256", OID))
    md5 = md5_bytes(b"hello")
    assert parse_key(f"MD5E-s5--{md5}.jpg").expected == ("md5", md5)
    assert parse_key(f"MD5-s5--{md5}").canonical == f"MD5-s5--{md5}"
    worm = parse_key("WORM-s5-m1700000000--a.txt")
    assert (worm.canonical, worm.expected, worm.size) == ("WORM-s5-m1700000000--a.txt", None, 5)
    for bad in (f"SHA256E-s5--{OID[:10]}.jpg", "SHA256E-s5--../../etc/passwd", "not a key", "..",
                f"MD5-s5--{md5}.jpg"):
        with pytest.raises(ValueError):
            parse_key(bad)


@pytest.mark.parametrize("text, size", [("1MB", 10**6), ("500K", 500_000), ("2G", 2 * 10**9),
                                        ("1MiB", 1 << 20), ("1.5GB", 1_500_000_000), ("4096", 4096),
                                        ("64kib", 65536)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["abc", "1.2.3MB", "-1", "iB", "", "5 XB"])
def test_parse_size_rejects(text):
    with pytest.raises(MigrateError, match="is not a size"):
        parse_size(text)


def test_patterns_cannot_escape():
    with pytest.raises(MigrateError, match="escapes the repository"):
        PathFilter(["../outside/*.bin"])
    paths = PathFilter(["*.bin", "/top/*.png"], ["skip/"])
    assert paths.matches("a/b/c.bin") and paths.matches("top/x.png")
    assert not paths.matches("deep/top/x.png") and not paths.matches("skip/a.bin")
    assert paths.pattern_of("top/x.png") == "/top/*.png"


# --- sources -----------------------------------------------------------------------------------
def test_lfs_scan_reads_old_commits_without_checkout(tmp_path):
    fx = lfs_repo(str(tmp_path / "r"))
    head_before = fx.git("rev-parse", "HEAD")
    with open_source("lfs", fx.path) as source:
        for label, sha in fx.commits.items():
            found = {f.path: f.id for f in source.scan(sha)}
            assert found == fx.pointers_at(sha), label
        # the file that is LFS at c4 and plain at c6
        assert "docs/manual.pdf" in {f.path for f in source.scan(fx.commits["c4"])}
        assert "docs/manual.pdf" not in {f.path for f in source.scan(fx.commits["c6"])}
    assert fx.git("rev-parse", "HEAD") == head_before
    assert fx.git("status", "--porcelain") == ""


def test_lfs_scan_include_exclude_and_others(tmp_path):
    fx = lfs_repo(str(tmp_path / "r"))
    with open_source("lfs", fx.path, include=["*.bin"], exclude=["data/images/b.bin"]) as source:
        others: list[str] = []
        found = source.scan(fx.commits["c6"], others=others)
    paths = {f.path for f in found}
    assert paths == {"data/images/a2.bin", "data/images/c.bin", "data/images/d.bin",
                     "data/images/e.bin", "models/m2.bin"}
    assert sorted(others) == ["assets/icons/x.png", "assets/logo.png", "data/images/b.bin"]


def test_annex_scan_locked_unlocked_and_canonical_ids(tmp_path):
    fx = annex_repo(str(tmp_path / "a"))
    with open_source("annex", fx.path) as source:
        for label in ("c1", "c2", "d1"):
            found = source.scan(fx.commits[label])
            assert {f.path: f.key for f in found} == fx.pointers_at(fx.commits[label]), label
        found = source.scan(fx.commits["c2"])
        modes = {f.path: f.mode for f in found}
        assert modes["data/locked/a.bin"] == "120000" and modes["data/unlocked/u.bin"] != "120000"
        # p.bin and q.bin hold the same MD5E key: one object
        ids = {f.path: f.id for f in found}
        assert ids["data/md5/p.bin"] == ids["data/md5/q.bin"]
        assert len(source.objects(found)) == len(set(ids.values()))


def test_plain_git_scan_by_size_and_include(tmp_path):
    fx = plain_git_repo(str(tmp_path / "g"))
    above = fx.notes["above"]
    with open_source("git", fx.path, above=above) as source:
        assert {f.path: f.id for f in source.scan(fx.commits["c2"])} == fx.pointers_at(fx.commits["c2"])
    with open_source("git", fx.path, include=["*.txt"]) as source:
        assert [f.path for f in source.scan(fx.commits["c2"])] == ["images/small.txt"]
    with pytest.raises(MigrateError, match="say which files"):
        open_source("git", fx.path)


# --- the converter -----------------------------------------------------------------------------
def test_each_object_read_once_across_all_commits(tmp_path):
    fx = lfs_repo(str(tmp_path / "r"))
    repo = _repo(fx.path)
    with open_source("lfs", fx.path) as source:
        found = _all_found(source, fx)
        assert len(found) > len({f.id for f in found})  # the same objects recur: worth the test
        counted = Counted(source.objects(found))
        with Converter(repo, "lfs", jobs=4) as conv:
            sums = conv.convert(counted.objects)
            assert counted.reads == {oid: 1 for oid in {f.id for f in found}}
            assert conv.read_count == len(counted.reads)
            again = Counted(source.objects(found))
            assert conv.convert(again.objects) == sums and again.reads == {}
        # a new converter (a later run) knows them all from the resume map
        with Converter(repo, "lfs") as conv:
            later = Counted(source.objects(found))
            assert conv.convert(later.objects) == sums and later.reads == {}
            assert conv.reused == len(sums)
    for oid, (md5, size) in sums.items():
        data = fx.objects[oid]
        assert (md5, size) == (md5_bytes(data), len(data))
        with open(repo.odb.path(md5), "rb") as fobj:
            assert fobj.read() == data
    repo.close()


def test_wrong_sha256_stores_nothing(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    repo = _repo(fx.path)
    with open_source("lfs", fx.path) as source:
        found = source.scan("HEAD")
        bad = next(f for f in found if f.path == "data/a.bin")
        path = lfs_object_path(fx.path, bad.id)
        os.chmod(path, 0o644)
        forged = b"x" * bad.size  # the right size, the wrong bytes
        with open(path, "wb") as fobj:
            fobj.write(forged)
        with Converter(repo, "lfs", jobs=1) as conv:
            with pytest.raises(ChecksumError, match="data/a.bin.*wrong content.*sha256"):
                conv.convert(source.objects(found))
            assert not repo.odb.exists(md5_bytes(forged))
            assert bad.id not in conv.known([f.id for f in found])
            assert len(conv.known([f.id for f in found])) == len(found) - 1  # the others are done
    assert os.stat(path).st_nlink == 1  # the forged file was read through no kept link
    leftovers = [n for _d, _s, names in os.walk(repo.odb.root) for n in names if n.endswith(".tmp")]
    assert leftovers == []
    repo.close()


def _lfs_and_cache_inodes(repo, fx, sums):
    """{oid: (LFS object's inode, cache object's inode)} after a conversion."""
    return {oid: (os.stat(lfs_object_path(fx.path, oid)).st_ino, os.stat(repo.odb.path(md5)).st_ino)
            for oid, (md5, _size) in sums.items()}


def test_lfs_objects_are_hard_linked_into_the_cache(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    repo = _repo(fx.path)
    with open_source("lfs", fx.path) as source:
        found = _all_found(source, fx)
        counted = Counted(source.objects(found))
        with Converter(repo, "lfs", jobs=2) as conv:
            sums = conv.convert(counted.objects)
    assert counted.reads == {oid: 1 for oid in sums}  # read once, through the source
    for oid, (lfs_inode, cache_inode) in _lfs_and_cache_inodes(repo, fx, sums).items():
        cached = repo.odb.path(sums[oid][0])
        assert lfs_inode == cache_inode and os.stat(cached).st_nlink == 2
        assert os.stat(cached).st_mode & 0o777 == 0o444  # protected, as every cache object
        with open(cached, "rb") as fobj:
            assert fobj.read() == fx.objects[oid]
    assert repo.odb.untrusted(md5 for md5, _ in sums.values()) == []
    repo.close()


def test_shared_lfs_objects_are_copied(tmp_path):
    """An object file another name shares (here a second link, as in a work tree) could be
    edited in place: the cache gets a copy of its own."""
    fx = simple_lfs_repo(str(tmp_path / "r"))
    repo = _repo(fx.path)
    os.makedirs(tmp_path / "elsewhere")
    modes = {}
    for oid in fx.objects:
        os.link(lfs_object_path(fx.path, oid), tmp_path / "elsewhere" / oid)
        modes[oid] = os.stat(lfs_object_path(fx.path, oid)).st_mode
    with open_source("lfs", fx.path) as source:
        with Converter(repo, "lfs") as conv:
            sums = conv.convert(source.objects(_all_found(source, fx)))
    for oid, (lfs_inode, cache_inode) in _lfs_and_cache_inodes(repo, fx, sums).items():
        assert lfs_inode != cache_inode
        assert os.stat(lfs_object_path(fx.path, oid)).st_mode == modes[oid]  # untouched
    repo.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_lfs_objects_of_another_user_are_copied(tmp_path):
    """The cache makes its objects read-only and tags them: not to be done to someone else's
    file (on shared LFS storage, say), so those are copied."""
    fx = simple_lfs_repo(str(tmp_path / "r"))
    repo = _repo(fx.path)
    theirs = sorted(fx.objects)[0]
    os.chown(lfs_object_path(fx.path, theirs), 4242, 4242)
    mode = os.stat(lfs_object_path(fx.path, theirs)).st_mode
    with open_source("lfs", fx.path) as source:
        with Converter(repo, "lfs") as conv:
            sums = conv.convert(source.objects(_all_found(source, fx)))
    inodes = _lfs_and_cache_inodes(repo, fx, sums)
    assert inodes[theirs][0] != inodes[theirs][1]
    assert os.stat(lfs_object_path(fx.path, theirs)).st_mode == mode
    assert all(lfs == cache for oid, (lfs, cache) in inodes.items() if oid != theirs)
    repo.close()


def test_cache_on_another_file_system_gets_copies(tmp_path, monkeypatch):
    """Linking fails with EXDEV (the cache on another disk): every object is copied, and only
    the first link is tried."""
    fx = simple_lfs_repo(str(tmp_path / "r"))
    repo = _repo(fx.path)
    tried = []

    def cross_device(src, dst, *args, **kwargs):
        tried.append(dst)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    with open_source("lfs", fx.path) as source:
        found = _all_found(source, fx)
        with Converter(repo, "lfs", jobs=1) as conv:
            monkeypatch.setattr(os, "link", cross_device)
            sums = conv.convert(source.objects(found))
            monkeypatch.undo()
    assert len(tried) == 1 and len(sums) == len(fx.objects)
    for oid, (lfs_inode, cache_inode) in _lfs_and_cache_inodes(repo, fx, sums).items():
        assert lfs_inode != cache_inode
        with open(repo.odb.path(sums[oid][0]), "rb") as fobj:
            assert fobj.read() == fx.objects[oid]
    repo.close()


def test_truncated_object_is_a_size_mismatch(tmp_path):
    fx = simple_lfs_repo(str(tmp_path / "r"))
    repo = _repo(fx.path)
    with open_source("lfs", fx.path) as source:
        found = [f for f in source.scan("HEAD") if f.path == "model.bin"]
        path = lfs_object_path(fx.path, found[0].id)
        os.chmod(path, 0o644)
        with open(path, "r+b") as fobj:
            fobj.truncate(100)
        with Converter(repo, "lfs") as conv, pytest.raises(ChecksumError, match="holds 100 bytes"):
            conv.convert(source.objects(found))
    repo.close()


def test_annex_md5_keys_are_not_read_but_sampled(tmp_path):
    fx = annex_repo(str(tmp_path / "a"))
    repo = _repo(fx.path)
    with open_source("annex", fx.path) as source:
        found = source.scan(fx.commits["c2"])
        objects = source.objects(found)
        md5_keyed = [o for o in objects if o.expected[0] == "md5"]
        hashed = [o for o in objects if o.expected[0] != "md5"]
        assert len(md5_keyed) >= 2 and hashed
        counted = Counted(objects)
        with Converter(repo, "annex") as conv:
            sums = conv.convert(counted.objects)
            # every sha256 object read once; of the md5 ones only the sample (at least one)
            assert set(counted.reads) - {o.id for o in md5_keyed} == {o.id for o in hashed}
            assert sum(1 for o in md5_keyed if o.id in counted.reads) == 1
            assert conv.copied_unread == len(md5_keyed) - 1
    by_key = {f.id: f.key for f in found}
    for oid, (md5, _size) in sums.items():
        assert md5 == md5_bytes(fx.objects[by_key[oid]])
    repo.close()


def test_annex_bad_content_under_an_md5_key_is_caught_by_the_sample(tmp_path):
    fx = annex_repo(str(tmp_path / "a"))
    repo = _repo(fx.path)
    with open_source("annex", fx.path) as source:
        found = [f for f in source.scan(fx.commits["c2"]) if f.path == "data/unlocked/v.bin"]
        obj = source.objects(found)[0]
        os.chmod(os.path.dirname(obj.local), 0o755)
        os.chmod(obj.local, 0o644)
        with open(obj.local, "r+b") as fobj:
            fobj.write(b"\0\0\0\0")  # same size, other bytes
        with Converter(repo, "annex", sample=1) as conv, \
                pytest.raises(ChecksumError, match="v.bin.*wrong content.*md5"):
            conv.convert([obj])
    repo.close()


def test_plain_blobs_stream_through_one_cat_file(tmp_path):
    fx = plain_git_repo(str(tmp_path / "g"))
    repo = _repo(fx.path)
    with open_source("git", fx.path, above=fx.notes["above"]) as source:
        found = _all_found(source, fx)
        objects = source.objects(found)
        # a partly read blob must not disturb the next one on the same stream
        with objects[0].read() as stream:
            stream.read(10)
        with Converter(repo, "git", jobs=1) as conv:
            sums = conv.convert(objects)
    assert {oid: md5 for oid, (md5, _s) in sums.items()} == \
        {oid: md5_bytes(data) for oid, data in fx.objects.items()}
    repo.close()


def test_interrupted_conversion_resumes_without_rereading(tmp_path):
    fx = lfs_repo(str(tmp_path / "r"))
    repo = _repo(fx.path)
    with open_source("lfs", fx.path) as source:
        found = _all_found(source, fx)
        total = len({f.id for f in found})
        reads = []

        def interrupting(read, oid):
            def wrapped():
                if len(reads) == 4:
                    raise KeyboardInterrupt  # as Ctrl-C would, in the middle of the run
                reads.append(oid)
                return read()
            return wrapped

        objects = source.objects(found)
        for obj in objects:
            obj.read = interrupting(obj.read, obj.id)
        with Converter(repo, "lfs", jobs=1) as conv, pytest.raises(KeyboardInterrupt):
            conv.convert(objects)
        with Converter(repo, "lfs", jobs=1) as conv:
            counted = Counted(source.objects(found))
            conv.convert(counted.objects)
            assert conv.reused == 4
            assert len(counted.reads) == total - 4 and set(counted.reads).isdisjoint(reads)
    repo.close()


_SLOW_CHILD = """
import sys, time
from dataver.migrate import convert
original = convert.Converter._read_store
def slow(self, obj):
    time.sleep(0.05)
    return original(self, obj)
convert.Converter._read_store = slow
from dataver.cli.main import main
sys.exit(main(["migrate", "lfs", "-j", "1"]))
"""


def _many_lfs_files(path, count: int) -> None:
    os.makedirs(path)
    git(path, "init", "-q", "-b", "main")
    git(path, "lfs", "install", "--local")
    with open(os.path.join(path, ".gitattributes"), "w") as fobj:
        fobj.write("*.bin filter=lfs diff=lfs merge=lfs -text\n")
    os.makedirs(os.path.join(path, "imgs"))
    for i in range(count):
        with open(os.path.join(path, "imgs", f"{i:03d}.bin"), "wb") as fobj:
            fobj.write(os.urandom(2000 + i))
    git(path, "add", "-A")
    git(path, "commit", "-qm", "many")


def test_sigkill_during_conversion_resumes(tmp_path):
    path = str(tmp_path / "many")
    _many_lfs_files(path, 60)
    head = git(path, "rev-parse", "HEAD")
    env = dict(os.environ, PYTHONPATH=SRC)
    child = subprocess.Popen([sys.executable, "-c", _SLOW_CHILD], cwd=path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = os.path.join(path, ".dvc", "tmp", "dataver", "migrate.db")
    deadline = time.monotonic() + 60
    rows = 0
    while rows < 10 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
        if os.path.exists(db):
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    rows = conn.execute("SELECT count(*) FROM objects").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    assert child.poll() is None, child.stderr.read().decode()
    child.kill()
    child.wait()
    assert 10 <= rows < 60
    with sqlite3.connect(db, timeout=5) as conn:  # rows are batched: each names a whole object
        recorded = conn.execute("SELECT md5, size FROM objects").fetchall()
    for md5, size in recorded:
        stored = os.path.join(path, ".dvc", "cache", "files", "md5", md5[:2], md5[2:])
        assert os.path.getsize(stored) == size
    assert git(path, "rev-parse", "HEAD") == head  # nothing committed
    proc = subprocess.run([sys.executable, "-m", "dataver", "migrate", "lfs"], cwd=path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    reused = int(proc.stdout.split("; ")[1].split()[0])
    assert reused >= rows
    assert git(path, "rev-parse", "HEAD^") == head
    cache = os.path.join(path, ".dvc", "cache")
    assert [n for _d, _s, names in os.walk(cache) for n in names if n.endswith(".tmp")] == []
    for i in (0, 59):
        with open(os.path.join(path, "imgs", f"{i:03d}.bin"), "rb") as fobj:
            assert len(fobj.read()) == 2000 + i


def test_resume_rows_are_written_in_batches_and_read_back(tmp_path):
    from dataver.migrate import resume

    path = str(tmp_path / "migrate.db")
    rmap = resume.ResumeMap(path)
    assert rmap.commits() == []  # opens the database

    def written() -> int:
        with sqlite3.connect(path, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM objects").fetchone()[0]

    rmap.put("lfs", "a", "0" * 32, 1, "read")
    assert written() == 0  # held for the batch
    assert rmap.get_many("lfs", ["a"]) == {"a": ("0" * 32, 1, "read")}  # this process sees it
    assert written() == 1
    for i in range(resume._BATCH):  # a full batch is written without waiting
        rmap.put("lfs", f"b{i}", "1" * 32, 2, "read")
    assert written() == 1 + resume._BATCH
    rmap.put("lfs", "c", "2" * 32, 3, "read")
    rmap.close()
    assert written() == 2 + resume._BATCH
