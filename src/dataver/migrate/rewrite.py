"""`dataver migrate lfs|annex|git --rewrite [--everything | REF...]`: rewrite the history of the
chosen refs (default: the current branch; ``--everything``: every branch and tag) so that every
commit holds `.dvc` files, `.gitignore` entries and `.gitattributes` without the migrated LFS
lines instead of pointers, without checking out any commit.

Why `git fast-export | Python | git fast-import` and not git-filter-repo: filter-repo's library
hands its callbacks one blob or one commit's changes at a time, without the commit's whole
tree, but a `.dvc` file of a folder output depends on every file of that folder in that commit
(its `.dir` manifest) and on the `.gitattributes` that apply there. Here each commit's tree is
listed (:mod:`.trees`: tree objects and pointer blobs read once for the whole history) and rendered by
:class:`.render.TreeRenderer`, the forward migration's own rules; :mod:`.stream` only appends
the difference to fast-export's description of the commit. With ``--no-data`` no file content
crosses the pipe, and nothing new needs installing (filter-repo is a PyPI package of its own,
and a script most systems lack).

Steps: checks (clean tree; refs not rewritten before); scan of every commit; objects missing
locally fetched (`git lfs fetch` / `git annex get`), ``--on-missing`` applied; each unique
object converted once (:class:`.convert.Converter`, its persistent map shared with forward and
verify); the old refs saved under ``refs/dataver-migrate/original/<ref>`` *before* any ref
moves; the stream; the map ``old new`` per commit written to
``.dvc/tmp/dataver/migrate-map.txt``; the work tree moved to the new HEAD (`git read-tree -m
-u`, then the outputs checked out from the cache). Git is never pushed.
"""
from __future__ import annotations

import os
from contextlib import ExitStack, closing
from dataclasses import dataclass, field

from dataver.migrate import gitops, stream
from dataver.migrate.errors import MigrateError, MissingObjectsError, RepoStateError
from dataver.migrate.forward import Options
from dataver.migrate.resume import MAP_NAME
from dataver.migrate.trees import Scanner
from dataver.progress import SILENT

BACKUP = "refs/dataver-migrate/original/"
INIT_FILES = (".dvc/config", ".dvc/.gitignore", ".dvcignore")


@dataclass
class RewriteResult:
    refs: list[str] = field(default_factory=list)  # full names of the refs rewritten
    commits: int = 0  # commits in their history
    changed: int = 0  # of which got a new id
    files: int = 0  # distinct paths converted somewhere in the history
    objects: int = 0  # unique objects converted
    nbytes: int = 0
    read: int = 0  # objects read this run
    reused: int = 0  # objects an earlier run (forward, rewrite, interrupted) had converted
    map_path: str | None = None
    backups: dict[str, str] = field(default_factory=dict)  # ref -> where its old value is kept
    kept: list[str] = field(default_factory=list)  # --on-missing keep: paths left as pointers
    dropped: list[str] = field(default_factory=list)  # --on-missing drop: paths removed
    initialized: bool = False
    pushed: int | None = None
    already: bool = False  # the refs were rewritten by an earlier run: nothing done


def rewrite(opts: Options, refs=(), everything: bool = False, cwd: str | None = None,
            progress=None) -> RewriteResult:
    """Rewrite the history of ``refs`` (names as the user gives them: branches, tags) in the
    repository around ``cwd``; see the module docstring."""
    from dataver.repo import Repo

    progress = progress or SILENT
    git_root = gitops.toplevel(cwd or os.getcwd())
    repo_root = Repo.find_root(cwd or os.getcwd()) or git_root
    if os.path.realpath(repo_root) != git_root:
        raise MigrateError("--rewrite needs the DVC repository at the top of the git work tree",
                           path=repo_root, hint="use the forward migration (without --rewrite)")
    head, branch = _head(git_root)
    selected = _select(git_root, refs, everything, branch)
    gitops.check_clean(git_root, gitops.new_init_files(git_root, head))
    result = RewriteResult(refs=list(selected))
    if _already_rewritten(git_root, selected):
        result.already = True
        return result
    parents = _rev_list(git_root, selected)
    result.commits = len(parents)
    at_head = head if branch and f"refs/heads/{branch}" in selected else None
    repo = Repo(git_root) if os.path.isdir(os.path.join(git_root, ".dvc")) else None
    try:
        repo, writer, written = _rewrite_history(opts, git_root, selected, parents, at_head, repo,
                                                 result, progress)
        if writer is None:
            return result  # nothing to convert anywhere
        mapping = {old: written.commits.get(old, old) for old in parents}
        result.changed = sum(1 for old, new in mapping.items() if old != new)
        result.map_path = _write_map(repo, mapping)
        if at_head is not None:
            _move_worktree(repo, git_root, head, mapping[head], writer.outputs_at_head, progress)
        if opts.push:
            result.pushed = _push(repo, writer, opts, progress)
    finally:
        if repo is not None:
            repo.close()
    return result


def _rewrite_history(opts, git_root, selected, parents, at_head, repo, result, progress):
    """Scan, convert, then stream the new history; ``(repo, writer, stream result)``, or
    ``(repo, None, None)`` when no commit holds anything to convert."""
    from dataver.migrate.sources import open_source

    with ExitStack() as stack:
        source = stack.enter_context(open_source(opts.kind, git_root, opts.include, opts.exclude,
                                                 opts.above))
        scanner = stack.enter_context(closing(Scanner(source)))
        unique, paths = {}, set()
        with progress.phase("Scanning", len(parents), unit="commits"):
            for commit in parents:
                for item in scanner.scan(commit)[1]:
                    unique.setdefault(item.id, (item, commit))
                    paths.add(item.path)
                progress.advance()
        if not unique:
            return repo, None, None
        lost = _settle_missing(source, repo, unique, opts, progress)
        if repo is None:
            from dataver.migrate.forward import _init

            repo = _init(git_root)
            result.initialized = True
        sums = _convert(repo, source, unique, lost, opts, result, progress)
        result.files = len(paths)
        writer = _HistoryWriter(repo, source, scanner, opts, sums, lost, parents, git_root, at_head)
        result.backups = _save_refs(git_root, selected)
        try:
            with progress.phase("Rewriting", len(parents), unit="commits"):
                written = stream.rewrite(git_root, selected, writer.fixup_with(progress))
        except BaseException:
            _drop_saved(git_root, result.backups)
            raise
        result.kept, result.dropped = sorted(writer.kept), sorted(writer.dropped)
        return repo, writer, written


# --- checks and refs -----------------------------------------------------------------------------
def _head(git_root: str) -> tuple[str | None, str | None]:
    proc = gitops.run(git_root, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
    if proc.returncode != 0:
        raise RepoStateError("the repository has no commit yet", hint="there is nothing to migrate")
    branch = gitops.run(git_root, "symbolic-ref", "-q", "--short", "HEAD", check=False).stdout
    return proc.stdout.decode().strip(), branch.decode().strip() or None


def _select(git_root: str, refs, everything: bool, branch: str | None) -> list[str]:
    """Full names of the refs to rewrite: every branch and tag (not git-annex's own branch),
    the ones named, or the current branch."""
    if everything and refs:
        raise MigrateError("give either --everything or refs, not both")
    if everything:
        out = gitops.run(git_root, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/tags")
        names = [n for n in out.stdout.decode().split()
                 if n != "refs/heads/git-annex" and not n.startswith("refs/heads/synced/")]
        return names
    if not refs:
        if branch is None:
            raise RepoStateError("HEAD is detached: say which refs to rewrite",
                                 hint="name them (BRANCH, TAG ...) or use --everything")
        return [f"refs/heads/{branch}"]
    full = []
    for ref in refs:
        proc = gitops.run(git_root, "rev-parse", "--symbolic-full-name", ref, check=False)
        name = proc.stdout.decode().strip()
        if proc.returncode != 0 or not name.startswith(("refs/heads/", "refs/tags/")):
            raise MigrateError(f"'{ref}' is not a branch or tag",
                               hint="--rewrite moves branches and tags; name one of them")
        full.append(name)
    return list(dict.fromkeys(full))


def _already_rewritten(git_root: str, selected: list[str]) -> bool:
    """True when every ref was rewritten before and has not moved since (a second run is a
    no-op); raises when some were and their saved originals would be overwritten. A saved ref
    equal to the ref itself is left by a run killed before any ref moved: it does not count."""
    def values(*patterns) -> dict[str, str]:
        out = gitops.run(git_root, "for-each-ref", "--format=%(refname) %(objectname)", *patterns)
        return dict(line.split(" ", 1) for line in out.stdout.decode().splitlines())

    saved, tips = values(BACKUP), values(*selected)
    done = [ref for ref in selected if saved.get(BACKUP + ref, tips[ref]) != tips[ref]]
    if not done:
        return False
    mapped = _mapped_new(git_root)
    if all(_peel(git_root, tips[ref]) in mapped for ref in selected):
        return True  # every tip is a commit of the rewritten history
    raise MigrateError(f"{done[0]} was rewritten before: its original is kept as {BACKUP}{done[0]}",
                       hint="check the rewrite, then remove the saved refs "
                            f"(`git update-ref -d {BACKUP}{done[0]}`) to rewrite again")


def _mapped_new(git_root: str) -> set[str]:
    path = os.path.join(git_root, ".dvc", "tmp", "dataver", MAP_NAME)
    if not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as fobj:
        return {parts[1] for parts in (line.split() for line in fobj) if len(parts) == 2}


def _peel(git_root: str, sha: str) -> str:
    return gitops.run(git_root, "rev-parse", f"{sha}^{{commit}}").stdout.decode().strip()


def _rev_list(git_root: str, selected: list[str]) -> dict[str, list[str]]:
    """Every commit of the refs' history -> its parents, parents first."""
    out = gitops.run(git_root, "rev-list", "--topo-order", "--reverse", "--parents", *selected,
                     "--").stdout.decode()
    return {parts[0]: parts[1:] for parts in (line.split() for line in out.splitlines())}


def _save_refs(git_root: str, selected: list[str]) -> dict[str, str]:
    """Keep every ref's current value under refs/dataver-migrate/original/ (one transaction)."""
    out = gitops.run(git_root, "for-each-ref", "--format=%(refname) %(objectname)", *selected).stdout
    tips = dict(line.split(" ", 1) for line in out.decode().splitlines())
    saved = {ref: BACKUP + ref for ref in selected}
    commands = "".join(f"update {saved[ref]} {tips[ref]}\n" for ref in selected)
    gitops.run(git_root, "update-ref", "--stdin", input=commands.encode())
    return saved


def _drop_saved(git_root: str, saved: dict[str, str]) -> None:
    """After a failed stream: forget the saved refs of the refs that did not move (all of
    them, unless fast-import failed while updating refs: those keep their saved original)."""
    out = gitops.run(git_root, "for-each-ref", "--format=%(refname) %(objectname)", *saved,
                     *saved.values()).stdout.decode()
    values = dict(line.split(" ", 1) for line in out.splitlines())
    commands = "".join(f"delete {backup}\n" for ref, backup in saved.items()
                       if values.get(ref) == values.get(backup))
    gitops.run(git_root, "update-ref", "--stdin", input=commands.encode(), check=False)


# --- scanning, missing objects, conversion ---------------------------------------------------------
def _settle_missing(source, repo, unique: dict, opts: Options, progress) -> set[str]:
    """Fetch the objects not here (per commit that holds them); the ids still missing after
    that: an error with ``--on-missing fail``, else returned (kept as pointers or dropped).
    Objects an earlier run converted need no source copy."""
    known = _converted_before(repo, source.kind, unique) if repo is not None else set()
    missing = source.missing([item for item, _commit in unique.values() if item.id not in known])
    if missing:
        by_commit: dict[str, list] = {}
        for item in missing:
            by_commit.setdefault(unique[item.id][1], []).append(item)
        with progress.phase("Fetching", len(missing), unit="objects"):
            for commit, group in by_commit.items():
                source.fetch(group, ref=commit, progress=progress)
                progress.advance(len(group))
        missing = source.missing(missing)
    if missing and opts.on_missing == "fail":
        raise MissingObjectsError(
            f"{len(missing)} object(s) are neither here nor on the server "
            f"(first: {missing[0].path} at {unique[missing[0].id][1][:12]})", missing,
            hint="restore them, or choose --on-missing keep (leave those pointers as they are) "
                 "or --on-missing drop (remove those files from the history)")
    return {item.id for item in missing}


def _converted_before(repo, kind: str, ids) -> set[str]:
    """The ids the resume map has, whose content the cache still holds."""
    from dataver.migrate.resume import ResumeMap, db_path

    if not os.path.exists(db_path(repo)):
        return set()
    rmap = ResumeMap(db_path(repo))
    try:
        rows = rmap.get_many(kind, ids)
    finally:
        rmap.close()
    cached = repo.odb.existing({md5 for md5, _size, _how in rows.values()})
    return {oid for oid, (md5, _size, _how) in rows.items() if md5 in cached}


def _convert(repo, source, unique: dict, lost: set[str], opts: Options, result: RewriteResult,
             progress) -> dict[str, tuple[str, int]]:
    from dataver.migrate.convert import Converter

    with repo.lock:
        converter = Converter(repo, source.kind, progress, opts.jobs)
        try:
            objects = []
            for item, commit in unique.values():
                if item.id not in lost:
                    obj = source.source_object(item, commit)
                    objects.append(obj)
            sums = converter.convert(objects)
        finally:
            converter.close()
    result.objects = len(sums)
    result.nbytes = sum(size for _md5, size in sums.values())
    result.read, result.reused = converter.read_count + converter.copied_unread, converter.reused
    return sums


# --- the new history ------------------------------------------------------------------------------
class _HistoryWriter:
    """Gives :func:`.stream.rewrite` each commit's fix-ups: the difference between the overlay
    of the commit (:class:`.render.TreeRenderer`) and that of its first parent, which the
    commit's own changes (against that parent) do not already carry."""

    def __init__(self, repo, source, scanner: Scanner, opts: Options, sums, lost: set[str],
                 parents: dict[str, list[str]], git_root: str, head: str | None):
        from dataver.migrate.render import TreeRenderer

        self.repo, self.scanner, self.opts, self.lost = repo, scanner, opts, lost
        self.parents, self.git_root, self.head = parents, git_root, head
        self.renderer = TreeRenderer(repo, source.kind, opts.group_by, sums, source.git.read_blobs,
                                     _init_files(git_root))
        self.overlays: dict[str, dict[str, bytes | None]] = {}
        self.waiting: dict[str, int] = {}  # commit -> first-parent children not written yet
        for commit, its_parents in parents.items():
            if its_parents:
                self.waiting[its_parents[0]] = self.waiting.get(its_parents[0], 0) + 1
        self.kept: set[str] = set()
        self.dropped: set[str] = set()
        self.outputs_at_head: list[str] = []

    def fixup_with(self, progress):
        def fixup(commit: str, touched: set[str]):
            commands = self.fixup(commit, touched)
            progress.advance()
            return commands
        return fixup

    def fixup(self, commit: str, touched: set[str]) -> list[bytes]:
        entries, found, others = self.scanner.scan(commit)
        lost = [f.path for f in found if f.id in self.lost]
        found = [f for f in found if f.id not in self.lost]
        keep = self.opts.on_missing == "keep"
        (self.kept if keep else self.dropped).update(lost)
        at_head = commit == self.head
        new = self.renderer.overlay(
            entries, found, remaining=others + (lost if keep else []),
            dropped=[] if keep else lost, worktree_root=self.git_root if at_head else None,
            ignored=self._dvcignored() if at_head else None)
        parent = self.parents[commit][0] if self.parents[commit] else None
        old = self.overlays.get(parent, {}) if parent else {}
        commands = []
        for path, data in new.items():
            if path in touched or path not in old or old[path] != data:
                commands.append(stream.delete(path) if data is None else stream.modify(path, data))
        gone = [p for p in old if p not in new and p not in touched]
        if gone:
            tree = {e[0]: e for e in entries}
            for path in gone:  # back to what the commit itself holds there
                entry = tree.get(path)
                commands.append(stream.restore(path, entry[1], entry[2]) if entry else stream.delete(path))
        self._remember(commit, parent, new)
        if at_head:
            self.outputs_at_head = sorted(p[:-4] for p, data in new.items()
                                          if data is not None and p.endswith(".dvc"))
        return commands

    def _remember(self, commit: str, parent: str | None, overlay) -> None:
        if self.waiting.get(commit):
            self.overlays[commit] = overlay
        if parent is not None:
            self.waiting[parent] -= 1
            if not self.waiting[parent]:
                self.overlays.pop(parent, None)

    def _dvcignored(self):
        return lambda path: self.repo.ignore.is_ignored(path, False)


def _init_files(git_root: str) -> dict[str, bytes]:
    """The DVC repository's own files, as the work tree has them: added to rewritten commits
    that lack them, so that every one of them is a DVC repository."""
    files = {}
    for rel in INIT_FILES:
        path = os.path.join(git_root, *rel.split("/"))
        if os.path.isfile(path):
            with open(path, "rb") as fobj:
                files[rel] = fobj.read()
    return files


# --- after the stream -----------------------------------------------------------------------------
def _write_map(repo, mapping: dict[str, str]) -> str:
    from dataver.atomic import write_text_atomic

    path = os.path.join(repo.tmp_dir, "dataver", MAP_NAME)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_text_atomic(path, "".join(f"{old} {new}\n" for old, new in mapping.items()))
    return path


def _move_worktree(repo, git_root: str, old: str, new: str, outputs: list[str], progress) -> None:
    """Index and work tree from the old HEAD to the rewritten one: git moves its own files
    (pointers go, `.dvc` files come), then every output of the new HEAD is checked out from the
    cache (the converted content is there, verified)."""
    if old == new:
        return
    from dataver.ops.checkout import checkout

    fresh = gitops.new_init_files(git_root, old)  # a `dataver init` of this run: untracked
    gitops.stage(git_root, [p for p in fresh if os.path.lexists(os.path.join(git_root, p))])
    gitops.run(git_root, "read-tree", "-m", "-u", old, new)
    if outputs:
        checkout(repo, [os.path.join(git_root, *p.split("/")) for p in outputs], force=True,
                 progress=progress)


def _push(repo, writer: _HistoryWriter, opts: Options, progress) -> int:
    """Send every object the rewritten history uses to the DVC remote."""
    from dataver.hashing import MD5
    from dataver.ops.sync import push
    from dataver.transfer import Used

    used = [Used("(migrated history)", md5, MD5) for md5, _size in writer.renderer.sums.values()]
    used += [Used("(migrated history)", oid, MD5) for oid in writer.renderer.manifest_oids]
    return push(repo, remote=opts.remote, jobs=opts.jobs, progress=progress, used=used).transferred
