"""`repro`: run the stages whose inputs changed, in dependency order, then cache their outputs
and record them in dvc.lock, one stage at a time (a later failure leaves earlier stages
locked). Commands run as DVC runs them: each line with ``$SHELL -c`` (bash and zsh without
their rc files), in the stage's wdir, with DVC_ROOT and DVC_STAGE set, output streamed."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

from dataver import scm
from dataver.errors import UserError
from dataver.ops import add as addops
from dataver.ops.status import cache_only_grows
from dataver.pipeline import changes, graph as graphmod, lock, params as paramsmod
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


def repro(repo, targets: list[str] | None = None, force: bool = False, single: bool = False,
          dry: bool = False, downstream: bool = False, events: Events | None = None) -> list:
    """Bring the targets (default: every stage) up to date; returns the stages that ran."""
    events = events or Events()
    stages = load_stages(repo)
    graph = graphmod.build(stages)
    chosen = graphmod.resolve_targets(stages, targets, repo.root) if targets else None
    ran = []
    with repo.lock:
        repo.odb.clean_leftovers()
        for stage in graphmod.plan(graph, chosen, downstream=downstream, single=single):
            locked = lock.read(stage.lock_path).get(stage.name)
            reason = "forced" if force else changes.why(repo, stage, locked)
            if reason is None:
                events.skipped(stage, "didn't change")
                continue
            events.running(stage, reason)
            if not dry:
                _reproduce(repo, stage, events)
            else:
                for cmd in stage.commands() if not stage.frozen else []:
                    events.command(cmd)
            ran.append(stage)
        repo.state.flush()
    return ran


def _reproduce(repo, stage, events: Events) -> None:
    _check_deps(stage)
    if not stage.frozen:
        _remove_outs(repo, stage)
        for cmd in stage.commands():
            events.command(cmd)
            _run_command(repo, stage, cmd)
    _commit(repo, stage, events)


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
    shell = os.environ.get("SHELL") or "/bin/sh"
    argv = [shell, *_SHELL_OPTS.get(os.path.basename(shell).lower(), []), "-c", cmd]
    env = dict(os.environ)
    env.setdefault("DVC_ROOT", repo.root)
    env["DVC_STAGE"] = stage.addressing
    proc = subprocess.Popen(argv, cwd=stage.wdir, env=env, close_fds=True)
    # Like DVC: Ctrl-C goes to the command (same process group); we wait for it to end.
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        old = None
    try:
        proc.wait()
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
    if proc.returncode != 0:
        raise StageFailedError(stage.addressing, cmd, proc.returncode)


def _commit(repo, stage, events: Events) -> None:
    """Hash dependencies, cache outputs, then write the stage's dvc.lock entry (last, so a
    crash before it leaves the stage unlocked, never locked to uncached data)."""
    deps = [_hash(repo, stage, dep, cache=False) for dep in stage.deps]
    values = paramsmod.values(stage.wdir, stage.params)
    outs = []
    with cache_only_grows(repo):
        for out in stage.outs:
            path = stage.abspath(out.path)
            if not os.path.lexists(path):
                raise UserError(f"failed to reproduce '{stage.addressing}': output '{out.path}' does not exist",
                                hint="the command must create every output the stage lists")
            outs.append(_hash(repo, stage, out.path, cache=out.cache))
            if out.cache and not isinstance(repo.scm, scm.NoScm) and not repo.scm.is_ignored(path):
                scm.ignore(path)
    created = not os.path.exists(stage.lock_path)
    if lock.write(stage.lock_path, stage.name, lock.stage_entry(stage.cmd, deps, values, outs)):
        events.lock_written(stage.lock_path, created)


def _hash(repo, stage, path: str, cache: bool) -> dict:
    abspath = stage.abspath(path)
    if os.path.isdir(abspath):
        oid, size, nfiles = addops._add_dir(repo, abspath, no_commit=not cache)
        isexec = False
    else:
        oid, size = addops._add_file(repo, abspath, no_commit=not cache)
        nfiles, isexec = None, addops.is_exec(abspath)
    if cache and addops._links_to_cache(repo, oid, abspath):
        repo.materialize(abspath, oid, "md5", isexec, force=True, relink=True)
    return lock.hash_entry(path, oid, size, nfiles, isexec)
