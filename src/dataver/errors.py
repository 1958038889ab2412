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


class DataverWarning(UserWarning):
    """Something suspicious that does not stop the command. Raised through :func:`warn` (the
    ``warnings`` module), so lower layers never print: the CLI shows one ``WARNING:`` line."""


def warn(message: str, *, path: str | None = None, hint: str | None = None) -> None:
    """Issue a DataverWarning worded like a UserError (what, where, what to do). The same
    warning is shown once per command."""
    import warnings

    warnings.warn(DataverWarning(UserError(message, path=path, hint=hint).format()), stacklevel=1)


class NotARepoError(UserError):
    """No `.dvc` directory was found above the working directory."""


class TargetError(UserError):
    """A target path is invalid, outside the repo, or not tracked."""


class PathTooLongError(TargetError):
    """A name or path is longer than the file system allows (NAME_MAX, PATH_MAX)."""


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
    path = _error_path(exc)
    if path is not None:
        path = _display_path(path)
    return EnvironmentFault(f"{what}: '{path}'" if path else what, hint=hint)


# The temp names dataver writes under before renaming into place, by their writer, and the tail
# that makes each one: cut it off and what is left is the path the temp file stands for.
_TEMP_TAILS = (
    r"\.[0-9a-f]{8}\.dvtmp",                   # linking.tmp_path_for: checkout, commit, get
    r"(?:\.\d+\.[0-9a-f]{6})?\.dataver\.tmp",  # atomic.write_bytes_atomic; ops/install hooks
    r"(?:[/\\]incoming)?\.[0-9a-f]{12}\.tmp",  # odb._tmp_name (incoming.*: the cache dir itself);
                                              # remote/local and fsspec uploads
    r"(?<=[/\\]config)\.tmp", r"(?<=[/\\]config\.local)\.tmp",  # config.Config.write
)


def user_path(path: str) -> str:
    """``path``, or the path it stands for when it is one of dataver's temp names (an error about
    ``imgs.9d61ca3c.dvtmp`` is about ``imgs``: the user has never heard of the temp file). The
    temp name of a name too long to take a tail has that name shortened (``paths.temp_base``:
    a prefix, ``~`` and 8 hex digits); it stands for a name starting with that prefix."""
    import re

    match = re.search(rf"(~[0-9a-f]{{8}})?(?:{'|'.join(_TEMP_TAILS)})$", path)
    if match is None:
        return path
    name = path.rpartition("/")[2]
    marker = match.group(1) or ""
    shortened = marker and len(name.encode("utf-8", "surrogateescape")) > 250
    return path[:match.start()] + ("..." if shortened else marker)


def _error_path(exc: OSError) -> str | None:
    """The path an OSError is about, as the user knows it. Of a two-path call (rename, link) the
    one that is a temp name of ours is the one in the user's directory, so it is named."""
    names = [os.fsdecode(n) if isinstance(n, bytes) else str(n)
             for n in (exc.filename, exc.filename2) if n is not None]
    for name in names:
        if user_path(name) != name:
            return user_path(name)
    return names[0] if names else None


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
