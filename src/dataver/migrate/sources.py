"""What a migration converts: in one commit's tree, the paths whose content lives outside git
proper (an LFS pointer, a git-annex key) or is a large plain blob, found from git objects alone
(`git ls-tree` and `git cat-file --batch` on small blobs), never by checking a commit out.

Every source kind (:mod:`.lfs`, :mod:`.annex`, :mod:`.plaingit`) is a :class:`Source`:
``scan(commit)`` lists :class:`Found` entries, ``objects(found)`` gives one
:class:`SourceObject` per unique id for :class:`dataver.migrate.convert.Converter`, and
``missing``/``fetch`` deal with objects not present locally. Paths are git-root relative with
``/`` separators; ``--include``/``--exclude`` are gitattributes-style patterns.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from dataver.migrate.errors import MigrateError, PointerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Callable, Iterable

KINDS = ("lfs", "annex", "git")
SYMLINK = "120000"


@dataclass(frozen=True)
class Found:
    """One path of one commit whose content is to be converted."""

    path: str  # git-root relative, "/"-separated
    mode: str  # git mode of what the tree holds: "100644", "100755" or "120000"
    blob: str  # the git blob the tree holds (a pointer, a symlink target, or the content)
    id: str  # the source object: LFS sha256, canonical annex key, git blob sha
    size: int | None  # the content's size (None: an annex key that does not say)
    key: str = ""  # what the source stores it under, when that is not the id (an annex key as written)

    @property
    def isexec(self) -> bool:
        return self.mode == "100755"


@dataclass
class SourceObject:
    """One unique object, as :meth:`Converter.convert` takes it."""

    id: str
    size: int | None  # expected size (None: unknown, checked against nothing)
    read: Callable[[], BinaryIO]  # opens the content; the caller closes it
    # (hash name, hex digest) the content must have: "sha256", "md5", "sha1", ..., or "git-blob"
    # (the git object id of a blob); None: nothing to check (annex WORM or URL keys)
    expected: tuple[str, str] | None
    path: str = ""  # a path that holds it, for messages
    commit: str = ""  # the commit it was found in, for messages
    local: str | None = None  # its file on disk, when it is one (lets md5 keys be copied unread)
    # whether ``local`` may be hard-linked into the cache rather than copied: a file that is
    # never written in place once stored (LFS objects; annex keeps stat records of its objects
    # and links them into work trees with annex.thin, so annex content is copied)
    linkable: bool = False


def open_source(kind: str, git_root: str, include=(), exclude=(), above: int | None = None):
    """The :class:`Source` of ``kind`` ("lfs", "annex", "git") for the repository at
    ``git_root``. ``above``: the git source's size threshold in bytes."""
    if kind == "lfs":
        from dataver.migrate.lfs import LfsSource as cls
    elif kind == "annex":
        from dataver.migrate.annex import AnnexSource as cls
    elif kind == "git":
        from dataver.migrate.plaingit import PlainGitSource as cls
    else:
        raise MigrateError(f"unknown source '{kind}'", hint=f"use one of: {', '.join(KINDS)}")
    return cls(git_root, PathFilter(include, exclude), above)


class Source:
    """The shared part of every source kind: tree listing, filtering, path checks."""

    kind = ""
    # blobs at most this big are read to see whether they point elsewhere (None: none are)
    candidate_size: int | None = None

    def __init__(self, git_root: str, paths: PathFilter, above: int | None = None):
        from dataver.scm import Git

        self.root = os.path.abspath(git_root)
        self.paths = paths
        self.above = above
        self.git = Git(git_root)
        self._blob_cache: dict[str, bytes] = {}

    def close(self) -> None:
        self.git.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- finding -----------------------------------------------------------------------------
    def scan(self, commit: str, prefix: str = "", others: list[str] | None = None) -> list[Found]:
        """Every path of ``commit``'s tree (below ``prefix``) holding convertible content and
        taken by the include/exclude patterns, sorted by path. ``others``, if given, receives
        the paths that look like this source's but are not taken (excluded, or outside
        ``prefix``): those stay as they are."""
        return self.classify(self.list_tree(commit), commit, prefix, others)

    def list_tree(self, commit: str) -> list[tuple[str, str, str, int]]:
        """``(path, mode, blob, size)`` of every blob of ``commit``."""
        return [(path, mode, obj, size or 0) for path, kind, obj, mode, size
                in self.git.ls_tree(commit) if kind == "blob"]

    def classify(self, entries: list[tuple[str, str, str, int]], commit: str = "", prefix: str = "",
                 others: list[str] | None = None) -> list[Found]:
        """The :class:`Found` among tree entries ``(path, mode, blob, size)`` that are below
        ``prefix`` and taken by the include/exclude patterns, reading the small blobs that may
        point elsewhere in one batch. A malformed pointer in a path not taken is no error."""
        under = prefix.rstrip("/") + "/" if prefix else ""
        taken = [e for e in entries if e[0].startswith(under) and self.paths.matches(e[0])]
        rest = [e for e in entries if others is not None and
                not (e[0].startswith(under) and self.paths.matches(e[0]))]
        blobs = self._small_blobs(taken + rest)
        for path, mode, blob, _size in rest:
            if self.claims(mode, blobs.get(blob)):
                others.append(path)
        found = []
        for path, mode, blob, size in taken:
            item = self.identify(path, mode, blobs.get(blob), size, commit, blob)
            if item is not None:
                found.append(item)
        return sorted(found, key=lambda f: f.path)

    def _small_blobs(self, entries) -> dict[str, bytes]:
        """The bytes of the entries' blobs small enough to be pointers, by blob id (remembered:
        a pointer recurring across commits is read once)."""
        limit = self.candidate_size
        if limit is None:
            return {}
        cache = self._blob_cache
        wanted = {e[2] for e in entries if e[3] <= limit and e[2] not in cache}
        if wanted:
            for blob, data in self.git.read_blobs(sorted(wanted)).items():
                # only what may be a pointer is kept: small source files of every commit are not
                cache[blob] = data if self.claims("100644", data) or self.claims(SYMLINK, data) else b""
        return {e[2]: cache[e[2]] for e in entries if e[2] in cache}

    def claims(self, mode: str, data: bytes | None) -> bool:
        """Whether a blob looks like this source's (however malformed)."""
        return False

    def identify(self, path: str, mode: str, data: bytes | None, size: int, commit: str = "",
                 blob: str = "") -> Found | None:
        """The :class:`Found` for one blob (``data``: its bytes, None when it is too big to be
        a pointer), or None when it is not this source's. The caller has checked
        ``self.paths.matches(path)``. Raises :class:`PointerError` for
        content that claims to be this source's but is malformed, and for an unsafe path."""
        raise NotImplementedError

    # --- objects -----------------------------------------------------------------------------
    def objects(self, found: Iterable[Found]) -> list[SourceObject]:
        """One :class:`SourceObject` per unique id of ``found``."""
        unique: dict[str, Found] = {}
        for item in found:
            unique.setdefault(item.id, item)
        return [self.source_object(item) for item in unique.values()]

    def source_object(self, item: Found, commit: str = "") -> SourceObject:
        raise NotImplementedError

    def missing(self, found: Iterable[Found]) -> list[Found]:
        """Those of ``found`` whose object is not available locally."""
        return []

    def fetch(self, found: list[Found], ref: str | None = None, progress=None) -> None:
        """Try to get the objects of ``found`` from where the source keeps them remotely."""

    def check_path(self, path: str, commit: str) -> None:
        """Refuse a path that would land outside the workspace, inside ``.git``/``.dvc``, or
        that dataver cannot track (a backslash: a separator on Windows)."""
        check_path(path, commit)


def check_path(path: str, commit: str) -> None:
    """See :meth:`Source.check_path`."""
    parts = path.split("/")
    bad = (not path or path.startswith("/") or "\0" in path
           or any(p in ("", ".", "..") for p in parts))
    where = f" at {commit[:12]}" if commit else ""
    if bad:
        raise PointerError(f"path '{path}'{where} escapes the repository",
                           hint="the tree is unsafe: exclude it with --exclude or fix the commit")
    if parts[0].lower() in (".git", ".dvc"):
        raise PointerError(f"path '{path}'{where} lies inside {parts[0]}/",
                           hint="dataver does not convert files there; --exclude it")
    if "\\" in path:
        raise PointerError(f"path '{path}'{where} has a backslash, which dataver cannot track",
                           hint="rename it, or --exclude it")


class PathFilter:
    """``--include`` / ``--exclude``: gitattributes-style patterns (``*.jpg`` at any depth,
    ``/data/*.bin`` anchored at the root, ``images/`` a folder). A path is taken when it matches
    an include pattern (or none was given) and no exclude pattern."""

    def __init__(self, include: Iterable[str] = (), exclude: Iterable[str] = ()):
        self.include = [_checked_pattern(p) for p in include]
        self.exclude = [_checked_pattern(p) for p in exclude]
        self._inc = _spec(self.include)
        self._exc = _spec(self.exclude)
        self._each = [(p, _spec([p])) for p in self.include]  # for pattern_of

    def matches(self, path: str) -> bool:
        if self._exc is not None and self._exc.match_file(path):
            return False
        return self._inc is None or self._inc.match_file(path)

    def excluded(self, path: str) -> bool:
        """Whether an ``--exclude`` pattern names ``path`` (a malformed pointer there is
        skipped, not an error)."""
        return self._exc is not None and self._exc.match_file(path)

    def pattern_of(self, path: str) -> str:
        """The row ``path`` counts under in ``--info``: its first include pattern that
        matches, else its extension (``*.jpg``; ``(no extension)``)."""
        for pattern, spec in self._each:
            if spec.match_file(path):
                return pattern
        name = path.rpartition("/")[2]
        stem, dot, ext = name.rpartition(".")
        return f"*.{ext}" if dot and stem else "(no extension)"


def _checked_pattern(pattern: str) -> str:
    if not pattern or "\0" in pattern or ".." in pattern.replace("\\", "/").split("/"):
        raise MigrateError(f"pattern '{pattern}' escapes the repository",
                           hint="patterns are relative to the repository root, without '..'")
    return pattern


def _spec(patterns: list[str]):
    if not patterns:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str) -> int:
    """Bytes in ``text``: ``1MB``, ``500K``, ``2G``, ``1.5GB``, ``1MiB``, ``4096``. As in
    `git lfs migrate --above`, K/M/G/T are powers of 1000 and KiB/MiB/GiB/TiB of 1024."""
    match = _SIZE.match(text or "")
    if match is None or (match.group(3) and not match.group(2)):
        raise MigrateError(f"'{text}' is not a size", hint="write it like 500K, 1MB, 2G or 1MiB")
    number, unit, binary = float(match.group(1)), match.group(2).lower(), bool(match.group(3))
    return int(number * (1024 if binary else 1000) ** _POWERS[unit])


def is_regular(mode: str) -> bool:
    return mode in ("100644", "100755")


def git_dir(git: "object", root: str) -> str:
    """The repository's common git directory (where .git/lfs and .git/annex live, also for a
    linked work tree)."""
    out = git.run("rev-parse", "--git-common-dir").stdout.decode().strip()
    return os.path.normpath(os.path.join(root, out))
