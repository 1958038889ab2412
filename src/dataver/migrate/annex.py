"""git-annex as a migration source.

A locked file is a symlink whose target ends in ``.git/annex/objects/<hash dirs>/KEY/KEY``; an
unlocked file is a blob ``/annex/objects/KEY`` (a pointer file). A key is
``BACKEND-sSIZE[-mMTIME][-Sn-Cn]--NAME``: for hashing backends NAME is the hex digest (plus the
file's extension for the ``...E`` backends). Symlink targets are never followed: the key is read
from the target's text and its content located with `git annex contentlocation`, so a target
that points outside the repository reads nothing.

Ids are canonical keys (``SHA256E-s5--<hex>.jpg`` -> ``SHA256-s5--<hex>``): the same content
under two extensions is one object, read once. For MD5 and MD5E keys the md5 is the key's own.
"""
from __future__ import annotations

import os
import re
import subprocess

from dataver.migrate.errors import MigrateError, PointerError
from dataver.migrate.sources import SYMLINK, Found, Source, SourceObject, is_regular

POINTER_MAX = 4095  # an unlocked pointer file is "/annex/objects/KEY\n": small
_POINTER_PREFIX = b"/annex/objects/"
_KEY = re.compile(r"^([A-Z0-9_]+)((?:-[smSC][0-9]+)*)--([^/\0]*)$")
_LOCKED = re.compile(r"^(?:\.\./)*\.git/annex/objects/(?:[^/]+/){2}([^/]+)/([^/]+)$")
# backend (without its trailing E) -> (hashlib name, hex digits)
HASHES = {"MD5": ("md5", 32), "SHA1": ("sha1", 40), "SHA224": ("sha224", 56),
          "SHA256": ("sha256", 64), "SHA384": ("sha384", 96), "SHA512": ("sha512", 128)}
HASHES.update({f"SHA3_{n}": (f"sha3_{n}", n // 4) for n in (224, 256, 384, 512)})
HASHES.update({f"BLAKE2B{n}": (f"blake2b{n}", n // 4) for n in (160, 224, 256, 384, 512)})
HASHES.update({f"BLAKE2S{n}": (f"blake2s{n}", n // 4) for n in (160, 224, 256)})


class Key:
    """A parsed annex key."""

    __slots__ = ("text", "backend", "size", "digest")

    def __init__(self, text: str, backend: str, size: int | None, digest: str | None):
        self.text = text
        self.backend = backend  # without a trailing E when it is a hashing backend
        self.size = size
        self.digest = digest  # lowercase hex, for hashing backends

    @property
    def canonical(self) -> str:
        """The id: for hashing backends, backend, size and digest only."""
        if self.digest is None:
            return self.text
        size = f"-s{self.size}" if self.size is not None else ""
        return f"{self.backend}{size}--{self.digest}"

    @property
    def expected(self) -> tuple[str, str] | None:
        return (HASHES[self.backend][0], self.digest) if self.digest else None


def parse_key(text: str) -> Key:
    """Parse an annex key; ValueError if it is not one."""
    match = _KEY.match(text)
    if match is None or text in (".", ".."):
        raise ValueError(f"'{text[:80]}' is not a git-annex key")
    backend, fields, name = match.groups()
    size = next((int(f[1:]) for f in fields.split("-")[1:] if f.startswith("s")), None)
    base = backend[:-1] if backend.endswith("E") and backend[:-1] in HASHES else backend
    if base not in HASHES:
        return Key(text, backend, size, None)  # WORM, URL, ...: nothing to check but the size
    digits = HASHES[base][1]
    digest = name[:digits]
    if not re.fullmatch(rf"[0-9a-f]{{{digits}}}", digest) or (base == backend and name != digest):
        raise ValueError(f"'{text[:80]}' has no valid {base} digest")
    return Key(text, base, size, digest)


class AnnexSource(Source):
    """Files stored with git-annex (locked or unlocked)."""

    kind = "annex"
    candidate_size = POINTER_MAX

    def __init__(self, git_root: str, paths, above=None):
        super().__init__(git_root, paths, above)
        self._located: dict[str, str | None] = {}
        self._locator: subprocess.Popen | None = None

    def claims(self, mode, data):
        if data is None:
            return False
        return (b"annex/objects/" in data) if mode == SYMLINK else data.startswith(_POINTER_PREFIX)

    def identify(self, path, mode, data, size, commit="", blob=""):
        if data is None:
            return None
        if mode == SYMLINK:
            target = data.decode("utf-8", "surrogateescape")
            if "annex/objects/" not in target:
                return None  # an ordinary symlink: stays in git
            match = _LOCKED.match(target)
            if match is None or match.group(1) != match.group(2):
                raise self._bad(path, commit, f"its symlink target '{target[:80]}' is not an annex object")
            text = match.group(1)
        elif is_regular(mode) and data.startswith(_POINTER_PREFIX):
            body = data[len(_POINTER_PREFIX):]
            body = body[:-1] if body.endswith(b"\n") else body
            text = body.decode("utf-8", "surrogateescape")
            if "\n" in text:
                raise self._bad(path, commit, "it has more than one line")
        else:
            return None
        try:
            key = parse_key(text)
        except ValueError as exc:
            raise self._bad(path, commit, str(exc)) from None
        self.check_path(path, commit)
        return Found(path, mode, blob, key.canonical, key.size, text)

    @staticmethod
    def _bad(path: str, commit: str, why: str) -> PointerError:
        where = f" at {commit[:12]}" if commit else ""
        return PointerError(f"{path}{where} is not a valid git-annex file: {why}",
                            hint=f"fix it, or leave it out with --exclude '{path}'")

    # --- objects -----------------------------------------------------------------------------
    def objects(self, found):
        """One object per id, from a key whose content is present when there is one."""
        chosen: dict[str, Found] = {}
        found = list(found)
        self.locate([f.key for f in found])
        for item in found:
            if item.id not in chosen or (self._located.get(chosen[item.id].key) is None
                                         and self._located.get(item.key) is not None):
                chosen[item.id] = item
        return [self.source_object(item) for item in chosen.values()]

    def source_object(self, item: Found, commit: str = "") -> SourceObject:
        key = parse_key(item.key)
        local = self.locate([item.key])[item.key]
        where = local or os.path.join(self.root, ".git", "annex", "objects", "?", item.key)
        return SourceObject(item.id, key.size, lambda: open(where, "rb"), key.expected, item.path,
                            commit, local)

    def missing(self, found):
        found = list(found)
        located = self.locate([f.key for f in found])
        present = {f.id for f in found if located[f.key] is not None}
        return [f for f in found if f.id not in present]

    def locate(self, keys: list[str]) -> dict[str, str | None]:
        """The absolute path of each key's content (None: not present here), from one
        long-lived `git annex contentlocation --batch`."""
        new = [k for k in dict.fromkeys(keys) if k not in self._located]
        if new:
            proc = self._start_locator()
            try:
                proc.stdin.write("".join(k + "\n" for k in new).encode("utf-8", "surrogateescape"))
                proc.stdin.flush()
                for key in new:
                    raw = proc.stdout.readline()
                    if not raw:  # it ended: git-annex missing, or not an annex repository
                        raise OSError
                    line = raw.decode("utf-8", "surrogateescape").rstrip("\n")
                    self._located[key] = os.path.join(self.root, line) if line else None
            except OSError:
                raise MigrateError(
                    "`git annex contentlocation` failed",
                    hint="is git-annex installed (Debian: apt-get install git-annex), and is this "
                         "an annex repository (`git annex info`)?") from None
        return {k: self._located[k] for k in keys}

    def _start_locator(self) -> subprocess.Popen:
        if self._locator is None:
            try:
                self._locator = subprocess.Popen(
                    ["git", "-C", self.root, "annex", "contentlocation", "--batch"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            except FileNotFoundError:
                raise MigrateError("git is not installed") from None
        return self._locator

    def fetch(self, found, ref=None, progress=None) -> None:
        """`git annex get --batch-keys` of the missing keys, from whichever remote has them."""
        keys = sorted({f.key for f in found})
        if not keys:
            return
        proc = subprocess.run(["git", "-C", self.root, "annex", "get", "--batch-keys"],
                              input="".join(k + "\n" for k in keys).encode("utf-8", "surrogateescape"),
                              capture_output=True, check=False)
        if b"is not a git command" in proc.stderr:
            raise _not_installed()
        for key in keys:  # look again: what arrived is now located
            self._located.pop(key, None)

    def close(self) -> None:
        if self._locator is not None:
            self._locator.stdin.close()
            self._locator.stdout.close()
            self._locator.wait()
            self._locator = None
        super().close()


def _not_installed() -> MigrateError:
    return MigrateError("git-annex is not installed",
                        hint="install it (Debian: apt-get install git-annex)")

