"""Whether an import's source moved on: `status` reports ``update available`` for an import
`.dvc` file whose locked commit is no longer what its ``rev`` (default: the source's HEAD)
names, as ``dvc status`` does (``--no-updates`` skips the check).

The source is asked with `git ls-remote` (no clone) when the revision is a branch, a tag or
HEAD; only a revision git cannot find among the refs is resolved in a clone."""
from __future__ import annotations

import os
import re

_SHA = re.compile(r"[0-9a-f]{7,40}")


def repo_dep(dfile):
    """The one ``deps`` entry of an import `.dvc` file (``path`` with ``repo: {url, ...}``),
    or None for any other file."""
    deps = dfile.deps
    if len(deps) == 1 and isinstance(deps[0], dict) and isinstance(deps[0].get("repo"), dict):
        return deps[0]
    return None


def update_status(dfile) -> dict[str, str]:
    """``{"PATH (URL)": "update available"}`` when the import's source moved, else ``{}``."""
    dep = repo_dep(dfile)
    if dep is None:
        return {}
    info = dep["repo"]
    locked = info.get("rev_lock") or info.get("rev")
    rev = info.get("rev")
    if locked is None:  # `import --no-exec`: nothing locked yet, DVC reports no update
        return {}
    current = _current_commit(str(info["url"]), rev, info)
    if current is None or current == locked:
        return {}
    return {f"{dep['path']} ({info['url']})": "update available"}


def _current_commit(url: str, rev: str | None, info) -> str | None:
    """The commit ``rev`` (None: HEAD) names in the source now; None for a fixed commit."""
    found = _ls_remote(url, rev or "HEAD")
    if found is not None:
        return found
    if rev is not None and _SHA.fullmatch(rev):
        return None  # a commit id names the same commit forever
    from dataver.external import open_repo, recorded_overrides

    with open_repo(url, rev, **recorded_overrides(info)) as (src, use_rev):
        return src.scm.resolve_rev(use_rev or "HEAD")


def _ls_remote(url: str, rev: str) -> str | None:
    """The commit of ref ``rev`` (a branch, tag or HEAD) at ``url``, or None if no ref has
    that name (or git cannot ask)."""
    import subprocess

    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    proc = subprocess.run(["git", "ls-remote", "--", url, rev], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        return None
    refs = dict(reversed(line.split("\t", 1)) for line in proc.stdout.splitlines() if "\t" in line)
    names = ["HEAD"] if rev == "HEAD" else [f"refs/heads/{rev}", f"refs/tags/{rev}^{{}}",
                                            f"refs/tags/{rev}"]  # a tag's commit, not the tag
    return next((refs[name] for name in names if name in refs), None)
