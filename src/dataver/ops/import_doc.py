"""What `import` and `import-url` share: the result record, the refusal to overwrite, the stage
md5 DVC records for a frozen import stage, and the final write (data checked out first, then the
`.dvc` file and its .gitignore line)."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from dataver import dvcfile, scm
from dataver.errors import UserError


@dataclass
class ImportResult:
    """An import written (or, for ``update``, left alone when ``changed`` is False)."""

    dvcfile: str  # absolute path of the .dvc file
    path: str  # absolute path of the output
    rev_lock: str
    changed: bool = True
    source: str | None = None  # a URL import's source, as its "Importing" line names it


def check_dest(dest: str, force: bool) -> None:
    """Refuse to overwrite ``dest`` unless ``force``."""
    if os.path.lexists(dest) and not force:
        raise UserError(f"'{os.path.relpath(dest)}' already exists locally",
                        hint="re-run with --force to overwrite it")


def stage_md5(data) -> str:
    """The ``md5`` DVC records for a frozen import stage: md5 of the stage as sorted JSON,
    without annotation, lock and size fields."""
    skip = {"md5", "desc", "type", "labels", "meta", "locked", "frozen", "metric", "persist",
            "isexec", "size", "nfiles"}

    def strip(value, top=False):
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in skip or (k == "md5" and not top)}
        return value

    plain = json.loads(json.dumps(data))
    return hashlib.md5(json.dumps(strip(plain, top=True), sort_keys=True).encode()).hexdigest()


def finish_import(repo, dest: str, dvc_path: str, doc, stored) -> None:
    """Check the data out, then write the `.dvc` file (its stage md5 refreshed) and .gitignore.
    Without ``stored`` data (``--no-exec``, ``--no-download``) only the files are written."""
    if stored is not None:
        repo.materialize(dest, stored[0], "md5", force=True)
    if "md5" in doc:
        doc["md5"] = stage_md5(doc)
    dvcfile.save(dvc_path, doc)
    if not isinstance(repo.scm, scm.NoScm):
        scm.ignore(dest)
