"""`destroy`: stop using dataver/DVC in this repository, keeping the user's data.

As `dvc destroy` does: every output still linked into the cache (symlink, hardlink, read-only
copy) is first replaced by a plain writable copy (unprotect), so the workspace keeps its data
once the cache is gone; then every `.dvc` file, every `dvc.yaml` with the `dvc.lock` beside it,
the root `.dvcignore` and the whole `.dvc/` directory (config, cache in `.dvc/cache`, tmp) are
deleted. A cache configured outside `.dvc/` (``cache.dir``) is left alone, as DVC leaves it;
`.gitignore` entries and git's index are not touched either.
"""
from __future__ import annotations

import os
import shutil

from dataver import dvcfile

DVCIGNORE = ".dvcignore"


def destroy(repo) -> list[str]:
    """Unprotect every cached output, then delete the repository's DVC files; returns the
    `.dvc`/`dvc.yaml`/`dvc.lock` files deleted (absolute paths)."""
    from dataver.ops.unprotect import unprotect_path

    with repo.lock:
        files = list(repo.iter_dvcfiles())
        for item in repo.tracked():
            if item.out.cache and os.path.lexists(item.abspath):
                unprotect_path(repo, item.abspath)
        repo.state.flush()
        removed = []
        for path in files:
            removed += _remove_dvcfile(path)
    repo.close()  # the state database and the lock live in .dvc/tmp
    ignore = os.path.join(repo.root, DVCIGNORE)
    if os.path.isfile(ignore):
        os.unlink(ignore)
    shutil.rmtree(repo.dvc_dir)
    return removed


def _remove_dvcfile(path: str) -> list[str]:
    paths = [path]
    if dvcfile.is_pipeline_file(path):
        paths.append(os.path.join(os.path.dirname(path), dvcfile.LOCK_FILE))
    removed = []
    for each in paths:
        try:
            os.unlink(each)
        except FileNotFoundError:
            continue
        removed.append(each)
    return removed
