"""Reading the workspace: scanning directories (os.scandir), .dvcignore, and building manifests
from disk through the state database, hashing only files whose stat changed."""
from __future__ import annotations

import errno
import os
import stat
from collections import namedtuple
from itertools import chain

from dataver.dirfacts import DirFacts
from dataver.errors import PathTooLongError, TargetError, UserError
from dataver.hashing import MD5, fingerprint, md5_file, md5_files
from dataver.manifest import Manifest
from dataver.parallel import fork_map, fork_procs, serial_map, tally_for
from dataver.paths import NAME_MAX, PATH_MAX, byte_len, display, fits
from dataver.progress import SILENT, file_phase
from dataver.state import Stat, State

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Callable

DVCIGNORE = ".dvcignore"
DVCIGNORE_HEADER = (
    "# Add patterns of files dvc should ignore, which could improve\n"
    "# the performance. Learn more at\n"
    "# https://dvc.org/doc/user-guide/dvcignore\n"
)
_ALWAYS_IGNORED_DIRS = {".git", ".hg", ".dvc"}


class IgnoreRules:
    """`.dvcignore` files anywhere in the repo, gitignore syntax, scoped to their directory."""

    def __init__(self, root: str):
        self.root = root
        self._specs: dict[str, object | None] = {}  # dir relpath ("" = root) -> spec or None
        self._rules_at: dict[str, tuple[str, ...]] = {}  # dir relpath -> see _rule_dirs

    def _spec_for(self, rel_dir: str):
        if rel_dir not in self._specs:
            path = os.path.join(self.root, rel_dir, DVCIGNORE)
            spec = None
            try:
                with open(path, encoding="utf-8") as fobj:
                    lines = fobj.read().splitlines()
            except (FileNotFoundError, NotADirectoryError):
                lines = []
            except OSError as exc:  # a path too long for the kernel: no tool can read it
                if exc.errno != errno.ENAMETOOLONG:
                    raise
                lines = []
            if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
                import pathspec

                spec = pathspec.GitIgnoreSpec.from_lines(lines)
            self._specs[rel_dir] = spec
        return self._specs[rel_dir]

    def is_ignored(self, relpath: str, is_dir: bool) -> bool:
        """Whether the repo-relative ``relpath`` is ignored (by any .dvcignore above it)."""
        parent, _sep, name = relpath.rpartition("/")
        if always_ignored(name, is_dir):
            return True
        suffix = "/" if is_dir else ""
        for base in self._rule_dirs(parent):
            sub = relpath[len(base) + 1:] if base else relpath
            if self._specs[base].match_file(sub + suffix):
                return True
        return False

    def has_rules_under(self, rel_dir: str) -> bool:
        return bool(self._rule_dirs(rel_dir))

    def _rule_dirs(self, rel_dir: str) -> tuple[str, ...]:
        """The folders at or above ``rel_dir`` (itself included) whose .dvcignore has rules, top
        first. Remembered per folder and built from its parent's answer: asking about every
        folder of a tree 2,000 deep costs a lookup each, not one per ancestor of each."""
        known = self._rules_at
        todo, folder = [], rel_dir
        while folder not in known:
            todo.append(folder)
            if not folder:
                break
            folder = folder.rpartition("/")[0]
        rules = known.get(folder, ())
        for folder in reversed(todo):
            if self._spec_for(folder) is not None:
                rules += (folder,)
            known[folder] = rules
        return known[rel_dir]


def always_ignored(name: str, is_dir: bool) -> bool:
    """Names never tracked, with or without .dvcignore: .git/.hg/.dvc directories, a .git file."""
    return name in _ALWAYS_IGNORED_DIRS if is_dir else name == ".git"


class FileEntry(namedtuple("FileEntry", "relpath abspath stat isexec")):
    """One file found by a scan: ``relpath`` relative to the scanned directory ("/"-separated),
    ``abspath``, ``stat`` and ``isexec``. A tuple: a scan of 200,000 files makes one per file,
    and :data:`new_tuple` builds it at C speed."""

    __slots__ = ()


new_tuple = tuple.__new__  # builds a Stat or FileEntry without namedtuple's argument parsing


def scan_dir(
    abspath: str, rel_to_root: str, ignore: IgnoreRules | None, dirs: list[str] | None = None,
    progress=None,
) -> list[FileEntry]:
    """Every file below ``abspath`` (symlinked directories are not followed, like DVC); the
    relpath of every directory below it that is not ignored is appended to ``dirs``.
    ``progress`` shows the stats as a "Scanning" phase.

    The tree is listed first, then its files are stat-ed: for many files, by one process per
    core (a stat is a few microseconds, most of them Python's). The order of the files does
    not depend on how many did that.

    Raises TargetError for what cannot be tracked: an unreadable directory, a symlink loop, a
    broken symlink, a fifo, socket or device.
    """
    listed = _list_tree(abspath.rstrip("/") or "/", rel_to_root, ignore, dirs)
    chunks = [(base, names[i:i + _STAT_CHUNK])
              for _prefix, base, names in listed for i in range(0, len(names), _STAT_CHUNK)]
    sizes = [len(names) for _base, names in chunks]
    procs = fork_procs() if sum(sizes) >= _SPREAD_STATS else 1
    tally = tally_for(progress, files=sizes)
    with (progress or SILENT).phase("Scanning", sum(sizes)):
        if procs > 1:  # processes, never threads: a thread pool would only trade the GIL around
            stats = fork_map(_stat_names, chunks, sizes, procs, tally)
        else:
            stats = serial_map(_stat_names, chunks, tally)
    return _entries(listed, stats)


_STAT_CHUNK = 1024  # names per unit of work when stat-ing is shared among processes
_SPREAD_STATS = 8192  # from this many files on, sharing the stats pays for forking


def _list_tree(top: str, rel_to_root: str, ignore: IgnoreRules | None,
               dirs: list[str] | None) -> list[tuple[str, str, list[str]]]:
    """``(relpath prefix, abspath prefix, file names)`` per directory below ``top``, depth
    first; what is ignored is left out."""
    listed = []
    stack = [("", top)]
    while stack:
        rel_dir, dir_abs = stack.pop()
        try:
            listing = os.scandir(dir_abs)
        except PermissionError:
            raise TargetError("permission denied reading directory", path=dir_abs,
                              hint="fix its permissions (chmod) or list it in .dvcignore") from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise _too_long(dir_abs) from None
            raise
        with listing:
            entries = list(listing)
        if len(dir_abs) * 4 + 2 + NAME_MAX >= PATH_MAX:  # rare: a long path; only then can a
            _check_lengths(dir_abs, entries)  # name in it be too long to use
        listed.append(_list_one(entries, rel_dir, dir_abs, rel_to_root, ignore, stack, dirs))
    return listed


def _check_lengths(dir_abs: str, entries: list) -> None:
    """Refuse a directory whose files could not be read by path, or whose .dvcignore could not
    be: what cannot be read cannot be hashed (or known to be ignored)."""
    if byte_len(dir_abs) + 2 + NAME_MAX < PATH_MAX:
        return
    for path in [entry.path for entry in entries]:
        if not fits(path):
            raise _too_long(path)
    if not fits(f"{dir_abs}/{DVCIGNORE}"):
        raise _too_long(dir_abs, "folder is nested too deeply to read what is in it")


def _too_long(path: str, what: str = "path is too long to read") -> PathTooLongError:
    return PathTooLongError(
        f"{what} (paths of at most {PATH_MAX - 1} bytes can be used)",
        path=display(os.path.relpath(path)),
        hint="list it in .dvcignore, or move it to a folder nested less deeply")


def _list_one(entries: list, rel_dir: str, dir_abs: str, rel_to_root: str,
              ignore: IgnoreRules | None, stack: list,
              dirs: list[str] | None) -> tuple[str, str, list[str]]:
    """``(relpath prefix, abspath prefix, names of its files)`` of one directory from its
    ``entries``; its subdirectories go onto ``stack``. (This loop runs once per file of a
    200,000-file scan: kept plain.)"""
    root_rel_dir = f"{rel_to_root}/{rel_dir}" if rel_to_root and rel_dir else rel_to_root or rel_dir
    # Most directories have no .dvcignore above them: decide that once per directory, not per file.
    rules = ignore is not None and ignore.has_rules_under(root_rel_dir)
    prefix = f"{rel_dir}/" if rel_dir else ""
    names = []
    for entry in entries:
        name = entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        if rules:
            rel = prefix + name
            if ignore.is_ignored(f"{rel_to_root}/{rel}" if rel_to_root else rel, is_dir):
                continue
        elif always_ignored(name, is_dir):
            continue
        if is_dir:
            stack.append((prefix + name, f"{dir_abs}/{name}"))
            if dirs is not None:
                dirs.append(prefix + name)
        elif name == DVCIGNORE:
            # DVC refuses too: its rules would change the directory's own hash.
            raise TargetError(f"{DVCIGNORE} file should not be inside a tracked directory",
                              path=dir_abs, hint="move its rules to a .dvcignore above it")
        else:
            names.append(name)
    return prefix, dir_abs + "/", names


def _stat_names(chunk: tuple[str, list[str]]) -> list[int]:
    """``[inode, mtime_ns, size, ...]`` of the regular files ``names`` in directory ``base``
    (following symlinks); -1 for an inode where a name is anything else or fails (the caller
    looks again, to raise the right error or skip a symlinked directory)."""
    base, names = chunk
    # Through an open descriptor, each stat is an fstatat() relative to it: the kernel does
    # not walk the whole path again for every file (~12% of a scan).
    dir_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    numbers: list[int] = []
    add = numbers.extend
    is_regular = stat.S_ISREG
    try:
        for name in names:
            try:
                st = os.stat(name, dir_fd=dir_fd)
            except OSError:
                add((-1, 0, 0))
                continue
            add((st.st_ino, st.st_mtime_ns, st.st_size) if is_regular(st.st_mode) else (-1, 0, 0))
    finally:
        os.close(dir_fd)
    return numbers


def _entries(listed: list[tuple[str, str, list[str]]], stats: list[list[int]]) -> list[FileEntry]:
    found: list[FileEntry] = []
    append = found.append
    numbers = chain.from_iterable(stats)
    for prefix, base, names in listed:
        for name, inode, mtime, size in zip(names, numbers, numbers, numbers):
            if inode == -1:
                st = follow_stat(base + name)  # raises for what cannot be tracked
                if stat.S_ISDIR(st.st_mode):  # a symlink to a directory
                    continue
                inode, mtime, size = st.st_ino, st.st_mtime_ns, st.st_size
            append(new_tuple(FileEntry, (prefix + name, base + name,
                                         new_tuple(Stat, (inode, mtime, size)), False)))
    return found


def follow_stat(path: str) -> os.stat_result:
    """``os.stat`` of a file to be tracked, following symlinks; a symlink loop, broken symlink
    or special file (fifo, socket, device) raises TargetError naming ``path``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TargetError("symlink loop", path=path, hint="remove or fix the link") from None
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise TargetError("broken symlink", path=path, hint="remove or fix the link") from None
        raise
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise TargetError("is not a regular file (a fifo, socket or device)", path=path,
                          hint="remove it or list it in .dvcignore")
    return st


def stat_file(path: str) -> Stat:
    """The Stat of ``path`` (see :func:`follow_stat` for the errors)."""
    return Stat.of(follow_stat(path))


def is_exec(path: str) -> bool:
    return os.access(path, os.X_OK) and not os.path.isdir(path)


class Hasher:
    """Hash files through the state database: known (unchanged) files are never read."""

    def __init__(self, state: State, root: str,
                 manifests: Callable[[str, str], Manifest] | None = None):
        self.state = state
        self.root = root
        # reads a stored manifest by (oid, hash name): lets an unchanged directory's manifest
        # come from the cache instead of one state lookup per file
        self.manifests = manifests

    def _key(self, abspath: str) -> str:
        return os.path.relpath(abspath, self.root).replace(os.sep, "/")

    def hash_file(self, abspath: str, hash_name: str = MD5, progress=None) -> tuple[str, Stat]:
        """(oid, stat) of the file ``abspath``, read only if the state db does not know it;
        ``progress`` shows the reading of a large one ("Hashing")."""
        st = stat_file(abspath)
        key = self._key(abspath)
        oid = self.state.get(key, st, hash_name)
        if oid is None:
            with file_phase(progress, "Hashing", st.size) as counter:
                oid = md5_file(abspath, hash_name, counter)
            self.state.set(key, st, oid, hash_name)
        return oid, st

    def hash_entries(self, dir_key: str, files: list[FileEntry], hash_name: str = MD5,
                     progress=None) -> dict[str, str]:
        """relpath -> oid for files under the directory whose state key is ``dir_key``;
        ``progress`` shows the reading of those the state db does not know ("Hashing")."""
        result, todo = self.known_oids(dir_key, files, hash_name)
        if todo:
            sizes = [e.stat.size for e in todo]
            with (progress or SILENT).phase("Hashing", len(todo), sum(sizes)):
                hashed = md5_files([e.abspath for e in todo], sizes, hash_name, progress)
            for entry in todo:
                result[entry.relpath] = hashed[entry.abspath]
        self.remember_files(dir_key, files, result, hash_name, read=todo)
        return result

    def known_oids(self, dir_key: str, files: list[FileEntry], hash_name: str = MD5):
        """``(relpath -> oid, files not known)``: the oids the state db knows for ``files`` of
        the directory ``dir_key`` (their stat unchanged), and the files that need reading."""
        return self.state.get_dir(dir_key, hash_name).known(files)

    def remember_files(self, dir_key: str, files: list[FileEntry], oids: dict[str, str],
                       hash_name: str = MD5, read: list[FileEntry] = ()) -> None:
        """Record ``oids`` (relpath -> oid) of the scanned ``files`` of ``dir_key`` as what is
        known about that directory; ``read`` are the files whose content had to be read.

        Writing the facts costs in proportion to the whole directory, so they are written only
        when reading ``read`` again would cost more. Whatever goes unrecorded is thus never
        more work to redo than one write, and a directory whose stamp still holds needs none."""
        if _cheaper_to_reread(read, len(files)):
            return
        self.state.set_dir(dir_key, DirFacts.of_files(files, oids), hash_name)

    def dir_manifest(self, abspath: str, ignore: IgnoreRules | None, hash_name: str = MD5,
                     progress=None):
        """(Manifest, total size, files) for the directory at ``abspath``."""
        dir_key, files, stamp, oid = self.scan_stamped(abspath, ignore, hash_name, progress)
        size = sum(e.stat.size for e in files)
        known = self._stored_manifest(oid, hash_name) if oid is not None else None
        if known is not None:
            return known, size, files
        return self._manifest(dir_key, files, stamp, hash_name, progress), size, files

    def dir_has_oid(self, abspath: str, ignore: IgnoreRules | None, oid: str,
                    hash_name: str = MD5, progress=None) -> bool:
        """Whether the directory at ``abspath`` has `.dir` oid ``oid`` now. Its files are
        compared with that manifest when it is stored (equal entries give equal canonical
        bytes), so no new manifest is built; either answer is remembered under the scan's
        stamp, so asking again about an unchanged directory costs one scan."""
        dir_key, files, stamp, known = self.scan_stamped(abspath, ignore, hash_name, progress)
        if known is not None:
            return known == oid
        differs = _differs_stamp_key(hash_name, dir_key)
        if self.state.get_stamp(differs, stamp) == oid:
            return False
        recorded = self._stored_manifest(oid, hash_name) if hash_name == MD5 else None
        if recorded is None or not recorded.canonical:
            return self._manifest(dir_key, files, stamp, hash_name, progress).oid == oid
        # a different number of files settles it without reading any
        same = len(files) == len(recorded) and \
            self.hash_entries(dir_key, files, hash_name, progress) == recorded.entries
        if same:
            self.remember_dir(dir_key, stamp, oid, hash_name)
        else:
            self.state.set_stamp(differs, stamp, oid)
        return same

    def _stored_manifest(self, oid: str, hash_name: str) -> Manifest | None:
        """The manifest ``oid`` from the cache, or None when it is not (or no longer) there or
        not readable."""
        if self.manifests is None:
            return None
        try:
            return self.manifests(oid, hash_name)
        except (FileNotFoundError, UserError):
            return None

    def scan_stamped(self, abspath: str, ignore: IgnoreRules | None, hash_name: str = MD5,
                     progress=None):
        """Scan the directory; returns its state key, files, stat stamp, and the `.dir` oid
        recorded with that same stamp (None if none was, see :meth:`remember_dir`)."""
        dir_key = self._key(abspath)
        files = list(scan_dir(abspath, dir_key, ignore, progress=progress))
        stamp = _stat_stamp(files)
        return dir_key, files, stamp, self.state.get_stamp(_dir_stamp_key(hash_name, dir_key), stamp)

    def remember_dir(self, dir_key: str, stamp: str, oid: str, hash_name: str = MD5) -> None:
        """Record that the directory ``dir_key`` scanned with ``stamp`` has `.dir` oid ``oid``."""
        self.state.set_stamp(_dir_stamp_key(hash_name, dir_key), stamp, oid)

    def _manifest(self, dir_key: str, files: list[FileEntry], stamp: str, hash_name: str,
                  progress=None):
        manifest = Manifest(self.hash_entries(dir_key, files, hash_name, progress))
        self.remember_dir(dir_key, stamp, manifest.oid, hash_name)
        return manifest


def _dir_stamp_key(hash_name: str, dir_key: str) -> str:
    return f"dir:{hash_name}:{dir_key}"


def _differs_stamp_key(hash_name: str, dir_key: str) -> str:
    """Stamp key recording the `.dir` oid a directory was found NOT to have."""
    return f"differs:{hash_name}:{dir_key}"


def _cheaper_to_reread(files: list[FileEntry], total: int) -> bool:
    """Whether hashing ``files`` again costs less than writing the facts of a directory of
    ``total`` files. Measured on the 2-core benchmark machine: ~1.5 us per fact written; ~20 us
    per file opened plus ~2 ns per byte hashed."""
    reread_us = 20 * len(files) + sum(e.stat.size for e in files) / 500
    return reread_us < 1.5 * total


def _stat_stamp(files: list[FileEntry]) -> str:
    """A digest of every file's relpath and stat: equal stamps mean no file was added, removed,
    renamed or modified (as far as stats tell, which is what the per-file state relies on)."""
    import marshal

    names = "\0".join([e.relpath for e in files]).encode("utf-8", "surrogateescape")
    # marshal format 2 writes ints by value (no back-references), so equal stats give equal
    # bytes; a flat list of ints costs a fifth of formatting them as text
    numbers = marshal.dumps(list(chain.from_iterable([e.stat for e in files])), 2)
    return fingerprint(names + b"\1" + numbers)
