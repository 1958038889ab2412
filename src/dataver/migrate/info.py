"""`--info` and `--dry-run`: what a migration would move, written nowhere.

Per branch (the tip of each local branch; with ``--everything`` tags too; with ``--rewrite``
every commit reachable from them) and per pattern (the ``--include`` pattern a file matched,
else its extension): files, their bytes, unique objects, objects missing locally and, for LFS,
missing on the server too (asked only when the server needs no credentials; "?" otherwise).
``--dry-run`` adds the forward plan for the current branch: the `.dvc` files it would write and
the `.gitattributes` it would edit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver.migrate import gitops

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataver.migrate.forward import Options


@dataclass
class Row:
    pattern: str
    files: int = 0
    nbytes: int = 0
    objects: set = field(default_factory=set)
    missing_local: set = field(default_factory=set)
    missing_server: set | None = field(default_factory=set)  # None: unknown
    found: dict = field(default_factory=dict, repr=False)  # id -> a Found, of the missing ones


@dataclass
class RefInfo:
    name: str
    commits: int
    rows: list[Row]

    @property
    def total(self) -> Row:
        row = Row("total")
        for r in self.rows:
            row.files += r.files
            row.nbytes += r.nbytes
            row.objects |= r.objects
            row.missing_local |= r.missing_local
            if row.missing_server is not None:
                row.missing_server = None if r.missing_server is None else row.missing_server | r.missing_server
        return row


@dataclass
class Plan:
    """The forward migration of the current branch, as ``--dry-run`` shows it."""

    branch: str
    outputs: list[tuple[str, bool, int]]  # (.dvc file, is a folder, files)
    attributes: dict[str, bytes | None]
    init: bool  # `dataver init` would run first


def info(opts: Options, refs: list[str] | None = None, everything: bool = False,
         history: bool = False, cwd: str | None = None, progress=None) -> list[RefInfo]:
    """The report for ``refs`` (default: every local branch)."""
    from dataver.migrate.sources import open_source
    from dataver.progress import SILENT

    progress = progress or SILENT
    git_root = gitops.toplevel(cwd or os.getcwd())
    with open_source(opts.kind, git_root, opts.include, opts.exclude, opts.above) as source:
        names = _refs(source.git, refs, everything)
        reports = []
        scanned: dict[str, list] = {}  # commit -> its Found (refs share most of their history)
        with progress.phase("Scanning", len(names), unit="refs"):
            for name in names:
                commits = _commits(source.git, name, history)
                seen: dict[tuple[str, str], object] = {}
                for commit in commits:
                    if commit not in scanned:
                        scanned[commit] = source.scan(commit)
                    for item in scanned[commit]:
                        seen.setdefault((item.path, item.id), item)
                reports.append(RefInfo(name, len(commits), _rows(source, opts, list(seen.values()))))
                progress.advance()
        _ask_server(source, reports)
    return reports


def _refs(git, refs, everything: bool) -> list[str]:
    if refs:
        for ref in refs:
            git.resolve_rev(ref)  # an unknown one is an error naming it
        return list(refs)
    # git-annex keeps its own bookkeeping on a branch of that name: never data to migrate
    names = [b for b in git.branches() if b != "git-annex"] + (git.tags() if everything else [])
    return names or ["HEAD"]


def _commits(git, ref: str, history: bool) -> list[str]:
    if not history:
        return [git.resolve_rev(ref)]
    return git.run("rev-list", ref).stdout.decode().split()


def _rows(source, opts: Options, found) -> list[Row]:
    rows: dict[str, Row] = {}
    missing = {f.id for f in source.missing(found)}
    for item in found:
        row = rows.setdefault(source.paths.pattern_of(item.path), Row(source.paths.pattern_of(item.path)))
        row.files += 1
        row.nbytes += item.size or 0
        row.objects.add(item.id)
        if item.id in missing:
            row.missing_local.add(item.id)
            row.found[item.id] = item
    return sorted(rows.values(), key=lambda r: (-r.nbytes, r.pattern))


def _ask_server(source, reports: list[RefInfo]) -> None:
    """LFS only: which of the locally missing objects the server lacks too (one question for
    all refs); other sources have no server to ask (annex remotes are many: "?")."""
    rows = [row for report in reports for row in report.rows]
    wanted = {}
    for row in rows:
        wanted.update(row.found)
    if source.kind == "git":
        return  # git objects are all here
    lacking = source.server_missing(list(wanted.values())) if source.kind == "lfs" else None
    for row in rows:
        row.missing_server = None if lacking is None else {f.id for f in lacking} & row.missing_local


def dry_run(opts: Options, cwd: str | None = None) -> Plan:
    """What `dataver migrate` would write on the current branch (checks included: a detached
    HEAD, a dirty tree or a bad pointer fail here as they would there)."""
    from dataver.migrate.attributes import NAME, plan_attributes
    from dataver.migrate.layout import plan_outputs
    from dataver.migrate.sources import open_source
    from dataver.repo import Repo

    git_root = gitops.toplevel(cwd or os.getcwd())
    head, branch = gitops.head(git_root)
    gitops.check_clean(git_root, gitops.new_init_files(git_root, head))
    repo_root = Repo.find_root(cwd or os.getcwd())
    prefix = "" if repo_root is None else os.path.relpath(repo_root, git_root).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix
    with open_source(opts.kind, git_root, opts.include, opts.exclude, opts.above) as source:
        others: list[str] = []
        found = source.scan(head, prefix, others=others)
        entries = source.list_tree(head)
        converted = {f.path for f in found}
        attributes: dict[str, bytes | None] = {}
        if source.kind == "lfs":
            blobs = {p: b for p, _m, b, _s in entries if p.rpartition("/")[2] == NAME}
            contents = source.git.read_blobs(list(blobs.values()))
            attributes = plan_attributes({p: contents[b] for p, b in blobs.items()}, converted, set(others))
        deleted = {p for p, c in attributes.items() if c is None}
        staying = {e[0] for e in entries} - converted - deleted
        outputs = plan_outputs(found, staying, git_root, opts.group_by, leaving=deleted) if found else []
    return Plan(branch, [(o.dvcfile, o.is_dir, len(o.files)) for o in outputs], attributes,
                repo_root is None)
