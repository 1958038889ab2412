"""`check-ignore`: which `.dvcignore` pattern (if any) decides whether a path is ignored.

Follows DVC's rules so the answer (and the pattern it names) is the one `dvc check-ignore` gives:
patterns of a `.dvcignore` in a subdirectory are rebased onto the repo root and appended after
its parents' patterns; a path is tested prefix by prefix (an ignored directory ignores everything
below it); the last group of matching patterns decides, and within a run of consecutive exclude
patterns the first one that matches is reported.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from itertools import groupby

from dataver.workspace import DVCIGNORE

# Always ignored, whatever .dvcignore says (shown as ":PATTERN" since they come from no file).
DEFAULT_PATTERNS = (".hg/", ".git/", ".git", ".dvc/")


@dataclass(frozen=True)
class PatternInfo:
    """One pattern: ``text`` rebased onto the repo root, ``origin`` ``FILE:LINE:ORIGINAL``."""

    text: str
    origin: str

    def __str__(self) -> str:
        return self.origin or f":{self.text}"


@dataclass
class CheckResult:
    """``target`` as given; ``ignored``; ``patterns`` the deciding pattern (empty if none)."""

    target: str
    ignored: bool
    patterns: list[PatternInfo]


def _regex(pattern: str):
    try:
        from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern as Pattern
    except ImportError:  # pathspec < 1
        from pathspec.patterns import GitWildMatchPattern as Pattern
    return Pattern.pattern_to_regex(pattern)


class _Compiled:
    """Patterns grouped as DVC evaluates them: runs of (exclude?, directory-only?)."""

    def __init__(self, infos: list[PatternInfo]):
        items = []
        for info in infos:
            regex, include = _regex(info.text)
            if regex is not None and include is not None:
                items.append((re.compile(regex), include, info.text.endswith("/"), info))
        self.groups = [(key, list(grp)) for key, grp in groupby(items, key=lambda i: (i[1], i[2]))]
        self._memo: dict[tuple[str, bool], tuple[bool, list[PatternInfo]]] = {}

    def decide(self, path: str, is_dir: bool) -> tuple[bool, list[PatternInfo]]:
        key = (path, is_dir)
        if key not in self._memo:
            self._memo[key] = self._decide(path, is_dir)
        return self._memo[key]

    def _decide(self, path: str, is_dir: bool) -> tuple[bool, list[PatternInfo]]:
        candidates = [path, path + "/"] if is_dir and not path.endswith("/") else [path]
        for (exclude, dir_only), items in reversed(self.groups):
            if dir_only and not is_dir:
                continue
            # A run of excludes acts as one alternation: its first matching pattern is reported.
            ordered = items if exclude else list(reversed(items))
            for regex, _include, _d, info in ordered:
                if any(regex.match(c) for c in candidates):
                    return exclude, [info]
        return False, []

    def check(self, relpath: str, is_dir: bool) -> tuple[bool, list[PatternInfo]]:
        parts = relpath.split("/")
        found: list[PatternInfo] = []
        for i in range(1, len(parts) + 1):
            ignored, matched = self.decide("/".join(parts[:i]), is_dir or i < len(parts))
            if i < len(parts) and not ignored:
                continue
            found += matched
            if ignored:
                return True, found
        return False, found


def rebase(rule: str, rel_dir: str) -> str:
    """A pattern from ``rel_dir``/.dvcignore rewritten to match from the repo root (as DVC does)."""
    negate = rule.startswith("!")
    body = rule[1:] if negate else rule
    if "/" in body[:-1] and not body.startswith("**/"):  # anchored to its directory
        body = "/" + body.removeprefix("/").removeprefix("\\")
    else:  # matches at any depth below its directory
        body = "/**/" + body.removeprefix("**/").removeprefix("\\")
    if negate:
        return f"!/{rel_dir}{body}"
    return f"{rel_dir}{body}"


class IgnoreChecker:
    """Answers check-ignore questions for the repo at ``root``."""

    def __init__(self, root: str):
        self.root = root
        self._merged: dict[str, list[PatternInfo]] = {}
        self._compiled: dict[str, _Compiled] = {}

    def _own(self, rel_dir: str) -> list[PatternInfo]:
        path = os.path.join(self.root, rel_dir, DVCIGNORE)
        name = f"{rel_dir}/{DVCIGNORE}" if rel_dir else DVCIGNORE
        try:
            with open(path, encoding="utf-8") as fobj:
                lines = [line.strip() for line in fobj.readlines()]
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return []
        return [PatternInfo(rebase(line, rel_dir) if rel_dir else line, f"{name}:{n}:{line}")
                for n, line in enumerate(lines, start=1) if line and not line.startswith("#")]

    def merged(self, rel_dir: str) -> list[PatternInfo]:
        """Patterns in force in ``rel_dir`` ("" is the root), parents' first."""
        if rel_dir not in self._merged:
            if rel_dir == "":
                base = [PatternInfo(p, "") for p in DEFAULT_PATTERNS]
                self._merged[rel_dir] = base + self._own("")
            else:
                parent = rel_dir.rpartition("/")[0]
                inherited = self.merged(parent)
                # A .dvcignore that its parents ignore is never read (DVC does not walk there).
                hidden = self._compile(parent).check(f"{rel_dir}/{DVCIGNORE}", False)[0] or \
                    self._compile(parent).check(rel_dir, True)[0]
                self._merged[rel_dir] = inherited if hidden else inherited + self._own(rel_dir)
        return self._merged[rel_dir]

    def _compile(self, rel_dir: str) -> _Compiled:
        if rel_dir not in self._compiled:
            self._compiled[rel_dir] = _Compiled(self.merged(rel_dir))
        return self._compiled[rel_dir]

    def check(self, target: str) -> CheckResult:
        """Whether ``target`` (relative to the cwd, or absolute) is ignored, and by which pattern."""
        full = os.path.normpath(os.path.abspath(target))
        rel = os.path.relpath(full, self.root)
        if rel == "." or rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
            return CheckResult(target, False, [])
        rel = rel.replace(os.sep, "/")
        ignored, patterns = self._compile(rel.rpartition("/")[0]).check(rel, os.path.isdir(full))
        return CheckResult(target, ignored, patterns)


def check_ignore(repo, targets: list[str]) -> list[CheckResult]:
    """One :class:`CheckResult` per target."""
    checker = IgnoreChecker(repo.root)
    return [checker.check(t) for t in targets]
