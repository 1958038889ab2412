"""Error types. Expected failures are UserError: the CLI prints one line, no traceback."""
from __future__ import annotations


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
        if self.path is not None and self.path not in text:
            text = f"{self.path}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


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
