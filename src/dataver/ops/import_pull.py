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


def fetch_versioned_imports(repo, resolved: list, jobs: int | None = None) -> int:
    """For the version-aware URL imports among the ``resolved`` targets (``(output, subpath)``
    of ``resolve_partial``; ``push: false``: no remote has their data) whose objects the cache
    lacks: fetch the recorded versions from the source, as `dvc fetch` does; returns the
    objects stored."""
    from dataver.ops.targets import unique

    items = unique([item for item, _sub in resolved
                    if item.out.push is False and item.out.md5 and not _cached(repo, item.out)])
    if not items:  # the usual case: no need to load the import modules
        return 0
    from dataver.config import truthy
    from dataver.ops.import_url import fetch_recorded, url_dep

    stored = 0
    for item in items:
        dep = url_dep(item.dvcfile)
        options = (dep or {}).get("fs_config") or {}
        if dep is not None and truthy(options.get("version_aware", False)):
            stored += fetch_recorded(repo, item.dvcfile.path, dep, item.out.md5, jobs)
    return stored


def _cached(repo, out) -> bool:
    """Whether the cache holds the output's object (and, for a folder, every file's)."""
    if not repo.odb.exists(out.md5):
        return False
    if not out.is_dir:
        return True
    try:
        entries = repo.odb.read_manifest(out.md5).entries
    except Exception:  # a corrupt manifest: fetching again is the repair
        return False
    return len(repo.odb.existing(set(entries.values()))) == len(set(entries.values()))


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
