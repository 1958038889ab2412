"""Work-tree files a forward migration can leave in place.

A converted file in the work tree (the file git-lfs smudged, an unlocked annex file, a big plain
file) normally holds the very bytes the cache now has under its md5. Deleting it and copying the
object back writes all the data a second time; the file is kept instead when git vouches for it
the way `git status` does: its stat (mtime, ctime, inode, size) is still what the index recorded
when git last found it to be the staged pointer or blob, and that record is not "racily clean"
(taken in the second the index was written, when a change could hide from the stat).

Git vouches for what the file cleans to, not for the bytes themselves, so a file is also kept
only if its size is the converted object's, it is at least :data:`MIN_SIZE` bytes (an unsmudged
LFS or annex pointer is smaller: its size cannot pass for the content's) and, for plain git,
no `filter` or `working-tree-encoding` attribute applies to it (either may turn the blob into
other bytes of the same length; end-of-line conversion changes the length of any file it
changes). Anything else is rewritten from the cache, as before.
"""
from __future__ import annotations

import os
import stat

from dataver.migrate import gitops

MIN_SIZE = 32 * 1024  # git-lfs and git-annex pointer files are far smaller
_U32 = 0xFFFFFFFF  # the index keeps the low 32 bits of seconds, inode and size


def index_stats(git_root: str) -> tuple[dict[str, tuple[int, ...]], int]:
    """``({path: (ctime_s, ctime_ns, mtime_s, mtime_ns, ino, size)}, index mtime in seconds)``
    of the index's entries, as `git ls-files -z --debug` reports them: each path, a NUL, then
    five lines of its recorded stat (a path may hold a newline, never a NUL)."""
    out = gitops.run(git_root, "ls-files", "-z", "--debug").stdout
    entries: dict[str, tuple[int, ...]] = {}
    parts = out.split(b"\0")
    path = parts[0]
    for block in parts[1:]:
        *lines, following = block.split(b"\n", 5)
        fields = {}
        for line in lines:
            for item in line.strip().split(b"\t"):
                name, _sep, value = item.partition(b": ")
                fields[name] = value
        try:
            ctime, mtime = fields[b"ctime"].split(b":"), fields[b"mtime"].split(b":")
            entries[path.decode("utf-8", "surrogateescape")] = (
                int(ctime[0]), int(ctime[1]), int(mtime[0]), int(mtime[1]),
                int(fields[b"ino"]), int(fields[b"size"]))
        except (KeyError, ValueError, IndexError):
            pass  # a format this parser does not know: the file is rewritten, never trusted
        path = following
    index = gitops.run(git_root, "rev-parse", "--git-path", "index").stdout.decode().strip()
    return entries, int(os.stat(os.path.join(git_root, index)).st_mtime)


def vouched_files(git_root: str, wanted: dict[str, tuple[int, bool]],
                  kind: str) -> dict[str, os.stat_result]:
    """Of ``wanted`` (git-root relative path -> (object size, should be executable)), the
    regular files git vouches for as unchanged (see the module's docstring), with their stat."""
    candidates = {p: w for p, w in wanted.items() if w[0] >= MIN_SIZE}
    if not candidates:
        return {}
    if kind == "git":
        filtered = _filtered(git_root, list(candidates))
        candidates = {p: w for p, w in candidates.items() if p not in filtered}
    entries, index_mtime = index_stats(git_root)
    kept: dict[str, os.stat_result] = {}
    plain_dirs: dict[str, bool] = {}
    for path, (size, isexec) in candidates.items():
        recorded = entries.get(path)
        if recorded is None or recorded[2] >= index_mtime:  # untracked here, or racily clean
            continue
        abspath = os.path.join(git_root, *path.split("/"))
        if not _plain_parents(git_root, path, plain_dirs):
            continue
        try:
            st = os.lstat(abspath)
        except OSError:
            continue
        if (stat.S_ISREG(st.st_mode) and st.st_size == size
                and bool(st.st_mode & stat.S_IXUSR) == isexec
                and _stat_key(st) == recorded):
            kept[path] = st
    return kept


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_ctime_ns // 10**9 & _U32, st.st_ctime_ns % 10**9,
            st.st_mtime_ns // 10**9 & _U32, st.st_mtime_ns % 10**9,
            st.st_ino & _U32, st.st_size & _U32)


def _plain_parents(git_root: str, path: str, seen: dict[str, bool]) -> bool:
    """Whether no folder on the way to ``path`` is a symlink (git tracks nothing through one;
    a file reached that way is not the one the index describes)."""
    parent = path.rpartition("/")[0]
    if not parent:
        return True
    if parent not in seen:
        seen[parent] = (_plain_parents(git_root, parent, seen)
                        and not os.path.islink(os.path.join(git_root, *parent.split("/"))))
    return seen[parent]


def _filtered(git_root: str, paths: list[str]) -> set[str]:
    """Those of ``paths`` with a `filter` or `working-tree-encoding` attribute set."""
    out = gitops.run(git_root, "check-attr", "-z", "--stdin", "filter", "working-tree-encoding",
                     input=gitops._nul(paths)).stdout.split(b"\0")
    found = set()
    for start in range(0, len(out) - 2, 3):  # path, attribute, value
        if out[start + 2] not in (b"unspecified", b"unset"):
            found.add(out[start].decode("utf-8", "surrogateescape"))
    return found
