"""History rewriting as one stream: `git fast-export --no-data` piped through Python into
`git fast-import`, with file changes appended to each commit.

fast-export describes every commit of the chosen refs as its changes against its first parent
(``M mode blob path`` / ``D path``), with blob ids instead of contents (``--no-data``): nothing
of the repository's content passes through the pipe, and fast-import, writing into the same
repository, refers to the existing blobs by id. The caller's ``fixup(commit, touched)`` returns
the extra commands for a commit (the ``.dvc`` files written inline, the pointers deleted);
fast-import applies them after the commit's own changes, so they win. Everything else (authors,
dates, messages, encodings, merges, annotated and lightweight tags) passes through unchanged.

Safety: the stream declares ``feature done`` and ends with ``done`` only when every commit was
written; a run that fails or is killed before that ends fast-import without a ``done``, and
fast-import then updates no ref (the objects it wrote are unreachable and go with `git gc`).
"""
from __future__ import annotations

import os
import subprocess
import tempfile

from dataver.migrate.errors import MigrateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterable

EXPORT_ARGS = ("fast-export", "--no-data", "--show-original-ids", "--signed-tags=strip",
               "--reencode=no", "--mark-tags")
_FILE_CMDS = (b"M ", b"D ")
_PASS_IN_COMMIT = (b"from ", b"merge ")


def quote(path: str) -> bytes:
    """A path as fast-import reads it: C-quoted when it holds a quote, backslash or newline."""
    raw = path.encode("utf-8", "surrogateescape")
    if not any(c in raw for c in (b'"', b"\\", b"\n")) and not raw.startswith(b'"'):
        return raw
    out = bytearray(b'"')
    for byte in raw:
        char = bytes([byte])
        if char in (b'"', b"\\"):
            out += b"\\" + char
        elif char == b"\n":
            out += b"\\n"
        else:
            out += char
    return bytes(out + b'"')


_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("t"): 9,
            ord("v"): 11, ord("\\"): 92, ord('"'): 34}


def unquote(raw: bytes) -> str:
    """A path as fast-export writes it (C-quoted or not) -> str."""
    if not raw.startswith(b'"'):
        return raw.decode("utf-8", "surrogateescape")
    out, i, body = bytearray(), 1, raw
    while i < len(body) - 1:
        byte = body[i]
        if byte != 92:
            out.append(byte)
            i += 1
        elif body[i + 1] in _ESCAPES:
            out.append(_ESCAPES[body[i + 1]])
            i += 2
        else:  # \ooo octal byte
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return bytes(out).decode("utf-8", "surrogateescape")


def _path_of(line: bytes) -> str:
    """The path of an ``M mode ref path`` or ``D path`` line."""
    rest = line[:-1] if line.endswith(b"\n") else line
    if rest.startswith(b"M "):
        rest = rest.split(b" ", 3)[3]
    else:
        rest = rest[2:]
    return unquote(rest)


class StreamResult:
    """What the stream did: ``commits`` and ``tags`` map original ids to rewritten ones."""

    def __init__(self):
        self.commits: dict[str, str] = {}
        self.tags: dict[str, str] = {}


def rewrite(git_root: str, refs: Iterable[str],
            fixup: Callable[[str, set[str]], Iterable[bytes]]) -> StreamResult:
    """Rewrite the history of ``refs`` (full ref names) in place. ``fixup(original commit id,
    paths its own changes touch)`` gives the commands to append to that commit."""
    with tempfile.TemporaryDirectory(prefix="dataver-rewrite-") as tmp:
        marks = os.path.join(tmp, "marks")
        logs = {name: os.path.join(tmp, f"{name}.log") for name in ("fast-export", "fast-import")}
        originals = _pipe(git_root, list(refs), fixup, marks, logs)
        result = StreamResult()
        with open(marks, "rb") as fobj:
            for line in fobj:
                mark, sha = line.decode().split()
                kind, original = originals.get(mark, (None, None))
                if kind == "commit":
                    result.commits[original] = sha
                elif kind == "tag":
                    result.tags[original] = sha
        return result


def _pipe(git_root: str, refs: list[str], fixup, marks: str, logs: dict[str, str]) -> dict:
    """Run fast-export into fast-import through :func:`_copy`; raise if either fails."""
    with open(logs["fast-export"], "wb") as elog, open(logs["fast-import"], "wb") as ilog:
        export = subprocess.Popen(["git", "-C", git_root, *EXPORT_ARGS, *refs],
                                  stdout=subprocess.PIPE, stderr=elog, bufsize=1 << 20)
        importer = subprocess.Popen(["git", "-C", git_root, "fast-import", "--quiet", "--force",
                                     "--done", f"--export-marks={marks}"],
                                    stdin=subprocess.PIPE, stderr=ilog, bufsize=1 << 20)
        try:
            originals = _copy(export.stdout, importer.stdin, fixup)
            _check(export.wait(), logs["fast-export"])  # a cut-short export must not be done
            importer.stdin.write(b"done\n")
            importer.stdin.close()
        except BaseException:
            export.kill()
            importer.kill()  # no `done`: fast-import updates no ref
            export.wait()
            importer.wait()
            raise
        _check(importer.wait(), logs["fast-import"])
    return originals


def _check(code: int, log: str) -> None:
    if code != 0:
        with open(log, "rb") as fobj:
            lines = fobj.read().decode(errors="replace").strip().splitlines()
        name = os.path.basename(log)[:-4]
        hint = ("no ref was changed" if name == "fast-export" else
                "refs it had moved keep their old value under refs/dataver-migrate/original/")
        raise MigrateError(f"git {name} failed: {lines[-1] if lines else f'exit code {code}'}",
                           hint=hint)


def _copy(src, dst, fixup) -> dict[str, tuple[str, str]]:
    """Copy the export to the import, calling ``fixup`` at each commit's end. Returns
    ``{":mark": (kind, original id)}``."""
    dst.write(b"feature done\n")
    originals: dict[str, tuple[str, str]] = {}
    readline, write = src.readline, dst.write
    while True:
        line = readline()
        if not line:
            return originals
        if line.startswith(b"commit "):
            _copy_commit(line, src, dst, fixup, originals)
        elif line.startswith(b"tag "):
            write(line)
            _copy_header(src, dst, originals, "tag")
        elif line == b"done\n" or line.startswith(b"feature done"):
            continue
        elif line.startswith(b"data "):
            write(line)
            write(_read_exact(src, int(line[5:])))
        else:  # reset, from (of a reset), blank lines, progress
            write(line)


def _copy_header(src, dst, originals, kind: str) -> str:
    """Copy a commit's or tag's header up to and including its ``data`` message; returns the
    object's original id."""
    mark = original = None
    while True:
        line = src.readline()
        if not line:
            raise MigrateError("git fast-export stopped in the middle of an object")
        dst.write(line)
        if line.startswith(b"mark "):
            mark = line[5:].strip().decode()
        elif line.startswith(b"original-oid "):
            original = line[13:].strip().decode()
        elif line.startswith(b"data "):
            dst.write(_read_exact(src, int(line[5:])))
            break
    if mark is None or original is None:
        raise MigrateError("git fast-export gave an object without a mark or original id")
    originals[mark] = (kind, original)
    return original


def _copy_commit(first: bytes, src, dst, fixup, originals) -> None:
    dst.write(first)
    original = _copy_header(src, dst, originals, "commit")
    touched: set[str] = set()
    while True:
        line = src.readline()
        if line.startswith(_FILE_CMDS):
            touched.add(_path_of(line))
            dst.write(line)
        elif line.startswith(_PASS_IN_COMMIT):
            dst.write(line)
        elif line in (b"\n", b""):
            for command in fixup(original, touched):
                dst.write(command)
            dst.write(b"\n")
            return
        else:
            raise MigrateError(f"unexpected line in git fast-export's output: {line[:60]!r}")


def _read_exact(src, size: int) -> bytes:
    data = src.read(size)
    if len(data) != size:
        raise MigrateError("git fast-export's output ended inside a message")
    return data


def modify(path: str, data: bytes) -> bytes:
    """The command that writes ``data`` as a regular file at ``path``."""
    return b"M 100644 inline " + quote(path) + b"\ndata %d\n" % len(data) + data + b"\n"


def restore(path: str, mode: str, blob: str) -> bytes:
    """The command that puts an existing blob back at ``path``."""
    return f"M {mode} {blob} ".encode() + quote(path) + b"\n"


def delete(path: str) -> bytes:
    return b"D " + quote(path) + b"\n"
