"""`dataver migrate verify`: for every converted commit, each converted path's md5 (in the new
commit's `.dvc` files and `.dir` manifests) must be that of the verified source content.

Converted commits are the pairs (old, new) that forward migrations recorded in the resume
database and, if present, the rewrite's map (``.dvc/tmp/dataver/migrate-map.txt``: ``old new``
per line). A converted path is one that the old commit holds as a git blob and the new commit
holds as (part of) a DVC output; its source is what that blob is: an LFS pointer, an annex key,
or the content itself. The expected md5 comes from the resume map (recorded when the content was
read and checked against its pointer or key); an object the map does not know is read now,
checked, and hashed, without being stored.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver.migrate.errors import MigrateError
from dataver.migrate.resume import MAP_NAME, ResumeMap, db_path


@dataclass
class Problem:
    commit: str  # the new commit
    path: str
    what: str


@dataclass
class Report:
    commits: int = 0
    paths: int = 0
    problems: list[Problem] = field(default_factory=list)


def verify(repo, map_path: str | None = None, progress=None) -> Report:
    """Check every converted commit; the report lists what does not match."""
    from dataver.progress import SILENT

    progress = progress or SILENT
    pairs = _pairs(repo, map_path)
    if not pairs:
        raise MigrateError("nothing to verify: no migration was recorded in this repository",
                           hint="run `dataver migrate lfs|annex|git` first (verify uses the records "
                                "under .dvc/tmp/dataver)")
    report = Report()
    rmap = ResumeMap(db_path(repo))
    checker = _Checker(repo, rmap)
    try:
        with progress.phase("Verifying", len(pairs), unit="commits"):
            for old, new in pairs:
                _check_pair(repo, checker, old, new, report)
                progress.advance()
    finally:
        checker.close()
        rmap.close()
    return report


def _pairs(repo, map_path: str | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if os.path.exists(db_path(repo)):
        rmap = ResumeMap(db_path(repo))
        pairs += rmap.commits()
        rmap.close()
    path = map_path or os.path.join(repo.tmp_dir, "dataver", MAP_NAME)
    if map_path is not None and not os.path.exists(path):
        raise MigrateError("no such map file", path=map_path)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fobj:
            for number, line in enumerate(fobj, 1):
                parts = line.split()
                if not parts or line.startswith("#"):
                    continue
                if len(parts) != 2:
                    raise MigrateError(f"line {number} is not 'old_sha new_sha'", path=path)
                pairs.append((parts[0], parts[1]))
    return list(dict.fromkeys(pairs))


def _check_pair(repo, checker: _Checker, old: str, new: str, report: Report) -> None:
    from dataver.revtree import RevTree

    git = repo.scm
    try:
        tree = RevTree(repo, new)
    except MigrateError:
        raise
    except Exception as exc:  # an unknown commit (gc'd, or a map from elsewhere)
        report.problems.append(Problem(new, "-", f"cannot read the commit: {exc}"))
        return
    report.commits += 1
    recorded = _dvc_md5s(repo, tree, report)
    old_entries = {path: (mode, blob, size or 0) for path, kind, blob, mode, size in git.ls_tree(old)
                   if kind == "blob"}
    converted = sorted(p for p in recorded if p in old_entries and p not in tree.entries)
    for path in converted:
        mode, blob, size = old_entries[path]
        report.paths += 1
        expected, why = checker.md5_of(path, mode, blob, size, old)
        if expected is None:
            report.problems.append(Problem(new, path, why))
        elif expected != recorded[path]:
            report.problems.append(Problem(new, path, f"md5 {recorded[path]} in the .dvc file, "
                                                      f"but the source content's md5 is {expected}"))


def _dvc_md5s(repo, tree, report: Report) -> dict[str, str]:
    """git-root relative path -> md5 of every file the new commit's outputs hold."""
    git_root = repo.scm.root
    result: dict[str, str] = {}
    for item in tree.tracked():
        out = item.out
        if out.md5 is None:
            continue
        rel = os.path.relpath(item.abspath, git_root).replace(os.sep, "/")
        if not out.is_dir:
            result[rel] = out.md5
            continue
        try:
            manifest = repo.odb.read_manifest(out.md5, out.hash_name)
        except FileNotFoundError:
            report.problems.append(Problem(tree.sha, rel, f"its manifest {out.md5} is not in the cache"))
            continue
        for inner, md5 in manifest.entries.items():
            result[f"{rel}/{inner}"] = md5
    return result


class _Checker:
    """The expected md5 of a converted path's source (from the map, else read now)."""

    def __init__(self, repo, rmap: ResumeMap):
        from dataver.migrate.sources import open_source

        self.rmap = rmap
        root = repo.scm.root
        self.sources = {kind: open_source(kind, root, (), (), 0) for kind in ("lfs", "annex")}
        self.sources["git"] = open_source("git", root, ("*",), (), None)

    def md5_of(self, path: str, mode: str, blob: str, size: int,
               commit: str) -> tuple[str | None, str]:
        """``(md5, "")``, or ``(None, why it cannot be known)``."""
        small = size <= max(s.candidate_size for s in self.sources.values() if s.candidate_size)
        data = self.sources["lfs"].git.read_blobs([blob])[blob] if small else None
        found, kind = None, "git"
        for candidate in ("lfs", "annex"):
            source = self.sources[candidate]
            try:
                found = source.identify(path, mode, data, 0, commit, blob) if data is not None else None
            except MigrateError as exc:
                return None, exc.message
            if found is not None:
                kind = candidate
                break
        if found is None:
            found = self.sources["git"].identify(path, mode, None, size, commit, blob)
            if found is None:
                return None, "the old commit holds it in a form no migration converts"
        row = self.rmap.get_many(kind, [found.id]).get(found.id)
        if row is not None:
            return row[0], ""
        return self._read(kind, found, commit)

    def _read(self, kind: str, found, commit: str) -> tuple[str | None, str]:
        from dataver.hashing import new_md5
        from dataver.migrate.convert import check_content, checker

        obj = self.sources[kind].source_object(found, commit)
        if kind != "git" and not obj.local:
            return None, f"its {kind} object {found.id[:20]} is not here and was never converted"
        md5, check, size = new_md5(), checker(obj), 0
        try:
            with obj.read() as stream:
                while chunk := stream.read(1 << 20):
                    md5.update(chunk)
                    if check is not None:
                        check.update(chunk)
                    size += len(chunk)
        except FileNotFoundError:
            return None, f"its {kind} object {found.id[:20]} is not here and was never converted"
        try:
            check_content(obj, size, md5.hexdigest(), check)
        except MigrateError as exc:
            return None, exc.message
        return md5.hexdigest(), ""

    def close(self) -> None:
        for source in self.sources.values():
            source.close()

