"""The git plumbing the forward migration needs in the user's work tree: state checks (branch,
clean tree), index edits and the one commit. Paths are passed NUL-separated on stdin and taken
literally (no pathspec magic), so any file name works."""
from __future__ import annotations

import os
import subprocess

from dataver.errors import ScmError
from dataver.migrate.errors import RepoStateError

# Files `dataver init` creates and stages: a repository initialised but not yet committed may
# have them staged, and the migration commit takes them along.
INIT_FILES = (".dvc/config", ".dvc/.gitignore", ".dvcignore")


def run(root: str, *args: str, input: bytes | None = None, check: bool = True,
        config: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``git -C root [-c config]... args``; ScmError with git's last line on failure."""
    argv = ["git", "-C", root]
    for item in config:
        argv += ["-c", item]
    try:
        proc = subprocess.run([*argv, *args], input=input, capture_output=True, check=False)
    except FileNotFoundError:
        raise ScmError("git is not installed") from None
    if check and proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        name = next((a for a in args if not a.startswith("-")), "")
        raise ScmError(f"git {name} failed: {lines[-1] if lines else proc.returncode}")
    return proc


def toplevel(cwd: str) -> str:
    proc = run(cwd, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise RepoStateError("not inside a git repository", path=cwd,
                             hint="run the migration in the repository to convert")
    return os.path.realpath(proc.stdout.decode().strip())


def head(root: str) -> tuple[str, str]:
    """``(commit, branch)`` of HEAD; refuses a repository without commits or a detached HEAD."""
    proc = run(root, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
    if proc.returncode != 0:
        raise RepoStateError("the repository has no commit yet", hint="there is nothing to migrate")
    sha = proc.stdout.decode().strip()
    branch = run(root, "symbolic-ref", "-q", "--short", "HEAD", check=False).stdout.decode().strip()
    if not branch:
        raise RepoStateError(f"HEAD is detached (at {sha[:12]}): the migration commits on a branch",
                             hint="check out the branch to migrate (`git switch BRANCH`)")
    return sha, branch


def dirty(root: str) -> list[str]:
    """Paths of tracked files with uncommitted changes (staged or not), unmerged ones too.
    Untracked files do not count: the migration touches only tracked ones."""
    out = run(root, "status", "--porcelain=v1", "-z", "--untracked-files=no",
              "--ignore-submodules=none").stdout
    paths = []
    records = out.split(b"\0")
    i = 0
    while i < len(records):
        record = records[i]
        i += 1
        if len(record) < 4:
            continue
        paths.append(record[3:].decode("utf-8", "surrogateescape"))
        if record[:1] in (b"R", b"C"):  # a rename's source follows as its own record
            paths.append(records[i].decode("utf-8", "surrogateescape"))
            i += 1
    return paths


def check_clean(root: str, allowed: set[str] = frozenset()) -> None:
    """Refuse uncommitted changes to tracked files (except ``allowed`` paths)."""
    changed = [p for p in dirty(root) if p not in allowed]
    if changed:
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        raise RepoStateError(f"the work tree has uncommitted changes ({changed[0]}{more})",
                             hint="commit or stash them first: the migration commits on its own")


def new_init_files(root: str, commit: str) -> set[str]:
    """Those of :data:`INIT_FILES` that ``commit`` does not hold (a fresh `dataver init`)."""
    listed = run(root, "ls-tree", "-z", "--name-only", "--full-tree", commit, "--",
                 *INIT_FILES).stdout.decode("utf-8", "surrogateescape").split("\0")
    return set(INIT_FILES) - set(listed)


def _nul(paths) -> bytes:
    return b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)


def unstage(root: str, paths: list[str]) -> None:
    """Remove ``paths`` from the index (the work tree is left as it is)."""
    for start in range(0, len(paths), 10000):
        run(root, "update-index", "--force-remove", "-z", "--stdin", input=_nul(paths[start:start + 10000]))


def stage(root: str, paths: list[str]) -> None:
    """`git add` ``paths`` (deleted ones are staged as deletions). git-annex is told not to
    take them (a repository with annex.largefiles set would otherwise annex a .dvc file)."""
    if paths:
        run(root, "--literal-pathspecs", "add", "-f", "-A", "--pathspec-from-file=-",
            "--pathspec-file-nul", input=_nul(paths), config=("annex.gitaddtoannex=false",))


def commit(root: str, message: str) -> str:
    """Commit the index; the new commit's id. Hooks are skipped: the commit holds only what the
    migration wrote, and a hook of the old storage (LFS, annex) has nothing to do with it."""
    run(root, "commit", "-q", "--no-verify", "-m", message)
    return run(root, "rev-parse", "HEAD").stdout.decode().strip()
