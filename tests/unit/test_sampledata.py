"""Generated data used by the demo and the benchmarks: sizes, determinism, modifications."""
import os

from dataver import sampledata


def test_make_large_file_has_size_and_is_deterministic(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    sampledata.make_large_file(str(a), 3 * 1000 + 7, seed=5, chunk=1000)
    sampledata.make_large_file(str(b), 3 * 1000 + 7, seed=5, chunk=1000)
    assert a.stat().st_size == 3007
    assert a.read_bytes() == b.read_bytes()
    sampledata.make_large_file(str(b), 3007, seed=6)
    assert a.read_bytes() != b.read_bytes()


def test_modify_fraction_changes_the_same_files_alike(tmp_path):
    copies = []
    for name in ("one", "two"):
        root = tmp_path / name
        sampledata.make_flat_files(str(root), 250, 64, per_dir=100)
        before = {p: p.read_bytes() for p in root.rglob("*.bin")}
        changed = sampledata.modify_fraction(str(root), 0.01, seed=3)
        after = {p: p.read_bytes() for p in root.rglob("*.bin")}
        differing = sorted(os.path.relpath(p, root) for p in before if before[p] != after[p])
        assert differing == sorted(changed)
        assert all(len(after[p]) == 64 for p in after)
        copies.append({os.path.relpath(p, root): v for p, v in after.items()})
    assert len(changed) == 3  # every 100th of 250 files
    assert copies[0] == copies[1]
