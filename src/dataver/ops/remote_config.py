"""`remote add|modify|list|remove|rename|default`: edit remote sections of one config level the
way `dvc remote` does (same keys, same files: secrets go where the user's --local/--project
puts them, as with DVC). Remote names are lowercased, as DVC does."""
from __future__ import annotations

import os

from dataver.config import LEVELS, ConfigFile, level_path, load_file, resolve_path
from dataver.errors import ConfigError
from dataver.ops.config import open_level, store_path


def _dvc_dir():
    from dataver.repo import Repo

    root = Repo.find_root(os.getcwd())
    return os.path.join(root, ".dvc") if root else None


def _open(level: str | None) -> ConfigFile:
    return open_level(_dvc_dir(), level)


def _levels_upto(level: str | None) -> list[str]:
    """Levels from the most specific (local) down to ``level`` (default repo), DVC's order."""
    dvc_dir = _dvc_dir()
    upto = level or "repo"
    result = []
    for lvl in reversed(LEVELS):
        if level_path(lvl, dvc_dir) is not None:
            result.append(lvl)
        if lvl == upto:
            break
    return result


def _store_url(url: str, conf: ConfigFile) -> str:
    """A local path typed relative to the cwd, stored relative to the config file's directory."""
    return store_path(url, os.path.dirname(os.path.abspath(conf.path)))


def _merged_remotes(level: str | None) -> dict[str, dict]:
    """Remote sections merged over the levels up to ``level`` (all levels if None)."""
    dvc_dir = _dvc_dir()
    merged: dict[str, dict] = {}
    for lvl in LEVELS:
        path = level_path(lvl, dvc_dir)
        if path is not None:
            for section, values in load_file(path).items():
                if section.startswith("remote:"):
                    merged.setdefault(section[7:], {}).update(values)
        if lvl == level:
            break
    return merged


def add(name: str, url: str, default: bool = False, force: bool = False, level: str | None = None) -> str:
    """Add remote ``name``; with ``force`` replace an existing one. Returns the file written."""
    name = name.lower()
    conf = _open(level)
    if conf.section(f"remote:{name}") is not None and not force:
        raise ConfigError(f"remote '{name}' already exists", path=conf.path, hint="use -f to overwrite it")
    conf.remove_section(f"remote:{name}")
    conf.set(f"remote:{name}", "url", _store_url(url, conf))
    if default:
        conf.set("core", "remote", name)
    conf.save()
    return conf.path


def modify(name: str, option: str, value: str | None = None, unset: bool = False,
           level: str | None = None) -> str:
    """Set (or with ``unset`` remove) one option of remote ``name`` at ``level``."""
    from dataver.remote.registry import check_option

    name, option = name.lower(), option.lower()
    conf = _open(level)
    merged = _merged_remotes(level or "repo")
    if name not in merged and conf.section(f"remote:{name}") is None:
        raise ConfigError(f"remote '{name}' doesn't exist", hint="see `dataver remote list`")
    if unset:
        conf.unset(f"remote:{name}", option)
    else:
        url = value if option == "url" else merged.get(name, {}).get("url", "")
        check_option(str(url), option, where=conf.path)
        conf.set(f"remote:{name}", option, _store_url(value, conf) if option == "url" else value)
    section = conf.section(f"remote:{name}")
    if section is not None and "url" not in section and name not in _other_level_urls(level):
        raise ConfigError(f"remote '{name}' would have no url", path=conf.path,
                          hint="set a url, or remove the remote with `dataver remote remove`")
    conf.save()
    return conf.path


def _other_level_urls(level: str | None) -> set[str]:
    dvc_dir = _dvc_dir()
    names = set()
    for lvl in LEVELS:
        path = level_path(lvl, dvc_dir)
        if lvl == (level or "repo") or path is None:
            continue
        names |= {s[7:] for s, v in load_file(path).items() if s.startswith("remote:") and "url" in v}
    return names


def list_remotes(level: str | None = None) -> list[tuple[str, str, bool]]:
    """``[(name, url, is_default)]`` of ``level`` (merged over all levels if None); local urls
    are absolute."""
    dvc_dir = _dvc_dir()
    levels = [level] if level else LEVELS
    remotes: dict[str, str] = {}
    default = None
    for lvl in levels:
        path = level_path(lvl, dvc_dir)
        if path is None:
            continue
        conf_dir = os.path.dirname(os.path.abspath(path))
        for section, values in load_file(path).items():
            if section.startswith("remote:") and "url" in values:
                remotes[section[7:]] = resolve_path(str(values["url"]), conf_dir)
            elif section.startswith("remote:"):
                remotes.setdefault(section[7:], "")
            if section == "core" and "remote" in values:
                default = str(values["remote"])
    return [(name, url, name == default) for name, url in remotes.items()]


def remove(name: str, level: str | None = None) -> None:
    """Remove remote ``name`` from ``level``, and unset it as default where it was."""
    name = name.lower()
    conf = _open(level)
    if conf.section(f"remote:{name}") is None:
        raise ConfigError(f"remote '{name}' doesn't exist", path=conf.path)
    conf.remove_section(f"remote:{name}")
    conf.save()
    _retarget_default(name, None, level)


def rename(old: str, new: str, level: str | None = None) -> None:
    """Rename remote ``old`` to ``new`` in ``level`` and in defaults that name it."""
    old, new = old.lower(), new.lower()
    if new in _merged_remotes(None):
        raise ConfigError(f"cannot rename: remote '{new}' already exists")
    conf = _open(level)
    values = conf.section(f"remote:{old}")
    if values is None:
        raise ConfigError(f"remote '{old}' doesn't exist", path=conf.path)
    conf.remove_section(f"remote:{old}")  # DVC re-adds the section at the end
    for key, value in values.items():
        conf.set(f"remote:{new}", key, value)
    conf.save()
    _retarget_default(old, new, level)


def _retarget_default(old: str, new: str | None, level: str | None) -> None:
    """Point (or unset) ``core.remote`` naming ``old`` in ``level`` and the levels that override
    it. Like DVC, every one of those files is rewritten (created if absent)."""
    dvc_dir = _dvc_dir()
    for lvl in _levels_upto(level):
        conf = ConfigFile(level_path(lvl, dvc_dir))
        if conf.get("core", "remote") == old:
            if new is None:
                conf.unset("core", "remote")
            else:
                conf.set("core", "remote", new)
        conf.save()


def get_default(level: str | None = None) -> str | None:
    """The default remote's name at ``level`` (merged if None), or None."""
    dvc_dir = _dvc_dir()
    result = None
    for lvl in ([level] if level else LEVELS):
        path = level_path(lvl, dvc_dir)
        if path is not None:
            result = load_file(path).get("core", {}).get("remote", result)
    return result


def set_default(name: str | None, level: str | None = None) -> None:
    """Make ``name`` the default remote at ``level``; None unsets it there."""
    conf = _open(level)
    if name is None:
        conf.unset("core", "remote")
    else:
        name = name.lower()
        if name not in _merged_remotes(level or "repo") and conf.section(f"remote:{name}") is None:
            raise ConfigError(f"remote '{name}' doesn't exist: a default remote must be in the remote list",
                              hint="add it first with `dataver remote add`")
        conf.set("core", "remote", name)
    conf.save()
