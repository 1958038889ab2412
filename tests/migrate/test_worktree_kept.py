"""A forward migration leaves a converted work-tree file in place when git vouches for it as the
converted content (its stat is git's record of it, that record is not racily clean, its size is
the object's) and the checkout would write a plain copy anyway; every other file is rewritten
from the cache. Either way the result is what real DVC calls clean."""
from __future__ import annotations

import contextlib
import hashlib
import os
import time

import pytest

from tests.conftest import run_cli, run_dvc
from tests.migrate import require_tools
from tests.migrate.repos import (age_work_tree, big_lfs_repo, git, lfs_pointer, payload,
                                 plain_git_repo)
from tests.migrate.test_forward import UP_TO_DATE, migrate


@pytest.fixture(autouse=True)
def _tools():
    require_tools("git-lfs")


def inodes(path: str, rels) -> dict[str, int]:
    return {rel: os.lstat(os.path.join(path, rel)).st_ino for rel in rels}


@contextlib.contextmanager
def held(path: str, rels):
    """Keep the files ``rels`` open: a deleted file's inode number stays taken while it is
    open, so a file written in its place cannot get the same number and pass for it."""
    fds = [os.open(os.path.join(path, rel), os.O_RDONLY) for rel in rels]
    try:
        yield
    finally:
        for fd in fds:
            os.close(fd)


def assert_content(fx, pointers: dict[str, str]) -> None:
    for rel, oid in pointers.items():
        full = os.path.join(fx.path, rel)
        assert os.path.isfile(full) and not os.path.islink(full), rel
        with open(full, "rb") as fobj:
            assert fobj.read() == fx.objects[oid], rel


def assert_clean(path: str) -> None:
    assert run_cli("status", cwd=path).stdout.strip() == UP_TO_DATE
    assert run_dvc("status", cwd=path).stdout.strip() == UP_TO_DATE
    assert git(path, "status", "--porcelain") == ""


def test_vouched_files_stay_and_the_others_are_rewritten(tmp_path):
    fx = big_lfs_repo(str(tmp_path / "r"))
    pointers = fx.pointers_at("HEAD")
    # git re-checks this one and records a stat dated after its index: "racily clean"
    future = time.time() + 3600
    os.utime(os.path.join(fx.path, "frames/f03.bin"), (future, future))
    # left as its pointer, as a checkout with GIT_LFS_SKIP_SMUDGE leaves files: git records it
    # as clean (it cleans to the staged pointer)
    with open(os.path.join(fx.path, "frames/f05.bin"), "wb") as fobj:
        fobj.write(lfs_pointer(fx.objects[pointers["frames/f05.bin"]]))
    git(fx.path, "add", "frames/f05.bin")
    git(fx.path, "update-index", "-q", "--refresh")
    assert git(fx.path, "status", "--porcelain") == ""
    before = inodes(fx.path, pointers)
    with held(fx.path, pointers):
        migrate(fx.path, "lfs")
        after = inodes(fx.path, pointers)
    rewritten = {"frames/f03.bin", "frames/f05.bin", "tiny.bin"}  # tiny: could be a pointer
    assert {rel for rel in pointers if after[rel] != before[rel]} == rewritten
    assert_content(fx, pointers)
    assert os.path.isfile(os.path.join(fx.path, "frames.dvc"))
    for rel in pointers:  # copies of their own, writable as before
        st = os.stat(os.path.join(fx.path, rel))
        assert st.st_nlink == 1 and st.st_mode & 0o200, rel
    assert_clean(fx.path)
    os.remove(os.path.join(fx.path, "frames/f07.bin"))  # and DVC restores a kept one's content
    run_dvc("checkout", cwd=fx.path)
    assert_content(fx, pointers)


def test_linked_cache_types_link_instead_of_keeping(tmp_path):
    fx = big_lfs_repo(str(tmp_path / "r"))
    pointers = fx.pointers_at("HEAD")
    assert run_cli("init", cwd=fx.path).returncode == 0
    assert run_cli("config", "cache.type", "hardlink", cwd=fx.path).returncode == 0
    git(fx.path, "add", ".dvc", ".dvcignore")
    git(fx.path, "commit", "-qm", "dvc init")
    migrate(fx.path, "lfs")
    assert_content(fx, pointers)
    for rel in ("model.bin", "frames/f00.bin"):
        full = os.path.join(fx.path, rel)
        with open(full, "rb") as fobj:
            md5 = hashlib.md5(fobj.read()).hexdigest()
        cached = os.path.join(fx.path, ".dvc", "cache", "files", "md5", md5[:2], md5[2:])
        assert os.path.samefile(full, cached), rel  # the cache's object, not the old file
    assert_clean(fx.path)


def test_plain_file_under_a_filter_is_rewritten_with_the_blob(tmp_path):
    """A `filter` can keep the length and change the bytes: the work-tree file is not what git
    stores, so it is replaced by the converted blob."""
    fx = plain_git_repo(str(tmp_path / "g"))
    rot13 = "tr A-Za-z N-ZA-Mn-za-m"
    git(fx.path, "config", "filter.rot.clean", rot13)
    git(fx.path, "config", "filter.rot.smudge", rot13)
    text = payload("filtered", 40_000).hex().encode()[:80_000]  # letters a-f: rot13 changes them
    with open(os.path.join(fx.path, ".gitattributes"), "a") as fobj:
        fobj.write("*.dat filter=rot\n")
    with open(os.path.join(fx.path, "notes.dat"), "wb") as fobj:
        fobj.write(text)
    git(fx.path, "add", "-A")
    git(fx.path, "commit", "-qm", "filtered")
    age_work_tree(fx.path)
    blob = git(fx.path, "cat-file", "blob", "HEAD:notes.dat", text=False)
    assert len(blob) == len(text) and blob != text
    kept_before = inodes(fx.path, ["images/b.jpg"])
    with held(fx.path, ["images/b.jpg"]):
        migrate(fx.path, "git", "--above", str(fx.notes["above"]))
    with open(os.path.join(fx.path, "notes.dat"), "rb") as fobj:
        assert fobj.read() == blob  # what git stores, as before this optimisation
    assert inodes(fx.path, ["images/b.jpg"]) == kept_before  # an unfiltered one stays
    assert_clean(fx.path)


def test_a_name_with_a_newline_is_matched_to_its_own_index_record(tmp_path):
    fx = big_lfs_repo(str(tmp_path / "r"))
    odd = "frames/two\nlines.bin"
    with open(os.path.join(fx.path, odd), "wb") as fobj:
        fobj.write(payload("odd", 45_000))
    git(fx.path, "add", "-A")
    git(fx.path, "commit", "-qm", "odd name")
    # dated back like the others (touching those again would change their ctime within the
    # second git recorded, which git does not notice and this check does: they would be rewritten)
    when = time.time() - 3600
    os.utime(os.path.join(fx.path, odd), (when, when))
    git(fx.path, "update-index", "-q", "--refresh")
    before = inodes(fx.path, [odd, "frames/f00.bin"])
    with held(fx.path, [odd, "frames/f00.bin"]):
        migrate(fx.path, "lfs")
        assert inodes(fx.path, [odd, "frames/f00.bin"]) == before
    with open(os.path.join(fx.path, odd), "rb") as fobj:
        assert fobj.read() == payload("odd", 45_000)
    assert_clean(fx.path)
