"""`version` / `doctor`: what is installed and what the repository's cache can do.

The facts `dvc version` reports, gathered for dataver: its version and installer, the platform,
which remote extras (``pip install 'dataver[s3]'``, ...) and optional extras (cards, visual, ui)
are installed (read from dataver's own package metadata, so the list cannot drift from
pyproject.toml), the config file locations and, inside a repository, which link types work
between the cache and the workspace and the file system each lives on.
"""
from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass, field

from dataver import __version__

REMOTE_EXTRAS = ("s3", "ssh", "gs", "azure", "webdav", "http")
OPTIONAL_EXTRAS = ("cards", "visual", "ui")
LINK_TYPES = ("reflink", "hardlink", "symlink")  # copy always works; DVC does not list it


@dataclass
class Extra:
    """One extra: its packages with installed versions (None: missing)."""
    name: str
    packages: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def installed(self) -> bool:
        return bool(self.packages) and all(v is not None for _, v in self.packages)

    @property
    def missing(self) -> list[str]:
        return [p for p, v in self.packages if v is None]


@dataclass
class Report:
    version: str
    installer: str | None
    platform: str
    remotes: list[Extra]
    extras: list[Extra]
    config: dict[str, str]
    repo: dict[str, str] | None = None  # label -> value, only inside a repository
    remote_types: list[str] = field(default_factory=list)


def report(repo=None) -> Report:
    """Everything `dataver version` prints; ``repo`` adds the cache and workspace facts."""
    from dataver.config import level_path

    requires = _requirements()
    result = Report(
        version=__version__, installer=_installer(),
        platform=f"Python {platform.python_version()} on {platform.platform()}",
        remotes=[_extra(name, requires) for name in REMOTE_EXTRAS],
        extras=[_extra(name, requires) for name in OPTIONAL_EXTRAS],
        config={"Global": os.path.dirname(level_path("global", None)),
                "System": os.path.dirname(level_path("system", None))},
    )
    if repo is not None:
        result.repo = _repo_facts(repo)
        result.remote_types = _remote_types(repo)
    return result


def _installer() -> str | None:
    from importlib import metadata

    try:
        text = metadata.distribution("dataver").read_text("INSTALLER")
    except metadata.PackageNotFoundError:
        return None
    return text.strip() if text else None


def _requirements() -> dict[str, list[str]]:
    """extra -> requirement names (``dataver[cards]`` kept as is), from the package metadata."""
    from importlib import metadata

    try:
        lines = metadata.requires("dataver") or []
    except metadata.PackageNotFoundError:
        return {}
    result: dict[str, list[str]] = {}
    for line in lines:
        requirement, _, marker = line.partition(";")
        found = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        name = re.match(r"\s*([A-Za-z0-9._-]+(\[[^\]]*\])?)", requirement)
        if found and name:
            result.setdefault(found.group(1), []).append(name.group(1))
    return result


def _extra(name: str, requires: dict[str, list[str]], seen: frozenset = frozenset()) -> Extra:
    """The packages of extra ``name``, those of the extras it names (``dataver[cards]``) first."""
    extra = Extra(name)
    for requirement in requires.get(name, []):
        inner = re.fullmatch(r"dataver\[([^\]]+)\]", requirement)
        if inner:
            for sub in inner.group(1).split(","):
                if sub not in seen:
                    extra.packages += _extra(sub.strip(), requires, seen | {name}).packages
        elif requirement not in dict(extra.packages):
            extra.packages.append((requirement, _version(requirement)))
    return extra


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _repo_facts(repo) -> dict[str, str]:
    cache = repo.cache_dir
    kinds = link_types(cache, repo.root) if os.path.isdir(cache) else None
    facts = {"Cache types": "unknown (no cache directory yet)" if kinds is None
             else ", ".join(kinds) or "copy only"}
    if os.path.isdir(cache):
        facts["Cache directory"] = file_system(cache)
    facts["Caches"] = "local"
    facts["Workspace directory"] = file_system(repo.root)
    from dataver import scm

    facts["Repo"] = "dvc" if isinstance(repo.scm, scm.NoScm) else "dvc, git"
    return facts


def _remote_types(repo) -> list[str]:
    from dataver.remote.registry import scheme_of

    types = []
    for conf in repo.config.remotes().values():
        kind = scheme_of(str(conf.get("url", ""))) or "local"
        if kind not in types:
            types.append(kind)
    return types


def link_types(cache_dir: str, workspace: str) -> list[str]:
    """The link types that work from a file in ``cache_dir`` to one in ``workspace`` (tried with
    a throwaway file, as DVC does)."""
    from dataver import linking

    probe = os.path.join(cache_dir, f".dataver-link-probe-{os.getpid()}")
    works: list[str] = []
    try:
        with open(probe, "xb") as fobj:
            fobj.write(b"probe")
    except OSError:  # a read-only cache: nothing can be linked from it now
        return works
    try:
        for kind in LINK_TYPES:
            dest = os.path.join(workspace, f".dataver-link-probe-{os.getpid()}-{kind}")
            try:
                getattr(linking, kind)(probe, dest)
            except OSError:
                continue
            else:
                works.append(kind)
            finally:
                if os.path.lexists(dest):
                    os.unlink(dest)
    finally:
        os.unlink(probe)
    return works


def file_system(path: str) -> str:
    """``ext4 on /dev/vda``: the type and device of the mount holding ``path`` (/proc/mounts)."""
    path = os.path.realpath(path)
    best = None
    try:
        with open("/proc/mounts", encoding="utf-8", errors="replace") as fobj:
            for line in fobj:
                parts = line.split()
                if len(parts) < 3:
                    continue
                device, point, kind = parts[0], _unescape(parts[1]), parts[2]
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and (best is None or len(point) >= len(best[1])):
                    best = (device, point, kind)
    except OSError:
        return "unknown"
    return f"{best[2]} on {best[0]}" if best else "unknown"


def _unescape(field_text: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_text)
