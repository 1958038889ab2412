"""The repository as committed at a git revision: its `.dvc` files (parsed from git objects, not
from disk) and its git-tracked files. Lets ops collect outputs (``Tracked``) at any revision."""
from __future__ import annotations

import os
import posixpath
from functools import cached_property

from dataver import dvcfile
from dataver.errors import ScmError

WORKSPACE = "workspace"


class RevTree:
    """Read-only view of ``repo`` at ``rev`` (a branch, tag, sha, ``HEAD~1``, ...)."""

    def __init__(self, repo, rev: str, sha: str | None = None):
        self.repo = repo
        self.git = repo.scm
        if getattr(self.git, "root", None) is None:
            raise ScmError(f"cannot read revision '{rev}': not a git repository",
                           hint="run inside a git work tree")
        self.rev = rev
        self.sha = sha or self.git.resolve_rev(rev)
        prefix = os.path.relpath(repo.root, self.git.root).replace(os.sep, "/")
        self.prefix = "" if prefix == "." else prefix + "/"

    @cached_property
    def entries(self) -> dict[str, tuple[str, str, str, int | None]]:
        """root-relative path -> (kind, git object, mode, size) for every blob and tree under
        the repo root."""
        result = {}
        for path, kind, obj, mode, size in self.git.ls_tree(self.sha, self.prefix.rstrip("/")):
            if path.startswith(self.prefix):
                result[path[len(self.prefix):]] = (kind, obj, mode, size)
        return result

    def dvcfile_paths(self) -> list[str]:
        """Root-relative paths of every `.dvc` file at this revision (outside ``.dvc/``)."""
        return sorted(
            path for path, (kind, *_rest) in self.entries.items()
            if kind == "blob" and dvcfile.is_dvcfile(posixpath.basename(path))
            and not path.startswith(".dvc/")
        )

    def load_dvcfiles(self, paths: list[str]) -> list[dvcfile.DvcFile]:
        """Parse the given root-relative `.dvc` files with one `git cat-file --batch` call."""
        objs = [self.entries[p][1] for p in paths]
        blobs = self.git.read_blobs(objs)
        return [dvcfile.reads(blobs[obj], self.abspath(p)) for p, obj in zip(paths, objs)]

    def tracked(self):
        """Every output declared at this revision, as :class:`dataver.repo.Tracked`."""
        from dataver.repo import Tracked

        items = []
        for dfile in self.load_dvcfiles(self.dvcfile_paths()) + self.load_stages():
            self.repo.check_wdir(dfile, where=f"{self.rel(dfile.path)}@{self.rev}")
            for out in dfile.outs:
                abspath = dfile.out_abspath(out)
                self.repo.check_inside(abspath, where=f"{self.rel(dfile.path)}@{self.rev}")
                items.append(Tracked(dfile, out, abspath))
        return items

    def load_stages(self) -> list[dvcfile.Stage]:
        """Every `dvc.yaml` stage at this revision, with the hashes of its `dvc.lock` (all read
        with one ``git cat-file`` call; none when there is no dvc.yaml)."""
        pipelines = [path for path, (kind, *_rest) in sorted(self.entries.items())
                     if kind == "blob" and posixpath.basename(path) == dvcfile.PIPELINE_FILE
                     and not path.startswith(".dvc/")]
        if not pipelines:
            return []
        locks = [posixpath.join(posixpath.dirname(p), dvcfile.LOCK_FILE) for p in pipelines]
        contents = self.read_many(pipelines + locks)
        stages: list[dvcfile.Stage] = []
        for path, lock in zip(pipelines, locks):
            stages += dvcfile.pipeline_loads(contents[path], contents[lock], self.abspath(path))
        return stages

    def abspath(self, relpath: str) -> str:
        return os.path.join(self.repo.root, *relpath.split("/"))

    def rel(self, abspath: str) -> str:
        return os.path.relpath(abspath, self.repo.root).replace(os.sep, "/")

    def read_bytes(self, relpath: str) -> bytes | None:
        """A git-tracked file's content at this revision, or None."""
        return self.read_many([relpath])[relpath]

    def read_many(self, relpaths: list[str]) -> dict[str, bytes | None]:
        """:meth:`read_bytes` of several files with one ``git cat-file`` call."""
        objs = {p: e[1] for p in relpaths if (e := self.entries.get(p)) is not None and e[0] == "blob"}
        blobs = self.git.read_blobs(list(objs.values()))
        return {p: blobs[objs[p]] if p in objs else None for p in relpaths}

    def is_dir(self, relpath: str) -> bool:
        entry = self.entries.get(relpath)
        return entry is not None and entry[0] == "tree"
