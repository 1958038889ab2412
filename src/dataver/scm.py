"""Git integration through the `git` command: .gitignore entries, staging, tracked checks, and
reading history (revisions, files at a revision, branch/tag/commit lists)."""
from __future__ import annotations

import os

from dataver.atomic import write_text_atomic
from dataver.errors import ScmError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataver.git_batch import Completed


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
        self._cat_file = None

    def lookup(self, names: list[str]) -> list[tuple[str, str, bytes] | None]:
        """``(sha, type, content)`` of each git object name (None: unknown), through one
        long-lived `git cat-file --batch`."""
        if self._cat_file is None:
            from dataver.git_batch import CatFile

            self._cat_file = CatFile(self.root)
        try:
            return self._cat_file.get_many(names)
        except FileNotFoundError:
            raise ScmError("git is not installed", hint="install git or use --no-scm") from None
        except OSError as exc:
            self.close()
            raise ScmError(f"git cat-file failed: {exc}") from None

    def close(self) -> None:
        """End the long-lived git process, if one was started."""
        if self._cat_file is not None:
            self._cat_file.close()
            self._cat_file = None

    def run(self, *args: str, check: bool = True) -> Completed:
        """Run ``git *args`` in the work tree; raises ScmError if it fails (with ``check``)."""
        from dataver import git_batch  # lazy: commands that never call git start faster

        try:
            proc = git_batch.run(self.root, list(args))
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

    def unstaged(self, paths: list[str]) -> list[str]:
        """Those of ``paths`` whose work-tree state git has not staged: changed since, or not
        tracked yet (ignored files are not listed)."""
        if not paths:
            return []
        rel = [os.path.relpath(p, self.root) for p in paths]
        out = self.run("status", "--porcelain", "-z", "--untracked-files=all", "--", *rel).stdout.decode()
        found = {entry[3:] for entry in out.split("\0") if len(entry) > 3 and entry[1] != " "}
        return [path for path, r in zip(paths, rel) if r.replace(os.sep, "/") in found]

    def is_tracked(self, path: str) -> bool:
        """Whether git tracks ``path`` (or anything under it)."""
        rel = os.path.relpath(path, self.root)
        proc = self.run("ls-files", "-z", "--", rel, check=False)
        return proc.returncode == 0 and bool(proc.stdout.strip(b"\0"))

    def is_ignored(self, path: str) -> bool:
        rel = os.path.relpath(path, self.root)
        return self.run("check-ignore", "-q", "--", rel, check=False).returncode == 0

    # --- history -------------------------------------------------------------------------
    def has_commits(self) -> bool:
        return self.lookup(["HEAD^{commit}"])[0] is not None

    def resolve_rev(self, rev: str) -> str:
        """The commit sha ``rev`` names; raises ScmError for an unknown revision."""
        found = self.lookup([f"{rev}^{{commit}}"])[0]
        if found is None:
            raise ScmError(f"unknown Git revision '{rev}'", hint="check the name with `git log`")
        return found[0]

    def ls_tree(self, sha: str, prefix: str = "") -> list[tuple[str, str, str, str, int | None]]:
        """``(path, type, object, mode, size)`` for every entry below ``prefix`` at commit ``sha``
        (recursive, trees included; paths relative to the git root, ``/``-separated)."""
        args = ["ls-tree", "-r", "-t", "-l", "-z", "--full-tree", sha]
        if prefix:
            args += ["--", prefix]
        out = self.run(*args).stdout.decode("utf-8", "surrogateescape")
        entries = []
        for record in out.split("\0"):
            if not record:
                continue
            meta, _, path = record.partition("\t")
            mode, kind, obj, size = meta.split()
            entries.append((path, kind, obj, mode, None if size == "-" else int(size)))
        return entries

    def ls_files(self) -> list[str]:
        """Work-tree files git tracks or would track (not ignored), relative to the git root."""
        out = self.run("ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]

    def read_blobs(self, objects: list[str]) -> dict[str, bytes]:
        """Contents of many git objects by sha; raises ScmError if one is missing."""
        unique = list(dict.fromkeys(objects))
        result = {}
        for obj, found in zip(unique, self.lookup(unique)):
            if found is None:
                raise ScmError(f"git object {obj} is missing")
            result[obj] = found[2]
        return result

    def show(self, sha: str, path: str) -> bytes | None:
        """The bytes of ``path`` (git-root relative) at commit ``sha``, or None if absent."""
        if "\n" in path:  # cannot go down cat-file's line-based pipe
            proc = self.run("cat-file", "blob", f"{sha}:{path}", check=False)
            return proc.stdout if proc.returncode == 0 else None
        found = self.lookup([f"{sha}:{path}"])[0]
        return found[2] if found is not None and found[1] == "blob" else None

    def branches(self) -> list[str]:
        """Local branch names."""
        return self._refs("refs/heads/")

    def tags(self) -> list[str]:
        return self._refs("refs/tags/")

    def _refs(self, prefix: str) -> list[str]:
        out = self.run("for-each-ref", "--format=%(refname)", prefix).stdout.decode()
        return [line[len(prefix):] for line in out.splitlines() if line]

    def all_commits(self) -> list[str]:
        """Every commit reachable from any ref."""
        if not self.has_commits():
            return []
        return self.run("rev-list", "--all").stdout.decode().split()

    def first_parents(self, rev: str, num: int) -> list[str]:
        """``rev`` and up to ``num - 1`` commits before it along first parents (``rev~1``,
        ``rev~2``, ...: what DVC walks for ``gc -n``)."""
        sha = self.resolve_rev(rev)
        return self.run("rev-list", "--first-parent", f"--max-count={num}", sha).stdout.decode().split()

    def experiment_commits(self) -> list[str]:
        """The commits of DVC's experiments, as ``gc --all-experiments`` keeps them: for each
        ref ``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>``, its commit and its first parents
        back to (not including) the baseline. DVC's own working refs below ``refs/exps`` (stash,
        apply, exec, celery, temp) are not experiments."""
        out = self.run("for-each-ref", "--format=%(refname)", "refs/exps/").stdout.decode()
        result: dict[str, None] = {}
        for ref in out.split():
            parts = ref.split("/")
            if parts[2] in _EXP_WORK or len(parts) not in (4, 5):
                continue
            baseline = parts[2] + parts[3]
            walk = self.run("rev-list", "--first-parent", "--parents", ref).stdout.decode()
            for line in walk.splitlines():
                sha, *parents = line.split()
                result[sha] = None
                if not parents or parents[0] == baseline:
                    break
        return list(result)

    def commits_since(self, timestamp: float) -> list[str]:
        """Every commit reachable from any ref whose committer time is at or after ``timestamp``."""
        if not self.has_commits():
            return []
        out = self.run("log", "--all", "--format=%H %ct").stdout.decode().split("\n")
        return [sha for sha, _, ct in (line.partition(" ") for line in out if line)
                if int(ct) >= timestamp]

    def current_branch(self) -> str | None:
        proc = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return proc.stdout.decode().strip() or None


class NoScm:
    """Stand-in used with ``core.no_scm`` or outside git: every operation is a no-op."""

    root = None

    def close(self) -> None:
        pass

    def add(self, paths: list[str]) -> None:
        pass

    def unstaged(self, paths: list[str]) -> list[str]:
        return []

    def is_tracked(self, path: str) -> bool:
        return False

    def is_ignored(self, path: str) -> bool:
        return False

    def has_commits(self) -> bool:
        return False

    def resolve_rev(self, rev: str) -> str:
        raise ScmError(f"cannot use revision '{rev}' without git", hint="run inside a git repository")

    def branches(self) -> list[str]:
        return []

    def tags(self) -> list[str]:
        return []

    def all_commits(self) -> list[str]:
        return []

    def first_parents(self, rev: str, num: int) -> list[str]:
        return [self.resolve_rev(rev)]

    def experiment_commits(self) -> list[str]:
        return []

    def commits_since(self, timestamp: float) -> list[str]:
        return []


_EXP_WORK = {"stash", "apply", "exec", "celery", "temp"}  # DVC's working refs below refs/exps/


def _gitignore_entry(out_abspath: str) -> tuple[str, str]:
    parent, name = os.path.split(out_abspath)
    # Escape the characters DVC escapes (its gitignore writer's set), so the line is the same
    # bytes `dvc add` writes; the leading "/" already protects a leading space or "#".
    escaped = "".join("\\" + c if c in "\\[]!*#?" else c for c in name)
    return os.path.join(parent, ".gitignore"), "/" + escaped


def is_listed(out_abspath: str) -> bool:
    """Whether the .gitignore beside ``out_abspath`` already has the line :func:`ignore` writes
    (a read of one small file: cheaper than asking git)."""
    gitignore, entry = _gitignore_entry(out_abspath)
    try:
        with open(gitignore, encoding="utf-8") as fobj:
            return entry in fobj.read().splitlines()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return False


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
    write_text_atomic(gitignore, prefix + entry + "\n")
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
        write_text_atomic(gitignore, "\n".join(kept) + "\n")
    else:
        os.unlink(gitignore)
    return gitignore
