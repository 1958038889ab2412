"""`config` and `cache dir`: read and edit one config level the way `dvc config` does.

Names are ``section.option`` or ``remote.NAME.option`` (also ``machine.``/``db.``), lowercased as
DVC lowercases them. Path options given relative to the working directory are stored relative to
the config file's directory; reading them gives absolute paths, as `dvc config` prints them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from dataver.config import (
    LEVELS, NAMED_SECTIONS, PATH_OPTIONS, PLAIN_SECTIONS, ConfigFile, check_option, is_url,
    level_path, load_file, resolve_path,
)
from dataver.errors import ConfigError

REPO_LEVELS = ("repo", "local")
_NAME = re.compile(r"^(?:(?P<top>remote|db|machine)\.)?(?P<section>[^.]*)\.(?P<option>[^.]*)$")


@dataclass(frozen=True)
class OptionName:
    """A parsed option name: ``named`` is remote/machine/db (``section`` is then its name)."""

    named: str | None
    section: str
    option: str

    @property
    def key(self) -> str:
        """The section key used by :mod:`dataver.config` (``remote:NAME`` for remotes)."""
        if self.named == "remote":
            return f"remote:{self.section}"
        if self.named:
            return f'{self.named} "{self.section}"'
        return self.section

    @property
    def kind(self) -> str:
        return self.named or self.section

    def __str__(self) -> str:
        prefix = f"{self.named}." if self.named else ""
        return f"{prefix}{self.section}.{self.option}"


# dataver's own options, by the name users type -> where they are stored. DVC refuses a config
# with a section it does not know (every dvc command fails), but ignores unknown options of
# [feature]: so `card.auto` lives there, and both tools can read the same config.
ALIASES = {("card", "auto"): ("feature", "card_auto")}


def parse_name(text: str) -> OptionName:
    """Split ``section.option`` / ``remote.name.option``; raises ConfigError on other shapes."""
    match = _NAME.match(text)
    if not match:
        raise ConfigError(f"invalid option name {text!r}",
                          hint="use section.option, remote.NAME.option or db.NAME.option")
    section, option = match.group("section").lower(), match.group("option").lower()
    if match.group("top") is None and (section, option) in ALIASES:
        section, option = ALIASES[(section, option)]
    return OptionName(match.group("top"), section, option)


def levels_for(dvc_dir: str | None, level: str | None) -> list[str]:
    """The levels a read looks at (all four in a repo; system and global outside one)."""
    if level is not None:
        if dvc_dir is None and level in REPO_LEVELS:
            raise ConfigError("not inside a DVC repository", hint="use --global or --system")
        return [level]
    return list(LEVELS) if dvc_dir is not None else ["system", "global"]


def read_level(dvc_dir: str | None, level: str) -> dict[str, dict[str, object]]:
    """One level's options with path options made absolute; remote sections first (DVC's order)."""
    path = level_path(level, dvc_dir)
    conf = load_file(path) if path else {}
    conf_dir = os.path.dirname(os.path.abspath(path)) if path else ""
    for section, values in conf.items():
        for key in _path_keys(section) & set(values):
            values[key] = resolve_path(str(values[key]), conf_dir)
    return dict(sorted(conf.items(), key=lambda kv: _list_rank(kv[0])))


def _list_rank(section: str) -> int:
    if section.startswith("remote:"):
        return 0
    for rank, kind in enumerate(NAMED_SECTIONS[1:], start=1):
        if section.startswith(f'{kind} "'):
            return rank
    return len(NAMED_SECTIONS)


def _path_keys(section: str) -> set[str]:
    kind = section.split(":")[0].split(" ")[0]
    return PATH_OPTIONS.get(kind, set())


def get_option(dvc_dir: str | None, name: OptionName, level: str | None = None):
    """``(value, level)`` from the last level that sets ``name``, or None. With an explicit
    ``level`` a missing option is an error, as in DVC."""
    for lvl in reversed(levels_for(dvc_dir, level)):
        values = read_level(dvc_dir, lvl).get(name.key)
        if values and name.option in values:
            return values[name.option], lvl
        if level is not None:
            raise _missing(name, values is not None)
    return None


def list_options(dvc_dir: str | None, level: str | None = None) -> list[tuple[str, str, object]]:
    """Every option as ``(level, "section.option", value)``, level by level."""
    result = []
    for lvl in levels_for(dvc_dir, level):
        for section, values in read_level(dvc_dir, lvl).items():
            shown = section.replace("remote:", "remote.", 1)
            shown = re.sub(r'^(\w+) "(.*)"$', r"\1.\2", shown)
            result += [(lvl, f"{shown}.{key}", value) for key, value in values.items()]
    return result


def set_option(dvc_dir: str | None, name: OptionName, value: str, level: str | None = None) -> str:
    """Write ``name = value`` into ``level`` (default: the repo's .dvc/config); returns the file."""
    conf = open_level(dvc_dir, level)
    _check_section(name)
    check_option(name.kind if name.named else name.section, name.option, value, where=conf.path)
    if name.option in _path_keys(name.key):
        value = store_path(value, os.path.dirname(os.path.abspath(conf.path)))
    conf.set(name.key, name.option, value)
    _finish(conf, name)
    return conf.path


def unset_option(dvc_dir: str | None, name: OptionName, level: str | None = None) -> str:
    """Remove ``name`` from ``level``; an error if that file does not set it."""
    conf = open_level(dvc_dir, level)
    if conf.get(name.key, name.option) is None:
        raise _missing(name, conf.section(name.key) is not None)
    if name.named in ("remote", "db") and name.option == "url":
        raise ConfigError(f"{name.named} '{name.section}' needs its url", path=conf.path,
                          hint=f"remove the whole {name.named} instead")
    conf.unset(name.key, name.option)
    _finish(conf, name)
    return conf.path


def cache_dir(dvc_dir: str | None, level: str | None = None) -> str:
    """The cache directory in effect (or set at ``level``), absolute."""
    name = OptionName(None, "cache", "dir")
    found = get_option(dvc_dir, name, level)
    if found is not None:
        return str(found[0])
    if dvc_dir is None:
        raise ConfigError("not inside a DVC repository and no cache.dir is set")
    return os.path.join(dvc_dir, "cache")


def open_level(dvc_dir: str | None, level: str | None) -> ConfigFile:
    """One level's file (default: the repo's) opened for editing; refuses repo levels outside a repo."""
    level = level or "repo"
    levels_for(dvc_dir, level)
    return ConfigFile(level_path(level, dvc_dir))


def _check_section(name: OptionName) -> None:
    if name.named is None and name.section not in PLAIN_SECTIONS:
        raise ConfigError(f"unknown config section '{name.section}'",
                          hint="known sections: " + ", ".join(PLAIN_SECTIONS + NAMED_SECTIONS))


def _finish(conf: ConfigFile, name: OptionName) -> None:
    """Validate what the edit leaves behind, normalise path options, write the file."""
    if name.named in ("remote", "db"):
        section = conf.section(name.key)
        if section is not None and "url" not in section:
            raise ConfigError(f"{name.named} '{name.section}' has no url", path=conf.path,
                              hint=f"set {name.named}.{name.section}.url first")
    _normalise_paths(conf)
    conf.save()


def _normalise_paths(conf: ConfigFile) -> None:
    # DVC rewrites every relative path option of the file it edits in normal form.
    conf_dir = os.path.dirname(os.path.abspath(conf.path))
    for section in conf.sections():
        values = conf.section(section) or {}
        for key in _path_keys(section) & set(values):
            value = values[key]
            if isinstance(value, str) and _is_plain_relative(value):
                conf.set(section, key, _relative(os.path.join(conf_dir, value), conf_dir))


def _is_plain_relative(value: str) -> bool:
    return not (is_url(value) or os.path.isabs(value) or os.path.expanduser(value) != value)


def store_path(value: str, conf_dir: str) -> str:
    """A path typed by the user (relative to the cwd) as DVC stores it in the file."""
    if not _is_plain_relative(value):
        return value
    return _relative(os.path.abspath(value), conf_dir)


def _relative(path: str, conf_dir: str) -> str:
    return os.path.relpath(os.path.abspath(path), conf_dir).replace(os.sep, "/")


def _missing(name: OptionName, section_exists: bool) -> ConfigError:
    label = name.named or "section"
    if name.named and not section_exists:  # plain sections always "exist" (DVC's schema)
        return ConfigError(f"{label} '{name.section}' doesn't exist")
    return ConfigError(f"option '{name.option}' doesn't exist in {label} '{name.section}'")
