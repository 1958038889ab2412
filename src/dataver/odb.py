"""Content-addressed object store (the cache): oid <-> path, add, verify, iterate.

Layout (DVC 3.x): ``<root>/files/md5/<oid[:2]>/<oid[2:]>``; DVC 2.x objects (md5-dos2unix) live at
``<root>/<oid[:2]>/<oid[2:]>``. Objects are written as unnamed files (or to a temp name) and linked
(or renamed) into place when complete, so no object ever sits under a valid name with partial
content.
"""
from __future__ import annotations

import os
import re
import stat

from dataver.errors import CorruptObjectError, UserError
from dataver.hashing import (CHUNK, LEGACY, MD5, fingerprint, give_buffer, md5_bytes, md5_file, md5_stream,
                             new_md5, read_whole, take_buffer, write_all)
from dataver.manifest import Manifest, is_dir_oid
from dataver.manifest_index import ManifestIndex

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Iterable, Iterator

READONLY = 0o444
_LIST_AT_LEAST = 256  # from this many oids on, existing() lists directories instead of stat-ing


def _tmp_name(path: str) -> str:
    return f"{path}.{os.urandom(6).hex()}.tmp"


class ObjectStore:
    """A local object store rooted at ``root`` (``.dvc/cache`` or ``cache.dir``)."""

    def __init__(self, root: str, shared: bool = False, manifest_index: str | None = None):
        self.root = root
        self.shared = shared  # cache.shared = group: directories group-writable
        # parsed manifests kept by the repo (see dataver.manifest_index); None: parse every time
        self._index = ManifestIndex(manifest_index) if manifest_index else None
        self._made_dirs: set[str] = set()

    # --- paths -----------------------------------------------------------------
    def path(self, oid: str, hash_name: str = MD5) -> str:
        """Where object ``oid`` lives (for ``md5-dos2unix``, the legacy layout)."""
        return os.path.join(self._base(hash_name), oid[:2], oid[2:])

    def _base(self, hash_name: str) -> str:
        return self.root if hash_name == LEGACY else os.path.join(self.root, "files", "md5")

    def exists(self, oid: str, hash_name: str = MD5) -> bool:
        return os.path.exists(self.path(oid, hash_name))

    def existing(self, oids: Iterable[str], hash_name: str = MD5) -> set[str]:
        """The subset of ``oids`` present in the store.

        Many oids are looked up with one directory listing per ``xx/`` prefix instead of a stat
        per object: 256 listings beat 20,000 stats. Temp files never match an oid.
        """
        wanted = set(oids)
        if len(wanted) < _LIST_AT_LEAST:
            return {oid for oid in wanted if os.path.exists(self.path(oid, hash_name))}
        by_prefix: dict[str, set[str]] = {}
        for oid in wanted:
            by_prefix.setdefault(oid[:2], set()).add(oid[2:])
        base = self._base(hash_name)
        found: set[str] = set()
        for prefix, rests in by_prefix.items():
            try:
                names = os.listdir(os.path.join(base, prefix))
            except (FileNotFoundError, NotADirectoryError):
                continue
            found.update(prefix + rest for rest in rests.intersection(names))
        return found

    def listing_stamp(self, hash_name: str = MD5) -> str:
        """A digest of the mtimes of the store's prefix directories: it changes whenever an
        object is added to or removed from the store."""
        base = self._base(hash_name)
        try:
            with os.scandir(base) as entries:
                parts = [f"{e.name}:{e.stat(follow_symlinks=False).st_mtime_ns}" for e in entries]
        except FileNotFoundError:
            parts = []
        return fingerprint("/".join(sorted(parts)).encode("utf-8", "surrogateescape"))

    def _ensure_parent(self, path: str) -> None:
        self._ensure_dir(os.path.dirname(path))

    def _ensure_dir(self, parent: str) -> None:
        if parent not in self._made_dirs:
            if self.shared:
                _makedirs_shared(parent)
            else:
                os.makedirs(parent, exist_ok=True)
            self._made_dirs.add(parent)

    # --- writing -----------------------------------------------------------------
    def add_bytes(self, data: bytes, oid: str, hash_name: str = MD5) -> str:
        """Store ``data`` under ``oid`` (a .dir manifest usually), synced to disk; returns the
        object path."""
        dest = self.path(oid, hash_name)
        if not os.path.exists(dest):
            self._put(data, dest, durable=True)
        return dest

    def _put(self, data, dest: str, durable: bool = False) -> None:
        """Write ``data`` as the object ``dest``, all or nothing (an existing one stays): as an
        unnamed file in its directory, linked in when complete, or else through a temp name."""
        from dataver.linking import link_unnamed, open_unnamed

        parent = os.path.dirname(dest)
        self._ensure_dir(parent)
        fd = open_unnamed(parent, READONLY)
        if fd is None:
            self._put_through_tmp(data, dest, durable)
            return
        try:
            write_all(fd, data)
            os.fchmod(fd, READONLY)  # exactly 0444, whatever the umask
            if durable:
                os.fsync(fd)
            link_unnamed(fd, dest, replace=False)
        finally:
            os.close(fd)

    def _put_through_tmp(self, data, dest: str, durable: bool) -> None:
        tmp = _tmp_name(dest)
        try:
            with open(tmp, "wb") as fobj:
                fobj.write(data)
                fobj.flush()
                if durable:
                    os.fsync(fobj.fileno())
            self._finish(tmp, dest)
        except BaseException:
            _unlink_quiet(tmp)
            raise

    def add_manifest(self, manifest: Manifest) -> str:
        """Store a directory manifest; returns its oid. Call only after its files are stored."""
        oid = manifest.oid
        data = manifest.to_bytes()
        self.add_bytes(data, oid)
        if self._index is not None:  # built here, so canonical: the next read needs no parse
            self._index.store(oid, MD5, manifest, len(data))
        return oid

    def add_file_hashing(self, src: str, size: int | None = None) -> str:
        """Copy ``src`` into the store while hashing it (each byte read once); returns the oid.
        ``size``: its size, when the caller already knows it.

        The copy is written as an unnamed file where the OS allows (nothing to clean up after a
        crash) and linked under its name only when complete; else through a temp name. A file
        that fits one buffer is read whole, then written in the directory it belongs in: on
        ext4, creating an inode near its final directory is ~30% cheaper than in one shared
        incoming directory, and creating inodes is most of what adding small files costs.
        """
        from dataver.linking import link_unnamed, open_unnamed

        if size is not None and size < CHUNK:
            buf = take_buffer()
            try:
                length = read_whole(src, buf)
                if length is not None:
                    view = memoryview(buf)[:length]
                    oid = new_md5(view).hexdigest()
                    self._put(view, self.path(oid))
                    return oid
            finally:
                give_buffer(buf)
        incoming = os.path.join(self.root, "files", "md5")
        self._ensure_dir(incoming)
        fd = open_unnamed(incoming, READONLY)
        if fd is None:
            return self._add_file_hashing_tmp(src, size)
        try:
            oid = md5_stream(src, fd, size)
            os.fchmod(fd, READONLY)  # exactly 0444, whatever the umask
            dest = self.path(oid)
            self._ensure_parent(dest)
            link_unnamed(fd, dest, replace=False)  # already there: same content, keep it
        finally:
            os.close(fd)
        return oid

    def _add_file_hashing_tmp(self, src: str, size: int | None) -> str:
        tmp = _tmp_name(os.path.join(self.root, "files", "md5", "incoming"))
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                oid = md5_stream(src, fd, size)
            finally:
                os.close(fd)
            dest = self.path(oid)
            if os.path.exists(dest):
                os.unlink(tmp)
            else:
                self._ensure_parent(dest)
                self._finish(tmp, dest)
            return oid
        except BaseException:
            _unlink_quiet(tmp)
            raise

    def add_file(self, src: str, oid: str, hash_name: str = MD5, link=None) -> str:
        """Store the file ``src`` whose content hashes to ``oid``; no-op when present.

        ``link(src, tmp)`` may create the temp copy (a reflink, say); default is a plain copy.
        """
        dest = self.path(oid, hash_name)
        if os.path.exists(dest):
            return dest
        self._ensure_parent(dest)
        tmp = _tmp_name(dest)
        try:
            if link is not None:
                link(src, tmp)
            else:
                _copy(src, tmp)
            self._finish(tmp, dest)
        except BaseException:
            _unlink_quiet(tmp)
            raise
        return dest

    def temp_path(self, oid: str, hash_name: str = MD5) -> str:
        """A fresh temp name next to where ``oid`` lives (so moving it in is a rename)."""
        dest = self.path(oid, hash_name)
        self._ensure_parent(dest)
        return _tmp_name(dest)

    def adopt(self, tmp: str, oid: str, hash_name: str = MD5) -> str:
        """Move the verified temp file ``tmp`` (from :meth:`temp_path`) in as object ``oid``."""
        dest = self.path(oid, hash_name)
        self._finish(tmp, dest)
        return dest

    def _finish(self, tmp: str, dest: str) -> None:
        os.chmod(tmp, READONLY)
        os.replace(tmp, dest)

    # --- reading -------------------------------------------------------------------
    def read_manifest(self, oid: str, hash_name: str = MD5) -> Manifest:
        """Load the directory manifest ``oid``; raises FileNotFoundError if absent and
        CorruptObjectError (naming the object) if its content is wrong or unsafe."""
        path = self.path(oid, hash_name)
        if self._index is not None:
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                size = None  # the index answers only for objects in the cache: open() raises
            known = self._index.load(oid, hash_name, size) if size is not None else None
            if known is not None:
                return known.with_oid(oid) if hash_name == MD5 else known
        with open(path, "rb") as fobj:
            data = fobj.read()
        fix = "delete it from the cache, then `dataver pull` or re-add the directory, to fix it"
        if hash_name == MD5 and md5_bytes(data) + ".dir" != oid:
            raise CorruptObjectError(f"cache object {oid} is corrupt (its content does not match "
                                     f"its name)", path=path, hint=fix)
        try:
            manifest = Manifest.from_bytes(data, oid)
        except UserError as exc:
            raise CorruptObjectError(f"directory manifest {oid}: {exc.message}", path=path,
                                     hint=fix) from None
        # Equal entries then mean an equal oid; the parsed index keeps only such manifests.
        manifest.canonical = manifest.to_bytes() == data
        if self._index is not None and manifest.canonical:
            self._index.store(oid, hash_name, manifest, len(data))
        return manifest.with_oid(oid) if hash_name == MD5 else manifest

    def verify(self, oid: str, hash_name: str = MD5) -> bool:
        """Whether the stored object's content matches its name."""
        path = self.path(oid, hash_name)
        expected = oid[:-4] if is_dir_oid(oid) else oid
        try:
            return md5_file(path, MD5 if is_dir_oid(oid) else hash_name) == expected
        except FileNotFoundError:
            return False

    def iter_oids(self) -> Iterator[str]:
        """Every 3.x object id in the store (temp files skipped)."""
        base = os.path.join(self.root, "files", "md5")
        try:
            prefixes = sorted(os.listdir(base))
        except FileNotFoundError:
            return
        for prefix in prefixes:
            if len(prefix) != 2:
                continue
            for entry in os.scandir(os.path.join(base, prefix)):
                if entry.name.endswith(".tmp"):
                    continue
                yield prefix + entry.name

    def remove_stale_tmp(self, max_age: float = 3600.0) -> int:
        """Delete temp files that killed processes left in the store, older than ``max_age``
        seconds (younger ones may belong to a running process); returns how many."""
        import time

        cutoff = time.time() - max_age
        removed = 0
        for base in (os.path.join(self.root, "files", "md5"), self.root):
            for path in _tmp_files(base):
                try:
                    if os.lstat(path).st_mtime < cutoff:
                        _unlink_quiet(path)
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def remove(self, oid: str, hash_name: str = MD5) -> None:
        """Delete an object (gc), and its parsed copy if it is a manifest."""
        _unlink_quiet(self.path(oid, hash_name))
        if self._index is not None and is_dir_oid(oid):
            self._index.forget(oid, hash_name)


_TMP_NAME = re.compile(r"\.[0-9a-f]{12}\.tmp$")


def _tmp_files(base: str) -> Iterator[str]:
    """Our temp files directly in ``base`` (``incoming.*``) and in its two-letter prefix dirs."""
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        return
    for name in names:
        path = os.path.join(base, name)
        if _TMP_NAME.search(name):
            yield path
        elif len(name) == 2 and os.path.isdir(path):
            yield from (os.path.join(path, n) for n in os.listdir(path) if _TMP_NAME.search(n))


def _makedirs_shared(path: str) -> None:
    """Create ``path`` and missing parents group-writable with setgid (0o2775), as DVC does for
    ``cache.shared = group``, so every member of the group can add objects."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue
        os.chmod(directory, 0o2775)


def _copy(src: str, dst: str) -> None:
    # copy_file_range in the kernel, a few syscalls less than shutil.copyfile; no metadata needed.
    from dataver.linking import copy

    copy(src, dst)


def _unlink_quiet(path: str) -> None:
    try:
        os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
        os.unlink(path)
    except FileNotFoundError:
        pass
