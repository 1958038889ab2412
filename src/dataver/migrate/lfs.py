"""Git LFS as a migration source: pointer blobs in the tree, objects under ``.git/lfs/objects``.

A pointer (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md) is a blob under 1024
bytes::

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 lowercase hex>
    size <bytes>

A blob that starts like one (``version https://git-lfs``) is held to the whole format: anything
else in it is an error naming the path and commit (or, with ``--exclude``, it is left alone).
A blob that does not start like one is plain git content and is not this source's.
"""
from __future__ import annotations

import os
import re

from dataver.migrate.errors import MigrateError, PointerError
from dataver.migrate.sources import Found, Source, SourceObject, git_dir, is_regular

POINTER_MAX = 1023  # git-lfs reads blobs below 1024 bytes as possible pointers
VERSIONS = ("https://git-lfs.github.com/spec/v1", "https://hawser.github.com/spec/v1")
_CLAIMS = (b"version https://git-lfs", b"version https://hawser")
_OID = re.compile(r"^sha256:([0-9a-f]{64})$")
_SIZE = re.compile(r"^(0|[1-9][0-9]{0,18})$")
_KEY = re.compile(r"^[a-z0-9.-]+$")
_INCLUDE_MAX = 64 << 10  # longer --include lists: fetch the whole ref (git-lfs skips what is local)


def parse_pointer(data: bytes) -> tuple[str, int] | None:
    """``(oid, size)`` of an LFS pointer; None when ``data`` does not claim to be one.
    Raises ValueError (saying what is wrong) for a malformed one."""
    if not data.startswith(_CLAIMS):
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("it holds non-ASCII bytes") from None
    if not text.endswith("\n") or "\r" in text:
        raise ValueError("its lines do not end in a single LF")
    lines = text[:-1].split("\n")
    version = lines[0].partition(" ")[2]
    if version not in VERSIONS:
        raise ValueError(f"unknown version '{version}'")
    fields: dict[str, str] = {}
    keys = []
    for line in lines[1:]:
        key, sep, value = line.partition(" ")
        if not sep or not _KEY.match(key) or key in fields:
            raise ValueError(f"bad line '{line[:40]}'")
        fields[key] = value
        keys.append(key)
    if keys != sorted(keys):
        raise ValueError("its keys are not in order")
    if any(k.startswith("ext-") for k in keys):
        raise ValueError("it uses LFS extensions, which dataver cannot convert")
    if set(keys) != {"oid", "size"}:
        raise ValueError(f"it needs exactly 'oid' and 'size' (has {', '.join(keys) or 'none'})")
    oid = _OID.match(fields["oid"])
    if oid is None:
        raise ValueError("its oid is not sha256:<64 lowercase hex digits>")
    if _SIZE.match(fields["size"]) is None:
        raise ValueError("its size is not a whole number")
    return oid.group(1), int(fields["size"])


def format_pointer(oid: str, size: int) -> bytes:
    """The canonical pointer of an object (tests and the rewrite's checks use it)."""
    return f"version {VERSIONS[0]}\noid sha256:{oid}\nsize {size}\n".encode()


class LfsSource(Source):
    """Files stored with Git LFS."""

    kind = "lfs"
    candidate_size = POINTER_MAX

    def __init__(self, git_root: str, paths, above=None):
        super().__init__(git_root, paths, above)
        self._objects_dir: str | None = None

    @property
    def objects_dir(self) -> str:
        """Where git-lfs keeps objects: ``<lfs.storage or .git/lfs>/objects``."""
        if self._objects_dir is None:
            common = git_dir(self.git, self.root)
            proc = self.git.run("config", "--get", "lfs.storage", check=False)
            storage = proc.stdout.decode().strip() if proc.returncode == 0 else ""
            base = os.path.join(common, storage) if storage else os.path.join(common, "lfs")
            self._objects_dir = os.path.join(base, "objects")
        return self._objects_dir

    def object_path(self, oid: str) -> str:
        return os.path.join(self.objects_dir, oid[:2], oid[2:4], oid)

    def claims(self, mode, data):
        return data is not None and is_regular(mode) and data.startswith(_CLAIMS)

    def identify(self, path, mode, data, size, commit="", blob=""):
        if data is None or not is_regular(mode):
            return None
        try:
            parsed = parse_pointer(data)
        except ValueError as exc:
            where = f" at {commit[:12]}" if commit else ""
            raise PointerError(f"{path}{where} is not a valid LFS pointer: {exc}",
                               hint=f"fix the file, or leave it out with --exclude '{path}'") from None
        if parsed is None:
            return None
        self.check_path(path, commit)
        return Found(path, mode, blob, parsed[0], parsed[1])

    def source_object(self, item: Found, commit: str = "") -> SourceObject:
        local = self.object_path(item.id)
        return SourceObject(item.id, item.size, lambda: open(local, "rb"), ("sha256", item.id),
                            item.path, commit, local, linkable=True)

    def missing(self, found):
        return [f for f in found if not os.path.isfile(self.object_path(f.id))]

    def fetch(self, found, ref=None, progress=None) -> None:
        """`git lfs fetch` of just these objects' paths (of ``ref``, default HEAD) from the
        repository's LFS remote; what the server lacks stays missing (see :meth:`missing`)."""
        if not found:
            return
        args = ["lfs", "fetch"]
        paths = sorted({f.path for f in found})
        include = ",".join(_escape(p) for p in paths)
        if len(include) <= _INCLUDE_MAX and not any("," in p for p in paths):
            args.append(f"--include={include}")
            args.append("--exclude=")  # the repository's lfs.fetchexclude must not hide them
        if ref is not None:
            args += [self.remote_name(), ref]
        proc = self.git.run(*args, check=False)
        if proc.returncode != 0 and _not_installed(proc):
            raise MigrateError("git-lfs is not installed",
                               hint="install it (Debian: apt-get install git-lfs) to fetch missing objects")
        # A failure to download some objects is not an error here: they stay missing, and the
        # caller applies --on-missing to exactly those.

    def remote_name(self) -> str:
        """The git remote `git lfs fetch` would use: lfs.remote.autodetect aside, the
        remote.lfsdefault setting, else origin, else the only remote."""
        proc = self.git.run("config", "--get", "remote.lfsdefault", check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.decode().strip()
        remotes = self.git.run("remote").stdout.decode().split()
        return "origin" if "origin" in remotes or not remotes else remotes[0]

    def server_missing(self, found) -> list[Found] | None:
        """Of ``found`` (missing locally), those the LFS server does not have either; None
        when that is unknown (no server, one that wants credentials, or no answer).

        git-lfs 3.3 has no `fetch --dry-run`, so this asks the server's batch API directly, at
        the endpoint `git lfs env` reports, for a download of the objects: it answers an error
        for each one it lacks. Only servers that need no credentials are asked: dataver never
        looks for credentials."""
        if not found:
            return []
        endpoint = self._endpoint()
        if endpoint is None:
            return None
        unique = {f.id: f for f in found}
        lacking: set[str] = set()
        oids = sorted(unique)
        for start in range(0, len(oids), 100):  # servers take 100 objects per request
            answer = _batch(endpoint, [(oid, unique[oid].size or 0) for oid in oids[start:start + 100]])
            if answer is None:
                return None
            lacking |= answer
        return [f for f in found if f.id in lacking]

    def _endpoint(self) -> str | None:
        proc = self.git.run("lfs", "env", check=False)
        if proc.returncode != 0:
            return None
        for line in proc.stdout.decode(errors="replace").splitlines():
            if line.startswith("Endpoint="):
                url, _, auth = line[len("Endpoint="):].partition(" ")
                return url if auth == "(auth=none)" and url.startswith(("http://", "https://")) else None
        return None


def _batch(endpoint: str, objects: list[tuple[str, int]]) -> set[str] | None:
    """The oids among ``objects`` that the LFS server at ``endpoint`` says it does not have."""
    import json
    import urllib.error
    import urllib.request

    body = json.dumps({"operation": "download", "transfers": ["basic"],
                       "objects": [{"oid": oid, "size": size} for oid, size in objects]}).encode()
    req = urllib.request.Request(endpoint.rstrip("/") + "/objects/batch", data=body, method="POST",
                                 headers={"Content-Type": "application/vnd.git-lfs+json",
                                          "Accept": "application/vnd.git-lfs+json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            answer = json.loads(resp.read())
    except (OSError, ValueError):  # unreachable, refused, an HTTP error, not JSON
        return None
    lacking = set()
    for obj in answer.get("objects", []) if isinstance(answer, dict) else []:
        if isinstance(obj, dict) and obj.get("error") and not obj.get("actions"):
            lacking.add(obj.get("oid"))
    return lacking


def _escape(path: str) -> str:
    """A path as a literal git-lfs include pattern (wildcard characters escaped)."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", path)


def _not_installed(proc) -> bool:
    err = proc.stderr.decode(errors="replace")
    return "is not a git command" in err
