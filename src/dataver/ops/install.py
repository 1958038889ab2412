"""`install`: git hooks so data follows git. post-checkout checks data out on a branch switch,
pre-commit shows status, pre-push pushes.

A hook file that already exists is kept: dataver's lines go in a marked block appended to it
(re-running replaces the block, so install is idempotent). A hook that DVC installed (``exec dvc
git-hook ...``) is replaced, since it does the same job through ``dvc``.
"""
from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from dataclasses import dataclass, field

from dataver.errors import ScmError

HOOKS = ("post-checkout", "pre-commit", "pre-push")
BEGIN, END = "# >>> dataver hook >>>", "# <<< dataver hook <<<"
_DVC_HOOK = re.compile(r"\A#!\S*sh\s*\nexec dvc git-hook [\w-]+ \$@\s*\Z")


@dataclass
class InstallResult:
    """Hook files written (absolute paths), and those that already had other content."""

    written: list[str] = field(default_factory=list)
    chained: list[str] = field(default_factory=list)


def hooks_dir(repo) -> str:
    """The hooks directory git uses (honours core.hooksPath and worktrees)."""
    root = getattr(repo.scm, "root", None)
    if root is None:
        raise ScmError("cannot install git hooks: not a git repository", hint="run `git init` first")
    proc = subprocess.run(["git", "rev-parse", "--git-path", "hooks"], cwd=root,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ScmError("cannot find the git hooks directory", hint=proc.stderr.strip() or None)
    return os.path.join(root, proc.stdout.strip())


def block(hook: str) -> str:
    """dataver's lines for ``hook``: run with this interpreter, so the hook finds this install."""
    command = f"{shlex.quote(sys.executable)} -m dataver git-hook {hook} \"$@\""
    return f"{BEGIN}\n{command} || exit $?\n{END}\n"


def install(repo) -> InstallResult:
    """Write or update the three hooks; returns what was done."""
    directory = hooks_dir(repo)
    os.makedirs(directory, exist_ok=True)
    result = InstallResult()
    for hook in HOOKS:
        path = os.path.join(directory, hook)
        old = _read(path)
        new, chained = merged(old, hook)
        if new != old:
            _write(path, new)
            result.written.append(path)
        if chained:
            result.chained.append(path)
    return result


def merged(old: str | None, hook: str) -> tuple[str, bool]:
    """The hook file's new content, and whether it keeps someone else's lines."""
    ours = block(hook)
    if old is None or not old.strip() or _DVC_HOOK.match(old):
        return "#!/bin/sh\n" + ours, False
    if BEGIN in old and END in old:
        start = old.index(BEGIN)
        end = old.index(END) + len(END)
        rest = old[end:].lstrip("\n")
        new = old[:start] + ours + rest
    else:
        new = old + ("" if old.endswith("\n") else "\n") + ours
    return new, new.replace(ours, "").strip() != "#!/bin/sh"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fobj:
            return fobj.read()
    except FileNotFoundError:
        return None


def _write(path: str, text: str) -> None:
    tmp = f"{path}.dataver.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fobj:
        fobj.write(text)
    mode = os.stat(path).st_mode if os.path.exists(path) else 0o644
    os.chmod(tmp, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(tmp, path)


def run_hook(hook: str, args: list[str]) -> list[str] | None:
    """The dataver command a hook runs (None: nothing to do), following git's arguments.

    post-checkout only acts on a branch switch (flag ``1``) outside a rebase, like DVC's."""
    if hook == "pre-commit":
        return ["status"]
    if hook == "pre-push":
        return ["push"]
    if hook == "post-checkout":
        flag = os.environ.get("PRE_COMMIT_CHECKOUT_TYPE") or (args[2] if len(args) >= 3 else None)
        if flag != "1" or os.path.isdir(os.path.join(".git", "rebase-merge")):
            return None
        return ["checkout"]
    raise ScmError(f"unknown git hook '{hook}'", hint=f"one of {', '.join(HOOKS)}")
