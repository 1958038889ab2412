"""The backend interface every remote type implements, and the object layer on top of it.

Semantics (every backend must honour them; ``tests/remotes/test_conformance.py`` checks them):

- Keys are ``/``-separated paths relative to the remote's root URL, e.g.
  ``files/md5/ab/cdef...`` (DVC 3.x) or ``ab/cdef...`` (DVC 2.x legacy objects).
- ``exists_many(keys)`` returns the subset of ``keys`` that exist as objects. A key that cannot be
  checked (permission, network) raises, it is never reported as absent.
- ``list(prefix)`` yields every key below ``prefix`` (recursively). A missing prefix yields
  nothing. Names come from the server and are untrusted: callers validate them.
- ``put_many([(local_path, key)])`` uploads whole files. Where the storage has rename (local,
  SSH, WebDAV) a file is written under a temporary name and renamed, so a key never names partial
  content; object stores (S3, GCS, Azure) publish an object atomically at the end of its PUT.
  Parent "directories" are created as needed.
- ``get_many([(key, local_path)])`` writes each object to ``local_path`` (a temporary file that the
  caller verifies before moving it into the cache). A missing key fails with FileNotFoundError.
- ``delete_many(keys)`` removes objects; a key that is already gone is not an error.
- Bulk methods return ``{key: exception}`` for the items that failed and call ``on_done(key,
  nbytes)`` for each item that succeeded; they run up to ``jobs`` transfers at once.
- ``check()`` contacts the remote once and raises RemoteError if it is unreachable, refuses the
  credentials, or its bucket/container does not exist. It returns within the backend's timeout.
"""
from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from typing import Callable, Iterator

from dataver.hashing import LEGACY, MD5

OnDone = Callable[[str, int], None]
Failures = dict  # key -> BaseException

_HEX2 = re.compile(r"^[0-9a-f]{2}$")
_REST = re.compile(r"^[0-9a-f]{30}(\.dir)?$")
FILES_PREFIX = "files/md5/"


class MissingBucketError(FileNotFoundError):
    """The bucket or container of the remote URL does not exist."""


class Backend(ABC):
    """Storage under one root URL, addressed by relative keys (see module docstring)."""

    #: URL for messages, with any password masked
    url: str = ""
    #: transfers to run at once when the user gives no -j
    default_jobs: int = 8
    #: False where the protocol cannot enumerate or delete (plain HTTP): callers then check
    #: objects one by one, and gc -c refuses to run
    can_list: bool = True
    #: True where uploads go to a temp name renamed when complete (see dataver.leftovers)
    writes_temp_files: bool = False

    def temp_suffix(self) -> str:
        """The suffix of a new upload temp file: ``.<12 hex>.tmp``. The transfer layer replaces
        this with its process's registered one, so a later run can remove what a kill left."""
        return f".{os.urandom(6).hex()}.tmp"
    #: False when no credentials of any kind are configured (set by the registry), so that a
    #: refusal is reported as "no credentials" rather than as wrong ones
    credentials_configured: bool = True

    @abstractmethod
    def check(self) -> None:
        """Raise RemoteError unless the remote is reachable and usable."""

    @abstractmethod
    def exists_many(self, keys: list[str], jobs: int) -> set[str]:
        """The subset of ``keys`` that exist."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """Every key below ``prefix`` (untrusted names)."""

    @abstractmethod
    def put_many(self, items: list[tuple[str, str]], jobs: int, on_done: OnDone | None = None) -> Failures:
        """Upload ``(local_path, key)`` pairs; returns failures by key."""

    @abstractmethod
    def get_many(self, items: list[tuple[str, str]], jobs: int, on_done: OnDone | None = None) -> Failures:
        """Download ``(key, local_path)`` pairs; returns failures by key."""

    @abstractmethod
    def delete_many(self, keys: list[str], jobs: int) -> Failures:
        """Remove objects; returns failures by key."""

    #: True where the storage keeps object versions and the two methods below work (S3 with a
    #: ``version_aware``/``worktree`` remote; see dataver.ops.versioned)
    supports_versions: bool = False

    def get_versioned(self, items: list[tuple[str, str | None, str]], jobs: int,
                      on_done: OnDone | None = None) -> Failures:
        """Download ``(key, version_id or None for the latest, local_path)`` triples; returns
        failures by ``(key, version_id)`` (a missing version fails with FileNotFoundError)."""
        raise NotImplementedError

    def put_versioned(self, items: list[tuple[str, str]], jobs: int,
                      on_done: OnDone | None = None) -> tuple[dict[str, tuple[str, str]], Failures]:
        """Upload ``(local_path, key)`` pairs to storage that keeps versions: ``({key:
        (version_id, etag)}, failures by key)``. An upload given no version id (versioning off
        on the bucket) fails: nothing could fetch that exact content later."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (default: nothing to do)."""


def object_key(oid: str, hash_name: str = MD5) -> str:
    """The key of object ``oid``: DVC 3.x under ``files/md5/``, 2.x legacy at the root."""
    rel = f"{oid[:2]}/{oid[2:]}"
    return rel if hash_name == LEGACY else FILES_PREFIX + rel


def parse_key(key: str) -> tuple[str, str] | None:
    """``(oid, hash_name)`` for a well-formed object key, None for anything else (temp files,
    foreign files, names crafted to escape). Listings are untrusted, so every name passes here."""
    parts = key.split("/")
    if len(parts) == 4 and key.startswith(FILES_PREFIX):
        prefix, rest, hash_name = parts[2], parts[3], MD5
    elif len(parts) == 2:
        prefix, rest, hash_name = parts[0], parts[1], LEGACY
    else:
        return None
    if not _HEX2.match(prefix) or not _REST.match(rest):
        return None
    return prefix + rest, hash_name


def list_objects(backend: Backend, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """``(oid, hash_name, key)`` of every valid object key below ``prefix`` (both layouts)."""
    for key in backend.list(prefix):
        parsed = parse_key(key)
        if parsed is not None:
            yield parsed[0], parsed[1], key
