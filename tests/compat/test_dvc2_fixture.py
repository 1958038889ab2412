"""A repository written by real DVC 2.x (tests/fixtures/dvc2_repo, made by make_dvc2_repo.sh):
md5-dos2unix hashes, outputs without `hash: md5`, the legacy cache layout. dataver reads and checks
it out, and converts a re-added output the way DVC 3 does."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.compat.conftest import assert_same, dataver, dvc, status_json
from tests.conftest import ROOT, git, tree

pytestmark = pytest.mark.compat

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "dvc2_repo")
OUTPUTS = ["small_crlf.txt", "big_crlf.txt", "image.bin", "images"]


def copy_fixture(dest) -> None:
    """The fixture as a committed git repo at ``dest``."""
    shutil.copytree(FIXTURE, dest)
    # git keeps no read-only bits, but DVC 2 left its cache files 0444; DVC 3 re-hashes writable
    # cache files with its own dos2unix rule, which would misjudge big_crlf.txt's object.
    for dirpath, _dirs, files in os.walk(os.path.join(dest, ".dvc", "cache")):
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o444)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "dvc 2 repo")


# DVC 2.x decided text-or-binary once per file; DVC 3 re-decides per 1 MiB chunk, so DVC 3 sees
# big_crlf.txt (second MiB looks binary) as modified although DVC 2 wrote that hash. dataver
# follows DVC 2, the writer: comparisons with DVC 3 leave that one output out.
DVC3_DISAGREES = "big_crlf.txt.dvc"


def dvc3_status(root) -> dict:
    """`dvc status --json` without the output DVC 3 misjudges (see above)."""
    result = status_json(dvc, root)
    assert result.pop(DVC3_DISAGREES, None) == [{"changed outs": {"big_crlf.txt": "modified"}}]
    return result


def data(root) -> dict[str, bytes]:
    return {k: v for k, v in tree(root).items() if k.split(os.sep)[0] in OUTPUTS}


@pytest.fixture
def repo2(tmp_path):
    root = tmp_path / "repo"
    copy_fixture(root)
    return root


def test_fixture_is_what_dvc2_writes(repo2):
    text = (repo2 / "small_crlf.txt.dvc").read_text()
    assert "hash:" not in text
    assert b"\r\n" in (repo2 / "big_crlf.txt").read_bytes()
    assert os.path.getsize(repo2 / "big_crlf.txt") > 1 << 20 > os.path.getsize(repo2 / "small_crlf.txt")
    assert not (repo2 / ".dvc/cache/files").exists()
    assert dvc3_status(repo2) == {}  # DVC 3 agrees the rest is clean


def test_status_is_clean(repo2):
    assert status_json(dataver, repo2) == {}
    assert "up to date" in dataver("status", cwd=repo2).stdout


@pytest.mark.parametrize("removed", [OUTPUTS, ["images/labels.csv", "big_crlf.txt"], ["images"]])
def test_checkout_restores_identical_bytes(repo2, removed):
    original = data(repo2)
    for rel in removed:
        path = repo2 / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    dataver("checkout", cwd=repo2)
    assert data(repo2) == original
    assert status_json(dataver, repo2) == {}
    assert dvc3_status(repo2) == {}


def test_readd_of_big_text_converts_like_dvc3(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        copy_fixture(root)
        _append(root, "big_crlf.txt", b"more\r\n")
    dataver("add", "big_crlf.txt", cwd=a)
    dvc("add", "big_crlf.txt", cwd=b)
    assert_same(a, b)
    assert "hash: md5" in (a / "big_crlf.txt.dvc").read_text()


def _append(root, rel: str, extra: bytes) -> None:
    path = root / rel
    os.chmod(path, 0o644)
    with open(path, "ab") as fobj:
        fobj.write(extra)


CHANGES = {
    "small_text": (["small_crlf.txt"], {"small_crlf.txt": b"one more\r\n"}),
    "dir_file": (["images"], {"images/labels.csv": b"val/b.png,dog\r\n"}),
    "binary": (["image.bin"], {"image.bin": b"\x00\r\n"}),
    "unchanged": (["small_crlf.txt", "images"], {}),
}


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_status_of_changes_like_dvc3(tmp_path, case):
    root = tmp_path / "repo"
    copy_fixture(root)
    _targets, appends = CHANGES[case]
    for rel, extra in appends.items():
        _append(root, rel, extra)
    got = status_json(dataver, root)
    want = dvc3_status(root)
    assert got == want and (got != {}) == bool(appends)


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_readd_converts_like_dvc3(tmp_path, case):
    a, b = tmp_path / "a", tmp_path / "b"
    targets, appends = CHANGES[case]
    for root in (a, b):
        copy_fixture(root)
        for rel, extra in appends.items():
            _append(root, rel, extra)
    dataver("add", *targets, cwd=a)
    dvc("add", *targets, cwd=b)
    # To see whether a 2.x directory changed, DVC 3 also stores its 2.x-style manifest in the
    # legacy cache; nothing refers to that object, so dataver does not write it.
    assert_same(a, b, extra_in_right=_legacy_dir_object)
    assert status_json(dataver, a) == {} == status_json(dvc, a, *targets)


def _legacy_dir_object(rel: str) -> bool:
    parts = rel.split(os.sep)
    return parts[:2] == [".dvc", "cache"] and parts[2] != "files" and (
        rel.endswith(".dir") or rel.endswith(os.sep))
