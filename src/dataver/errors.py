"""Error types. Expected failures are UserError: the CLI prints one line, no traceback."""
from __future__ import annotations

import errno
import os


class DataverError(Exception):
    """Base class of every error dataver raises on purpose."""


class UserError(DataverError):
    """A failure the user can fix. ``str()`` is a single line: what, where, and what to do."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None):
        self.message = message
        self.path = path
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        text = self.message
        if self.path is not None and not _mentions(text, self.path):
            text = f"{self.path}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


def _mentions(text: str, path: str) -> bool:
    """Whether ``text`` names ``path`` as a whole word (so a path ``d`` is not "found" in
    "tracked")."""
    import re

    return re.search(rf"(?<![\w./-]){re.escape(path)}(?![\w./-])", text) is not None


class NotARepoError(UserError):
    """No `.dvc` directory was found above the working directory."""


class TargetError(UserError):
    """A target path is invalid, outside the repo, or not tracked."""


class DvcFileError(UserError):
    """A `.dvc`, `dvc.yaml` or `dvc.lock` file is malformed."""


class UnsafePathError(UserError):
    """A path from untrusted input escapes the workspace."""


class OverlapError(UserError):
    """Two outputs overlap (one inside the other)."""


class MissingCacheError(UserError):
    """An object needed for checkout is not in the cache."""


class CheckoutConflictError(UserError):
    """Checkout would overwrite data that is not saved in the cache."""


class ConfigError(UserError):
    """Config file or value is invalid."""


class LockError(UserError):
    """Another dataver or dvc process holds the repository lock."""


class ScmError(UserError):
    """A git operation failed."""


class RemoteError(UserError):
    """A remote could not be reached or returned an error."""


class CorruptObjectError(UserError):
    """An object's content does not match its name."""


class LinkError(UserError):
    """None of the configured link types works between the cache and the workspace."""


class EnvironmentFault(UserError):
    """The system refused an operation: permissions, a full or read-only disk."""


# errno -> (what went wrong, what to do). These are the machine's state, not bugs in dataver.
_ENVIRONMENT_ERRNOS = {
    errno.EACCES: ("permission denied", "check the permissions of that path (chmod/chown)"),
    errno.EPERM: ("operation not permitted", "check the permissions of that path (chmod/chown)"),
    errno.ENOSPC: ("no space left on device", "free some space and run the command again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space and run the command again"),
    errno.EROFS: ("read-only file system", "make that path writable or use another location"),
}


def from_os_error(exc: BaseException) -> UserError | None:
    """The UserError for an OSError caused by the environment (permissions, disk full), naming the
    path; None when ``exc`` is something else (then it is a bug and deserves a traceback)."""
    if not isinstance(exc, OSError) or exc.errno not in _ENVIRONMENT_ERRNOS:
        return None
    what, hint = _ENVIRONMENT_ERRNOS[exc.errno]
    path = exc.filename
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if path is not None:
        path = _display_path(str(path))
    return EnvironmentFault(f"{what}: '{path}'" if path else what, hint=hint)


def _display_path(path: str) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


class PathMissingError(UserError):
    """A path does not exist in a repository (at the requested revision)."""


class CloneError(ScmError):
    """A repository URL could not be cloned or opened."""
