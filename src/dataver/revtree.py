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
            for out in dfile.outs:
                abspath = dfile.out_abspath(out)
                self.repo.check_inside(abspath, where=f"{self.rel(dfile.path)}@{self.rev}")
                items.append(Tracked(dfile, out, abspath))
        return items

    def load_stages(self) -> list[dvcfile.Stage]:
        """Every `dvc.yaml` stage at this revision, with the hashes of its `dvc.lock`."""
        stages: list[dvcfile.Stage] = []
        for path, (kind, *_rest) in sorted(self.entries.items()):
            if kind == "blob" and posixpath.basename(path) == dvcfile.PIPELINE_FILE \
                    and not path.startswith(".dvc/"):
                lock = posixpath.join(posixpath.dirname(path), dvcfile.LOCK_FILE)
                stages += dvcfile.pipeline_loads(self.read_bytes(path), self.read_bytes(lock),
                                                 self.abspath(path))
        return stages

    def abspath(self, relpath: str) -> str:
        return os.path.join(self.repo.root, *relpath.split("/"))

    def rel(self, abspath: str) -> str:
        return os.path.relpath(abspath, self.repo.root).replace(os.sep, "/")

    def read_bytes(self, relpath: str) -> bytes | None:
        """A git-tracked file's content at this revision, or None."""
        entry = self.entries.get(relpath)
        if entry is None or entry[0] != "blob":
            return None
        return self.git.read_blobs([entry[1]])[entry[1]]

    def is_dir(self, relpath: str) -> bool:
        entry = self.entries.get(relpath)
        return entry is not None and entry[0] == "tree"
