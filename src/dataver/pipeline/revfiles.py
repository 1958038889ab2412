"""The one reader of "the repository's files at a revision or in the workspace" that
`params diff`, `metrics show/diff` and `plots show/diff` share: the `dvc.yaml` files (templated
ones resolved, vars files read at the same revision), and the content of any file, git-tracked
or a cached output (or a file in a cached folder), fetched from the default remote when the
cache lacks it (only the objects asked for).

Nothing is checked out and nothing is hashed: at a revision files come from git objects (a
cached output from the cache, by the hash its dvc.lock or .dvc file records); in the workspace
from disk (a cached output missing there from the cache, as DVC's data filesystem reads it).
Finding the workspace's dvc.yaml files asks git (which skips ignored folders), so a large
untracked or data folder is never walked.
"""
from __future__ import annotations

import os
import posixpath

from dataver import dvcfile
from dataver.errors import DvcFileError, UserError
from dataver.paths import walk_files
from dataver.pipeline.stage import parse_params_section

WORKSPACE = "workspace"


class Pipeline:
    """What one dvc.yaml declares, paths root-relative (posix), in order: ``stage_params`` as
    ``[(file, keys or None for the whole file)]``, ``top_params`` (whole files), ``metrics``
    (the stages') and ``top_metrics``."""

    def __init__(self, rel: str, data: dict):
        self.rel, self.data = rel, data  # data: resolved when templated
        base = posixpath.dirname(rel)
        self.stage_params: list[tuple[str, list[str] | None]] = []
        self.metrics: list[str] = []
        stages = data.get("stages") or {}
        if not isinstance(stages, dict):
            raise DvcFileError("'stages' must be a mapping", path=rel)
        for name, definition in stages.items():
            if not isinstance(definition, dict):
                raise DvcFileError(f"stage '{name}' must be a mapping", path=rel)
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
    """A cached output (or a file of one) whose object neither the cache nor the default
    remote can give."""


class RevFiles:
    """The repository at ``rev`` (None: the workspace), named ``name`` in results."""

    def __init__(self, repo, rev: str | None, name: str | None = None, sha: str | None = None):
        from dataver.revtree import RevTree

        self.repo, self.rev = repo, rev
        self.name = name or rev or WORKSPACE
        self.tree = RevTree(repo, rev, sha) if rev is not None else None
        self._items: list | None = None
        self._pipelines: list[Pipeline] | None = None

    @property
    def label(self) -> str:
        """The name plots give this side (the revision as asked, or ``workspace``)."""
        return self.rev or WORKSPACE

    def pipelines(self) -> list[Pipeline]:
        """Every dvc.yaml, templated ones resolved (vars files read at this revision), in
        DVC's order (see :func:`_walk_order`)."""
        if self._pipelines is None:
            from dataver.pipeline import template

            rels = sorted(self._pipeline_paths(), key=_walk_order)
            contents = self.tree.read_many(rels) if self.tree is not None else \
                {rel: self._read_disk(rel) for rel in rels}
            parsing = self.repo.config.merged.get("parsing")  # how ${dict} unpacks in cmd
            self._pipelines = []
            for rel in rels:
                raw = contents[rel]
                if raw is None:
                    continue
                data = dvcfile.read_yaml(raw, rel)
                if template.is_templated(raw, data):
                    data = template.resolve_document(data, self.abspath(rel), parsing,
                                                     self._read_abs)
                self._pipelines.append(Pipeline(rel, data))
        return self._pipelines

    def abspath(self, rel: str) -> str:
        return os.path.join(self.repo.root, *rel.split("/"))

    def _read_abs(self, abspath: str) -> bytes | None:
        """A git file (the disk's in the workspace) by absolute path: how vars files are read."""
        rel = os.path.relpath(abspath, self.repo.root).replace(os.sep, "/")
        if _outside(rel):
            return None
        return self.tree.read_bytes(rel) if self.tree is not None else self._read_disk(rel)

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
                os.path.isfile(self.abspath(p)) and
                not self.repo.ignore.is_ignored(posixpath.dirname(p), True)]

    def _read_disk(self, rel: str) -> bytes | None:
        abspath = self.abspath(rel)
        self.repo.check_inside(abspath, where=rel)  # no symlinked parent leads outside
        try:
            with open(abspath, "rb") as fobj:
                return fobj.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def read(self, rel: str) -> bytes:
        """The content of root-relative ``rel``: a git file (in the workspace, the disk's),
        else a cached output (or a file in a cached folder) from the cache, fetched from the
        default remote when missing. Raises FileNotFoundError (NotInCache when the data cannot
        be had; also for a path out of the repository: targets come from users)."""
        if _outside(rel):
            raise FileNotFoundError(f"'{rel}' is outside the repository")
        data = self.tree.read_bytes(rel) if self.tree is not None else self._read_disk(rel)
        if data is None:
            data = self._read_cached(rel)
        if data is None:
            raise FileNotFoundError(f"'{rel}' does not exist{self._at()}")
        return data

    def _read_cached(self, rel: str) -> bytes | None:
        found = self._output_file(rel)
        if found is None:
            return None
        output, name, md5 = found
        try:
            path = output.local_paths([(name, md5)])[md5]
        except UserError as exc:  # no remote, or it lacks the object: DVC's "no storage files"
            raise NotInCache(f"'{rel}' is not in the cache{self._at()}: {exc.message}") from None
        with open(path, "rb") as fobj:
            return fobj.read()

    def _output_file(self, rel: str):
        """``(OutputData, name in the output, md5)`` of the cached file ``rel``, or None when
        no cached output holds it (raises NotInCache when a folder's manifest cannot be had)."""
        for item in self._cached_items():
            out_rel = self._rel(item)
            if rel == out_rel and not item.out.is_dir:
                return self._output_data(item), posixpath.basename(rel), item.out.md5
            if item.out.is_dir and rel.startswith(out_rel + "/"):
                files = self._folder_files(item)
                inner = rel[len(out_rel) + 1:]
                return (self._output_data(item), inner, files[inner]) if inner in files else None
        return None

    def _folder_files(self, item) -> dict[str, str]:
        """``{relpath: md5}`` of a cached folder as recorded (its manifest fetched alone when
        the cache lacks it)."""
        try:
            return self._output_data(item).files()[0]
        except UserError as exc:
            raise NotInCache(f"'{self._rel(item)}' is not in the cache{self._at()}: "
                             f"{exc.message}") from None

    def _output_data(self, item):
        """The recorded version of ``item`` (also in the workspace: the cache's copy)."""
        from dataver.revdata import OutputData

        return OutputData(self.repo, item, self.label, self.tree)

    def _at(self) -> str:
        return f" at {self.rev}" if self.rev else ""

    def _rel(self, item) -> str:
        return os.path.relpath(item.abspath, self.repo.root).replace(os.sep, "/")

    def _cached_items(self) -> list:
        """Every cached output with a recorded hash, as :class:`dataver.repo.Tracked`."""
        if self._items is None:
            items = self.tree.tracked() if self.tree is not None else self.repo.tracked()
            self._items = [i for i in items if i.out.cache and i.out.md5]
        return self._items

    def outputs(self) -> dict:
        """root-relative path -> Output of every cached output with a recorded hash."""
        return {self._rel(i): i.out for i in self._cached_items()}

    def isdir(self, rel: str) -> bool:
        return self.files_under(rel) is not None

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is a file or folder here (git's or the disk's, or a cached output or
        a file in one; one whose data cannot be had counts: reading it says why)."""
        if self.tree is None:
            return os.path.lexists(self.abspath(rel))
        if rel in self.tree.entries or rel in self.outputs():
            return True
        try:
            return self._output_file(rel) is not None
        except NotInCache:
            return True

    def files_under(self, rel: str) -> list[str] | None:
        """Every file below folder ``rel`` (root-relative, sorted): git's or the disk's, or a
        cached folder's as recorded; None when ``rel`` is no folder."""
        if self.tree is None:
            abspath = self.abspath(rel)
            self.repo.check_inside(abspath, where=rel)
            if not os.path.isdir(abspath):
                return None
            return sorted(os.path.relpath(p, self.repo.root).replace(os.sep, "/")
                          for p in walk_files(abspath))
        if self.tree.entries.get(rel, ("",))[0] == "blob":
            return None  # a file in git: no need to read which outputs the revision records
        if self.tree.is_dir(rel):
            prefix = rel.rstrip("/") + "/"
            return sorted(p for p, (kind, *_r) in self.tree.entries.items()
                          if kind == "blob" and p.startswith(prefix))
        for item in self._cached_items():
            if item.out.is_dir and self._rel(item) == rel:
                try:
                    return sorted(f"{rel}/{name}" for name in self._folder_files(item))
                except NotInCache:
                    return None
        return None


def _walk_order(rel: str) -> list[str]:
    """DVC's order of dvc.yaml files: top-down, a folder's own first, then its subfolders by
    name as git sorts tree entries (``a-b/`` before ``a/``, before ``ab/``)."""
    folder = posixpath.dirname(rel)
    return [part + "/" for part in folder.split("/")] if folder else []


def _outside(rel: str) -> bool:
    return rel == ".." or rel.startswith("../") or posixpath.isabs(rel) or "\0" in rel


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
