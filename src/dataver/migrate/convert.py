"""The converter: each unique source object read once, in one pass that checks it against its
pointer or key (sha256 and size for LFS, the key's hash for annex, the git object id for plain
blobs), computes its md5 and writes it into the cache.

The bytes go to a temp file in the cache (named for this process, see
:mod:`dataver.leftovers`, so a killed run's leftovers are removed by the next one) and become
the object ``<md5>`` only once every check passed: a mismatch leaves nothing stored under any
md5. An LFS object is not copied but hard-linked in (when the cache is on the same file system
and no other name shares the file): a migration writes none of its bytes again and does not
double the disk space the data takes. Each object done is recorded in the resume map
(:mod:`.resume`); a later run, an interrupted one resumed, `--rewrite` and `migrate verify`
never read it again.

Annex MD5/MD5E keys already say the md5: their content is copied into the cache unread (by the
kernel), except a sample (one in :data:`SAMPLE`, at least one per run) that is read and checked,
which catches a store whose keys do not match its content.
"""
from __future__ import annotations

import errno
import os
import stat
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from dataver.hashing import new_md5, take_buffer, give_buffer, write_all
from dataver.migrate.errors import ChecksumError, MissingObjectsError
from dataver.migrate.resume import ResumeMap, db_path
from dataver.progress import SILENT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataver.migrate.sources import SourceObject

SAMPLE = 100  # one md5-keyed object in this many is read to check its key
# link errors that say no object will link into this cache (another file system, no hard links)
_NO_LINKS = {errno.EXDEV, errno.EOPNOTSUPP, errno.ENOSYS}


class Converter:
    """Converts the objects of one source kind ("lfs", "annex", "git") of ``repo`` into its
    cache. The caller holds ``repo.lock``."""

    def __init__(self, repo, source_kind: str, progress=None, jobs: int | None = None,
                 sample: int = SAMPLE):
        self.repo = repo
        self.kind = source_kind
        self.progress = progress or SILENT
        self.jobs = jobs or min(8, os.cpu_count() or 1)
        self.sample = sample
        self.map = ResumeMap(db_path(repo))
        self.read_count = 0  # objects whose content this converter read (tests, messages)
        self.copied_unread = 0  # md5-keyed objects copied without reading
        self.reused = 0  # objects an earlier run converted
        self._count_lock = threading.Lock()
        self._linking = True  # hard-link linkable objects in (see _link_in) until one cannot be
        self._incoming = os.path.join(repo.odb.root, "files", "md5", "migrate")  # + temp suffix
        repo.odb.clean_leftovers()

    def known(self, ids) -> dict[str, tuple[str, int]]:
        """``{id: (md5, size)}`` of those ``ids`` converted before (by any run)."""
        return {k: (md5, size) for k, (md5, size, _how) in self.map.get_many(self.kind, ids).items()}

    def convert(self, items: list[SourceObject]) -> dict[str, tuple[str, int]]:
        """Convert every object not converted before; ``{id: (md5, size)}`` for all of them.
        Raises :class:`ChecksumError` naming the path of an object whose content does not
        match (after the other objects were stored and recorded)."""
        unique = list({obj.id: obj for obj in items}.values())
        done = self.known(obj.id for obj in unique)
        cached = self.repo.odb.existing({md5 for md5, _ in done.values()})
        todo = [obj for obj in unique if obj.id not in done or done[obj.id][0] not in cached]
        self.reused += len(unique) - len(todo)
        sampled = self._sampled(todo)
        todo.sort(key=lambda o: -(o.size or 0))  # big ones first: the pool ends evenly
        total = sum(o.size or 0 for o in todo)
        with self.progress.phase("Converting", len(todo), total, unit="objects"):
            done.update(self._run(todo, sampled))
        return {obj.id: done[obj.id] for obj in unique}

    def _sampled(self, todo: list[SourceObject]) -> set[str]:
        """The md5-keyed objects whose key is checked by reading them."""
        keyed = [o for o in todo if o.expected and o.expected[0] == "md5" and o.local]
        chosen = {o.id for o in keyed if int(o.expected[1][:8], 16) % self.sample == 0}
        if keyed and not chosen:
            chosen.add(min(keyed, key=lambda o: (o.size or 0, o.id)).id)
        return chosen

    def _run(self, todo: list[SourceObject], sampled: set[str]) -> dict[str, tuple[str, int]]:
        results: dict[str, tuple[str, int]] = {}
        if not todo:
            return results
        error = None
        # register this process's temp files (see dataver.leftovers) here, not in a race of the
        # workers' first temp files
        self.repo.odb.leftovers.temp_suffix()
        os.makedirs(os.path.dirname(self._incoming), exist_ok=True)
        # A bounded window of running futures: waiting on all 10,000 at once made each
        # wait() cost in proportion to them all (quadratic in the object count).
        window = max(4, self.jobs * 4)
        queue = iter(todo)
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(todo))) as pool:
            pending: dict = {}

            def submit_next() -> None:
                obj = next(queue, None)
                if obj is not None:
                    pending[pool.submit(self._one, obj, obj.id in sampled)] = obj

            for _ in range(window):
                submit_next()
            try:
                while pending:
                    finished, _running = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        obj = pending.pop(fut)
                        if fut.cancelled():
                            continue
                        if fut.exception() is not None:
                            error = error or fut.exception()
                            continue
                        md5, size, how = fut.result()
                        self.map.put(self.kind, obj.id, md5, size, how)
                        results[obj.id] = (md5, size)
                        self.progress.advance(1, 0)
                        if error is None:  # after an error: let running ones finish, start none
                            submit_next()
            finally:
                for fut in pending:
                    fut.cancel()
                self.map.flush()
        if error is not None:
            raise error
        return results

    def _one(self, obj: SourceObject, sampled: bool) -> tuple[str, int, str]:
        """Store one object; ``(md5, size, how)``."""
        if obj.expected and obj.expected[0] == "md5" and obj.local and not sampled:
            return self._copy_keyed(obj)
        return self._read_store(obj)

    def _copy_keyed(self, obj: SourceObject) -> tuple[str, int, str]:
        """An annex MD5 key: the md5 is the key's; copy the content in without reading it."""
        md5 = obj.expected[1]
        try:
            size = os.stat(obj.local).st_size
        except FileNotFoundError:
            raise _missing(obj) from None
        if obj.size is not None and size != obj.size:
            raise _mismatch(obj, f"its size is {size}, its key says {obj.size}")
        self.repo.odb.add_file(obj.local, md5)  # a no-op when the cache has it
        with self._count_lock:
            self.copied_unread += 1
        self.progress.advance(0, size)
        return md5, size, "key"

    def _read_store(self, obj: SourceObject) -> tuple[str, int, str]:
        """Read ``obj`` once: check it, hash it and store it (see :meth:`_store_linked`,
        :meth:`_store_whole` and :meth:`_store_streamed`); ``(md5, size, "read")``."""
        try:
            stream = obj.read()
        except FileNotFoundError:
            raise _missing(obj) from None
        with self._count_lock:
            self.read_count += 1
        buf = take_buffer()
        try:
            with stream:
                linked = self._link_in(obj, stream) if obj.linkable else None
                if linked:
                    return self._store_linked(obj, linked, stream, buf)
                if obj.size is not None and obj.size < len(buf):
                    return self._store_whole(obj, stream, buf)
                return self._store_streamed(obj, stream, buf)
        finally:
            give_buffer(buf)

    def _link_in(self, obj: SourceObject, stream) -> str | None:
        """A temp name in the cache hard-linked to the file ``stream`` reads (``obj.local``),
        or None: copy it instead.

        The link saves writing the bytes again, and the disk space of a second copy. Only a
        file of ours that no other name shares is linked: one also linked into a work tree
        could be edited in place, and the cache object with it. The link is kept only if it is the inode being
        read (not a file put in its place since). Where the cache is on another file system, or
        links are refused, objects are copied."""
        if not self._linking or not obj.local:
            return None
        st = os.fstat(stream.fileno())
        if st.st_nlink != 1 or not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return None  # shared, not a file, or not ours to make read-only and tag: copy it
        suffix = self.repo.odb.leftovers.temp_suffix
        try:
            tmp, _ = _fresh(lambda: self._incoming + suffix(), lambda tmp: os.link(obj.local, tmp))
        except OSError as exc:
            if exc.errno in _NO_LINKS:
                self._linking = False
                return None
            if exc.errno in (errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOENT):
                return None  # this file only (not ours, or gone since it was opened): copy it
            raise
        now = os.lstat(tmp)
        if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
            return tmp
        _unlink(tmp)
        return None

    def _store_linked(self, obj: SourceObject, tmp: str, stream, buf: bytearray) -> tuple[str, int, str]:
        """``obj`` hard-linked in as ``tmp``: read through the link and checked, it becomes the
        object (or the link is dropped if the cache has a sound copy already)."""
        try:
            oid, size = self._hash_checked(obj, stream, buf)
            self._settle(tmp, oid)
        except BaseException:
            _unlink(tmp)
            raise
        return oid, size, "read"

    def _store_whole(self, obj: SourceObject, stream, buf: bytearray) -> tuple[str, int, str]:
        """An object that fits ``buf``: read whole, checked, then written straight into the
        folder it belongs in (on ext4, creating a file there costs a third of creating it in
        one shared folder and moving it; for small objects that is most of the work)."""
        view = memoryview(buf)
        size = 0
        while size < len(buf) and (n := stream.readinto(view[size:])):
            size += n
        data = view[:size]
        md5, check = new_md5(data), checker(obj)
        if check is not None:
            check.update(data)
        while n := stream.readinto(buf):  # more than its pointer says: only its size matters
            size += n
        oid = md5.hexdigest()
        check_content(obj, size, oid, check)
        odb = self.repo.odb
        if not odb.trusted(oid):
            tmp = _write_temp(lambda: odb.temp_path(oid), data)
            try:
                odb.adopt(tmp, oid)
            except BaseException:
                _unlink(tmp)
                raise
        if self.progress.live:
            self.progress.advance(0, size)
        return oid, size, "read"

    def _store_streamed(self, obj: SourceObject, stream, buf: bytearray) -> tuple[str, int, str]:
        """A large object: streamed through ``buf`` into a temp file in the cache, which
        becomes the object once every check passed (or is dropped if the cache has a sound
        copy already)."""
        tmp, fd = _new_temp(lambda: self._incoming + self.repo.odb.leftovers.temp_suffix())
        try:
            try:
                oid, size = self._hash_checked(obj, stream, buf, lambda chunk: write_all(fd, chunk))
            finally:
                os.close(fd)
            self._settle(tmp, oid)
        except BaseException:
            _unlink(tmp)
            raise
        return oid, size, "read"

    def _hash_checked(self, obj: SourceObject, stream, buf: bytearray, sink=None) -> tuple[str, int]:
        """Stream ``obj``'s content through ``buf`` (each chunk also to ``sink``), hash it and
        check it against its pointer or key; ``(md5, size)``."""
        md5 = new_md5()
        check = checker(obj)
        live = self.progress.live
        size = 0
        view = memoryview(buf)
        while n := stream.readinto(buf):
            chunk = view[:n]
            md5.update(chunk)
            if check is not None:
                check.update(chunk)
            if sink is not None:
                sink(chunk)
            size += n
            if live:
                self.progress.advance(0, n)
        oid = md5.hexdigest()
        check_content(obj, size, oid, check)
        return oid, size

    def _settle(self, tmp: str, oid: str) -> None:
        """The checked temp file ``tmp`` becomes object ``oid``, unless the cache has a sound
        copy: then it is dropped."""
        odb = self.repo.odb
        if odb.trusted(oid):
            _unlink(tmp)
        else:
            odb.temp_path(oid)  # makes the object's directory
            odb.adopt(tmp, oid)

    def close(self) -> None:
        self.map.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def checker(obj: SourceObject):
    """A hash object the content must match (None: only md5 or nothing is checked); feed it
    the bytes, then :func:`check_content`."""
    import hashlib

    if obj.expected is None or obj.expected[0] == "md5":
        return None
    name = obj.expected[0]
    if name.startswith("git-blob-"):  # a git object id: the hash of "blob <size>\0" + content
        check = hashlib.new(name[len("git-blob-"):])
        check.update(b"blob %d\0" % (obj.size or 0))
        return check
    for family in ("blake2b", "blake2s"):
        if name.startswith(family):
            return getattr(hashlib, family)(digest_size=int(name[len(family):]) // 8)
    return hashlib.new(name)


def check_content(obj: SourceObject, size: int, md5: str, check) -> None:
    """Raise :class:`ChecksumError` unless content of ``size`` bytes, md5 ``md5`` and fed to
    ``check`` is what ``obj``'s pointer or key says."""
    if obj.size is not None and size != obj.size:
        raise _mismatch(obj, f"it holds {size} bytes, its pointer says {obj.size}")
    if obj.expected is None:
        return
    name, want = obj.expected
    got = md5 if check is None else check.hexdigest()
    if got != want:
        label = name[len("git-blob-"):] if name.startswith("git-blob-") else name
        raise _mismatch(obj, f"its {label} is {got[:16]}..., its pointer says {want[:16]}...")


def _mismatch(obj: SourceObject, why: str) -> ChecksumError:
    where = f" at {obj.commit[:12]}" if obj.commit else ""
    return ChecksumError(f"{obj.path}{where}: the object {obj.id[:20]} has the wrong content: {why}; "
                         "nothing was stored for it",
                         hint="restore a good copy (e.g. `git lfs fetch` / `git annex fsck`) or "
                              f"leave the file out with --exclude '{obj.path}'")


def _missing(obj: SourceObject) -> MissingObjectsError:
    return MissingObjectsError(f"{obj.path}: the object {obj.id[:20]} is not present locally",
                               hint="fetch it first, or choose --on-missing keep|drop")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _write_temp(name, data) -> str:
    """A new temp file (see :func:`_new_temp`) holding ``data``, closed; its path."""
    tmp, fd = _new_temp(name)
    try:
        write_all(fd, data)
    except BaseException:
        os.close(fd)
        _unlink(tmp)
        raise
    os.close(fd)
    return tmp


def _new_temp(name) -> tuple[str, int]:
    """A new temp file, named by ``name()`` (a registered temp name, see
    :mod:`dataver.leftovers`), opened for writing; ``(path, fd)``."""
    return _fresh(name, lambda tmp: os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644))


def _fresh(name, create):
    """``create(tmp)`` on a temp name ``name()`` not taken yet; ``(tmp, what create returned)``.
    A temp name's random part is short, so with many threads creating files in one folder a
    name can be taken: try another."""
    for _attempt in range(100):
        tmp = name()
        try:
            return tmp, create(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name for {tmp}")
