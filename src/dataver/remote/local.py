"""Backend for a directory on a local or mounted filesystem (``/mnt/store``, ``../store``).

Plain ``os`` calls are faster here than fsspec's LocalFileSystem. Uploads are written to a temp
name in the destination directory and renamed, so an interrupted push never leaves a partial
object under a valid name. Objects are made read-only, as DVC does in its cache.
"""
from __future__ import annotations

import os
import shutil
from typing import Iterator

from dataver.remote.base import Backend, Failures, OnDone
from dataver.remote.wrappers import threaded_gather


class LocalBackend(Backend):
    """Keys are files below the directory ``root``."""

    default_jobs = 8
    writes_temp_files = True

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.url = root
        self._made: set[str] = set()

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/")) if key else self.root

    def check(self) -> None:
        # A missing directory is created by the first push, as DVC does; a file in its place
        # or an unreadable parent is an error.
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise NotADirectoryError(f"'{self.root}' is not a directory")

    def exists_many(self, keys: list[str], jobs: int) -> set[str]:
        return {key for key in keys if os.path.isfile(self._path(key))}

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix.strip("/"))
        for dirpath, _dirs, files in os.walk(base):
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            for name in files:
                yield name if rel == "." else f"{rel}/{name}"

    def put_many(self, items: list[tuple[str, str]], jobs: int, on_done: OnDone | None = None) -> Failures:
        def one(item):
            local, key = item
            dest = self._path(key)
            parent = os.path.dirname(dest)
            if parent not in self._made:
                os.makedirs(parent, exist_ok=True)
                self._made.add(parent)
            tmp = dest + self.temp_suffix()
            try:
                shutil.copyfile(local, tmp)
                os.chmod(tmp, 0o444)
                os.replace(tmp, dest)
            except BaseException:
                _unlink(tmp)
                raise
            if on_done is not None:
                on_done(key, os.path.getsize(dest))

        failures = threaded_gather(items, one, jobs)
        return {key: exc for (_local, key), exc in failures.items()}

    def get_many(self, items: list[tuple[str, str]], jobs: int, on_done: OnDone | None = None) -> Failures:
        def one(item):
            key, local = item
            shutil.copyfile(self._path(key), local)
            if on_done is not None:
                on_done(key, os.path.getsize(local))

        failures = threaded_gather(items, one, jobs)
        return {key: exc for (key, _local), exc in failures.items()}

    def delete_many(self, keys: list[str], jobs: int) -> Failures:
        failures: Failures = {}
        for key in keys:
            try:
                _unlink(self._path(key))
            except OSError as exc:
                failures[key] = exc
        return failures


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
