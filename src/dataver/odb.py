"""Content-addressed object store (the cache): oid <-> path, add, verify, iterate.

Layout (DVC 3.x): ``<root>/files/md5/<oid[:2]>/<oid[2:]>``; DVC 2.x objects (md5-dos2unix) live at
``<root>/<oid[:2]>/<oid[2:]>``. Objects are written as unnamed files (or to a temp name) and linked
(or renamed) into place when complete, so no object ever sits under a valid name with partial
content.

Every object dataver stores or verifies carries a tag in its mtime (:mod:`dataver.objtag`), so
that an object changed since then is told apart with one ``stat``. Commands that find a corrupt
object refuse to use it and change nothing; `dataver cache verify --repair` (or `add` of the
same content) moves it aside to ``<path>.<ns>.corrupt`` (its bytes may hold a user's in-place
edit through a link), after which it counts as missing; `gc` deletes what was moved aside.
"""
from __future__ import annotations

import os
import re
import stat
import time

from dataver.errors import CorruptObjectError, UserError
from dataver.hashing import (CHUNK, LEGACY, MD5, fingerprint, give_buffer, md5_bytes, md5_file, md5_stream,
                             new_md5, read_whole, take_buffer, write_all)
from dataver.manifest import Manifest, is_dir_oid
from dataver.manifest_index import ManifestIndex
from dataver.objtag import is_tagged, tag_fd, tag_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Iterable, Iterator

READONLY = 0o444
CORRUPT_SUFFIX = ".corrupt"
REPAIR_HINT = ("run `dataver cache verify --repair` to move it aside and pull a good copy from the "
               "remote, or add the data again")
_RECORDS = "object"  # hash name under which verified stats of untaggable objects are recorded
_LIST_AT_LEAST = 256  # from this many oids on, existing() lists directories instead of stat-ing


class ObjectStore:
    """A local object store rooted at ``root`` (``.dvc/cache`` or ``cache.dir``)."""

    def __init__(self, root: str, shared: bool = False, manifest_index: str | None = None,
                 records=None):
        self.root = root
        self.shared = shared  # cache.shared = group: directories group-writable
        # parsed manifests kept by the repo (see dataver.manifest_index); None: parse every time
        self._index = ManifestIndex(manifest_index) if manifest_index else None
        # Where verified stats of objects that cannot carry a tag are kept (a State, whose
        # get/set take a key, a Stat and a name); None: such objects are hashed at each use.
        self.records = records
        self._made_dirs: set[str] = set()
        self._registration = None

    @property
    def leftovers(self):
        """This process's :class:`dataver.leftovers.Registration` in this store (its temp
        files carry its token, so a later run can remove what a kill leaves)."""
        if self._registration is None:
            from dataver.leftovers import Registration

            self._registration = Registration(self.root)
        return self._registration

    def _tmp_name(self, path: str) -> str:
        return path + self.leftovers.temp_suffix()

    def clean_leftovers(self, remote=None) -> int:
        """Remove temp files that killed processes left in this store (and on ``remote``, an
        open :class:`dataver.remote.Remote`); see :mod:`dataver.leftovers`."""
        from dataver.leftovers import clean_dead

        return clean_dead(self.root, remote)

    def close(self) -> None:
        """End this process's registration (its temp files are all gone by now)."""
        if self._registration is not None:
            self._registration.close()

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
            self._put(data, oid, hash_name, durable=True)
        return dest

    def _put(self, data, oid: str, hash_name: str = MD5, durable: bool = False) -> None:
        """Write ``data`` as object ``oid``, all or nothing: as an unnamed file in its
        directory, linked in when complete, or else through a temp name. An existing object
        stays, unless it changed since it was stored (then the new copy replaces it)."""
        from dataver.linking import link_unnamed, open_unnamed

        dest = self.path(oid, hash_name)
        parent = os.path.dirname(dest)
        self._ensure_dir(parent)
        fd = open_unnamed(parent, READONLY)
        if fd is None:
            self._put_through_tmp(data, oid, hash_name, durable)
            return
        try:
            write_all(fd, data)
            os.fchmod(fd, READONLY)  # exactly 0444, whatever the umask
            self._tag_new(fd, oid, len(data))
            if durable:
                os.fsync(fd)
            if not link_unnamed(fd, dest, replace=False):
                self._replace_if_changed(fd, oid, hash_name)
        finally:
            os.close(fd)

    def _put_through_tmp(self, data, oid: str, hash_name: str, durable: bool) -> None:
        dest = self.path(oid, hash_name)
        tmp = self._tmp_name(dest)
        try:
            with open(tmp, "wb") as fobj:
                fobj.write(data)
                fobj.flush()
                if durable:
                    os.fsync(fobj.fileno())
            self._finish(tmp, oid, hash_name)
        except BaseException:
            _unlink_quiet(tmp)
            raise

    def add_manifest(self, manifest: Manifest) -> str:
        """Store a directory manifest; returns its oid. Call only after its files are stored."""
        oid = manifest.oid
        path = self.add_bytes(manifest.to_bytes(), oid)
        if self._index is not None and self.trusted(oid):  # canonical: no parse next time
            self._index.store(oid, MD5, manifest, _stat_key(os.stat(path)))
        return oid

    def add_file_hashing(self, src: str, size: int | None = None, progress=None) -> str:
        """Copy ``src`` into the store while hashing it (each byte read once); returns the oid.
        ``size``: its size, when the caller already knows it. ``progress``: advanced by the
        bytes copied, as they are (for a large file: see :func:`dataver.progress.file_phase`).

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
                    self._put(view, oid)
                    return oid
            finally:
                give_buffer(buf)
        incoming = os.path.join(self.root, "files", "md5")
        self._ensure_dir(incoming)
        fd = open_unnamed(incoming, READONLY)
        if fd is None:
            return self._add_file_hashing_tmp(src, size, progress)
        try:
            oid = md5_stream(src, fd, size, progress)
            os.fchmod(fd, READONLY)  # exactly 0444, whatever the umask
            self._tag_new(fd, oid, os.fstat(fd).st_size)
            dest = self.path(oid)
            self._ensure_parent(dest)
            if not link_unnamed(fd, dest, replace=False):  # already there: keep it if sound
                self._replace_if_changed(fd, oid, MD5)
        finally:
            os.close(fd)
        return oid

    def _add_file_hashing_tmp(self, src: str, size: int | None, progress=None) -> str:
        tmp = self._tmp_name(os.path.join(self.root, "files", "md5", "incoming"))
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                oid = md5_stream(src, fd, size, progress)
            finally:
                os.close(fd)
            dest = self.path(oid)
            if self.trusted(oid):
                os.unlink(tmp)
            else:
                self._ensure_parent(dest)
                self._finish(tmp, oid)
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
        tmp = self._tmp_name(dest)
        try:
            if link is not None:
                link(src, tmp)
            else:
                _copy(src, tmp)
            self._finish(tmp, oid, hash_name)
        except BaseException:
            _unlink_quiet(tmp)
            raise
        return dest

    def temp_path(self, oid: str, hash_name: str = MD5) -> str:
        """A fresh temp name next to where ``oid`` lives (so moving it in is a rename)."""
        dest = self.path(oid, hash_name)
        self._ensure_parent(dest)
        return self._tmp_name(dest)

    def adopt(self, tmp: str, oid: str, hash_name: str = MD5) -> str:
        """Move the verified temp file ``tmp`` (from :meth:`temp_path`) in as object ``oid``."""
        return self._finish(tmp, oid, hash_name)

    def _finish(self, tmp: str, oid: str, hash_name: str = MD5) -> str:
        """Make the complete temp file ``tmp`` read-only and tagged, and rename it to be
        object ``oid``; returns the object's path."""
        dest = self.path(oid, hash_name)
        os.chmod(tmp, READONLY)
        try:
            tag_path(tmp, oid, os.stat(tmp).st_size)
        except OSError:
            pass  # not ours to set the time of: verified by hashing at its first use
        os.replace(tmp, dest)
        return dest

    # --- integrity (see dataver.objtag) -------------------------------------------------------------
    def _tag_new(self, fd: int, oid: str, size: int) -> None:
        """Tag a file this process just wrote as object ``oid`` (best effort: an object without
        a tag is hashed once at its first use)."""
        try:
            tag_fd(fd, oid, size)
        except OSError:
            pass

    def _replace_if_changed(self, fd: int, oid: str, hash_name: str) -> None:
        """Object ``oid`` already existed when the sound copy ``fd`` was about to be linked in:
        if the existing one changed since it was stored, move it aside and link ``fd`` in."""
        from dataver.linking import link_unnamed

        if not self.trusted(oid, hash_name) and self.verify_many([oid], hash_name):
            self.quarantine(oid, hash_name)
            link_unnamed(fd, self.path(oid, hash_name), replace=True)

    def trusted(self, oid: str, hash_name: str = MD5, st: os.stat_result | None = None) -> bool:
        """Whether object ``oid`` is present and unchanged since it was stored or verified, by
        its tag, or by its recorded stat where it cannot carry one (``st``: its stat, if the
        caller has it). Never reads the content: False means absent, or unknown until hashed."""
        if st is None:
            try:
                st = os.stat(self.path(oid, hash_name))
            except (FileNotFoundError, NotADirectoryError):
                return False
        if is_tagged(st, oid):
            return True
        if self.records is None:
            return False
        from dataver.state import Stat

        return self.records.get(self._record_key(oid, hash_name), Stat.of(st), _RECORDS) == oid

    def sound(self, oid: str, hash_name: str = MD5) -> bool:
        """Whether object ``oid`` is present with the content its name says: :meth:`trusted`,
        else hashed now (and tagged if it proves sound)."""
        if self.trusted(oid, hash_name):
            return True
        return self.exists(oid, hash_name) and not self.verify_many([oid], hash_name)

    def _record_key(self, oid: str, hash_name: str) -> str:
        return f"{self.root}:{hash_name}:{oid}"

    def untrusted(self, oids, hash_name: str = MD5) -> list[str]:
        """Those of ``oids`` present in the store that :meth:`trusted` cannot vouch for."""
        return [oid for oid in oids if not self.trusted(oid, hash_name)
                and os.path.exists(self.path(oid, hash_name))]

    def verify_many(self, oids: list[str], hash_name: str = MD5) -> list[str]:
        """Hash the objects ``oids`` (in parallel). Each whose content matches its name is
        tagged (or its stat recorded) as verified. Returns those that do not match (left in
        place: see :meth:`quarantine`); absent ones count as neither."""
        from dataver.hashing import md5_files

        found = []
        for oid in oids:
            try:
                found.append((oid, os.stat(self.path(oid, hash_name))))
            except (FileNotFoundError, NotADirectoryError):
                continue
        paths = [self.path(oid, hash_name) for oid, _st in found]
        by_name: dict[str, list[int]] = {}
        for i, (oid, _st) in enumerate(found):  # a .dir object is md5 of its bytes, any layout
            by_name.setdefault(MD5 if is_dir_oid(oid) else hash_name, []).append(i)
        digests: dict[str, str] = {}
        for name, idx in by_name.items():
            sub = [paths[i] for i in idx]
            digests.update(md5_files(sub, [found[i][1].st_size for i in idx], name))
        corrupt = []
        for (oid, before), path in zip(found, paths):
            if digests[path] == (oid[:-4] if is_dir_oid(oid) else oid):
                if not is_tagged(before, oid):
                    self._mark_verified(path, oid, hash_name, before)
            else:
                corrupt.append(oid)
        return corrupt

    def _mark_verified(self, path: str, oid: str, hash_name: str, before: os.stat_result) -> None:
        """Tag the object just hashed as sound, unless it changed while it was read."""
        from dataver.state import Stat

        try:
            now = os.stat(path)
        except FileNotFoundError:
            return
        if Stat.of(now) != Stat.of(before):
            return  # written to meanwhile: verified next time
        try:
            tag_path(path, oid, now.st_size)
            if is_tagged(os.stat(path), oid):
                return
        except OSError:
            pass
        if self.records is not None:  # not ours to tag (a shared cache), or time too coarse
            self.records.set(self._record_key(oid, hash_name), Stat.of(os.stat(path)), oid, _RECORDS)

    def quarantine(self, oid: str, hash_name: str = MD5) -> str | None:
        """Move the corrupt object ``oid`` out of the store's names, keeping its bytes (they may
        be a user's in-place edit through a link): it then counts as missing, so a good copy
        can be fetched or added. Returns where it went (None if it was already gone). Only
        repairs call this: commands that merely find a corrupt object leave the cache as is."""
        path = self.path(oid, hash_name)
        dest = f"{path}.{time.time_ns()}{CORRUPT_SUFFIX}"
        try:
            os.rename(path, dest)
        except FileNotFoundError:
            return None
        if self._index is not None and is_dir_oid(oid):
            self._index.forget(oid, hash_name)
        return dest

    # --- reading -------------------------------------------------------------------
    def read_manifest(self, oid: str, hash_name: str = MD5) -> Manifest:
        """Load the directory manifest ``oid``; raises FileNotFoundError if absent and
        CorruptObjectError (naming the object) if its content is wrong or unsafe."""
        path = self.path(oid, hash_name)
        before = os.stat(path)  # FileNotFoundError when absent
        if self._index is not None:
            known = self._index.load(oid, hash_name, _stat_key(before))
            if known is not None:
                return known.with_oid(oid) if hash_name == MD5 else known
        with open(path, "rb") as fobj:
            data = fobj.read()
        if hash_name == MD5 and md5_bytes(data) + ".dir" != oid:
            raise self.corrupt_error(oid, hash_name)
        try:
            manifest = Manifest.from_bytes(data, oid)
        except UserError as exc:
            raise CorruptObjectError(
                f"directory manifest {oid}: {exc.message}", path=path,
                hint="it matches its name, so it was written that way: fix or remove the .dvc "
                     "file that names it, or add the directory again with dataver") from None
        if not is_tagged(before, oid):
            self._mark_verified(path, oid, hash_name, before)
        # Equal entries then mean an equal oid; the parsed index keeps only such manifests.
        manifest.canonical = manifest.to_bytes() == data
        if self._index is not None and manifest.canonical:
            try:
                self._index.store(oid, hash_name, manifest, _stat_key(os.stat(path)))
            except FileNotFoundError:
                pass
        return manifest.with_oid(oid) if hash_name == MD5 else manifest

    def corrupt_error(self, oid: str, hash_name: str = MD5) -> CorruptObjectError:
        """The error for object ``oid`` found corrupt."""
        return CorruptObjectError(
            f"cache object {oid} is corrupt (its content changed after it was stored)",
            path=self.path(oid, hash_name), hint=REPAIR_HINT)

    def verify(self, oid: str, hash_name: str = MD5) -> bool:
        """Whether the stored object's content matches its name."""
        path = self.path(oid, hash_name)
        expected = oid[:-4] if is_dir_oid(oid) else oid
        try:
            return md5_file(path, MD5 if is_dir_oid(oid) else hash_name) == expected
        except FileNotFoundError:
            return False

    def iter_objects(self) -> Iterator[tuple[str, str]]:
        """``(oid, hash_name)`` of every object in the store, 3.x layout then 2.x (temp files
        and moved-aside objects skipped)."""
        for base, hash_name in ((os.path.join(self.root, "files", "md5"), MD5), (self.root, LEGACY)):
            for prefix in sorted(_listdir(base)):
                if len(prefix) != 2 or prefix[0] not in _HEX or prefix[1] not in _HEX:
                    continue
                for name in sorted(_listdir(os.path.join(base, prefix))):
                    if _OBJECT_REST.match(name):
                        yield prefix + name, hash_name

    def iter_corrupt(self) -> Iterator[str]:
        """Paths of objects moved aside as corrupt (see :meth:`quarantine`), both layouts."""
        for base in (os.path.join(self.root, "files", "md5"), self.root):
            for prefix in _listdir(base):
                if len(prefix) == 2:
                    directory = os.path.join(base, prefix)
                    yield from (os.path.join(directory, name) for name in _listdir(directory)
                                if name.endswith(CORRUPT_SUFFIX))

    def remove_corrupt(self, dry: bool = False) -> list[str]:
        """Delete the objects moved aside as corrupt (``dry``: only list them); their paths."""
        paths = sorted(self.iter_corrupt())
        for path in paths if not dry else ():
            _unlink_quiet(path)
        return paths

    def remove_stale_tmp(self, max_age: float = 3600.0) -> int:
        """Delete temp files that killed processes left in the store, older than ``max_age``
        seconds (younger ones may belong to a running process); returns how many."""
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
_OBJECT_REST = re.compile(r"^[0-9a-f]{30}(\.dir)?$")
_HEX = "0123456789abcdef"


def _stat_key(st: os.stat_result) -> tuple[int, int, int]:
    """What says an object file is the one seen before: inode, mtime_ns, size."""
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


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
