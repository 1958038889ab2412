"""`init`: create `.dvc/` exactly as DVC 3.x does."""
from __future__ import annotations

import os
import shutil

from dataver.atomic import write_text_atomic
from dataver.config import ConfigFile
from dataver.errors import UserError
from dataver.scm import Git, NoScm, find_git_root
from dataver.workspace import DVCIGNORE, DVCIGNORE_HEADER

DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"
_DVC_IGNORED = ("/config.local", "/tmp", "/cache")


def restore_dvc_gitignore(repo) -> None:
    """Append the lines of ``.dvc/.gitignore`` it lacks (older repositories have no ``/tmp``), as
    DVC does whenever it opens a repository in git (not for `config`/`remote`); not staged, as
    DVC leaves it. One read of a small file when nothing is missing."""
    path = os.path.join(repo.dvc_dir, ".gitignore")
    try:
        with open(path, encoding="utf-8") as fobj:
            content = fobj.read()
    except FileNotFoundError:
        content = ""
    except (OSError, UnicodeDecodeError):
        return  # unreadable: git reports it; not ours to overwrite
    lines = content.splitlines()
    missing = [line for line in _DVC_IGNORED if line not in lines]
    if not missing or isinstance(repo.scm, NoScm):
        return
    sep = "\n" if content and not content.endswith("\n") else ""
    try:
        write_text_atomic(path, content + sep + "\n".join(missing) + "\n")
    except OSError:
        pass  # a read-only checkout can still be read; DVC's entries are a convenience


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
