"""DVC-compatible configuration: four levels (system, global, repo, local), later wins.

Files are INI in configobj's dialect, so files written here are the ones DVC writes. Relative
paths (``cache.dir``, local remote URLs) are relative to the directory of the file that holds them.
"""
from __future__ import annotations

import os
import re

from dataver.errors import ConfigError, RemoteError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

LEVELS = ("system", "global", "repo", "local")
LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
_REMOTE_SECTION = re.compile(r'^remote\s+"(?P<name>[^"]+)"$')
_OTHER_NAMED = re.compile(r'^(?:machine|db)\s+"[^"]+"$')  # kept as they are, unchecked
_BOOL_KEYS = {
    "core": {"autostage", "no_scm", "check_update", "analytics", "hardlink_lock", "interactive"},
    "cache": {"slow_link_warning", "verify", "protected"},
    "feature": {"card_auto"},  # dataver's `card.auto` (see dataver.ops.config.ALIASES)
}
# The options of each plain section, as DVC 3's config schema lists them: DVC refuses any other
# (but in ``feature``, whose unknown options it only warns about), so dataver does too.
_KNOWN = {
    "core": {"remote", "autostage", "no_scm", "check_update", "analytics", "hardlink_lock",
             "interactive", "site_cache_dir", "experiments", "checksum_jobs", "machine"},
    "cache": {"dir", "type", "shared", "protected", "slow_link_warning", "verify", "local",
              "ssh", "s3", "gs", "hdfs", "webhdfs", "azure"},
    "state": {"dir", "row_limit", "row_cleanup_quota"},
    "index": {"dir"},
    "plots": {"html_template", "auto_open", "out_dir"},
    "exp": {"code", "data", "models", "metrics", "params", "plots", "live", "auto_push",
            "git_remote"},
    "parsing": {"bool", "list"},
    "hydra": {"enabled", "config_dir", "config_module", "config_name", "plugins_path"},
    "studio": {"token", "url", "repo_url", "offline"},
}
_PATH_KEYS = {("cache", "dir")}


def truthy(value: Any) -> bool:
    """A remote or fs_config option read as a flag, as the remote registry reads them
    (``true``, ``1``, ``yes``, ``on``; a YAML boolean)."""
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def _to_bool(section: str, key: str, value: Any) -> bool:
    # Only true and false, in any case, as DVC's schema takes them ("yes" or "1" break DVC).
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ConfigError(f"'{section}.{key}' must be true or false, not {value!r}",
                      hint="write true or false")


def level_path(level: str, dvc_dir: str | None) -> str | None:
    """The config file of ``level`` (None for repo levels outside a repo)."""
    if level == "system":
        base = os.environ.get("DVC_SYSTEM_CONFIG_DIR") or "/etc/xdg/dvc"
        return os.path.join(base, "config")
    if level == "global":
        base = os.environ.get("DVC_GLOBAL_CONFIG_DIR") or os.path.join(
            os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "dvc"
        )
        return os.path.join(base, "config")
    if dvc_dir is None:
        return None
    return os.path.join(dvc_dir, "config" if level == "repo" else "config.local")


def is_url(value: str) -> bool:
    """Whether ``value`` has a ``scheme://`` prefix."""
    return re.match(r"^\w+://", value) is not None


def resolve_path(value: str, conf_dir: str) -> str:
    """Make a path from a config file absolute, relative to ``conf_dir`` (URLs pass through)."""
    if is_url(value):
        return value
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return expanded
    return os.path.abspath(os.path.join(conf_dir, expanded))


def load_file(path: str) -> dict[str, dict[str, Any]]:
    """Read one config file into ``{section: {key: value}}``; remote sections become
    ``remote:NAME``. Missing file -> empty dict."""
    from configobj import ConfigObj, ConfigObjError

    try:
        with open(path, "rb") as fobj:
            conf = ConfigObj(fobj, encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (ConfigObjError, UnicodeDecodeError) as exc:  # configobj's text spans lines: one line
        raise ConfigError(f"cannot parse config ({' '.join(str(exc).split())})", path=path,
                          hint="fix the file") from None
    result: dict[str, dict[str, Any]] = {}
    for section, values in conf.items():
        if not isinstance(values, dict):
            raise ConfigError(f"option {section!r} is outside any section", path=path,
                              hint="put it under its [section], or remove it")
        result[_section_key(section.strip(), path)] = {k.lower(): v for k, v in values.items()}
    return result


class ParsedFiles:
    """Config files as last parsed, kept in ``.dvc/tmp/dataver/config.marshal`` by path with
    their (inode, mtime_ns, size): reading an unchanged file again costs a ``stat`` instead of
    importing configobj, whose regular expressions alone are ~3 ms of every command's start-up.
    Machine-local like the state db; anything unreadable is parsed afresh."""

    def __init__(self, dvc_dir: str | None):
        # only inside an existing repo: never create a `.dvc` directory by reading config
        in_repo = dvc_dir is not None and os.path.isdir(dvc_dir)
        self.store = os.path.join(dvc_dir, "tmp", "dataver", "config.marshal") if in_repo else None
        self.entries = self._read()
        self.changed = False

    def _read(self) -> dict:
        from dataver.atomic import load_marshal

        entries = load_marshal(self.store) if self.store is not None else None
        return entries if isinstance(entries, dict) else {}

    def load(self, path: str) -> dict[str, dict[str, Any]]:
        """:func:`load_file` of ``path``, from the store while the file is unchanged."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return {}
        except OSError:  # say it the way load_file does
            return load_file(path)
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = self.entries.get(path)
        if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == key and isinstance(hit[1], dict):
            return hit[1]
        parsed = load_file(path)
        if self.store is not None and _plain(parsed):
            self.entries[path] = (key, parsed)
            self.changed = True
        return parsed

    def save(self) -> None:
        """Write the store if something was parsed afresh; best effort."""
        if not self.changed:
            return
        from dataver.atomic import save_marshal

        save_marshal(self.store, self.entries)
        self.changed = False


def _plain(parsed: dict) -> bool:
    """Whether every value is a string or a list of strings (what can be stored as is)."""
    return all(isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
               for values in parsed.values() for v in values.values())


def _section_key(section: str, path: str) -> str:
    match = _REMOTE_SECTION.match(section)
    if match:
        return "remote:" + match.group("name")
    return section.lower()


def _section_name(key: str) -> str:
    if key.startswith("remote:"):
        return f'remote "{key[7:]}"'
    return key


# Where values given in code (the API's ``config=`` / ``remote_config=``) come from, for errors.
OVERRIDE = "override"
# The remote ``remote_config`` describes when no remote is named and none is the default.
UNNAMED_REMOTE = "remote_config"


class Config:
    """Merged configuration of a repo (or of the user only, outside a repo).

    ``overrides`` is DVC's ``config=`` dict (``{"core": {...}, "remote": {NAME: {...}}, ...}``),
    merged over every level; ``remote`` becomes ``core.remote``; ``remote_config`` is merged into
    that remote's section. None of them is written anywhere. ``remotes_checked=False`` accepts
    a remote section without a url (it fails only when that remote is used): reading data that
    is in the cache needs no remote."""

    def __init__(self, dvc_dir: str | None, overrides: dict | None = None,
                 remote: str | None = None, remote_config: dict | None = None,
                 remotes_checked: bool = True):
        self.dvc_dir = dvc_dir
        self.remotes_checked = remotes_checked
        self.files: dict[str, str | None] = {lvl: level_path(lvl, dvc_dir) for lvl in LEVELS}
        self.files[OVERRIDE] = "config given in code"
        self.overrides, self.remote, self.remote_config = overrides, remote, remote_config
        self.merged: dict[str, dict[str, Any]] = {}
        self.origin: dict[tuple[str, str], str] = {}  # (section, key) -> level that set it
        self.reload()

    def reload(self) -> None:
        self.merged, self.origin = {}, {}
        parsed = ParsedFiles(self.dvc_dir)
        for level in LEVELS:
            path = self.files[level]
            if path is None:
                continue
            for section, values in parsed.load(path).items():
                for key, value in values.items():
                    if _is_path(section, key):
                        value = resolve_path(str(value), os.path.dirname(os.path.abspath(path)))
                    self.merged.setdefault(section, {})[key] = value
                    self.origin[(section, key)] = level
        parsed.save()
        self._apply_overrides()
        self.validate()

    def _apply_overrides(self) -> None:
        """Merge the values given in code, in DVC's order: ``config=``, then ``remote=`` as the
        default remote, then ``remote_config=`` into the default remote's section."""
        self._merge(_override_sections(self.overrides))
        if self.remote:
            self._merge([("core", {"remote": self.remote})])
        if self.remote_config:
            options = _mapping(self.remote_config, "remote_config")
            name = self.get("core", "remote") or self._unnamed_remote(options)
            self._merge([("remote:" + str(name), options)])

    def _merge(self, sections: list[tuple[str, dict]]) -> None:
        # Relative paths given in code are relative to the working directory, as DVC takes them.
        for section, values in sections:
            for key, value in values.items():
                key = str(key).lower()
                if _is_path(section, key):
                    value = resolve_path(str(value), os.getcwd())
                self.merged.setdefault(section, {})[key] = value
                self.origin[(section, key)] = OVERRIDE

    def _unnamed_remote(self, options: dict) -> str:
        """No remote named and no default: ``remote_config`` is a remote of its own (it needs a
        url), made the default."""
        if not options.get("url"):
            raise ConfigError("remote_config names no remote and has no 'url'",
                              hint="pass remote=NAME, set a default remote, or give a url")
        self._merge([("core", {"remote": UNNAMED_REMOTE})])
        return UNNAMED_REMOTE

    def validate(self) -> None:
        """Check sections, keys and value types as DVC does; raise ConfigError naming the file."""
        for section, values in self.merged.items():
            self._check_section(section, values)
            for key, value in values.items():
                where = self.files[self.origin[(section, key)]]
                if section in _KNOWN and key not in _KNOWN[section]:
                    raise ConfigError(f"unknown option '{section}.{key}'", path=where, hint="remove it")
                if key in _BOOL_KEYS.get(section, ()):
                    try:
                        _to_bool(section, key, value)
                    except ConfigError as exc:
                        raise ConfigError(exc.message, path=where, hint=exc.hint) from None
        for kind in self.link_types():
            if kind not in LINK_TYPES:
                where = self.files[self.origin[("cache", "type")]]
                raise ConfigError(
                    f"unknown cache.type {kind!r}", path=where, hint="use " + ", ".join(LINK_TYPES)
                )

    def _check_section(self, section: str, values: dict) -> None:
        """Refuse a section DVC does not know, and a remote without a url (DVC refuses both)."""
        if not values:
            return
        where = self.files[self.origin[(section, next(iter(values)))]]
        kind, named, name = section.partition(":")
        if named and kind == "remote" and not values.get("url") and self.remotes_checked:
            raise ConfigError(f"remote '{name}' has no url", path=where,
                              hint=f"set one with `dataver remote modify {name} url URL`, "
                                   "or remove the section")
        if not named and kind not in PLAIN_SECTIONS and not _OTHER_NAMED.match(kind):
            raise ConfigError(f"unknown section '{_section_name(section)}'", path=where,
                              hint="remove it, or fix its name")

    def missing_remote(self, name: str) -> RemoteError:
        """The error for a remote ``name`` that is not configured; when it is the default
        remote, naming the config file that sets ``core.remote``."""
        if name != str(self.get("core", "remote")):
            return RemoteError(f"remote '{name}' does not exist", hint="see `dataver remote list`")
        where = self.files[self.origin[("core", "remote")]]
        return RemoteError(f"the default remote (core.remote) '{name}' does not exist", path=where,
                           hint=f"add it with `dataver remote add {name} URL`, or set core.remote "
                                "to one that `dataver remote list` shows")

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.merged.get(section, {}).get(key, default)

    def get_bool(self, section: str, key: str, default: bool = False) -> bool:
        value = self.get(section, key)
        return default if value is None else _to_bool(section, key, value)

    def link_types(self) -> list[str]:
        """``cache.type`` as a list, in the order to try (DVC default: reflink, then copy)."""
        value = self.get("cache", "type")
        if value is None:
            return ["reflink", "copy"]
        items = value if isinstance(value, list) else str(value).split(",")
        return [item.strip() for item in items if item.strip()]

    def remotes(self) -> dict[str, dict[str, Any]]:
        """Every configured remote: name -> options (url resolved)."""
        return {s[7:]: dict(v) for s, v in self.merged.items() if s.startswith("remote:")}


def _is_path(section: str, key: str) -> bool:
    """Whether the option holds a path (relative ones are resolved against where it was set)."""
    return (section, key) in _PATH_KEYS or (section.startswith("remote:") and key == "url")


def _mapping(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a dict, not {type(value).__name__}",
                          hint='e.g. {"remote": {"NAME": {"url": "..."}}, "core": {"remote": "NAME"}}')
    return value


def _override_sections(overrides: dict | None) -> list[tuple[str, dict]]:
    """DVC's nested ``config=`` dict as ``[(section key, options)]`` (``remote:NAME`` for
    ``{"remote": {NAME: {...}}}``)."""
    result = []
    for section, values in _mapping(overrides or {}, "config").items():
        section = str(section).lower()
        values = _mapping(values, f"config[{section!r}]")
        if section == "remote":
            result += [(f"remote:{name}", _mapping(opts, f"config['remote'][{name!r}]"))
                       for name, opts in values.items()]
        else:
            result.append((section, values))
    return result


class ConfigFile:
    """One level's file opened for editing; ``save()`` writes it in configobj's format."""

    def __init__(self, path: str):
        from configobj import ConfigObj, ConfigObjError

        self.path = path
        try:
            self.conf = ConfigObj(path if os.path.exists(path) else None, encoding="utf-8")
        except ConfigObjError as exc:
            raise ConfigError(f"cannot parse config ({exc})", path=path) from None
        self.conf.filename = path

    def _find_section(self, key: str):
        wanted = _section_name(key)
        for name in self.conf:
            if _section_key(name.strip(), self.path) == key:
                return name
        return wanted

    def get(self, section: str, key: str) -> Any:
        name = self._find_section(section)
        return self.conf.get(name, {}).get(key)

    def set(self, section: str, key: str, value: Any) -> None:
        name = self._find_section(section)
        if name not in self.conf:
            self.conf[name] = {}
        self.conf[name][key] = value

    def unset(self, section: str, key: str) -> bool:
        """Remove an option; drops the section when empty. Returns whether it existed."""
        name = self._find_section(section)
        if name not in self.conf or key not in self.conf[name]:
            return False
        del self.conf[name][key]
        if not self.conf[name]:
            del self.conf[name]
        return True

    def sections(self) -> list[str]:
        return [_section_key(name.strip(), self.path) for name in self.conf]

    def section(self, key: str) -> dict[str, Any] | None:
        name = self._find_section(key)
        return dict(self.conf[name]) if name in self.conf else None

    def remove_section(self, key: str) -> None:
        name = self._find_section(key)
        self.conf.pop(name, None)

    def rename_section(self, old: str, new: str) -> None:
        name = self._find_section(old)
        self.conf.rename(name, _section_name(new))

    def save(self) -> None:
        """Write atomically (temp file + rename) exactly as DVC writes a config it edited: the
        data only (comments dropped), 4-space indented, plain sections first, then ``remote``,
        ``machine`` and ``db`` ones. An emptied config is a lone newline, as DVC leaves it."""
        from configobj import ConfigObj

        out = ConfigObj(encoding="utf-8")
        out.indent_type = "    "
        for key in self.conf.scalars:
            out[key] = self.conf[key]
        for name in sorted(self.conf.sections, key=_section_rank):
            out[name] = self.conf[name].dict()
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as fobj:
            out.write(fobj)
        os.replace(tmp, self.path)


def _section_rank(name: str) -> int:
    for rank, kind in enumerate(NAMED_SECTIONS, start=1):
        if re.match(rf'^\s*{kind}\s+"', name):
            return rank
    return 0


# Sections `dvc config` accepts, besides the named ones (``remote "x"``, ``machine "x"``, ``db "x"``).
PLAIN_SECTIONS = ("core", "cache", "state", "index", "feature", "plots", "exp", "parsing", "hydra",
                  "studio")
NAMED_SECTIONS = ("remote", "machine", "db")
# Options holding local paths: relative values are relative to the config file's directory.
PATH_OPTIONS = {
    "cache": {"dir"},
    "remote": {"url", "gdrive_user_credentials_file", "gdrive_service_account_json_file_path",
               "credentialpath", "configpath", "keyfile", "cert_path", "key_path"},
    "machine": {"startup_script", "setup_script"},
}


def check_option(section: str, key: str, value: Any, where: str | None = None) -> None:
    """Validate one value about to be written (``section`` is ``core``, ``remote:NAME``, ...);
    raises ConfigError the way DVC's schema refuses it."""
    if section in _KNOWN and key not in _KNOWN[section]:
        raise ConfigError(f"unknown option '{section}.{key}'", path=where,
                          hint="see `dataver config --help` for the known options")
    if key in _BOOL_KEYS.get(section, ()) and str(value).strip().lower() not in ("true", "false"):
        raise ConfigError(f"'{section}.{key}' must be true or false, not {value!r}", path=where)
    if (section, key) == ("cache", "type"):
        items = value if isinstance(value, list) else str(value).split(",")
        bad = [item.strip() for item in items if item.strip() not in LINK_TYPES]
        if bad:
            raise ConfigError(f"unsupported cache.type {', '.join(bad)}", path=where,
                              hint="use " + ", ".join(LINK_TYPES))
    if (section, key) == ("cache", "shared") and str(value).lower() != "group":
        raise ConfigError(f"cache.shared must be 'group', not {value!r}", path=where)
