"""Backend over obstore (Rust object_store bindings) for S3-compatible storage.

Chosen by measurement (benchmarks/remote_bench.py): per request, s3fs/aiobotocore spends
milliseconds of Python CPU on signing and parsing, which caps small-file throughput at a few
hundred objects per second on a small machine; obstore does that work in Rust, several times
faster. Large files go up as multipart uploads streamed from disk and come down streamed to disk,
so memory stays constant. obstore retries transient faults itself (bounded); its errors are
translated to the builtin types that :mod:`dataver.remote.wrappers` classifies.
"""
from __future__ import annotations

import asyncio
import pathlib
import threading
from datetime import timedelta
from typing import Iterator

from dataver.remote.base import Backend, Failures, MissingBucketError, OnDone
from dataver.remote.wrappers import bounded_gather, put_versions, retry_async

DELETE_CHUNK = 1000  # objects per bulk delete request (the S3 limit)


class _Loop:
    """One event loop in a daemon thread, shared by every obstore backend of the process, so
    bulk calls work even when the caller's thread already runs a loop (notebooks)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _lock = threading.Lock()

    @classmethod
    def run(cls, coro):
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="dataver-obstore",
                                 daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, cls._loop).result()


def translate(exc: BaseException) -> BaseException:
    """An obstore error as the builtin exception it means (for classification and messages)."""
    from obstore import exceptions as E

    text = str(exc).split("\n\nDebug source")[0].strip()
    if isinstance(exc, FileNotFoundError):
        return exc
    if isinstance(exc, (E.PermissionDeniedError, E.UnauthenticatedError)) or " 403 " in text \
            or " 401 " in text:
        return PermissionError(text)
    if "NoSuchBucket" in text or ("404 Not Found" in text and "list request" in text):
        return MissingBucketError("the bucket does not exist")
    if "error sending request" in text or "Connection refused" in text or "dns error" in text:
        return ConnectionRefusedError(text)
    if "timed out" in text.lower():
        return TimeoutError(text)
    if "body error" in text or "connection reset" in text.lower() or "connection closed" in text.lower():
        # a connection dropped mid-transfer (seen from rclone under load): worth another try
        return ConnectionResetError(text)
    return exc


def _reraise(exc: BaseException):
    translated = translate(exc)
    if translated is exc:
        raise exc
    raise translated from exc


class ObstoreBackend(Backend):
    """Keys below the store's prefix."""

    def __init__(self, store, url: str, default_jobs: int = 32):
        self.store = store
        self.url = url
        self.default_jobs = default_jobs

    async def _call(self, func, *args, **kwargs):
        try:
            return await func(self.store, *args, **kwargs)
        except Exception as exc:  # translated, then classified by the caller
            _reraise(exc)

    def check(self) -> None:
        import obstore

        async def probe():
            await asyncio.wait_for(self._call(obstore.list_with_delimiter_async, None), 15)

        _Loop.run(probe())

    def exists_many(self, keys: list[str], jobs: int) -> set[str]:
        import obstore

        found: set[str] = set()

        async def one(key):
            try:
                await self._call(obstore.head_async, key)
                found.add(key)
            except FileNotFoundError:
                pass

        failures = _Loop.run(bounded_gather(keys, one, jobs))
        if failures:
            raise next(iter(failures.values()))
        return found

    def list(self, prefix: str) -> Iterator[str]:
        import obstore

        prefix = prefix.strip("/")
        try:
            for batch in obstore.list(self.store, prefix + "/" if prefix else None, chunk_size=1000):
                for meta in batch:
                    yield meta["path"]
        except Exception as exc:
            _reraise(exc)

    def put_many(self, items: list[tuple[str, str]], jobs: int, on_done: OnDone | None = None) -> Failures:
        import obstore

        async def one(item):
            local, key = item
            await retry_async(lambda: self._call(obstore.put_async, key, pathlib.Path(local)))
            if on_done is not None:
                on_done(key, pathlib.Path(local).stat().st_size)

        failures = _Loop.run(bounded_gather(items, one, jobs))
        return {key: exc for (_local, key), exc in failures.items()}

    def get_many(self, items: list[tuple[str, str]], jobs: int, on_done: OnDone | None = None) -> Failures:
        failures = self.get_versioned([(key, None, local) for key, local in items], jobs, on_done)
        return {key: exc for (key, _version), exc in failures.items()}

    supports_versions = True

    def get_versioned(self, items: list[tuple[str, str | None, str]], jobs: int,
                      on_done: OnDone | None = None) -> Failures:
        import obstore

        async def download(key, version, local) -> int:
            # obstore retries a failed request but not a body cut off mid-stream; each attempt
            # here starts the file over
            options = {"version": version} if version else None
            result = await self._call(obstore.get_async, key, options=options)
            size = 0
            with open(local, "wb") as fobj:
                try:
                    async for chunk in result.stream(min_chunk_size=1 << 20):
                        fobj.write(chunk)
                        size += len(chunk)
                except Exception as exc:
                    _reraise(exc)
            return size

        async def one(item):
            key, version, local = item
            size = await retry_async(lambda: download(key, version, local))
            if on_done is not None:
                on_done(key, size)

        failures = _Loop.run(bounded_gather(items, one, jobs))
        return {(key, version): exc for (key, version, _local), exc in failures.items()}

    def put_versioned(self, items: list[tuple[str, str]], jobs: int,
                      on_done: OnDone | None = None) -> tuple[dict[str, tuple[str, str]], Failures]:
        import obstore

        async def upload(local, key):
            result = await retry_async(lambda: self._call(obstore.put_async, key, pathlib.Path(local)))
            return result.get("version"), result.get("e_tag")

        return _Loop.run(put_versions(items, jobs, upload, on_done))

    def delete_many(self, keys: list[str], jobs: int) -> Failures:
        import obstore

        chunks = [keys[i:i + DELETE_CHUNK] for i in range(0, len(keys), DELETE_CHUNK)]

        async def one(index):
            await self._call(obstore.delete_async, chunks[index])

        failures = _Loop.run(bounded_gather(range(len(chunks)), one, jobs))
        return {key: exc for index, exc in failures.items() for key in chunks[index]}


def s3_store(url: str, conf: dict, env: dict):
    """An obstore S3Store for the DVC options in ``conf``, or None when an option needs s3fs
    (profiles, credential files, SSE-C, grants) or the region cannot be known without asking
    AWS (no region, no endpoint: s3fs finds the bucket's region)."""
    from urllib.parse import urlsplit

    needs_s3fs = {"profile", "credentialpath", "configpath", "sse_customer_algorithm",
                  "sse_customer_key", "grant_read", "grant_read_acp", "grant_write_acp",
                  "grant_full_control", "acl", "sse", "sse_kms_key_id"}
    if needs_s3fs & {k for k, v in conf.items() if v not in (None, "")}:
        return None
    region = conf.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    endpoint = conf.get("endpointurl") or env.get("AWS_ENDPOINT_URL")
    if not region and not endpoint:
        return None
    anonymous = str(conf.get("allow_anonymous_login", "")).lower() == "true"
    if not conf.get("access_key_id") and not env.get("AWS_ACCESS_KEY_ID") and not anonymous:
        return None  # boto's credential chain (~/.aws, SSO, ...) lives in s3fs
    secret = conf.get("secret_access_key") if conf.get("access_key_id") \
        else env.get("AWS_SECRET_ACCESS_KEY")
    if not anonymous and not secret:
        return None  # half a key pair: boto names the missing half (PartialCredentialsError)
    from obstore.store import S3Store

    parts = urlsplit(url)
    kwargs = {k: v for k, v in (
        ("access_key_id", conf.get("access_key_id")), ("secret_access_key", conf.get("secret_access_key")),
        ("session_token", conf.get("session_token")), ("endpoint", endpoint),
    ) if v}
    if anonymous and not conf.get("access_key_id"):
        kwargs["skip_signature"] = True
    if endpoint:
        kwargs["virtual_hosted_style_request"] = False  # custom endpoints: path-style URLs
    if parts.path.strip("/"):
        kwargs["prefix"] = parts.path.strip("/")
    connect = float(conf.get("connect_timeout", 5))
    client = {"connect_timeout": timedelta(seconds=connect),
              "timeout": timedelta(seconds=float(conf.get("read_timeout", 300))),
              "allow_http": bool(endpoint and endpoint.startswith("http://"))
                            or str(conf.get("use_ssl", "true")).lower() == "false",
              "allow_invalid_certificates": str(conf.get("ssl_verify", "true")).lower() == "false"}
    retry = {"max_retries": 2, "retry_timeout": timedelta(seconds=20),
             "backoff": {"init_backoff": timedelta(milliseconds=200),
                         "max_backoff": timedelta(seconds=2), "base": 2}}
    return S3Store(parts.netloc, region=region or "us-east-1", client_options=client,
                   retry_config=retry, **kwargs)
