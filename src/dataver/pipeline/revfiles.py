"""The files `params diff` and `metrics show/diff` read, at one revision or in the workspace:
the `dvc.yaml` files (their stages' ``params`` and ``metrics``, their top-level ``params:`` and
``metrics:`` lists) and the content of any file, git-tracked or a cached output.

Nothing is checked out and nothing is hashed: at a revision files come from git objects (a
cached output from the cache, by the hash its dvc.lock or .dvc file records); in the workspace
from disk. Finding the workspace's dvc.yaml files asks git (which skips ignored folders), so
a large untracked or data folder is never walked.
"""
from __future__ import annotations

import os
import posixpath

from dataver import dvcfile
from dataver.errors import DvcFileError, UserError
from dataver.pipeline.stage import parse_params_section

WORKSPACE = "workspace"


class Pipeline:
    """What one dvc.yaml declares, paths root-relative (posix), in order: ``stage_params`` as
    ``[(file, keys or None for the whole file)]``, ``top_params`` (whole files), ``metrics``
    (the stages') and ``top_metrics``."""

    def __init__(self, rel: str, data: dict):
        self.rel = rel
        base = posixpath.dirname(rel)
        self.stage_params: list[tuple[str, list[str] | None]] = []
        self.metrics: list[str] = []
        stages = data.get("stages") or {}
        if not isinstance(stages, dict):
            raise DvcFileError("'stages' must be a mapping", path=rel)
        for name, definition in stages.items():
            if not isinstance(definition, dict):
                raise DvcFileError(f"stage '{name}' must be a mapping", path=rel)
            if "foreach" in definition or "matrix" in definition or \
                    "${" in dvcfile.dumps(definition):
                raise DvcFileError("templated stages (vars, ${...}, foreach, matrix) are not "
                                   "supported yet", path=f"{rel}:{name}",
                                   hint="use `dvc params diff` / `dvc metrics` for this pipeline")
            wdir = _join(rel, base, str(definition.get("wdir") or "."))
            for file, keys in parse_params_section(definition.get("params")):
                self.stage_params.append((_join(rel, wdir, file), keys))
            self.metrics += [_join(rel, wdir, path)
                             for path, _opts in dvcfile.declared(definition, "metrics")]
        self.top_metrics = [_join(rel, base, str(p)) for p in _top_list(data, "metrics", rel)]
        self.top_params = [(_join(rel, base, str(p)), None) for p in _top_list(data, "params", rel)]


def _top_list(data: dict, key: str, rel: str) -> list:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise DvcFileError(f"top-level '{key}' must be a list of paths", path=rel)
    return [item for item in value if isinstance(item, str)]


def _join(rel: str, base: str, path: str) -> str:
    """``path`` (relative to ``base``) as a root-relative posix path; one that leaves the
    repository is refused (dvc.yaml is input from a commit: untrusted)."""
    joined = posixpath.normpath(posixpath.join(base, path.replace("\\", "/")))
    if joined == ".." or joined.startswith("../") or posixpath.isabs(joined) or "\0" in joined:
        raise DvcFileError(f"'{path}' leads outside the repository", path=rel,
                           hint="use a path inside the repository")
    return joined


class NotInCache(FileNotFoundError):
    """A cached output (or a file of one) whose object the cache lacks."""


class RevFiles:
    """The repository at ``rev`` (None: the workspace), named ``name`` in results."""

    def __init__(self, repo, rev: str | None, name: str | None = None, sha: str | None = None):
        from dataver.revtree import RevTree

        self.repo, self.rev = repo, rev
        self.name = name or rev or WORKSPACE
        self.tree = RevTree(repo, rev, sha) if rev is not None else None
        self._outputs: dict | None = None
        self._pipelines: list[Pipeline] | None = None

    def pipelines(self) -> list[Pipeline]:
        """Every dvc.yaml, in DVC's order (a folder's own before its subfolders')."""
        if self._pipelines is None:
            rels = sorted(self._pipeline_paths(), key=lambda p: posixpath.dirname(p).split("/"))
            contents = self.tree.read_many(rels) if self.tree is not None else \
                {rel: self._read_disk(rel) for rel in rels}
            self._pipelines = [Pipeline(rel, dvcfile._parse_yaml(contents[rel] or b"", rel))
                               for rel in rels if contents[rel] is not None]
        return self._pipelines

    def _pipeline_paths(self) -> list[str]:
        if self.tree is not None:
            return [p for p, (kind, *_r) in self.tree.entries.items()
                    if kind == "blob" and posixpath.basename(p) == dvcfile.PIPELINE_FILE
                    and not p.startswith(".dvc/")]
        scm = self.repo.scm
        if getattr(scm, "root", None) is None:
            return [os.path.relpath(p, self.repo.root).replace(os.sep, "/")
                    for p in self.repo.iter_dvcfiles() if dvcfile.is_pipeline_file(p)]
        # tracked and untracked-but-not-ignored dvc.yaml files: git skips ignored folders
        out = scm.run("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--full-name",
                      "--", f":(top,glob){_git_prefix(self.repo)}**/{dvcfile.PIPELINE_FILE}").stdout
        prefix = _git_prefix(self.repo)
        found = {p[len(prefix):] for p in out.decode("utf-8", "surrogateescape").split("\0")
                 if p.startswith(prefix)}
        return [p for p in found if not p.startswith(".dvc/") and
                os.path.isfile(os.path.join(self.repo.root, *p.split("/"))) and
                not self.repo.ignore.is_ignored(posixpath.dirname(p), True)]

    def _read_disk(self, rel: str) -> bytes | None:
        try:
            with open(os.path.join(self.repo.root, *rel.split("/")), "rb") as fobj:
                return fobj.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def read(self, rel: str) -> bytes:
        """The content of root-relative ``rel``: a git file, else a cached output (or a file
        in a cached directory) from the cache. Raises FileNotFoundError (also for a path out of
        the repository: targets come from users)."""
        if rel == ".." or rel.startswith("../") or posixpath.isabs(rel) or "\0" in rel:
            raise FileNotFoundError(f"'{rel}' is outside the repository")
        data = self.tree.read_bytes(rel) if self.tree is not None else self._read_disk(rel)
        if data is None:
            data = self._read_cached(rel)
        if data is None:
            raise FileNotFoundError(f"'{rel}' does not exist{self._at()}")
        return data

    def _read_cached(self, rel: str) -> bytes | None:
        odb = self.repo.odb
        for out_rel, out in self.outputs().items():
            if rel == out_rel and not out.is_dir:
                oid = out.md5
            elif rel.startswith(out_rel + "/") and out.is_dir:
                try:
                    manifest = odb.read_manifest(out.md5, out.hash_name)
                    oid = manifest.entries.get(rel[len(out_rel) + 1:])
                except FileNotFoundError:
                    oid = None
            else:
                continue
            if oid and odb.exists(oid, out.hash_name):
                with open(odb.path(oid, out.hash_name), "rb") as fobj:
                    return fobj.read()
            raise NotInCache(f"'{rel}' is not in the cache{self._at()}")
        return None

    def _at(self) -> str:
        return f" at {self.rev}" if self.rev else ""

    def outputs(self) -> dict:
        """root-relative path -> Output of every cached output with a recorded hash."""
        if self._outputs is None:
            items = self.tree.tracked() if self.tree is not None else self.repo.tracked()
            self._outputs = {os.path.relpath(i.abspath, self.repo.root).replace(os.sep, "/"): i.out
                             for i in items if i.out.cache and i.out.md5}
        return self._outputs

    def isdir(self, rel: str) -> bool:
        if self.tree is not None:
            return self.tree.is_dir(rel)
        return os.path.isdir(os.path.join(self.repo.root, *rel.split("/")))

    def exists(self, rel: str) -> bool:
        if self.tree is not None:
            return rel in self.tree.entries or rel in self.outputs()
        return os.path.exists(os.path.join(self.repo.root, *rel.split("/")))

    def files_under(self, rel: str) -> list[str]:
        """Every file below folder ``rel`` (git files; in the workspace, disk files), sorted."""
        if self.tree is not None:
            return sorted(p for p, (kind, *_r) in self.tree.entries.items()
                          if kind == "blob" and p.startswith(rel.rstrip("/") + "/"))
        found = []
        for dirpath, dirs, files in os.walk(os.path.join(self.repo.root, *rel.split("/"))):
            dirs.sort()
            found += [os.path.relpath(os.path.join(dirpath, f), self.repo.root).replace(os.sep, "/")
                      for f in sorted(files)]
        return found


def _git_prefix(repo) -> str:
    prefix = os.path.relpath(repo.root, repo.scm.root).replace(os.sep, "/")
    return "" if prefix == "." else prefix + "/"


def revisions(repo, revs=(), all_branches=False, all_tags=False, all_commits=False,
              workspace=True) -> list[RevFiles]:
    """The revisions `metrics show` visits, as DVC names them: the workspace first, then each
    commit once, named by every revision naming it (``main,v1``), full shas for ``-A``."""
    scm = repo.scm
    result = [RevFiles(repo, None)] if workspace else []
    if not (revs or all_branches or all_tags or all_commits):
        return result
    if getattr(scm, "root", None) is None:
        raise UserError("revisions need a git repository", hint="run inside a git work tree")
    names = [r for r in revs if r != WORKSPACE]
    if all_commits:
        names += scm.all_commits()
    else:
        names += scm.branches() if all_branches else []
        names += scm.tags() if all_tags else []
    grouped: dict[str, list[str]] = {}
    for name in names:
        sha = scm.resolve_rev(name)
        if name not in grouped.setdefault(sha, []):
            grouped[sha].append(name)
    return result + [RevFiles(repo, names[0], ",".join(names), sha)
                     for sha, names in grouped.items()]
