"""`pull` of imports made with ``import-url --no-download`` or ``import --no-download``: their
`.dvc` file records the source's version but no data, so there is nothing to fetch from a
remote. As `dvc pull` does, the data is downloaded from the source itself (the URL, or the
source repository at its locked revision) into the workspace; the cache and the `.dvc` file are
left as they are (`update` records the data)."""
from __future__ import annotations

import os


def unfetched_imports(repo, targets: list[str] | None) -> list:
    """The outputs named by ``targets`` (all: None) that are imports without recorded data."""
    from dataver.ops.targets import resolve_partial, unique

    unhashed = [item for item, subpath in resolve_partial(repo, targets)
                if item.out.md5 is None and subpath is None]
    if not unhashed:  # the usual case: no need to load the import modules
        return []
    from dataver.ops.get import _repo_dep as repo_dep
    from dataver.ops.import_url import url_dep

    return unique([item for item in unhashed
                   if url_dep(item.dvcfile) is not None or repo_dep(item.dvcfile) is not None])


def pull_imports(repo, targets: list[str] | None, force: bool = False,
                 jobs: int | None = None) -> list[str]:
    """Download each import without data among ``targets`` whose output is missing (or, with
    ``force``, present) from its source; returns the files written, relative to the working
    directory. An output already in the workspace is kept unless ``force``: it may hold the
    user's changes, which nothing else records."""
    items = [item for item in unfetched_imports(repo, targets)
             if force or not os.path.lexists(item.abspath)]
    if not items:
        return []
    from dataver.ops.get import _repo_dep as repo_dep
    from dataver.ops.import_url import download_source

    written: list[str] = []
    for item in items:
        repo.check_inside(item.abspath, where=item.dvcfile.path)
        dep = repo_dep(item.dvcfile)
        if dep is None:
            download_source(repo, item.dvcfile.path, item.abspath, jobs)
        else:
            _from_repo(dep, item.abspath, jobs)
        written += _files_at(item.abspath)
    return written


def _files_at(path: str) -> list[str]:
    """``path`` (a file) or the files below it (a directory), relative to the working directory."""
    if not os.path.isdir(path):
        return [os.path.relpath(path)]
    return sorted(os.path.relpath(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def _from_repo(dep, dest: str, jobs: int | None) -> None:
    """Write ``dep``'s path of its source repository, at the locked revision, to ``dest``."""
    from dataver.external import open_repo, recorded_overrides
    from dataver.ops.get import collect, write_files

    info = dep["repo"]
    rev = info.get("rev_lock") or info.get("rev")
    with open_repo(str(info["url"]), rev, **recorded_overrides(info)) as (src, use_rev):
        source = collect(src, str(dep["path"]), use_rev, None, jobs)
        write_files(source, dest)
