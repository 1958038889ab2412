"""Forward-only migration: one new commit on the current branch in which the converted files are
DVC outputs. No existing commit changes; the old history keeps its pointers.

Steps, in an order that keeps a crash harmless:

1. checks (a branch, a clean tree), scan of HEAD's tree, objects missing locally fetched with
   the real git-lfs / git-annex, ``--on-missing`` applied;
2. `dataver init` if the repository has no `.dvc/` yet (said in the result; its files go into
   the migration commit);
3. conversion (each object read once, resumable, see :mod:`.convert`);
4. the plan (outputs, `.gitattributes` edits) saved in the resume database, then applied:
   `.dir` manifests, index, work tree, `.dvc` files, `.gitignore`, `.gitattributes`, checkout
   from the cache, one commit. A run killed while applying finds its plan again and finishes
   it: the changes it made are the plan's and do not count as a dirty tree.
5. with ``--push``, the objects go to the DVC remote.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dataver import dvcfile
from dataver.migrate import gitops
from dataver.migrate.errors import MigrateError, MissingObjectsError
from dataver.progress import SILENT

ON_MISSING = ("fail", "keep", "drop")


@dataclass
class Options:
    """What to migrate and how (the CLI's options)."""

    kind: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    above: int | None = None
    group_by: str | None = None  # None: per folder where a folder holds many files
    on_missing: str = "fail"
    push: bool = False
    remote: str | None = None
    jobs: int | None = None
    message: str | None = None

    def key(self) -> dict:
        """What makes two runs the same migration (an interrupted one resumes only if so)."""
        return {"kind": self.kind, "include": list(self.include), "exclude": list(self.exclude),
                "above": self.above, "group_by": self.group_by, "on_missing": self.on_missing}


@dataclass
class ForwardResult:
    branch: str
    commit: str | None = None  # the new commit; None when there was nothing to migrate
    initialized: bool = False  # `dataver init` was run
    files: int = 0  # paths converted
    objects: int = 0  # unique objects among them
    nbytes: int = 0  # bytes of those objects
    read: int = 0  # objects read this run
    reused: int = 0  # objects an earlier (interrupted) run converted
    outputs: list[str] = field(default_factory=list)  # .dvc files written
    attributes: dict[str, bool] = field(default_factory=dict)  # .gitattributes changed -> deleted
    kept: list[str] = field(default_factory=list)  # --on-missing keep: left as they were
    dropped: list[str] = field(default_factory=list)  # --on-missing drop: removed
    pushed: int | None = None
    resumed: bool = False  # a killed run's plan was finished
    in_place: int = 0  # converted work-tree files left as they were (not rewritten from the cache)


def migrate(opts: Options, cwd: str | None = None, progress=None) -> ForwardResult:
    """Run a forward migration in the repository containing ``cwd``."""
    from dataver.migrate.sources import open_source
    from dataver.repo import Repo

    progress = progress or SILENT
    git_root = gitops.toplevel(cwd or os.getcwd())
    head, branch = gitops.head(git_root)
    repo_root = Repo.find_root(cwd or os.getcwd()) or git_root
    repo = Repo(repo_root) if os.path.isdir(os.path.join(repo_root, ".dvc")) else None
    try:
        if repo is not None:
            pending = _pending(repo, head, opts)
            if pending is not None:
                return _finish(repo, git_root, head, branch, pending, opts, progress, resumed=True)
        gitops.check_clean(git_root, gitops.new_init_files(git_root, head))
        if opts.push and repo is not None:
            _check_remote(repo, opts.remote)
        with open_source(opts.kind, git_root, opts.include, opts.exclude, opts.above) as source:
            prefix = _prefix(git_root, repo_root)
            others: list = []
            with progress.phase("Scanning", 1, unit="commits"):
                found = source.scan(head, prefix, others=others)
                progress.advance()
            result = ForwardResult(branch)
            if not found:
                return result
            found = _settle_missing(source, repo, found, opts, result, progress)
            if repo is None:
                if opts.push:
                    raise MigrateError("--push needs a DVC remote, and this repository has none yet",
                                       hint="run `dataver init` and `dataver remote add -d NAME URL` first")
                repo = _init(git_root)
                result.initialized = True
            plan = _convert_and_plan(repo, source, git_root, head, found, others, opts, result, progress)
        return _finish(repo, git_root, head, branch, plan, opts, progress, result=result)
    finally:
        if repo is not None:
            repo.close()


def _prefix(git_root: str, repo_root: str) -> str:
    rel = os.path.relpath(repo_root, git_root).replace(os.sep, "/")
    return "" if rel == "." else rel


def _pending(repo, head: str, opts: Options) -> dict | None:
    """The plan of an interrupted run on this very commit, if any."""
    from dataver.migrate.resume import ResumeMap, db_path

    if not os.path.exists(db_path(repo)):
        return None
    rmap = ResumeMap(db_path(repo))
    try:
        plan = rmap.pending(head)
    finally:
        rmap.close()
    if plan is not None and plan["options"] != opts.key():
        raise MigrateError("an interrupted migration of this commit with other options is unfinished",
                           hint=f"run it again with the same options ({_describe(plan['options'])}) "
                                "to finish it")
    return plan


def _describe(options: dict) -> str:
    parts = [f"dataver migrate {options['kind']}"]
    parts += [f"--include '{p}'" for p in options["include"]]
    parts += [f"--exclude '{p}'" for p in options["exclude"]]
    for name in ("above", "group_by"):
        if options[name] is not None:
            parts.append(f"--{name.replace('_', '-')} {options[name]}")
    if options["on_missing"] != "fail":
        parts.append(f"--on-missing {options['on_missing']}")
    return " ".join(parts)


def _check_remote(repo, name: str | None) -> None:
    from dataver.remote import default_remote_name

    name = name or default_remote_name(repo.config)
    if name not in repo.config.remotes():
        raise MigrateError(f"DVC remote '{name}' does not exist", hint="see `dataver remote list`")


def _settle_missing(source, repo, found, opts: Options, result: ForwardResult, progress):
    """Fetch what is not here; apply --on-missing to what still is not. Objects an earlier run
    converted need no source copy."""
    known: set[str] = set()
    if repo is not None:
        from dataver.migrate.resume import ResumeMap, db_path

        if os.path.exists(db_path(repo)):
            rmap = ResumeMap(db_path(repo))
            rows = rmap.get_many(source.kind, {f.id for f in found})
            rmap.close()
            cached = repo.odb.existing({md5 for md5, _s, _h in rows.values()})
            known = {oid for oid, (md5, _s, _h) in rows.items() if md5 in cached}
    missing = source.missing([f for f in found if f.id not in known])
    if missing:
        with progress.phase("Fetching", len({f.id for f in missing}), unit="objects"):
            source.fetch(missing)
        missing = source.missing(missing)
    if not missing:
        return found
    if opts.on_missing == "fail":
        raise MissingObjectsError(
            f"{len(missing)} file(s) have no object here or on the server (first: {missing[0].path})",
            missing, hint="restore them, or choose --on-missing keep (leave them as they are) "
                          "or --on-missing drop (remove them)")
    lost = {f.path for f in missing}
    (result.kept if opts.on_missing == "keep" else result.dropped).extend(sorted(lost))
    return [f for f in found if f.path not in lost]


def _init(git_root: str):
    """`dataver init` at the top of the work tree, its files left unstaged until the commit (a
    failure before then leaves a tree that is still clean)."""
    from dataver.repo import Repo

    repo = Repo.init(git_root)
    gitops.run(git_root, "reset", "-q", "--", *gitops.INIT_FILES, check=False)
    return repo


def _convert_and_plan(repo, source, git_root, head, found, others, opts, result, progress) -> dict:
    from dataver.migrate.convert import Converter
    from dataver.migrate.layout import plan_outputs

    with repo.lock:
        converter = Converter(repo, source.kind, progress, opts.jobs)
        try:
            objects = source.objects(found)
            for obj in objects:
                obj.commit = head
            sums = converter.convert(objects)
        finally:
            converter.close()
    result.files, result.objects = len(found), len(sums)
    result.nbytes = sum(size for _md5, size in sums.values())
    result.read, result.reused = converter.read_count + converter.copied_unread, converter.reused
    entries = source.list_tree(head)
    tracked = {e[0] for e in entries}
    converted = {f.path for f in found}
    removed = converted | set(result.dropped)
    attributes = _attributes_plan(source, entries, converted, others, result)
    deleted = {p for p, new in attributes.items() if new is None}
    staying = tracked - removed - deleted
    ignored = _dvcignored(repo, git_root)
    outputs = plan_outputs(found, staying, git_root, opts.group_by, ignored,
                           leaving=deleted | set(result.dropped))
    return {
        "options": opts.key(),
        "outputs": [{"path": o.path, "dir": o.is_dir,
                     "files": [[f.path, *sums[f.id], f.isexec] for f in o.files]} for o in outputs],
        "remove": sorted(removed),
        "attributes": {p: None if new is None else new.decode("utf-8", "surrogateescape")
                       for p, new in attributes.items()},
        "init": sorted(gitops.new_init_files(git_root, head)),
        "summary": {"files": result.files, "objects": result.objects, "nbytes": result.nbytes},
    }


def _attributes_plan(source, entries, converted, others, result) -> dict[str, bytes | None]:
    """LFS only: the `.gitattributes` edits (see :mod:`.attributes`)."""
    if source.kind != "lfs":
        return {}
    from dataver.migrate.attributes import NAME, plan_attributes

    blobs = {path: blob for path, _mode, blob, _size in entries if path.rpartition("/")[2] == NAME}
    contents = source.git.read_blobs(list(blobs.values()))
    remaining = set(others) | set(result.kept)
    return plan_attributes({p: contents[b] for p, b in blobs.items()}, converted, remaining)


def _dvcignored(repo, git_root: str):
    prefix = _prefix(git_root, repo.root)

    def ignored(path: str) -> bool:
        rel = path[len(prefix) + 1:] if prefix else path
        return repo.ignore.is_ignored(rel, False)

    return ignored


def _finish(repo, git_root, head, branch, plan, opts, progress, resumed=False,
            result: ForwardResult | None = None) -> ForwardResult:
    """Apply ``plan`` (saved first, so a kill can be finished) and commit; push if asked.
    ``result``: what the run found and converted so far (else the plan's summary says it)."""
    from dataver.migrate.apply import apply_plan
    from dataver.migrate.resume import ResumeMap, db_path

    allowed = _touched(plan)
    gitops.check_clean(git_root, allowed)
    rmap = ResumeMap(db_path(repo))
    try:
        rmap.set_pending(head, opts.kind, plan)
        with repo.lock:
            in_place = apply_plan(repo, git_root, plan, progress)
        summary = plan["summary"]
        message = opts.message or _message(opts.kind, summary["files"], len(plan["outputs"]))
        gitops.stage(git_root, sorted(_staged(plan, git_root)))
        new = gitops.commit(git_root, message)
        rmap.finish(head, new, opts.kind)
    finally:
        rmap.close()
    if result is None:
        result = ForwardResult(branch, resumed=resumed, files=summary["files"],
                               objects=summary["objects"], nbytes=summary["nbytes"])
    result.commit = new
    result.in_place = in_place
    result.outputs = [o["path"] + dvcfile.SUFFIX for o in plan["outputs"]]
    result.attributes = {p: c is None for p, c in sorted(plan["attributes"].items())}
    if opts.push:
        from dataver.ops.sync import push

        targets = [os.path.join(git_root, *p.split("/")) for p in result.outputs]
        result.pushed = push(repo, targets, remote=opts.remote, jobs=opts.jobs, progress=progress).transferred
    return result


def _touched(plan: dict) -> set[str]:
    """Every path the plan changes: a tree left so by a killed run is not "dirty"."""
    paths = set(plan["remove"]) | set(plan["attributes"]) | set(plan["init"])
    for out in plan["outputs"]:
        paths.add(out["path"] + dvcfile.SUFFIX)
        parent = out["path"].rpartition("/")[0]
        paths.add(f"{parent}/.gitignore" if parent else ".gitignore")
    return paths


def _staged(plan: dict, git_root: str) -> set[str]:
    """What the commit takes: the `.dvc` files, `.gitignore` files, `.gitattributes` edits and
    the files of a fresh `dataver init` (the removals are in the index already)."""
    paths = {p for p in _touched(plan) - set(plan["remove"])
             if os.path.lexists(os.path.join(git_root, *p.split("/"))) or p in plan["attributes"]}
    return paths


def _message(kind: str, files: int, outputs: int) -> str:
    source = {"lfs": "Git LFS", "annex": "git-annex", "git": "plain git"}[kind]
    return (f"Move {files} file{'s' if files != 1 else ''} from {source} to DVC "
            f"({outputs} output{'s' if outputs != 1 else ''})\n\nWritten by `dataver migrate {kind}`.")
