"""A plain git repository (no `.dvc/`) opened as a source for `ls`, `get`, `import` and `du`.

DVC serves such a repository as one with no tracked data: its git files are listed and copied
out. This stands in for :class:`dataver.repo.Repo` there, with the few members those commands
read (``root``, ``scm``, ``tracked``, ``at_rev``) and nothing that writes."""
from __future__ import annotations

from functools import cached_property

from dataver.revtree import RevTree
from dataver.scm import Git, find_git_root


class GitOnlyRepo:
    """The git work tree (or clone) at ``root``: git files, no outputs, no cache."""

    def __init__(self, root: str):
        self.root = root

    @cached_property
    def scm(self) -> Git:
        return Git(find_git_root(self.root) or self.root)

    def tracked(self) -> list:
        """No `.dvc` files are read: without `.dvc/`, DVC does not see any either."""
        return []

    def at_rev(self, rev: str) -> RevTree:
        """The git files at ``rev``, no outputs."""
        return _GitOnlyRevTree(self, rev)

    def close(self) -> None:
        if "scm" in self.__dict__:
            self.scm.close()

    def __enter__(self) -> GitOnlyRepo:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _GitOnlyRevTree(RevTree):
    def tracked(self) -> list:
        return []
