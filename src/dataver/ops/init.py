"""`init`: create `.dvc/` exactly as DVC 3.x does."""
from __future__ import annotations

import os
import shutil

from dataver.config import ConfigFile
from dataver.errors import UserError
from dataver.scm import Git, find_git_root
from dataver.workspace import DVCIGNORE, DVCIGNORE_HEADER

DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"


def init(repo_cls, root: str, no_scm: bool = False, force: bool = False):
    """Initialise a repository at ``root`` and return it. In git, the new files are staged."""
    dvc_dir = os.path.join(root, ".dvc")
    git_root = None if no_scm else find_git_root(root)
    if not no_scm and git_root is None:
        raise UserError(
            f"'{root}' is not inside a git repository", hint="run `git init` first, or use --no-scm"
        )
    if os.path.exists(dvc_dir):
        if not force:
            raise UserError(f"'{dvc_dir}' already exists", hint="use -f to reinitialise")
        shutil.rmtree(dvc_dir)
    os.makedirs(os.path.join(dvc_dir, "tmp"))
    if no_scm:
        conf = ConfigFile(os.path.join(dvc_dir, "config"))
        conf.set("core", "no_scm", "True")
        conf.save()
    else:  # DVC creates an empty file (0 bytes); an edited-then-emptied one is "\n"
        open(os.path.join(dvc_dir, "config"), "wb").close()
    ignore_path = os.path.join(root, DVCIGNORE)
    if not os.path.exists(ignore_path):
        with open(ignore_path, "w", encoding="utf-8") as fobj:
            fobj.write(DVCIGNORE_HEADER)
    if no_scm:
        return repo_cls(root)
    with open(os.path.join(dvc_dir, ".gitignore"), "w", encoding="utf-8") as fobj:
        fobj.write(DVC_GITIGNORE)
    Git(git_root).add([os.path.join(dvc_dir, "config"), os.path.join(dvc_dir, ".gitignore"), ignore_path])
    return repo_cls(root)
