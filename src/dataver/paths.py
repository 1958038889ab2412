"""Validation of relative paths that come from untrusted input (manifests, .dvc files)."""
from __future__ import annotations

import posixpath
import re

from dataver.errors import UnsafePathError

_DRIVE = re.compile(r"^[A-Za-z]:")


def check_relpath(relpath: object, where: str) -> str:
    """Return ``relpath`` if it is a safe relative POSIX path inside its base, else raise.

    Refuses non-strings, empty paths, NUL bytes, absolute paths, drive letters, backslashes that
    would act as separators on Windows, and any ``..``, ``.`` or empty component (a canonical
    manifest never has them, and ``a/./b`` would name the same file as ``a/b``).
    """
    if not isinstance(relpath, str) or not relpath:
        raise UnsafePathError(f"invalid path {relpath!r}", path=where, hint="the file is corrupt")
    bad = (
        "\x00" in relpath
        or relpath.startswith("/")
        or _DRIVE.match(relpath) is not None
        or "\\" in relpath
        or any(part in ("..", ".", "") for part in relpath.split("/"))
    )
    if bad:
        raise UnsafePathError(
            f"path {relpath!r} escapes the workspace", path=where, hint="refusing to use it"
        )
    return relpath


def check_out_path(path: object, where: str) -> str:
    """Validate an output ``path`` from a .dvc file: relative, may not climb above the repo root.

    DVC allows ``../`` in output paths only to reach the parent of the .dvc file; dataver accepts
    components that stay inside the repo, which the caller checks after resolving.
    """
    if not isinstance(path, str) or not path or "\x00" in path:
        raise UnsafePathError(f"invalid output path {path!r}", path=where, hint="fix the .dvc file")
    if path.startswith("/") or _DRIVE.match(path) or "\\" in path:
        raise UnsafePathError(
            f"output path {path!r} is absolute", path=where, hint="use a path relative to the .dvc file"
        )
    return posixpath.normpath(path)
