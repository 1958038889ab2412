"""Large files committed straight into git as a migration source: blobs above ``--above SIZE``
(and/or matched by ``--include``), streamed out of `git cat-file --batch` once each, their git
object id checked while they are read."""
from __future__ import annotations

import subprocess
import threading

from dataver.migrate.errors import MigrateError
from dataver.migrate.sources import Found, Source, SourceObject, is_regular

# Files that belong to git, DVC or dataver themselves: never converted, whatever their size.
_KEEP_NAMES = {".gitattributes", ".gitignore", ".gitmodules", ".dvcignore", "dvc.yaml", "dvc.lock"}


class PlainGitSource(Source):
    """Blobs in git's own object store."""

    kind = "git"
    candidate_size = None  # the size from `git ls-tree -l` decides; no blob is read to scan

    def __init__(self, git_root: str, paths, above=None):
        super().__init__(git_root, paths, above)
        if above is None and not paths.include:
            raise MigrateError("say which files to convert",
                               hint="give --above SIZE (e.g. --above 1MB) and/or --include PATTERN")
        self._local = threading.local()
        self._readers: list[_BlobReader] = []
        self._readers_lock = threading.Lock()
        self._format: str | None = None

    @property
    def object_format(self) -> str:
        """``sha1`` or ``sha256``: how git names this repository's objects."""
        if self._format is None:
            proc = self.git.run("rev-parse", "--show-object-format", check=False)
            answer = proc.stdout.decode().strip() if proc.returncode == 0 else ""
            self._format = answer or "sha1"  # git before 2.29 knows only sha1
        return self._format

    def identify(self, path, mode, data, size, commit="", blob=""):
        if not is_regular(mode) or path.rpartition("/")[2] in _KEEP_NAMES or path.endswith(".dvc"):
            return None
        if self.above is not None and size <= self.above:
            return None
        self.check_path(path, commit)
        return Found(path, mode, blob, blob, size)

    def source_object(self, item: Found, commit: str = "") -> SourceObject:
        return SourceObject(item.id, item.size, lambda: self._reader().open(item.id),
                            (f"git-blob-{self.object_format}", item.id), item.path, commit)

    def _reader(self) -> _BlobReader:
        """This thread's `git cat-file --batch` (a stream is read by one thread at a time)."""
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = _BlobReader(self.root)
            with self._readers_lock:
                self._readers.append(reader)
        return reader

    def close(self) -> None:
        with self._readers_lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
        super().close()


class _BlobReader:
    """A long-lived `git cat-file --batch` whose blobs are streamed, not loaded whole."""

    def __init__(self, root: str):
        self.proc = subprocess.Popen(["git", "-C", root, "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)

    def open(self, sha: str) -> _BlobStream:
        self.proc.stdin.write(sha.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            raise MigrateError(f"git object {sha} is missing or not a blob",
                               hint="run `git fsck` to check the repository")
        return _BlobStream(self.proc.stdout, int(header[2]))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.proc.wait()


class _BlobStream:
    """A file-like view of one blob's bytes in the cat-file output (closing it skips what was
    not read, and the newline after it, so the next blob starts at its header)."""

    def __init__(self, pipe, size: int):
        self.pipe = pipe
        self.left = size

    def readinto(self, buf) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(buf)[:min(len(buf), self.left)]
        got = self.pipe.readinto(view)
        if not got:
            raise MigrateError("git cat-file ended in the middle of a blob")
        self.left -= got
        return got

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.pipe.read(n) if n else b""
        self.left -= len(data)
        return data

    def close(self) -> None:
        if self.left < 0:
            return
        while self.left > 0:
            skipped = len(self.pipe.read(min(self.left, 1 << 20)))
            if not skipped:
                break
            self.left -= skipped
        self.pipe.read(1)  # the newline after the content
        self.left = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
