"""A URL (local path, ``s3://``, ``http(s)://``, ``ssh://``, ``remote://NAME/path``, ...) opened as
an fsspec filesystem, for ``ls-url``, ``get-url``, ``import-url`` and their ``update``.

Options come from ``--fs-config`` (DVC's remote option names: ``endpointurl``, ``user``, ...) and,
for ``remote://NAME``, from that remote's config section; they are mapped to the filesystem's
keyword arguments by the remote registry, so a URL takes exactly the options a remote of its type
takes. What identifies a source's version is recorded as DVC does: ``md5`` of the content for
local and SSH sources, ``etag`` for S3 (and GCS, Azure, WebDAV), ``checksum`` (ETag, Content-MD5
or fsspec's token of the HEAD answer) for HTTP.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dataver.config import is_url, truthy
from dataver.errors import ConfigError, PathMissingError, RemoteError, UserError


# Source kinds whose version DVC records as the md5 of the content (its filesystem's checksum
# parameter is md5): the dependency then holds the output's own hash.
CONTENT_HASHED = frozenset({"", "ssh"})


@dataclass
class UrlSource:
    """An opened URL: its fsspec filesystem ``fs`` and the path in it."""

    url: str  # as the user gave it: what the .dvc file records
    scheme: str  # "" for a local path
    _fs: object  # None for a local path until ``fs`` is first used
    path: str  # in ``fs``'s notation (an absolute, unnormalised path for local)
    fs_config: dict = field(default_factory=dict)

    @property
    def fs(self):
        if self._fs is None:  # local: fsspec only when needed (listing a folder needs none)
            from fsspec.implementations.local import LocalFileSystem

            self._fs = LocalFileSystem()
        return self._fs

    @property
    def is_local(self) -> bool:
        return self.scheme == ""

    @property
    def content_hashed(self) -> bool:
        """Whether DVC versions this kind of source by the md5 of its content (local, SSH)
        rather than by what the server says (etag, checksum)."""
        return self.scheme in CONTENT_HASHED

    @property
    def version_aware(self) -> bool:
        """Whether versions are recorded and read by version id (``fs_config: version_aware``)."""
        return truthy(self.fs_config.get("version_aware", False))

    def versioned(self, path: str, info: dict) -> str:
        """``path`` of the version ``info`` names (its own path unless version-aware)."""
        if not self.version_aware:
            return path
        return f"{path}?versionId={version_id(info, self.url)}"

    def info(self) -> dict:
        """fsspec's info of the URL itself; a one-line error when nothing is there."""
        return self.info_of(self.path)

    def info_of(self, path: str) -> dict:
        try:
            return local_info(path) if self.is_local else self.fs.info(path)
        except FileNotFoundError:
            raise PathMissingError(f"The path '{self.url}' does not exist",
                                   hint="check the URL (and --fs-config for its server)") from None
        except UserError:
            raise
        except Exception as exc:  # network, credentials: the library's words, on one line
            raise url_error(self.url, exc) from exc

    def is_dir(self, info: dict) -> bool:
        return info.get("type") == "directory"

    def files_below(self) -> list[tuple[str, str, dict]]:
        """``(relpath, fs path, info)`` of every file below the directory URL, sorted."""
        base = self.path.rstrip("/")
        try:
            found = self.fs.find(base, detail=True)
        except Exception as exc:
            raise url_error(self.url, exc) from exc
        result = []
        for name, info in found.items():
            if info.get("type") == "directory" or name.endswith("/"):
                continue  # S3 "directory" markers
            rel = name[len(base) + 1:] if name.startswith(base + "/") else None
            if not rel:
                continue
            check_relpath(rel, self.url)
            result.append((rel, name, info))
        return sorted(result)

    def version_meta(self, info: dict) -> dict:
        """What DVC records of a remote file's version, from its listing (sources in
        ``CONTENT_HASHED`` are hashed instead): S3 the ETag unquoted, GCS its etag decoded
        to hex, Azure the ETag quoted, WebDAV the etag as is, HTTP the ETag or Content-MD5
        header, else fsspec's token of the HEAD answer."""
        if self.scheme == "s3":
            etag = info.get("ETag") or info.get("etag")
            return {"etag": str(etag).strip('"')} if etag else {}
        if self.scheme in ("http", "https"):
            value = info.get("ETag") or info.get("Content-MD5")
            return {"checksum": value if value else str(self.fs.checksum(info["name"]))}
        etag = info.get("etag")
        if self.scheme in ("gs", "gcs") and etag:
            import base64

            return {"etag": base64.b64decode(etag).hex()}
        if self.scheme == "azure" and etag and not str(etag).startswith('"'):
            return {"etag": f'"{etag}"'}
        return {"etag": etag} if etag else {"checksum": str(self.fs.checksum(info["name"]))}


def version_id(info: dict, url: str) -> str:
    """The version id of a listed object of a version-aware source."""
    vid = info.get("VersionId") or info.get("version_id")
    if not vid:
        raise UserError(f"'{url}' returned no object version for '{info.get('name')}'",
                        hint="turn versioning on for the bucket, or import without --version-aware")
    return str(vid)


def local_info(path: str) -> dict:
    """fsspec's ``LocalFileSystem.info`` fields that dataver reads (name, size, type, islink),
    the same values, without importing fsspec: a symlink is followed for size and type."""
    import stat

    out = os.stat(path, follow_symlinks=False)
    link = stat.S_ISLNK(out.st_mode)
    if link:
        out = os.stat(path, follow_symlinks=True)
    kind = "directory" if stat.S_ISDIR(out.st_mode) else "file" if stat.S_ISREG(out.st_mode) else "other"
    return {"name": path.rstrip("/") or "/", "size": out.st_size, "type": kind, "islink": link}


def _posix_absolute(path: str) -> str:
    """An absolute local path as fsspec's ``make_path_posix`` makes it, so that names match
    what fsspec lists (relative to the cwd, ``~`` expanded, nothing else normalised)."""
    if os.sep != "/":
        from fsspec.implementations.local import make_path_posix

        return make_path_posix(path)
    if path.startswith("/"):
        return path
    if path.startswith("~"):
        return os.path.expanduser(path)
    if path.startswith("./"):
        path = path[2:]
    elif path == ".":
        path = ""
    return f"{os.getcwd()}/{path}"


def check_relpath(rel: str, url: str) -> None:
    """A name from a server listing must stay below the directory it was listed in."""
    parts = rel.split("/")
    if "\0" in rel or any(p in ("", ".", "..") for p in parts):
        raise UserError(f"'{url}' lists an unsafe name '{rel}'", hint="rename it at the source")


def url_error(url: str, exc: BaseException) -> UserError:
    from dataver.remote.wrappers import mask_url

    if isinstance(exc, UserError):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, PermissionError):
        return RemoteError(f"access to '{mask_url(url)}' refused: {text}",
                           hint="give credentials with --fs-config or the usual environment variables")
    return RemoteError(f"cannot read '{mask_url(url)}': {text}",
                       hint="check the URL, the server and --fs-config options")


def parse_fs_config(pairs: list[str] | None, option: str = "--fs-config") -> dict:
    """``["name=value", ...]`` (``--fs-config``, or the ``option`` named) as a dict."""
    result: dict = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"{option} '{pair}' is not NAME=VALUE",
                              hint=f"e.g. {option} endpointurl=http://127.0.0.1:9000")
        result[name] = value
    return result


def open_url(url: str, fs_config: dict | None = None, config=None) -> UrlSource:
    """Open ``url``; ``config`` (a repo's Config) resolves ``remote://NAME/...`` URLs."""
    fs_config = dict(fs_config or {})
    if not url:
        raise UserError("empty URL", hint="give a path, or a URL such as s3://bucket/key")
    conf = dict(fs_config)
    target = url
    if url.startswith("remote://"):
        target, conf = _resolve_remote(url, config, fs_config)
    # the registry's scheme_of, without importing the remote machinery for a local path
    scheme = urlsplit(target).scheme.lower() if is_url(target) else ""
    if scheme != "s3" and truthy(fs_config.get("version_aware", False)):
        raise UserError(f"'{url}': version-aware imports are supported for s3:// URLs only",
                        hint="import it without --version-aware")
    if scheme in ("", "file"):
        path = urlsplit(target).path if scheme == "file" else target
        return UrlSource(url, "", None, _posix_absolute(path), fs_config)
    from dataver.remote.registry import check_option

    for option in fs_config:
        check_option(target, option, "--fs-config")
    return UrlSource(url, scheme, *_open_fs(target, scheme, conf), fs_config=fs_config)


def _resolve_remote(url: str, config, fs_config: dict) -> tuple[str, dict]:
    """``remote://NAME/sub`` -> (the remote's URL joined with ``sub``, its options + fs_config)."""
    parts = urlsplit(url)
    remotes = config.remotes() if config is not None else {}
    conf = remotes.get(parts.netloc)
    if conf is None:
        raise ConfigError(f"remote '{parts.netloc}' of '{url}' is not configured",
                          hint="see `dataver remote list`")
    base = str(conf["url"]).rstrip("/")
    sub = parts.path.lstrip("/")
    merged = {k: v for k, v in conf.items() if k != "url"}
    merged.update(fs_config)
    return (f"{base}/{sub}" if sub else base), merged


def _open_fs(url: str, scheme: str, conf: dict):
    """``(fs, path)`` for a non-local URL through the remote registry's scheme table."""
    import importlib

    from dataver.remote.registry import SCHEMES

    spec = SCHEMES.get(scheme)
    if spec is None:
        raise UserError(f"unsupported URL scheme '{scheme}://' in '{url}'",
                        hint="supported: " + ", ".join(sorted(SCHEMES)) + " and local paths")
    module_name, class_name = spec.fs_class.split(":")
    try:
        fs_cls = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        missing = (exc.name or module_name).split(".")[0]
        raise UserError(f"'{url}' needs the '{missing}' package",
                        hint=f"pip install 'dataver[{spec.extra}]'") from None
    try:
        kwargs, root, _check = spec.options(url, conf)
        fs = fs_cls(skip_instance_cache=True, **kwargs)
    except UserError:
        raise
    except Exception as exc:
        raise url_error(url, exc) from exc
    if scheme in ("http", "https"):
        root = url  # the file's own URL (the registry strips a trailing slash)
    return fs, root

