"""`status` and `add` on an unchanged directory answer from two stamps in the state db (the
stats of its files; the listing of the cache). Every kind of change must still be seen once a
stamp exists."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from tests.func.helpers import cli


@pytest.fixture
def stamped(repo_dir, capsys):
    (repo_dir / "data" / "sub").mkdir(parents=True)
    for i in range(30):
        (repo_dir / "data" / "sub" / f"{i}.jpg").write_bytes(b"\xff\xd8 image %d" % i)
    (repo_dir / "data" / "ann.json").write_text('{"images": []}')
    assert cli(capsys, "add", "-q", "data")[0] == 0
    for _ in range(2):  # the first status records the stamps, the second answers from them
        assert cli(capsys, "status")[1] == "Data and pipelines are up to date.\n"
    return repo_dir


def status_of(capsys) -> dict:
    code, out, err = cli(capsys, "status", "--json")
    assert code == 0, err
    return json.loads(out)


def replace_keeping_stat(path, text):
    """Replace ``path`` by a new file (new inode) of the same size and mtime."""
    st = os.stat(path)
    tmp = path.with_name("tmp")
    tmp.write_text(text)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, path)


@pytest.mark.parametrize("change", [
    lambda d: (d / "data" / "sub" / "3.jpg").write_bytes(b"changed"),
    lambda d: (d / "data" / "sub" / "3.jpg").unlink(),
    lambda d: (d / "data" / "new.jpg").write_bytes(b"new"),
    lambda d: os.rename(d / "data" / "sub" / "3.jpg", d / "data" / "sub" / "33.jpg"),
    # same size and mtime, new inode: a file replaced by another of the same size
    lambda d: replace_keeping_stat(d / "data" / "ann.json", '{"images":[1]}'),
    lambda d: (d / ".dvcignore").write_text("*.json\n"),
], ids=["modified", "deleted", "added", "renamed", "replaced", "newly-ignored"])
def test_workspace_change_after_stamp_is_seen(stamped, capsys, change):
    change(stamped)
    assert status_of(capsys) == {"data.dvc": [{"changed outs": {"data": "modified"}}]}


def test_object_removed_from_cache_after_stamp_is_seen(stamped, capsys):
    cache = stamped / ".dvc" / "cache" / "files" / "md5"
    victim = next(os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs
                  if not f.endswith(".dir"))
    os.chmod(victim, 0o644)
    os.unlink(victim)
    assert status_of(capsys) == {"data.dvc": [{"changed outs": {"data": "not in cache"}}]}


def test_stale_stamps_do_not_survive_a_change_and_back(stamped, capsys):
    path = stamped / "data" / "sub" / "0.jpg"
    old = path.read_bytes()
    path.write_bytes(b"other")
    assert status_of(capsys) == {"data.dvc": [{"changed outs": {"data": "modified"}}]}
    path.write_bytes(old)
    assert status_of(capsys) == {}


def cache_objects(repo_dir) -> set[str]:
    cache = repo_dir / ".dvc" / "cache" / "files" / "md5"
    return {os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs}


def test_readd_after_stamp_restores_an_object_removed_from_cache(stamped, capsys):
    before = cache_objects(stamped)
    victim = sorted(p for p in before if not p.endswith(".dir"))[0]
    os.chmod(victim, 0o644)
    os.unlink(victim)
    assert cli(capsys, "add", "-q", "data")[0] == 0
    assert cache_objects(stamped) == before
    assert status_of(capsys) == {}


def test_readd_after_stamp_records_a_modified_file(stamped, capsys):
    dvc_before = (stamped / "data.dvc").read_text()
    (stamped / "data" / "sub" / "5.jpg").write_bytes(b"relabelled")
    assert cli(capsys, "add", "-q", "data")[0] == 0
    assert (stamped / "data.dvc").read_text() != dvc_before
    assert status_of(capsys) == {}


def cache_stamps(repo_dir) -> dict[str, str]:
    import marshal

    stored = (repo_dir / ".dvc" / "tmp" / "dataver" / "stamps.marshal").read_bytes()
    _version, stamps = marshal.loads(stored)
    return {key: stamp for key, (stamp, _oid) in stamps.items() if key.startswith("cache:")}


def test_adding_other_data_keeps_the_directory_known_complete(stamped, capsys):
    from dataver.odb import ObjectStore

    (stamped / "model.pt").write_bytes(b"weights")
    assert cli(capsys, "add", "-q", "model.pt")[0] == 0  # new objects change the cache listing
    listing = ObjectStore(str(stamped / ".dvc" / "cache")).listing_stamp()
    assert set(cache_stamps(stamped).values()) == {listing}  # carried over, not left stale
    # and a removal after that is still seen
    model = hashlib.md5(b"weights").hexdigest()
    victim = sorted(p for p in cache_objects(stamped)
                    if not p.endswith(".dir") and not p.endswith(model[2:]))[0]
    os.chmod(victim, 0o644)
    os.unlink(victim)
    assert status_of(capsys)["data.dvc"] == [{"changed outs": {"data": "not in cache"}}]


def _manifest_of(repo_dir) -> dict:
    """relpath -> md5 of the tracked directory `data`, read from its `.dir` object."""
    oid = next(line.split()[-1] for line in (repo_dir / "data.dvc").read_text().splitlines()
               if "md5:" in line)
    obj = repo_dir / ".dvc" / "cache" / "files" / "md5" / oid[:2] / oid[2:]
    return {e["relpath"]: e["md5"] for e in json.loads(obj.read_text())}


def test_only_files_whose_stat_changed_are_read_again(stamped, capsys):
    """The per-directory facts are used: a file rewritten in place with the same size and mtime
    (same inode) is taken as unchanged, which shows it was not read; a modified one is."""
    sneaky = stamped / "data" / "sub" / "7.jpg"
    st = os.stat(sneaky)
    sneaky.write_bytes(b"\xff\xd8 IMAGE 7")  # same length, same inode
    os.utime(sneaky, ns=(st.st_atime_ns, st.st_mtime_ns))
    (stamped / "data" / "sub" / "3.jpg").write_bytes(b"changed")
    assert status_of(capsys) == {"data.dvc": [{"changed outs": {"data": "modified"}}]}
    assert cli(capsys, "add", "-q", "data")[0] == 0
    manifest = _manifest_of(stamped)
    assert manifest["sub/3.jpg"] == hashlib.md5(b"changed").hexdigest()
    assert manifest["sub/7.jpg"] == hashlib.md5(b"\xff\xd8 image 7").hexdigest()
