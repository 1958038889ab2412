"""How converted files become outputs: one `.dvc` file per folder (``--group-by dir``), per
file (``--group-by file``), or, by default, per folder where a folder holds many of them.

A folder can become one output only if, after the migration, everything in it is converted
content: no file git keeps tracking lies below it, and the work tree holds nothing else there
(an untracked or git-ignored file would end up in the directory's hash, and `status` would call
it modified). Of the folders above a converted file that qualify, the highest is taken ("one
`.dvc` file per matched top-level folder"); a file with no such folder is an output of its own.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver import dvcfile
from dataver.migrate.errors import MigrateError, PointerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

    from dataver.migrate.sources import Found

GROUP_BY = ("dir", "file")
AUTO_DIR_MIN = 10  # without --group-by, a folder of at least this many converted files is one output


@dataclass
class Output:
    """One output to write: a converted file, or a folder of them."""

    path: str  # git-root relative
    is_dir: bool
    files: list[Found] = field(default_factory=list)

    @property
    def dvcfile(self) -> str:
        return self.path + dvcfile.SUFFIX

    def relpath(self, item: Found) -> str:
        """``item``'s path inside this (directory) output."""
        return item.path[len(self.path) + 1:]


def plan_outputs(found: list[Found], staying: set[str], git_root: str, group_by: str | None,
                 ignored: Callable[[str], bool] | None = None,
                 worktree: bool = True, leaving: set[str] = frozenset()) -> list[Output]:
    """The outputs for the converted files ``found``. ``staying``: the paths git tracks after
    the migration; ``ignored(path)``: whether `.dvcignore` leaves a work-tree file out.
    ``worktree``: also look at the work tree (False for a commit that is not checked out:
    then only ``staying`` decides, and no existing file is checked for). ``leaving``: other
    work-tree files the migration deletes (a `.gitattributes` left empty, dropped files)."""
    if group_by not in (None, *GROUP_BY):
        raise MigrateError(f"unknown --group-by '{group_by}'", hint="use dir or file")
    converted = {f.path for f in found}
    for item in found:
        if dvcfile.is_dvcfile(item.path.rpartition("/")[2]):
            raise PointerError(f"{item.path} is named like a .dvc file, which cannot be an output",
                               hint=f"rename it, or leave it out with --exclude '{item.path}'")
    groups: dict[str, Output] = {}
    singles: list[Output] = []
    if group_by != "file":
        chooser = _FolderChooser(converted | set(leaving), staying, git_root if worktree else None,
                                 ignored)
        for item in found:
            folder = chooser.folder_for(item.path)
            if folder is not None:
                groups.setdefault(folder, Output(folder, True)).files.append(item)
            else:
                singles.append(Output(item.path, False, [item]))
        if group_by is None:  # auto: a folder of few files is better as files of their own
            for folder in [f for f, out in groups.items() if len(out.files) < AUTO_DIR_MIN]:
                singles += [Output(item.path, False, [item]) for item in groups.pop(folder).files]
    else:
        singles = [Output(item.path, False, [item]) for item in found]
    outputs = sorted([*groups.values(), *singles], key=lambda o: o.path)
    _check_free(outputs, staying, git_root if worktree else None)
    return outputs


class _FolderChooser:
    """Which folder (if any) a converted file's output is."""

    def __init__(self, going: set[str], staying: set[str], git_root: str | None, ignored):
        self.going = going  # work-tree files the migration converts or deletes
        self.root = git_root
        self.ignored = ignored or (lambda path: False)
        self.blocked: set[str] = set()
        for path in staying:  # every folder above a file git keeps
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                self.blocked.add("/".join(parts[:depth]))
        self._clean: dict[str, bool] = {}

    def folder_for(self, path: str) -> str | None:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in self.blocked and self._holds_only_converted(folder):
                return folder
        return None

    def _holds_only_converted(self, folder: str) -> bool:
        """Whether the work tree has nothing under ``folder`` but files the migration converts
        or deletes (and what `.dvcignore` leaves out), and no symlinked folder (dataver would
        refuse it)."""
        if self.root is None:
            return True
        if folder in self._clean:
            return self._clean[folder]
        clean = True
        base = os.path.join(self.root, *folder.split("/"))
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            for name in dirnames:
                if os.path.islink(os.path.join(dirpath, name)) and not self.ignored(f"{rel_dir}/{name}"):
                    clean = False
            for name in filenames:
                rel = f"{rel_dir}/{name}"
                if rel not in self.going and not self.ignored(rel):
                    clean = False
            if not clean:
                break
        self._clean[folder] = clean
        return clean


def _check_free(outputs: list[Output], staying: set[str], git_root: str | None) -> None:
    """Refuse an output whose `.dvc` file would overwrite a file, or whose name cannot take
    the suffix."""
    for out in outputs:
        abspath = os.path.join(git_root or "/", *out.path.split("/"))
        dvcfile.check_name_fits(abspath, out.path)
        if out.dvcfile in staying or (git_root and os.path.lexists(abspath + dvcfile.SUFFIX)):
            raise MigrateError(f"cannot write {out.dvcfile}: a file of that name exists",
                               hint=f"move it away, or leave '{out.path}' out with --exclude")
