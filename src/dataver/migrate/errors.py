"""Errors of `dataver migrate`: each a :class:`dataver.errors.UserError`, so the CLI prints one
line (what, where, what to do) and exits 1."""
from __future__ import annotations

from dataver.errors import UserError


class MigrateError(UserError):
    """A migration cannot go on (bad input, an unsafe repository state)."""


class PointerError(MigrateError):
    """A file that should name an LFS object or an annex key does not do so properly, or a
    path from a tree is unsafe to write (names the path and the commit)."""


class ChecksumError(MigrateError):
    """An object's content does not match its pointer or key (nothing was stored for it)."""


class MissingObjectsError(MigrateError):
    """Objects are neither present locally nor obtainable (``missing``: their Found entries,
    for the CLI to list before the one-line error)."""

    def __init__(self, message: str, missing=(), **kwargs):
        self.missing = list(missing)
        super().__init__(message, **kwargs)


class RepoStateError(MigrateError):
    """The git repository is not in a state to migrate: dirty tree, detached HEAD, no commit."""
