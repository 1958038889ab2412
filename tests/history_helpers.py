"""Building repositories with tagged versions for the history tests (diff, api, ls/get/import)."""
from __future__ import annotations

import os

from tests.conftest import git


def write(path, data: bytes) -> None:
    os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
    with open(path, "wb") as fobj:
        fobj.write(data)


def tag_versions(root, store, versions: dict[str, dict[str, bytes]], tracked: list[str]) -> None:
    """In the dataver repo at ``root`` (the working directory) with a default remote ``store``:
    for each tag, write its files, add ``tracked``, push, commit and tag."""
    from dataver.cli.main import main
    from dataver.repo import Repo

    assert main(["remote", "add", "-d", "store", str(store)]) == 0
    for tag, files in versions.items():
        for rel, data in files.items():
            write(os.path.join(root, rel), data)
        with Repo() as repo:
            repo.add(tracked)
            repo.push()
        git(root, "add", "-A")
        git(root, "commit", "-qm", tag)
        git(root, "tag", tag)
