"""Turning command-line targets into tracked outputs."""
from __future__ import annotations

import os

from dataver import dvcfile
from dataver.errors import TargetError


def resolve(repo, targets: list[str] | None):
    """Outputs named by ``targets``: a `.dvc` file, an output path, or a directory (all outputs
    below it). ``None``/empty means every output in the repo."""
    if not targets:
        return repo.tracked()
    result = []
    everything = None
    for target in targets:
        abspath = os.path.abspath(target)
        if dvcfile.is_dvcfile(abspath) and os.path.isfile(abspath):
            result += repo.tracked_in(abspath)
            continue
        if os.path.isfile(abspath + dvcfile.SUFFIX):
            items = [t for t in repo.tracked_in(abspath + dvcfile.SUFFIX) if t.abspath == abspath]
            if items:
                result += items
                continue
        if everything is None:
            everything = repo.tracked()
        found = [t for t in everything if t.abspath == abspath or is_inside(t.abspath, abspath)]
        if not found:
            raise TargetError(
                "is not tracked (no .dvc file and no output by that name)", path=target,
                hint="check the path, or track it with `dataver add`",
            )
        result += found
    return _unique(result)


def is_inside(path: str, directory: str) -> bool:
    """Whether ``path`` lies strictly below ``directory``."""
    return path.startswith(directory.rstrip(os.sep) + os.sep)


def _unique(items):
    seen, result = set(), []
    for item in items:
        key = (item.dvcfile.path, item.out.path)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def owner_of(tracked, abspath: str):
    """The output that contains ``abspath`` (strictly inside it), or None."""
    for item in tracked:
        if is_inside(abspath, item.abspath):
            return item
    return None
