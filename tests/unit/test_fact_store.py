"""The fact store (SQLite in the cache) and collect(): store first, each md5 read once, in parallel."""
from __future__ import annotations

import hashlib
import importlib
import io
import os
import subprocess
import sys
import warnings

import pytest

from dataver.errors import DataverWarning
from dataver.facts import FACTS_VERSION, FactStore, collect

Image = pytest.importorskip("PIL.Image")
# the module, not the function the package re-exports under its name
collect_module = importlib.import_module("dataver.facts.collect")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- FactStore ---------------------------------------------------------------------------------

def test_store_round_trip_by_kind_and_version(tmp_path):
    cache = str(tmp_path / "cache")
    store = FactStore(cache)
    assert store.get_many(["a" * 32], "basic") == {}
    assert not os.path.exists(os.path.join(cache, "dataver"))  # reading creates nothing
    facts = {"a" * 32: {"type": "image", "width": 3, "nested": {"x": [1, 2.5, None, True]}},
             "b" * 32: {"type": "other", "mime": None}}
    store.put_many(facts, "basic")
    store.put_many({"a" * 32: {"decoded": True}}, "deep")
    store.close()

    store = FactStore(cache)
    assert store.get_many(["a" * 32, "b" * 32, "c" * 32], "basic") == facts
    assert store.get_many(["a" * 32], "deep") == {"a" * 32: {"decoded": True}}
    store.put_many({"a" * 32: {"type": "other"}}, "basic")  # replaces
    assert store.get_many(["a" * 32], "basic") == {"a" * 32: {"type": "other"}}
    assert FactStore(cache, version=FACTS_VERSION + 1).get_many(["a" * 32], "basic") == {}
    assert os.path.isfile(os.path.join(cache, "dataver", "facts.db"))


def test_store_reads_many_in_batches(tmp_path):
    store = FactStore(str(tmp_path))
    facts = {f"{i:032x}": {"i": i} for i in range(2300)}
    store.put_many(facts, "basic")
    assert store.get_many(list(facts) + ["f" * 32], "basic") == facts


def test_store_is_not_an_object_of_the_cache(tmp_path):
    from dataver.odb import ObjectStore

    cache = str(tmp_path / "cache")
    odb = ObjectStore(cache)
    odb.add_bytes(b"hello", md5(b"hello"))
    FactStore(cache).put_many({"a" * 32: {"type": "other"}}, "basic")
    assert list(odb.iter_objects()) == [(md5(b"hello"), "md5")]
    assert sorted(os.listdir(cache)) == ["dataver", "files"]
    assert os.listdir(os.path.join(cache, "dataver"))  # the db (and its WAL files), no subfolder
    assert all(os.path.isfile(os.path.join(cache, "dataver", n))
               for n in os.listdir(os.path.join(cache, "dataver")))


def test_unusable_store_warns_once_and_works_without(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "dataver").write_text("a file where the folder should be")
    store = FactStore(str(cache))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.put_many({"a" * 32: {"type": "other"}}, "basic")
        store.put_many({"b" * 32: {"type": "other"}}, "basic")
        assert store.get_many(["a" * 32], "basic") == {}
    ours = [w for w in caught if issubclass(w.category, DataverWarning)]
    assert len(ours) == 1 and "fact store" in str(ours[0].message)


def test_broken_database_file_warns_and_is_left_alone(tmp_path):
    folder = tmp_path / "dataver"
    folder.mkdir()
    (folder / "facts.db").write_bytes(b"not a database" * 100)
    with pytest.warns(DataverWarning, match="fact store"):
        assert FactStore(str(tmp_path)).get_many(["a" * 32], "basic") == {}
    assert (folder / "facts.db").read_bytes() == b"not a database" * 100


_WRITER = """
import sys
from dataver.facts import FactStore
cache, who = sys.argv[1], sys.argv[2]
store = FactStore(cache)
for batch in range(40):
    store.put_many({f"{who}{batch:04d}{i:026x}": {"who": who, "i": i} for i in range(100)}, "basic")
    got = store.get_many([f"{who}{batch:04d}{i:026x}" for i in range(100)], "basic")
    assert len(got) == 100, len(got)
store.close()
print("ok")
"""


def test_store_two_processes_at_once(tmp_path):
    cache = str(tmp_path / "cache")
    env = dict(os.environ, PYTHONWARNINGS="error")  # a warning (store given up) fails it
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, cache, who], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in ("a", "b", "c")]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "ok", err
    store = FactStore(cache)
    for who in ("a", "b", "c"):
        keys = [f"{who}{batch:04d}{i:026x}" for batch in range(40) for i in range(100)]
        assert len(store.get_many(keys, "basic")) == 4000


# --- collect -----------------------------------------------------------------------------------

def png(seed: int, size=(24, 16)) -> bytes:
    im = Image.new("RGB", size, (seed % 256, (seed * 7) % 256, 0))
    im.putpixel((0, 0), (seed // 256 % 256, 1, 2))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return (md5(data), str(path), len(data), name)


@pytest.fixture
def counted(monkeypatch):
    """Records each file collect() reads (its path), by wrapping extract()."""
    calls = []
    real = collect_module.extract

    def extract(job):
        calls.append(job)
        return real(job)

    monkeypatch.setattr(collect_module, "extract", extract)
    return calls


def test_collect_reads_each_md5_once_then_never(tmp_path, counted):
    a, b = png(1), png(2)
    items = [write(tmp_path, "x/a.png", a), write(tmp_path, "y/a-copy.png", a),
             write(tmp_path, "z/a-again.jpg", a), write(tmp_path, "b.png", b),
             write(tmp_path, "notes.txt", b"hello"), write(tmp_path, "empty.png", b"")]
    store = FactStore(str(tmp_path / "cache"))
    basic, deep = collect(store, items)
    assert deep == {}
    assert len(counted) == 3  # a, b and notes.txt; nothing for the empty file
    assert basic[md5(a)]["width"] == 24 and basic[md5(b"")] == {"type": "empty"}
    assert basic[md5(b"hello")] == {"type": "other", "mime": None}
    counted.clear()
    again, _ = collect(store, items)
    assert again == basic and counted == []
    assert store.get_many([md5(b"")], "basic") == {}  # empty: never stored


def test_collect_deep_reads_only_images_and_keeps_basic(tmp_path, counted):
    items = [write(tmp_path, "a.png", png(1)), write(tmp_path, "t.txt", b"text"),
             write(tmp_path, "bad.jpg", b"\xff\xd8\xff" + b"\x00" * 50)]
    store = FactStore(str(tmp_path / "cache"))
    collect(store, items)
    counted.clear()
    basic, deep = collect(store, items, deep=True)
    assert sorted(job[2] for job in counted) == ["a.png", "bad.jpg"]  # not the text file
    assert all(job[3] is False for job in counted)  # basic facts came from the store
    assert deep[md5(png(1))]["decoded"] is True
    assert deep[items[2][0]]["decoded"] is False and set(deep) == {items[0][0], items[2][0]}
    counted.clear()
    assert collect(store, items, deep=True) == (basic, deep) and counted == []


def test_collect_opens_each_file_once_for_both_kinds(tmp_path, monkeypatch):
    opened = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(collect_module, "open", counting_open, raising=False)
    item = write(tmp_path, "a.png", png(3))
    basic, deep = collect(None, [item], deep=True)
    assert basic[item[0]]["format"] == "PNG" and deep[item[0]]["decoded"] is True
    assert opened == [item[1]]


def test_collect_hands_json_to_the_coco_reader(tmp_path, monkeypatch):
    from dataver.facts import coco

    seen = []

    def stand_in(path):
        seen.append(path)
        return {"type": "json"}

    monkeypatch.setattr(coco, "coco_fact", stand_in)
    item = write(tmp_path, "ann/instances.json", b'{"images": []}')
    basic, _ = collect(None, [item])
    assert basic == {item[0]: {"type": "json"}} and seen == [item[1]]


def test_collect_unreadable_file_warns_and_is_not_stored(tmp_path):
    item = (md5(b"gone"), str(tmp_path / "missing.png"), 4, "data/missing.png")
    store = FactStore(str(tmp_path / "cache"))
    with pytest.warns(DataverWarning, match="data/missing.png"):
        basic, _ = collect(store, [item])
    assert basic[item[0]]["reason"] == "unreadable"
    assert store.get_many([item[0]], "basic") == {}


def test_collect_bad_content_never_raises(tmp_path):
    items = [write(tmp_path, "a.png", b"\x89PNG\r\n\x1a\n garbage"),
             write(tmp_path, "b.pdf", b"%PDF-1.4 garbage"),
             write(tmp_path, "c.safetensors", b"\xff" * 40),
             write(tmp_path, "d.pt", b"PK\x03\x04 garbage")]
    basic, deep = collect(FactStore(str(tmp_path / "cache")), items, deep=True)
    assert all("error" in basic[i[0]] for i in items)
    assert deep[items[0][0]]["decoded"] is False and len(deep) == 1


class LiveProgress:
    live = True

    def __init__(self):
        self.phases, self.done = [], 0

    def phase(self, desc, total, total_bytes=0, unit="files"):
        from dataver.progress import _Phase

        return _Phase(self, desc, total, total_bytes, unit)

    def start(self, desc, total, total_bytes=0, unit="files"):
        self.phases.append((desc, total))

    def advance(self, files=1, nbytes=0):
        self.done += files

    def finish(self):
        pass


def test_collect_in_worker_processes_gives_the_same_facts(tmp_path, monkeypatch):
    from dataver import parallel

    monkeypatch.setattr(parallel, "can_fork", lambda: True)  # pytest-timeout's thread is harmless
    if parallel.fork_procs() < 2:
        pytest.skip("needs two cores")
    pids = tmp_path / "pids"
    real = collect_module.extract

    def extract(job):
        with open(pids, "a") as f:
            f.write(f"{os.getpid()}\n")
        return real(job)

    monkeypatch.setattr(collect_module, "extract", extract)
    items = [write(tmp_path, f"img/{i:03d}.png", png(i)) for i in range(300)]  # > 16 MiB of work
    progress = LiveProgress()
    forked, _ = collect(None, items, progress=progress)
    assert len(set(pids.read_text().split())) > 1  # the work was shared with workers...
    assert progress.phases == [("Reading files", 300)] and progress.done == 300
    serial = {m: real((p, s, n, True, False))[0] for m, p, s, n in items}
    assert forked == serial  # ...and the facts crossed the pipe intact
