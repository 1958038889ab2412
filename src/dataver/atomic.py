"""Atomic small-file writes: a temp file in the same directory, then ``os.replace``. A crash or
Ctrl-C leaves either the old file or the new one, never a half-written one."""
from __future__ import annotations

import os


def write_text_atomic(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, ``\\n`` line ends); the temp file never outlives an
    exception or interrupt."""
    tmp = f"{path}.{os.getpid()}.dataver.tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fobj:
            fobj.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
