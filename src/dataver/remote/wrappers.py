"""Cross-cutting behaviour for backends: bounded retries with backoff, a concurrency limit, and
turning library exceptions into one-line RemoteErrors that name the remote (password masked).

Retries only cover transient faults (timeouts, resets, 5xx); a refused connection, bad
credentials or a missing bucket fail at once, so an unusable remote is reported within seconds.
"""
from __future__ import annotations

import asyncio
import errno
import random
import re
import time
from typing import Awaitable, Callable, TypeVar

from dataver.errors import RemoteError

T = TypeVar("T")
ATTEMPTS = 3
BASE_DELAY = 0.2

_TRANSIENT_NAMES = {
    "ConnectionResetError", "ConnectionAbortedError", "BrokenPipeError", "TimeoutError",
    "ServerDisconnectedError", "ClientPayloadError", "ReadTimeoutError", "IncompleteRead",
    "ConnectionClosedError", "ResponseStreamingError",
}
_REFUSED_NAMES = {"ConnectionRefusedError", "EndpointConnectionError", "ClientConnectorError",
                  "ConnectError", "gaierror", "NoValidConnectionsError"}
_NO_CREDENTIALS_NAMES = {"NoCredentialsError", "CredentialUnavailableError",
                         "DefaultCredentialsError"}
_URL_PASSWORD = re.compile(r"(?P<head>\w+://[^/:@]*:)(?P<pw>[^/@]*)@")


def mask_url(url: str) -> str:
    """``url`` with the password of any ``user:password@`` part replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + "***@", url)


def _names(exc: BaseException) -> set[str]:
    """Class names of ``exc`` and of the exceptions it wraps (libraries chain them)."""
    seen: set[str] = set()
    for _depth in range(10):  # bounded: a chain may loop back on itself
        if exc is None:
            break
        seen.update(cls.__name__ for cls in type(exc).__mro__)
        exc = exc.__cause__ or exc.__context__
    return seen


def _status(exc: BaseException) -> int | None:
    for attr in ("status", "status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return getattr(response, "status_code", None) if response is not None else None


def is_transient(exc: BaseException) -> bool:
    """Worth another try: timeouts, dropped connections, server errors."""
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)) or is_refused(exc):
        return False
    status = _status(exc)
    if status is not None:
        return status >= 500 or status == 429
    return bool(_names(exc) & _TRANSIENT_NAMES) or isinstance(exc, asyncio.TimeoutError)


def is_refused(exc: BaseException) -> bool:
    """The server could not be reached at all (refused, unknown host, no route)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH,
                                                   errno.ENETUNREACH):
        return True
    return bool(_names(exc) & _REFUSED_NAMES)


def is_denied(exc: BaseException) -> bool:
    """The server refused the credentials, or there were none to offer."""
    status = _status(exc)
    names = _names(exc)
    return (isinstance(exc, PermissionError) or status in (401, 403)
            or bool(names & {"PermissionDenied", "ClientAuthenticationError",
                             "PartialCredentialsError"}) or is_missing_credentials(exc))


def is_missing_credentials(exc: BaseException) -> bool:
    """No credentials were found at all (boto's and Google's lookup chains came up empty, or
    Azure's DefaultAzureCredential had nothing to try), as opposed to credentials refused."""
    if _names(exc) & _NO_CREDENTIALS_NAMES:
        return True
    return "DefaultAzureCredential failed to retrieve a token" in str(exc)


def is_fatal(exc: BaseException) -> bool:
    """An error that makes the whole remote unusable (stop instead of trying every object)."""
    return is_refused(exc) or is_denied(exc)


# scheme -> (where its credentials come from, what to check when they are refused)
_CREDENTIALS = {
    "s3": ("set access_key_id and secret_access_key with `dataver remote modify --local {name} "
           "...`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile (the `profile` "
           "option, AWS_PROFILE, ~/.aws/credentials); allow_anonymous_login true for a public "
           "bucket", "access_key_id/secret_access_key, session_token, the profile or the AWS_* "
           "variables"),
    "ssh": ("set keyfile or password with `dataver remote modify --local {name} ...`, or add a "
            "key to ssh-agent or ~/.ssh", "user, keyfile/passphrase or password"),
    "webdav": ("set user and password (or token) with `dataver remote modify --local {name} ...`",
               "user/password or token"),
    "http": ("set auth basic, user and password with `dataver remote modify --local {name} ...`",
             "auth, user/password or custom_auth_header"),
    "gs": ("set credentialpath to a service account key, or GOOGLE_APPLICATION_CREDENTIALS, or "
           "run `gcloud auth application-default login`; allow_anonymous_login true for a public "
           "bucket", "credentialpath or GOOGLE_APPLICATION_CREDENTIALS"),
    "azure": ("set connection_string, account_key or sas_token with `dataver remote modify "
              "--local {name} ...`, or the AZURE_STORAGE_* variables, or sign in with `az login`",
              "connection_string, account_name/account_key, sas_token or the AZURE_* variables"),
}
_CREDENTIALS.update({"webdavs": _CREDENTIALS["webdav"], "https": _CREDENTIALS["http"],
                     "gcs": _CREDENTIALS["gs"]})


def describe(exc: BaseException, scheme: str = "", name: str = "NAME",
             credentials_configured: bool = True) -> str:
    """A short reason for messages; ``scheme`` (``s3``, ``ssh``, ...) names the options to check
    for credential errors, and ``credentials_configured=False`` says that a refusal happened
    with nothing configured to offer."""
    if is_refused(exc):
        return "cannot connect (connection refused or host unreachable)"
    if is_denied(exc):
        return _denied(exc, scheme, name, credentials_configured)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or "Timeout" in "".join(_names(exc)):
        return "timed out"
    if isinstance(exc, FileNotFoundError):
        from dataver.remote.base import MissingBucketError

        return str(exc) if isinstance(exc, MissingBucketError) else "not found"
    return _first_line(exc)


def _denied(exc: BaseException, scheme: str, name: str, credentials_configured: bool) -> str:
    where, check = _CREDENTIALS.get(scheme, (
        "set the remote's credential options with `dataver remote modify --local {name} ...`",
        "access_key_id/secret_access_key, user/password, keyfile"))
    where = where.format(name=name)
    if is_missing_credentials(exc):
        return f"no credentials found ({where})"
    if "PartialCredentialsError" in _names(exc):
        missing = _first_line(exc).rpartition("missing: ")[2] or _first_line(exc)
        missing = missing.removeprefix("aws_")  # boto's name of our option (env names stay)
        return f"incomplete credentials: {missing} is not set ({where})"
    if not credentials_configured:
        return f"access denied: no credentials are configured ({where})"
    return f"access denied (check the credentials: {check})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _URL_PASSWORD.sub(lambda m: m.group("head") + "***@", text)[:300]


def remote_error(name: str, url: str, exc: BaseException, what: str = "",
                 credentials_configured: bool = True) -> RemoteError:
    """A one-line RemoteError naming remote ``name`` at ``url`` (password masked), with ``exc``
    as its cause: `-v` shows the library's own error and traceback below dataver's."""
    doing = f" while {what}" if what else ""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    reason = describe(exc, scheme, name, credentials_configured)
    error = RemoteError(f"remote '{name}' ({mask_url(url)}): {reason}{doing}")
    error.__cause__ = exc  # kept by a plain `raise error`; `raise ... from exc` says the same
    return error


def _delay(attempt: int) -> float:
    return BASE_DELAY * (2 ** attempt) * (0.5 + random.random())


def retry(func: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Call ``func``; on a transient error wait (exponential backoff, jitter) and try again."""
    for attempt in range(attempts):
        try:
            return func()
        except Exception as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            time.sleep(_delay(attempt))
    raise AssertionError("unreachable")


async def retry_async(make: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """The async form of :func:`retry`; ``make`` creates a fresh awaitable per attempt."""
    for attempt in range(attempts):
        try:
            return await make()
        except Exception as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            await asyncio.sleep(_delay(attempt))
    raise AssertionError("unreachable")


async def put_versions(items: list[tuple[str, str]], jobs: int, upload,
                       on_done=None) -> tuple[dict[str, tuple[str, str]], dict]:
    """A backend's ``put_versioned``: ``await upload(local, key)`` returns the ``(version id,
    etag)`` the storage reported for each ``(local, key)``; ``({key: (version_id, etag without
    quotes)}, failures by key)``. No version id means versioning is off on the bucket: that
    upload fails, as nothing could fetch its content back later."""
    import os

    done: dict[str, tuple[str, str]] = {}

    async def one(item):
        local, key = item
        version_id, etag = await upload(local, key)
        if not version_id:
            raise ValueError("the bucket gave no version id (is versioning enabled on it?)")
        done[key] = (str(version_id), str(etag or "").strip('"'))
        if on_done is not None:
            on_done(key, os.path.getsize(local))

    failures = await bounded_gather(items, one, jobs)
    return done, {key: exc for (_local, key), exc in failures.items()}


async def bounded_gather(items, worker, jobs: int) -> dict:
    """Run ``worker(item)`` for every item, at most ``jobs`` at once; returns {item: exception}.

    After a fatal error (refused, denied) the remaining items are not started: they fail with
    the same error, so an unusable remote costs one round trip, not one per object.
    """
    sem = asyncio.Semaphore(max(1, jobs))
    failures: dict = {}
    fatal: list[BaseException] = []

    async def run(item):
        async with sem:
            if fatal:
                failures[item] = fatal[0]
                return
            try:
                await worker(item)
            except Exception as exc:  # collected per item; callers decide what is fatal
                failures[item] = exc
                if is_fatal(exc):
                    fatal.append(exc)

    await asyncio.gather(*(run(item) for item in items))
    return failures


def threaded_gather(items, worker, jobs: int) -> dict:
    """:func:`bounded_gather` for blocking workers, on a thread pool."""
    from concurrent.futures import ThreadPoolExecutor

    failures: dict = {}
    fatal: list[BaseException] = []

    def run(item):
        if fatal:
            failures[item] = fatal[0]
            return
        try:
            worker(item)
        except Exception as exc:
            failures[item] = exc
            if is_fatal(exc):
                fatal.append(exc)

    items = list(items)
    if len(items) <= 1 or jobs <= 1:
        for item in items:
            run(item)
        return failures
    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        list(pool.map(run, items))
    return failures
