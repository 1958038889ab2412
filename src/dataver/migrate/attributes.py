"""`.gitattributes` after an LFS migration: the ``filter=lfs`` lines of migrated patterns go.

A line goes (its LFS attributes: ``filter=lfs diff=lfs merge=lfs -text``) when its pattern
matches a migrated file and no file that stays an LFS pointer (excluded, or kept with
``--on-missing keep``): those must keep reading as LFS. Other attributes on the line stay. A
`.gitattributes` left with nothing but blank lines is deleted. Patterns are matched the way git
matches them: relative to the folder of their `.gitattributes`; without a ``/`` a pattern names
a file at any depth.
"""
from __future__ import annotations

import posixpath

LFS_ATTRS = ("filter=lfs", "diff=lfs", "merge=lfs", "-text")
NAME = ".gitattributes"


def plan_attributes(files: dict[str, bytes], migrated: set[str],
                    remaining: set[str]) -> dict[str, bytes | None]:
    """For each `.gitattributes` (path -> content) that changes: its new content, or None when
    it is to be deleted. ``migrated``: the paths converted; ``remaining``: the LFS pointer
    paths that stay."""
    changes: dict[str, bytes | None] = {}
    for path, content in sorted(files.items()):
        folder = posixpath.dirname(path)
        below_migrated = _below(migrated, folder)
        below_remaining = _below(remaining, folder)
        if not below_migrated:
            continue
        new = _edit(content, below_migrated, below_remaining)
        if new != content:
            changes[path] = new if new.strip() else None
    return changes


def _below(paths: set[str], folder: str) -> list[str]:
    """``paths`` under ``folder``, relative to it."""
    if not folder:
        return list(paths)
    prefix = folder + "/"
    return [p[len(prefix):] for p in paths if p.startswith(prefix)]


def _edit(content: bytes, migrated: list[str], remaining: list[str]) -> bytes:
    text = content.decode("utf-8", "surrogateescape")
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        pattern, attrs = _split(body)
        if pattern is None or "filter=lfs" not in attrs:
            out.append(line)
            continue
        matcher = _matcher(pattern)
        if not any(map(matcher, migrated)) or any(map(matcher, remaining)):
            out.append(line)
            continue
        kept = [a for a in attrs if a not in LFS_ATTRS]
        if kept:
            out.append(" ".join([_raw(body), *kept]) + ending)
    return "".join(out).encode("utf-8", "surrogateescape")


def _raw(body: str) -> str:
    """The pattern as written (quoted or not) at the start of a stripped line."""
    stripped = body.lstrip()
    if stripped.startswith('"'):
        end = 1
        while end < len(stripped) and stripped[end] != '"':
            end += 2 if stripped[end] == "\\" else 1
        return stripped[:end + 1]
    return stripped.split(None, 1)[0]


def _split(body: str) -> tuple[str | None, list[str]]:
    """``(pattern, attributes)`` of a line; pattern None for blank lines, comments and macros."""
    stripped = body.strip()
    if not stripped or stripped.startswith("#") or stripped.startswith("[attr]"):
        return None, []
    raw = _raw(body)
    pattern = raw
    if raw.startswith('"'):
        pattern = raw[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return pattern, stripped[len(raw):].split()


def _matcher(pattern: str):
    """A test of paths (relative to the `.gitattributes` folder) against one pattern."""
    import pathspec

    if pattern.endswith("/"):  # names a folder: in attributes that matches no file
        return lambda path: False
    spec = pathspec.GitIgnoreSpec.from_lines([pattern])
    return spec.match_file
