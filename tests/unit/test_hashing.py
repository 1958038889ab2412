"""Hashing: md5 of raw bytes, DVC 2.x md5-dos2unix (checked against DVC's own implementation)."""
from __future__ import annotations

import hashlib
import os
import random
import subprocess

import pytest

from dataver.hashing import CHUNK, LEGACY, MD5, is_text_block, md5_bytes, md5_file, md5_files
from tests.conftest import dvc_bin


def dvc_legacy_md5(path) -> str:
    """md5-dos2unix as computed by the real DVC (dvc_data), run in DVC's own environment."""
    exe = dvc_bin()
    assert exe, "real dvc not found: run scripts/test.sh (it installs .venv-dvc)"
    python = os.path.join(os.path.dirname(exe), "python")
    code = ("import sys; from dvc_data.hashfile.hash import file_md5; "
            "print(file_md5(sys.argv[1], name='md5-dos2unix'))")
    return subprocess.run([python, "-c", code, str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_md5_of_raw_bytes(tmp_path):
    data = random.Random(1).randbytes(3 * CHUNK + 17)
    path = write(tmp_path, "bin", data)
    assert md5_file(path) == md5_file(path, MD5) == hashlib.md5(data).hexdigest() == md5_bytes(data)
    assert md5_file(write(tmp_path, "empty", b"")) == hashlib.md5(b"").hexdigest()


def test_text_crlf_small(tmp_path):
    data = b"line one\r\nline two\r\n" * 100
    path = write(tmp_path, "small.txt", data)
    assert md5_file(path, MD5) == hashlib.md5(data).hexdigest()
    assert md5_file(path, LEGACY) == hashlib.md5(data.replace(b"\r\n", b"\n")).hexdigest()
    assert md5_file(path, LEGACY) == dvc_legacy_md5(path)


def test_text_or_binary_is_decided_once_per_file_as_dvc2_did(tmp_path):
    # DVC 2.x (which wrote every md5-dos2unix hash) judged the file's first 512 bytes once;
    # DVC 3's dvc_data re-judges each 1 MiB chunk, so it disagrees on this file.
    # tests/compat/test_dvc2_fixture.py checks the rule against a hash written by real DVC 2.
    text = (b"x" * 98 + b"\r\n") * (CHUNK // 100 + 1)
    text = text[:CHUNK]  # exactly one chunk of text
    binary = b"\x00\x01\r\n" * 300 + b"more\r\n" * 1000  # NUL in its first 512 bytes
    data = text + binary + text[:5000] + text  # chunks: text | binary+text | text
    path = write(tmp_path, "mixed.txt", data)
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
    assert len(chunks) == 3 and chunks[1].startswith(binary)
    expected = hashlib.md5(b"".join(c.replace(b"\r\n", b"\n") for c in chunks)).hexdigest()
    assert md5_file(path, LEGACY) == expected
    assert dvc_legacy_md5(path) != expected  # DVC 3's per-chunk rule
    starts_binary = write(tmp_path, "bin-then-text", binary + text + text)
    assert md5_file(starts_binary, LEGACY) == md5_file(starts_binary, MD5)


def test_crlf_split_across_chunk_boundary_is_not_joined(tmp_path):
    data = b"a" * (CHUNK - 1) + b"\r\n" + b"b" * 10
    path = write(tmp_path, "split.txt", data)
    assert md5_file(path, LEGACY) == dvc_legacy_md5(path)
    assert md5_file(path, LEGACY) == hashlib.md5(data).hexdigest()  # "\r" | "\n" in two chunks


def test_binary_is_not_converted(tmp_path):
    data = b"\x00\xff\r\n" * 50000
    path = write(tmp_path, "bin", data)
    assert md5_file(path, LEGACY) == hashlib.md5(data).hexdigest() == dvc_legacy_md5(path)


@pytest.mark.parametrize("block, text", [
    (b"", True), (b"plain text\r\n", True), (b"a\x00b", False),
    (bytes(range(128, 256)), False), (b"x" * 70 + b"\xff" * 30, True), (b"x" * 69 + b"\xff" * 31, False),
])
def test_is_text_block(block, text):
    assert is_text_block(block) is text


def test_md5_files_many(tmp_path):
    paths = [write(tmp_path, f"f{i}", f"content {i}".encode()) for i in range(20)]
    result = md5_files(paths, [os.path.getsize(p) for p in paths])
    assert result == {p: hashlib.md5(open(p, "rb").read()).hexdigest() for p in paths}
    assert md5_files([], []) == {}


@pytest.mark.parametrize("way", ["one-thread", "kernel-copy", "copy-by-hand"])
def test_copy_while_hashing_writes_exactly_the_hashed_bytes(tmp_path, monkeypatch, way):
    """Every way of copying while hashing (large files: copied in the kernel, chunk by chunk,
    and hashed back from the copy; or by hand where the kernel can't) gives the file's md5 and
    a byte-identical copy, including a partial last chunk."""
    import mmap

    from dataver import hashing

    monkeypatch.setattr(hashing, "_KERNEL_COPY_SIZE", 1 << 62 if way == "one-thread" else 1)
    monkeypatch.setattr(hashing, "_MAP_CHUNK", 64 * mmap.ALLOCATIONGRANULARITY)
    monkeypatch.setattr(hashing._Kernel, "copy_file_range", way == "kernel-copy")
    data = random.Random(7).randbytes(5 * CHUNK + 12345)
    src = write(tmp_path, "src", data)
    fd = os.open(tmp_path / "copy", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert hashing.md5_stream(src, fd) == hashlib.md5(data).hexdigest()
    finally:
        os.close(fd)
    assert (tmp_path / "copy").read_bytes() == data


def test_kernel_copy_reports_a_failed_write(tmp_path, monkeypatch):
    from dataver import hashing

    monkeypatch.setattr(hashing, "_KERNEL_COPY_SIZE", 1)
    src = write(tmp_path, "src", b"x" * (3 * CHUNK))
    fd = os.open(src, os.O_RDONLY)  # not writable: the copying thread's first copy fails
    try:
        with pytest.raises(OSError):
            hashing.md5_stream(src, fd)
    finally:
        os.close(fd)
