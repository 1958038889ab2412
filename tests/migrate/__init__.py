"""Tests of `dataver migrate` with the real git-lfs, git-annex and an LFS server.

:func:`require_tools` makes a test fail (never skip) when a tool is missing, naming the command
that installs it."""
from __future__ import annotations

import subprocess

_CHECKED: dict[str, bool] = {}
_PROBES = {"git-lfs": ["git", "lfs", "version"], "git-annex": ["git", "annex", "version"]}


def require_tools(*names: str) -> None:
    """Fail the test unless every named tool ("git-lfs", "git-annex") runs."""
    for name in names:
        if name not in _CHECKED:
            try:
                proc = subprocess.run(_PROBES[name], capture_output=True, check=False)
                _CHECKED[name] = proc.returncode == 0
            except FileNotFoundError:
                _CHECKED[name] = False
        if not _CHECKED[name]:
            raise AssertionError(f"{name} is not installed: run `bash scripts/setup.sh --test` "
                                 "(it installs the Debian packages git-lfs and git-annex)")
