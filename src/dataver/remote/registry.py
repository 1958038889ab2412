"""URL scheme -> backend. Backends are imported lazily; a missing one yields an install hint.

Adding a remote type is one ``Scheme`` entry in ``SCHEMES`` plus one options function that maps
the DVC config options of the remote section to the fsspec filesystem's keyword arguments.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from dataver.errors import ConfigError, RemoteError
from dataver.remote.base import Backend
from dataver.remote.wrappers import mask_url

# (fs kwargs, root path in the filesystem's notation, path check() inspects or None)
Options = tuple[dict, str, "str | None"]

COMMON_OPTIONS = {"url", "jobs", "checksum_jobs", "worktree", "no_traverse", "version_aware",
                  "verify"}
LOCAL_OPTIONS = {"type", "protected", "shared", "slow_link_warning"}
HTTP_OPTIONS = {"auth", "custom_auth_header", "user", "password", "ask_password", "ssl_verify",
                "method", "connect_timeout", "read_timeout"}
WEBDAV_OPTIONS = {"user", "password", "ask_password", "token", "bearer_token_command",
                  "custom_auth_header", "cert_path", "key_path", "timeout", "ssl_verify"}
S3_OPTIONS = {"region", "profile", "credentialpath", "configpath", "endpointurl", "access_key_id",
              "secret_access_key", "session_token", "listobjects", "use_ssl",
              "allow_anonymous_login", "ssl_verify", "sse", "sse_kms_key_id",
              "sse_customer_algorithm", "sse_customer_key", "acl", "grant_read", "grant_read_acp",
              "grant_write_acp", "grant_full_control", "cache_regions", "read_timeout",
              "connect_timeout"}
SSH_OPTIONS = {"type", "port", "user", "password", "ask_password", "passphrase", "ask_passphrase",
               "keyfile", "timeout", "gss_auth", "allow_agent", "max_sessions"}
GS_OPTIONS = {"projectname", "credentialpath", "endpointurl", "allow_anonymous_login"}
AZURE_OPTIONS = {"connection_string", "sas_token", "account_name", "account_key", "tenant_id",
                 "client_id", "client_secret", "allow_anonymous_login",
                 "exclude_environment_credential", "exclude_visual_studio_code_credential",
                 "exclude_shared_token_cache_credential", "exclude_managed_identity_credential",
                 "timeout", "read_timeout", "connection_timeout"}
CONNECT_TIMEOUT = 5  # seconds; an unreachable remote must fail fast


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def s3_options(url: str, conf: dict) -> Options:
    """s3fs.S3FileSystem kwargs from DVC's s3 remote options."""
    parts = urlsplit(url)
    client: dict[str, Any] = {}
    if conf.get("endpointurl"):
        client["endpoint_url"] = conf["endpointurl"]
    if conf.get("region"):
        client["region_name"] = conf["region"]
    if "ssl_verify" in conf:
        value = conf["ssl_verify"]
        client["verify"] = value if str(value).lower() not in ("true", "false") else _bool(value)
    config = {
        "connect_timeout": int(conf.get("connect_timeout", CONNECT_TIMEOUT)),
        "read_timeout": int(conf.get("read_timeout", 60)),
        "retries": {"max_attempts": 2, "mode": "standard"},
    }
    kwargs: dict[str, Any] = {"client_kwargs": client, "config_kwargs": config,
                              "use_listings_cache": False}
    for ours, theirs in (("access_key_id", "key"), ("secret_access_key", "secret"),
                         ("session_token", "token"), ("profile", "profile")):
        if conf.get(ours):
            kwargs[theirs] = conf[ours]
    if "use_ssl" in conf:
        kwargs["use_ssl"] = _bool(conf["use_ssl"])
    if _bool(conf.get("allow_anonymous_login", False)) and not conf.get("access_key_id"):
        kwargs["anon"] = True
    extra = {name: conf[key] for key, name in (
        ("sse", "ServerSideEncryption"), ("sse_kms_key_id", "SSEKMSKeyId"), ("acl", "ACL"),
        ("sse_customer_algorithm", "SSECustomerAlgorithm"), ("sse_customer_key", "SSECustomerKey"),
        ("grant_read", "GrantRead"), ("grant_read_acp", "GrantReadACP"),
        ("grant_write_acp", "GrantWriteACP"), ("grant_full_control", "GrantFullControl"),
    ) if conf.get(key)}
    if extra:
        kwargs["s3_additional_kwargs"] = extra
    if conf.get("credentialpath"):
        os.environ.setdefault("AWS_SHARED_CREDENTIALS_FILE", os.path.expanduser(conf["credentialpath"]))
    if conf.get("configpath"):
        os.environ.setdefault("AWS_CONFIG_FILE", os.path.expanduser(conf["configpath"]))
    bucket = parts.netloc
    return kwargs, f"{bucket}{parts.path}".rstrip("/"), bucket


@dataclass(frozen=True)
class Scheme:
    """How to reach one kind of remote."""

    fs_class: str  # "module:Class" of the fsspec filesystem
    extra: str  # pip extra that installs it: pip install 'dataver[<extra>]'
    options: Callable[[str, dict], Options]
    known: frozenset = field(default_factory=frozenset)  # DVC option names valid for this type
    atomic_rename: bool = False  # upload to a temp name, then rename
    make_dirs: bool = False  # create parent directories before uploads
    default_jobs: int = 32
    #: "module:function" ``(url, conf, environ) -> store or None``: a faster obstore backend
    #: when its library is installed and it supports the options (None: use fsspec)
    obstore: str | None = None


SCHEMES: dict[str, Scheme] = {
    "s3": Scheme("s3fs:S3FileSystem", "s3", s3_options, frozenset(S3_OPTIONS),
                 obstore="dataver.remote.obstore_remote:s3_store"),
}
# Option names of types whose backends other modules register (validation works without them).
KNOWN_OPTIONS: dict[str, set[str]] = {
    "": LOCAL_OPTIONS, "s3": S3_OPTIONS, "ssh": SSH_OPTIONS, "gs": GS_OPTIONS, "gcs": GS_OPTIONS,
    "azure": AZURE_OPTIONS, "http": HTTP_OPTIONS, "https": HTTP_OPTIONS, "webdav": WEBDAV_OPTIONS,
    "webdavs": WEBDAV_OPTIONS,
}


def scheme_of(url: str) -> str:
    """``s3``, ``ssh``, ... or ``""`` for a local path."""
    from dataver.config import is_url

    return urlsplit(url).scheme.lower() if is_url(url) else ""


def check_option(url: str, option: str, where: str | None = None) -> None:
    """Raise ConfigError unless ``option`` is valid for a remote at ``url`` (as DVC validates)."""
    scheme = scheme_of(url)
    known = KNOWN_OPTIONS.get(scheme)
    if known is None:
        return
    if option not in COMMON_OPTIONS and option not in known:
        raise ConfigError(f"unknown option '{option}' for a {scheme or 'local'} remote", path=where,
                          hint="see docs/remotes.md for the options of each remote type")


def open_backend(name: str, conf: dict) -> Backend:
    """The backend for remote ``name`` whose (merged) config section is ``conf``."""
    url = conf.get("url")
    if not url:
        raise ConfigError(f"remote '{name}' has no url", hint=f"run `dataver remote modify {name} url URL`")
    scheme = scheme_of(url)
    if scheme in ("", "file"):
        from dataver.remote.local import LocalBackend

        return LocalBackend(urlsplit(url).path if scheme == "file" else url)
    spec = SCHEMES.get(scheme)
    if spec is None:
        raise RemoteError(f"remote '{name}': unsupported URL scheme '{scheme}://'",
                          hint="supported: " + ", ".join(sorted(SCHEMES)) + " and local paths")
    fast = _open_obstore(spec, url, conf)
    if fast is not None:
        return fast
    module_name, class_name = spec.fs_class.split(":")
    try:
        fs_cls = getattr(importlib.import_module(module_name), class_name)
    except ImportError:
        raise RemoteError(f"remote '{name}' ({mask_url(url)}) needs the '{module_name}' package",
                          hint=f"pip install 'dataver[{spec.extra}]'") from None
    kwargs, root, check_path = spec.options(url, conf)
    fs = fs_cls(skip_instance_cache=True, **kwargs)
    from dataver.remote.fsspec_remote import FsspecBackend

    return FsspecBackend(fs, root, mask_url(url), atomic_rename=spec.atomic_rename,
                         make_dirs=spec.make_dirs, check_path=check_path,
                         default_jobs=spec.default_jobs)


def _open_obstore(spec: Scheme, url: str, conf: dict) -> Backend | None:
    """The obstore backend for this remote if obstore is installed and supports its options
    (``DATAVER_NO_OBSTORE=1`` forces fsspec, for comparisons)."""
    if spec.obstore is None or os.environ.get("DATAVER_NO_OBSTORE"):
        return None
    try:
        importlib.import_module("obstore")
    except ImportError:
        return None
    module_name, func_name = spec.obstore.split(":")
    store = getattr(importlib.import_module(module_name), func_name)(url, conf, os.environ)
    if store is None:
        return None
    from dataver.remote.obstore_remote import ObstoreBackend

    return ObstoreBackend(store, mask_url(url), default_jobs=spec.default_jobs)
