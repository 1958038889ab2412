"""Git integration through the `git` command: .gitignore entries, staging, tracked checks."""
from __future__ import annotations

import os
import subprocess

from dataver.errors import ScmError


def find_git_root(start: str) -> str | None:
    """The top of the git work tree containing ``start``, or None."""
    path = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


class Git:
    """A git work tree at ``root``."""

    def __init__(self, root: str):
        self.root = root

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(
                ["git", *args], cwd=self.root, capture_output=True, input=input, check=False
            )
        except FileNotFoundError:
            raise ScmError("git is not installed", hint="install git or use --no-scm") from None
        if check and proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise ScmError(f"git {args[0]} failed: {err[-1] if err else proc.returncode}")
        return proc

    def add(self, paths: list[str]) -> None:
        """Stage ``paths`` (absolute or root-relative)."""
        if paths:
            rel = [os.path.relpath(p, self.root) for p in paths]
            self.run("add", "--", *rel)

    def is_tracked(self, path: str) -> bool:
        """Whether git tracks ``path`` (or anything under it)."""
        rel = os.path.relpath(path, self.root)
        proc = self.run("ls-files", "-z", "--", rel, check=False)
        return proc.returncode == 0 and bool(proc.stdout.strip(b"\0"))

    def is_ignored(self, path: str) -> bool:
        rel = os.path.relpath(path, self.root)
        return self.run("check-ignore", "-q", "--", rel, check=False).returncode == 0


class NoScm:
    """Stand-in used with ``core.no_scm`` or outside git: every operation is a no-op."""

    root = None

    def add(self, paths: list[str]) -> None:
        pass

    def is_tracked(self, path: str) -> bool:
        return False

    def is_ignored(self, path: str) -> bool:
        return False


def _gitignore_entry(out_abspath: str) -> tuple[str, str]:
    parent, name = os.path.split(out_abspath)
    # Escape characters special to gitignore so the entry matches the literal name.
    escaped = "".join("\\" + c if c in "*?[]!#" else c for c in name)
    if escaped.startswith(" "):
        escaped = "\\" + escaped
    return os.path.join(parent, ".gitignore"), "/" + escaped


def ignore(out_abspath: str) -> str | None:
    """Add ``/name`` to the .gitignore beside ``out_abspath``; returns the .gitignore path if changed."""
    gitignore, entry = _gitignore_entry(out_abspath)
    lines: list[str] = []
    if os.path.exists(gitignore):
        with open(gitignore, encoding="utf-8") as fobj:
            content = fobj.read()
        lines = content.splitlines()
        if entry in lines:
            return None
        prefix = content if content.endswith("\n") or not content else content + "\n"
    else:
        prefix = ""
    _write_atomic(gitignore, prefix + entry + "\n")
    return gitignore


def unignore(out_abspath: str) -> str | None:
    """Remove the ``/name`` line written by :func:`ignore`; deletes an emptied .gitignore."""
    gitignore, entry = _gitignore_entry(out_abspath)
    if not os.path.exists(gitignore):
        return None
    with open(gitignore, encoding="utf-8") as fobj:
        lines = fobj.read().splitlines()
    if entry not in lines:
        return None
    kept = [line for line in lines if line != entry]
    if kept:
        _write_atomic(gitignore, "\n".join(kept) + "\n")
    else:
        os.unlink(gitignore)
    return gitignore


def _write_atomic(path: str, text: str) -> None:
    tmp = path + ".dataver.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fobj:
        fobj.write(text)
    os.replace(tmp, path)
