"""`repro`: run the stages whose inputs changed, in dependency order, then cache their outputs
and record them in dvc.lock, one stage at a time (a later failure leaves earlier stages
locked). Commands run as DVC runs them: each line with ``$SHELL -c`` (bash and zsh without
their rc files), in the stage's wdir, with DVC_ROOT and DVC_STAGE set, output streamed."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from dataver import scm
from dataver.errors import UserError
from dataver.ops import add as addops
from dataver.ops.stage_status import forget_verified
from dataver.ops.status import cache_only_grows
from dataver.pipeline import changes, graph as graphmod, lock, params as paramsmod, repro_pull, runcache
from dataver.pipeline.stage import load_stages

_SHELL_OPTS = {"bash": ["--noprofile", "--norc"], "zsh": ["--no-rcs"]}


class StageFailedError(UserError):
    """A stage's command exited non-zero; ``returncode`` is its exit code."""

    def __init__(self, stage: str, cmd: str, returncode: int):
        super().__init__(f"failed to reproduce '{stage}': failed to run: {cmd}, exited with {returncode}")
        self.returncode = returncode


class Events:
    """What repro reports as it goes; the CLI prints these (this module prints nothing)."""

    def skipped(self, stage, reason: str) -> None: ...
    def running(self, stage, reason: str) -> None: ...
    def command(self, cmd: str) -> None: ...
    def lock_written(self, path: str, created: bool) -> None: ...
    def cached(self, stage) -> None: ...
    def pulling(self, stage) -> None: ...
    def failed(self, stage, error: Exception, skipped: list, ignored: bool) -> None: ...


class ReproOptions:
    """repro's options, named as DVC's: ``on_error`` is "fail", "keep-going" or "ignore"."""

    __slots__ = ("force", "single", "dry", "downstream", "run_cache", "no_commit", "recursive",
                 "glob", "all_pipelines", "on_error", "interactive", "allow_missing", "pull",
                 "remote", "pipeline", "force_downstream")

    def __init__(self, force=False, single=False, dry=False, downstream=False, run_cache=True,
                 no_commit=False, recursive=False, glob=False, all_pipelines=False,
                 on_error="fail", interactive=False, allow_missing=False, pull=False, remote=None,
                 pipeline=False, force_downstream=False):
        if on_error not in ("fail", "keep-going", "ignore"):
            raise ValueError(f"on_error must be fail, keep-going or ignore, not {on_error!r}")
        values = locals()
        for name in self.__slots__:
            setattr(self, name, values[name])
        if all_pipelines or pipeline:  # as DVC: whole pipelines, whatever -s/--downstream say
            self.single = self.downstream = False


def repro(repo, targets: list[str] | None = None, events: Events | None = None,
          confirm=None, **options) -> list:
    """Bring the targets (default: the stages of ./dvc.yaml) up to date; returns the stages
    that ran (or were restored from the run cache). ``options`` are :class:`ReproOptions`'s;
    ``confirm(stage, reason)`` answers --interactive's question (None: no)."""
    events, opts = events or Events(), ReproOptions(**options)
    stages = load_stages(repo)
    graph = graphmod.active(graphmod.build(stages))
    chosen = None if opts.all_pipelines else select(stages, targets or [_default_target()], repo.root, opts)
    with repo.lock:
        repo.odb.clean_leftovers()
        forget_verified()  # what an earlier call in this process saw may be stale
        if opts.pull and opts.run_cache and not opts.dry:
            repro_pull.pull_run_cache(repo, opts.remote)
        plan = graphmod.plan(graph, chosen, downstream=opts.downstream, single=opts.single,
                             pipeline=opts.pipeline)
        ran, failed = _run_plan(repo, graph, plan, events, opts, confirm)
        repo.state.flush()
    if failed and opts.on_error != "ignore":
        names = [f"'{s.addressing}'" for s in failed]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        raise UserError(f"failed to reproduce{' stages:' if len(names) > 1 else ''} {joined}",
                        hint="see the errors above")
    return ran


def _run_plan(repo, graph: dict, plan: list, events: Events, opts: ReproOptions, confirm):
    """Each stage of ``plan`` in turn; ``(stages run, stages failed)``. As DVC, a failure stops
    everything ("fail"), skips the stages that depend on it ("keep-going"), or nothing
    ("ignore"); with ``force_downstream`` a stage that runs forces the stages that depend on it
    directly (and so on down)."""
    ran, failed, skip, forced = [], [], set(), set()
    dependents = graphmod.dependents(graph) if opts.force_downstream else {}
    for stage in plan:
        if stage in skip:
            continue
        try:
            if _repro_one(repo, stage, graph, events, opts, confirm, opts.force or stage in forced):
                ran.append(stage)
                forced.update(dependents.get(stage, ()))
        except UserError as exc:
            if opts.on_error == "fail":
                raise
            failed.append(stage)
            after = [] if opts.on_error == "ignore" else \
                [s for s in graphmod.postorder(graph, [stage], reverse=True) if s is not stage]
            skip.update(after)
            events.failed(stage, exc, after, opts.on_error == "ignore")
    return ran, failed


def _default_target() -> str:
    """As DVC: no TARGET means the stages of the dvc.yaml in the current directory."""
    if not os.path.exists("dvc.yaml"):
        raise graphmod.PipelineError(f"'{os.path.abspath('dvc.yaml')}' does not exist",
                                     hint="name a TARGET, or use -P for every pipeline")
    return "dvc.yaml"


def select(stages: list, targets: list[str], root: str, opts: ReproOptions) -> list:
    """The stages named by ``targets``: with ``recursive``, a directory means every stage of
    the dvc.yaml files below it; with ``glob``, stage names may hold shell wildcards."""
    import fnmatch

    chosen: list = []
    for target in targets:
        if opts.recursive and os.path.isdir(target):
            top = os.path.abspath(target) + os.sep
            found = [s for s in stages if s.dvcyaml.startswith(top)]
        elif opts.glob and any(c in target for c in "*?["):
            file, _, pattern = target.rpartition(":") if ":" in target else ("", "", target)
            dvcyaml = os.path.abspath(file or "dvc.yaml")
            found = [s for s in stages if s.dvcyaml == dvcyaml and fnmatch.fnmatchcase(s.name, pattern)]
            if not found:
                raise graphmod.PipelineError(f"no stage matches '{target}'",
                                             hint="check the pattern (`dataver dag` lists the stages)")
        else:
            found = graphmod.resolve_targets(stages, [target], root)
        chosen += [s for s in found if s not in chosen]
    return chosen


def _repro_one(repo, stage, graph: dict, events: Events, opts: ReproOptions, confirm,
               force: bool) -> bool:
    """Decide about one stage and reproduce it if it changed (or ``force``); whether it ran (or
    was restored)."""
    locked = lock.read(stage.lock_path).get(stage.name)
    missing = changes.Missing(_upstream_outs(stage, graph)) if opts.allow_missing else None
    reason = "forced" if force else changes.why(repo, stage, locked, missing=missing)
    if reason is None:
        events.skipped(stage, "didn't change")
        return False
    if opts.pull and not force and not opts.dry and \
            changes.why(repo, stage, locked, missing=changes.Missing(_upstream_outs(stage, graph))) is None:
        events.pulling(stage)  # only data is missing: pulled, the stage need not run
        if repro_pull.pull_outputs(repo, stage, locked, opts.remote):
            return False
    if opts.interactive and not (confirm and confirm(stage, reason)):
        raise UserError(f"reproduction of '{stage.addressing}' aborted by the user")
    _reproduce(repo, stage, locked, reason, events, opts, force)
    return True


def _upstream_outs(stage, graph: dict) -> dict[str, str]:
    """Absolute path -> dvc.lock md5 of the outputs of the stages ``stage`` depends on."""
    found = {}
    for up in graph.get(stage, []):
        entry = lock.read(up.lock_path).get(up.name) or {}
        for out in entry.get("outs") or []:
            if hasattr(out, "get") and out.get("md5"):
                found[up.abspath(str(out.get("path")))] = str(out["md5"])
    return found


def _reproduce(repo, stage, locked, reason: str, events: Events, opts: ReproOptions,
               force: bool) -> None:
    """As DVC: outputs are removed, then restored from the run cache when an entry matches (not
    with --force), else the command runs; outputs are cached and dvc.lock written."""
    if stage.frozen:
        events.running(stage, reason)
        if not opts.dry:
            _check_deps(stage)
            record(repo, stage, events, opts.no_commit)
        return
    if not opts.dry:
        if opts.pull and not force:
            repro_pull.pull_missing_deps(repo, stage, opts.remote)
        _check_deps(stage)
        _remove_outs(repo, stage)
    entry = None if force else _cached_entry(repo, stage, locked, opts)
    if entry is not None:
        events.cached(stage)
        if not opts.dry:
            runcache.checkout(repo, stage, entry)
            record(repo, stage, events, opts.no_commit)
            return
    events.running(stage, reason)
    for cmd in stage.commands():
        events.command(cmd)
        if not opts.dry:
            _run_command(repo, stage, cmd)
    if not opts.dry:
        record(repo, stage, events, opts.no_commit)


def _cached_entry(repo, stage, locked, opts: ReproOptions) -> dict | None:
    """The lock-like entry to restore the stage from, as DVC chooses it: its own dvc.lock entry
    when only outputs changed, else (unless --no-run-cache) the newest run-cache entry for its
    command, dependencies and params; None unless every output it lists is in the cache (with
    --pull, after fetching them)."""
    if not runcache.can_hash(stage) or any(not os.path.lexists(stage.abspath(d)) for d in stage.deps):
        return None
    if locked is not None and changes.inputs_changed(repo, stage, locked) is None \
            and runcache.fits(locked, stage):
        entry = locked
    elif opts.run_cache:
        deps = [_hash(repo, stage, dep, cache=False) for dep in stage.deps]
        values = paramsmod.values(stage.wdir, stage.params)
        probe = lock.stage_entry(stage.cmd, deps, values, [{"path": o.path} for o in stage.outs])
        entry = runcache.lookup(repo, stage, runcache.entry_key(probe))
    else:
        return None
    if entry is not None and opts.pull and not opts.dry and not runcache.outs_cached(repo, entry):
        repro_pull.fetch_entry(repo, entry, stage, opts.remote)
    return entry if entry is not None and runcache.outs_cached(repo, entry) else None


def _check_deps(stage) -> None:
    for dep in stage.deps:
        if not os.path.lexists(stage.abspath(dep)):
            raise UserError(f"failed to reproduce '{stage.addressing}': dependency '{dep}' does not exist",
                            hint="create it, or add the stage that makes it")
    paramsmod.values(stage.wdir, stage.params)  # a missing file or key: refused before running


def _remove_outs(repo, stage) -> None:
    """As DVC: outputs are deleted before the command runs, except ``persist: true`` ones,
    which are unprotected (made writable copies) instead."""
    from dataver.ops.unprotect import unprotect_path

    forget_verified()  # a stage is about to change the workspace
    for out in stage.outs:
        path = stage.abspath(out.path)
        if not os.path.lexists(path):
            continue
        if out.persist:
            unprotect_path(repo, path)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _run_command(repo, stage, cmd: str) -> None:
    """Run one command line; Ctrl-C (SIGINT) is passed on to the command's whole process group
    and waited for, then raised as KeyboardInterrupt (exit 130) so dvc.lock keeps its previous
    entry for the stage."""
    shell = os.environ.get("SHELL") or "/bin/sh"
    argv = [shell, *_SHELL_OPTS.get(os.path.basename(shell).lower(), []), "-c", cmd]
    env = dict(os.environ)
    env.setdefault("DVC_ROOT", repo.root)
    env["DVC_STAGE"] = stage.addressing
    interrupted = []
    # its own process group, so that one signal reaches the command and everything it started
    group = {"process_group": 0} if sys.version_info >= (3, 11) else {"preexec_fn": os.setpgrp}
    proc = subprocess.Popen(argv, cwd=stage.wdir, env=env, close_fds=True, **group)

    def forward(signum, _frame) -> None:
        interrupted.append(signum)
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:  # already gone
            pass

    try:
        old = signal.signal(signal.SIGINT, forward)
    except ValueError:  # not the main thread: signals stay as they are
        old = None
    try:
        proc.wait()
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
    if interrupted:
        raise KeyboardInterrupt
    if proc.returncode != 0:
        raise StageFailedError(stage.addressing, cmd, proc.returncode)


def record(repo, stage, events: Events, no_commit: bool = False, verb: str = "reproduce",
           save_run: bool | None = None, relink: bool = True) -> None:
    """Hash dependencies, cache outputs (not with ``no_commit``), save the run to the run
    cache, then write the stage's dvc.lock entry (last, so a crash before it leaves the stage
    unlocked, never locked to uncached data). ``verb`` names the command in errors;
    ``save_run`` overrides repro's rule for saving to the run cache; ``relink=False`` leaves
    cached outputs as they are instead of linking them to the cache (commit --no-relink)."""
    deps = [_hash(repo, stage, dep, cache=False) for dep in stage.deps]
    values = paramsmod.values(stage.wdir, stage.params)
    outs = []
    with cache_only_grows(repo):
        for out in stage.outs:
            path = stage.abspath(out.path)
            if not os.path.lexists(path):
                raise UserError(f"failed to {verb} '{stage.addressing}': output '{out.path}' does not exist",
                                hint="the command must create every output the stage lists")
            outs.append(_hash(repo, stage, out.path, cache=out.cache and not no_commit, relink=relink))
            if out.cache and not isinstance(repo.scm, scm.NoScm) and not repo.scm.is_ignored(path):
                scm.ignore(path)
        entry = lock.stage_entry(stage.cmd, deps, values, outs)
        if runcache.saves_for(stage, no_commit) if save_run is None else save_run:
            runcache.save(repo, stage, entry)
    created = not os.path.exists(stage.lock_path)
    if lock.write(stage.lock_path, stage.name, entry):
        events.lock_written(stage.lock_path, created)


def _hash(repo, stage, path: str, cache: bool, relink: bool = True) -> dict:
    abspath = stage.abspath(path)
    if os.path.isdir(abspath):
        oid, size, nfiles = addops._add_dir(repo, abspath, no_commit=not cache)
        isexec = False
    else:
        oid, size = addops._add_file(repo, abspath, no_commit=not cache)
        nfiles, isexec = None, addops.is_exec(abspath)
    if cache and relink and addops._links_to_cache(repo, oid, abspath):
        repo.materialize(abspath, oid, "md5", isexec, force=True, relink=True)
    return lock.hash_entry(path, oid, size, nfiles, isexec)
