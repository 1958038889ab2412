"""Backend over an fsspec filesystem (s3fs, sshfs, gcsfs, adlfs, webdav4, HTTP).

Asynchronous filesystems run every bulk operation as coroutines on the filesystem's own event
loop (fsspec's ``_put_file``/``_get_file``/``_info``), bounded by a semaphore; synchronous ones
use a thread pool. Large files stream through the library (s3fs switches to multipart upload),
so memory stays constant.
"""
from __future__ import annotations

import posixpath
from typing import Iterator

from dataver.remote.base import Backend, Failures, MissingBucketError, OnDone
from dataver.remote.wrappers import (bounded_gather, put_versions, retry, retry_async,
                                      threaded_gather)


class FsspecBackend(Backend):
    """Keys below ``root`` (a path in ``fs``'s own notation, without protocol)."""

    def __init__(self, fs, root: str, url: str, *, atomic_rename: bool = False,
                 make_dirs: bool = False, check_path: str | None = None, default_jobs: int = 32,
                 check_timeout: float = 10.0):
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        self.atomic_rename = atomic_rename  # temp name + rename (SSH, WebDAV)
        self.writes_temp_files = atomic_rename
        self.make_dirs = make_dirs  # storage has real directories that must exist before a put
        self.check_path = check_path  # what check() inspects: the bucket, or the root
        self.default_jobs = default_jobs
        self.check_timeout = check_timeout
        self.is_async = bool(getattr(fs, "async_impl", False))
        self._made: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def _run(self, coro):
        from fsspec.asyn import sync

        async def wrapper():
            return await coro

        return sync(self.fs.loop, wrapper)

    # --- check -----------------------------------------------------------------------------
    def check(self) -> None:
        path = self.check_path if self.check_path is not None else self.root
        if self.is_async:
            import asyncio

            async def probe():
                return await asyncio.wait_for(self._info_or_none(path), self.check_timeout)

            found = self._run(probe())
        else:
            found = retry(lambda: self._sync_info_or_none(path))
        if found is None and self.check_path is not None:
            raise MissingBucketError(f"bucket or container '{path}' does not exist")

    async def _info_or_none(self, path: str):
        try:
            return await retry_async(lambda: self.fs._info(path))
        except FileNotFoundError:
            return None

    def _sync_info_or_none(self, path: str):
        try:
            return self.fs.info(path)
        except FileNotFoundError:
            return None

    # --- queries ----------------------------------------------------------------------------
    def exists_many(self, keys: list[str], jobs: int) -> set[str]:
        found: set[str] = set()
        if self.is_async:
            async def one(key):
                if await self._info_or_none(self._path(key)) is not None:
                    found.add(key)

            failures = self._run(bounded_gather(keys, one, jobs))
        else:
            def one_sync(key):
                if retry(lambda: self._sync_info_or_none(self._path(key))) is not None:
                    found.add(key)

            failures = threaded_gather(keys, one_sync, jobs)
        if failures:
            raise next(iter(failures.values()))
        return found

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix.strip("/"))
        try:
            if self.is_async:
                paths = self._run(retry_async(lambda: self.fs._find(base)))
            else:
                paths = retry(lambda: self.fs.find(base))
        except FileNotFoundError:
            return
        start = len(self.root) + 1
        for path in paths:
            path = path.lstrip("/") if not self.root.startswith("/") else path
            if path.startswith(self.root + "/"):
                yield path[start:]

    # --- transfers ------------------------------------------------------------------------------
    def put_many(self, items: list[tuple[str, str]], jobs: int, on_done: OnDone | None = None) -> Failures:
        by_key = {key: local for local, key in items}
        if self.make_dirs:
            self._ensure_dirs({posixpath.dirname(self._path(k)) for k in by_key})
        if self.is_async:
            async def one(key):
                await retry_async(lambda: self._put_async(by_key[key], key))
                _done(on_done, key, by_key[key])

            return self._run(bounded_gather(list(by_key), one, jobs))

        def one_sync(key):
            retry(lambda: self._put_sync(by_key[key], key))
            _done(on_done, key, by_key[key])

        return threaded_gather(list(by_key), one_sync, jobs)

    async def _put_async(self, local: str, key: str) -> None:
        dest = self._path(key)
        if not self.atomic_rename:
            await self.fs._put_file(local, dest)
            return
        tmp = dest + self.temp_suffix()
        await self.fs._put_file(local, tmp)
        # a filesystem's own _mv renames (sshfs: SFTP posix-rename); fsspec's generic
        # _mv_file copies and deletes, which over SSH costs a remote `cp` per object
        move = getattr(self.fs, "_mv", None) or self.fs._mv_file
        await move(tmp, dest)

    def _put_sync(self, local: str, key: str) -> None:
        dest = self._path(key)
        if not self.atomic_rename:
            self.fs.put_file(local, dest)
            return
        tmp = dest + self.temp_suffix()
        self.fs.put_file(local, tmp)
        self._rename_sync(tmp, dest)

    def _rename_sync(self, tmp: str, dest: str) -> None:
        """Move the uploaded ``tmp`` over ``dest`` (replacing it)."""
        self.fs.mv(tmp, dest)

    def _ensure_dirs(self, dirs: set[str]) -> None:
        """Create ``dirs``: their parents one by one (usually just `files/md5`), then the
        directories themselves concurrently (up to 256 `xx` prefixes on a first push)."""
        todo = {d for d in dirs if d not in self._made}
        parents = sorted({posixpath.dirname(d) for d in todo} - self._made - todo)
        for group in [[p] for p in parents] + [sorted(todo)]:
            if self.is_async:
                async def one(directory):
                    await retry_async(lambda: self.fs._makedirs(directory, exist_ok=True))

                failures = self._run(bounded_gather(group, one, 16))
            else:
                failures = threaded_gather(
                    group, lambda d: retry(lambda: self.fs.makedirs(d, exist_ok=True)), 16)
            if failures:
                raise next(iter(failures.values()))
            self._made.update(group)

    def get_many(self, items: list[tuple[str, str]], jobs: int, on_done: OnDone | None = None) -> Failures:
        by_key = dict(items)
        if self.is_async:
            async def one(key):
                await retry_async(lambda: self.fs._get_file(self._path(key), by_key[key]))
                _done(on_done, key, by_key[key])

            return self._run(bounded_gather(list(by_key), one, jobs))

        def one_sync(key):
            retry(lambda: self.fs.get_file(self._path(key), by_key[key]))
            _done(on_done, key, by_key[key])

        return threaded_gather(list(by_key), one_sync, jobs)

    @property
    def supports_versions(self) -> bool:
        return self.is_async and bool(getattr(self.fs, "version_aware", False))  # s3fs

    def get_versioned(self, items: list[tuple[str, str | None, str]], jobs: int,
                      on_done: OnDone | None = None) -> Failures:
        async def one(item):
            key, version, local = item
            await retry_async(lambda: self.fs._get_file(self._path(key), local, version_id=version))
            _done(on_done, key, local)

        failures = self._run(bounded_gather(items, one, jobs))
        return {(key, version): exc for (key, version, _local), exc in failures.items()}

    def put_versioned(self, items: list[tuple[str, str]], jobs: int,
                      on_done: OnDone | None = None) -> tuple[dict[str, tuple[str, str]], Failures]:
        async def upload(local, key):
            await retry_async(lambda: self.fs._put_file(local, self._path(key)))
            # s3fs returns nothing from a put: its version is the newest one right after it
            info = await self.fs._info(self._path(key), refresh=True)
            return info.get("VersionId"), info.get("ETag")

        return self._run(put_versions(items, jobs, upload, on_done))

    def delete_many(self, keys: list[str], jobs: int) -> Failures:
        if self.is_async:
            async def one(key):
                try:
                    await retry_async(lambda: self.fs._rm_file(self._path(key)))
                except FileNotFoundError:
                    pass

            return self._run(bounded_gather(keys, one, jobs))

        def one_sync(key):
            try:
                retry(lambda: self.fs.rm_file(self._path(key)))
            except FileNotFoundError:
                pass

        return threaded_gather(keys, one_sync, jobs)


def _done(on_done: OnDone | None, key: str, local: str) -> None:
    if on_done is not None:
        import os

        on_done(key, os.path.getsize(local))
