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

from dataver.config import truthy
from dataver.errors import ConfigError, RemoteError, UserError
from dataver.remote.base import Backend
from dataver.remote.wrappers import mask_url, remote_error

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
        client["verify"] = value if str(value).lower() not in ("true", "false") else truthy(value)
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
        kwargs["use_ssl"] = truthy(conf["use_ssl"])
    if truthy(conf.get("allow_anonymous_login", False)) and not conf.get("access_key_id"):
        kwargs["anon"] = True
    if truthy(conf.get("version_aware", False)) or truthy(conf.get("worktree", False)):
        kwargs["version_aware"] = True  # reads and writes of given versions (ops/versioned.py)
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


def _secret(conf: dict, option: str, url: str) -> str | None:
    """``conf[option]``, or asked on the terminal when ``ask_<option>`` is set (as DVC does)."""
    value = conf.get(option)
    if value is None and truthy(conf.get(f"ask_{option}", False)):
        import getpass
        import sys

        if not sys.stdin.isatty():
            raise ConfigError(f"ask_{option} is set for {mask_url(url)} but there is no terminal",
                              hint=f"set it with `dataver remote modify --local NAME {option} ...`")
        value = getpass.getpass(f"Enter a {option} for {mask_url(url)}: ")
    return value


def ssh_options(url: str, conf: dict) -> Options:
    """sshfs.SSHFileSystem (asyncssh) kwargs from DVC's ssh remote options; user and port in
    the URL win over the options. Host keys are not checked (DVC's behaviour)."""
    parts = urlsplit(url)
    kwargs: dict[str, Any] = {"host": parts.hostname, "known_hosts": None,
                              "connect_timeout": CONNECT_TIMEOUT,
                              "login_timeout": int(conf.get("timeout", 30)),
                              # fast ciphers, no compression: what DVC picks for throughput
                              "encryption_algs": ["aes128-gcm@openssh.com", "aes256-ctr",
                                                  "aes192-ctr", "aes128-ctr"],
                              "compression_algs": None,
                              "gss_auth": truthy(conf.get("gss_auth", False))}
    if parts.port or conf.get("port"):
        kwargs["port"] = int(parts.port or conf["port"])
    if parts.username or conf.get("user"):
        kwargs["username"] = parts.username or conf["user"]
    password = parts.password or _secret(conf, "password", url)
    passphrase = _secret(conf, "passphrase", url)
    preferred = []
    if conf.get("keyfile"):
        kwargs["client_keys"] = [os.path.expanduser(str(conf["keyfile"]))]
    if conf.get("keyfile") or passphrase is not None:
        preferred.append("publickey")
    if passphrase is not None:
        kwargs["passphrase"] = passphrase
    if password is not None:
        kwargs["password"] = password
        preferred += ["keyboard-interactive", "password"]
    if preferred:
        kwargs["preferred_auth"] = preferred
    if "allow_agent" in conf and not truthy(conf["allow_agent"]):
        kwargs["agent_path"] = None
    if conf.get("max_sessions"):
        kwargs["max_sessions"] = int(conf["max_sessions"])
    return kwargs, parts.path or "/", None


def webdav_options(url: str, conf: dict) -> Options:
    """webdav4 WebdavFileSystem kwargs from DVC's webdav options (``webdav://`` is http,
    ``webdavs://`` https); the root is the URL's path on the server."""
    import httpx

    parts = urlsplit(url)
    scheme = "https" if parts.scheme.lower() == "webdavs" else "http"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    timeout = float(conf.get("timeout", 30))
    kwargs: dict[str, Any] = {"base_url": f"{scheme}://{host}",
                              "timeout": httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
                              "verify": _verify(conf)}
    if conf.get("cert_path"):
        kwargs["cert"] = ((conf["cert_path"], conf["key_path"]) if conf.get("key_path")
                          else conf["cert_path"])
    user = parts.username or conf.get("user")
    if conf.get("token") or conf.get("bearer_token_command"):
        token = conf.get("token") or _run_token_command(str(conf["bearer_token_command"]), timeout)
        kwargs["headers"] = {"Authorization": f"Bearer {token}"}
    elif user:
        kwargs["auth"] = (user, parts.password or _secret(conf, "password", url) or "")
    elif conf.get("custom_auth_header"):
        kwargs["headers"] = {conf["custom_auth_header"]: _secret(conf, "password", url) or ""}
    return kwargs, parts.path.strip("/"), None


def _run_token_command(command: str, timeout: float) -> str:
    """The bearer token printed by ``bearer_token_command`` (run through the shell, as DVC does)."""
    import subprocess

    proc = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ConfigError(f"bearer_token_command '{command}' failed (exit {proc.returncode})",
                          hint="run it by hand: it must print a token")
    return proc.stdout.strip()


def _verify(conf: dict) -> Any:
    """``ssl_verify``: true/false, or a CA bundle path."""
    value = conf.get("ssl_verify", True)
    return truthy(value) if str(value).lower() in ("true", "false", "1", "0", "yes", "no") else value


def http_options(url: str, conf: dict) -> Options:
    """UploadHTTPFileSystem (aiohttp) kwargs from DVC's http options: auth basic or custom,
    ``method`` POST (default) or PUT, timeouts, ssl_verify."""
    import base64

    import aiohttp

    headers: dict[str, str] = {}
    auth = conf.get("auth")
    if auth == "basic":
        user, password = conf.get("user"), _secret(conf, "password", url)
        if user is None or password is None:
            raise ConfigError(f"HTTP basic auth for {mask_url(url)} needs 'user' and 'password'")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    elif auth == "custom":
        header, password = conf.get("custom_auth_header"), _secret(conf, "password", url)
        if header is None or password is None:
            raise ConfigError(f"HTTP custom auth for {mask_url(url)} needs 'custom_auth_header' "
                              "and 'password'")
        headers[header] = password
    elif auth:
        raise ConfigError(f"HTTP auth '{auth}' is not supported (remote {mask_url(url)})",
                          hint="use auth basic or custom")
    timeout = aiohttp.ClientTimeout(total=None, sock_read=float(conf.get("read_timeout", 60)),
                                    sock_connect=float(conf.get("connect_timeout", CONNECT_TIMEOUT)))
    kwargs: dict[str, Any] = {"client_kwargs": {"headers": headers, "timeout": timeout,
                                                 "trust_env": True},
                              "upload_method": str(conf.get("method", "post"))}
    verify = _verify(conf)  # fsspec passes unknown kwargs on to every aiohttp request
    if verify is False:
        kwargs["ssl"] = False
    elif isinstance(verify, str):
        import ssl

        kwargs["ssl"] = ssl.create_default_context(cafile=os.path.expanduser(verify))
    return kwargs, url.rstrip("/"), None


def gs_options(url: str, conf: dict) -> Options:
    """gcsfs kwargs from DVC's gs options. Credentials: ``credentialpath`` (service account
    JSON), anonymous with ``allow_anonymous_login``, else Google's default lookup."""
    parts = urlsplit(url)
    # "size": gcsfs compares each upload's stored size with what it sent (no extra request), so a
    # server that takes gcsfs's LF-delimited multipart body of a file ending in "\r" as one byte
    # shorter fails the push instead of storing a bad object (the GCS emulator does exactly that)
    kwargs: dict[str, Any] = {"consistency": "size"}
    if conf.get("projectname"):
        kwargs["project"] = conf["projectname"]
    if conf.get("credentialpath"):
        kwargs["token"] = os.path.expanduser(str(conf["credentialpath"]))
    elif truthy(conf.get("allow_anonymous_login", False)):
        kwargs["token"] = "anon"
    if conf.get("endpointurl"):
        kwargs["endpoint_url"] = conf["endpointurl"]
    endpoint = conf.get("endpointurl") or os.environ.get("STORAGE_EMULATOR_HOST")
    _probe(endpoint if endpoint and "://" in endpoint else f"http://{endpoint}" if endpoint
           else "https://storage.googleapis.com")
    bucket = parts.netloc
    return kwargs, f"{bucket}{parts.path}".rstrip("/"), bucket


def azure_options(url: str, conf: dict) -> Options:
    """adlfs kwargs from DVC's azure options, falling back to the AZURE_STORAGE_* variables as
    DVC does; the URL is ``azure://container/path``."""
    parts = urlsplit(url)
    env = {"connection_string": "AZURE_STORAGE_CONNECTION_STRING",
           "account_name": "AZURE_STORAGE_ACCOUNT", "account_key": "AZURE_STORAGE_KEY",
           "sas_token": "AZURE_STORAGE_SAS_TOKEN"}
    kwargs: dict[str, Any] = {}
    for option in ("connection_string", "account_name", "account_key", "sas_token",
                   "tenant_id", "client_id", "client_secret"):
        value = conf.get(option) or os.environ.get(env.get(option, ""))
        if value:
            kwargs[option] = value
    if truthy(conf.get("allow_anonymous_login", False)):
        kwargs["anon"] = True
    excluded = {k: True for k in conf if k.startswith("exclude_") and truthy(conf[k])}
    if excluded and not kwargs.get("connection_string") and not kwargs.get("account_key"):
        from azure.identity.aio import DefaultAzureCredential

        kwargs["credential"] = DefaultAzureCredential(**excluded)
    _probe(_azure_endpoint(kwargs))
    kwargs["connection_timeout"] = int(conf.get("connection_timeout", CONNECT_TIMEOUT))
    kwargs["read_timeout"] = int(conf.get("read_timeout", 60))
    if conf.get("timeout"):
        kwargs["timeout"] = int(conf["timeout"])
    container = parts.netloc
    return kwargs, f"{container}{parts.path}".rstrip("/"), container


def _azure_endpoint(kwargs: dict) -> str | None:
    """The blob endpoint URL that adlfs will talk to, if it can be told from the settings."""
    fields = dict(part.split("=", 1) for part in str(kwargs.get("connection_string", "")).split(";")
                  if "=" in part)
    if fields.get("BlobEndpoint"):
        return fields["BlobEndpoint"]
    account = fields.get("AccountName") or kwargs.get("account_name")
    suffix = fields.get("EndpointSuffix", "core.windows.net")
    return f"https://{account}.blob.{suffix}" if account else None


def _probe(endpoint: str | None) -> None:
    """Fail at once if nothing accepts TCP connections at ``endpoint``: gcsfs and the Azure SDK
    retry a refused connection with backoff for half a minute before giving up."""
    import socket

    if not endpoint:
        return
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT):
        pass


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
    backend: str = "dataver.remote.fsspec_remote:FsspecBackend"  # "module:Class"


_HTTP = Scheme("dataver.remote.http:UploadHTTPFileSystem", "http", http_options,
               frozenset(HTTP_OPTIONS), default_jobs=16, backend="dataver.remote.http:HTTPBackend")
_WEBDAV = Scheme("webdav4.fsspec:WebdavFileSystem", "webdav", webdav_options,
                 frozenset(WEBDAV_OPTIONS), atomic_rename=True, make_dirs=True, default_jobs=16,
                 backend="dataver.remote.webdav:WebdavBackend")
# gcsfs.core's class: the package's default one first probes each bucket over gRPC
_GS = Scheme("gcsfs.core:GCSFileSystem", "gs", gs_options, frozenset(GS_OPTIONS))
SCHEMES: dict[str, Scheme] = {
    "s3": Scheme("s3fs:S3FileSystem", "s3", s3_options, frozenset(S3_OPTIONS),
                 obstore="dataver.remote.obstore_remote:s3_store"),
    # sshfs opens max_sessions - 2 (default 8) SFTP channels per connection
    "ssh": Scheme("sshfs:SSHFileSystem", "ssh", ssh_options, frozenset(SSH_OPTIONS),
                  atomic_rename=True, make_dirs=True, default_jobs=8),
    "webdav": _WEBDAV, "webdavs": _WEBDAV,
    "http": _HTTP, "https": _HTTP,
    "gs": _GS, "gcs": _GS,
    "azure": Scheme("adlfs:AzureBlobFileSystem", "azure", azure_options, frozenset(AZURE_OPTIONS)),
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
    configured = credentials_configured(url, conf, os.environ)
    try:
        fast = _open_obstore(spec, url, conf)
    except UserError:
        raise
    except Exception as exc:  # the store's constructor validates its options
        raise remote_error(name, url, exc, credentials_configured=configured) from exc
    if fast is not None:
        fast.credentials_configured = configured
        return fast
    try:
        fs_cls, backend_cls = _load(spec.fs_class), _load(spec.backend)
    except ImportError as exc:
        missing = (exc.name or spec.fs_class.split(":")[0]).split(".")[0]
        raise RemoteError(f"remote '{name}' ({mask_url(url)}) needs the '{missing}' package",
                          hint=f"pip install 'dataver[{spec.extra}]'") from None
    try:  # options may probe the endpoint, and some backends (sshfs) connect right here
        kwargs, root, check_path = spec.options(url, conf)
        fs = fs_cls(skip_instance_cache=True, **kwargs)
    except UserError:
        raise
    except Exception as exc:  # chained: `-v` shows the library's error
        raise remote_error(name, url, exc, credentials_configured=configured) from exc
    backend = backend_cls(fs, root, mask_url(url), atomic_rename=spec.atomic_rename,
                          make_dirs=spec.make_dirs, check_path=check_path,
                          default_jobs=spec.default_jobs)
    backend.credentials_configured = configured
    return backend


_SSH_DEFAULT_KEYS = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_dsa")


def credentials_configured(url: str, conf: dict, env) -> bool:
    """False when the remote at ``url`` has nothing to authenticate with (no option, variable,
    agent or default key file), so that a refusal can be reported as "no credentials" rather
    than "access denied". True whenever in doubt: S3, GCS and Azure libraries search further
    places themselves and say so in their own errors (see wrappers.is_missing_credentials)."""
    scheme, parts = scheme_of(url), urlsplit(url)
    if scheme == "ssh":
        if parts.password:
            return True
        if any(conf.get(k) for k in ("password", "keyfile", "passphrase", "ask_password",
                                     "ask_passphrase")) or truthy(conf.get("gss_auth", False)):
            return True
        if env.get("SSH_AUTH_SOCK") and truthy(conf.get("allow_agent", True)):
            return True
        ssh_dir = os.path.expanduser("~/.ssh")
        return os.path.exists(os.path.join(ssh_dir, "config")) or any(
            os.path.exists(os.path.join(ssh_dir, key)) for key in _SSH_DEFAULT_KEYS)
    if scheme in ("webdav", "webdavs"):
        return bool(parts.username) or any(conf.get(k) for k in (
            "user", "password", "ask_password", "token", "bearer_token_command",
            "custom_auth_header"))
    if scheme in ("http", "https"):
        return bool(conf.get("auth") or parts.username)
    return True


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


def _load(dotted: str):
    module_name, class_name = dotted.split(":")
    return getattr(importlib.import_module(module_name), class_name)
