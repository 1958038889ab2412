"""The crash scenarios: one per command, each a function ``(Harness, [RemoteSpec,] kills)``
that builds its situation, kills the command ``kills`` times at random moments and checks each
time (see crash_harness.py for what is checked and how). Used by tests/func/test_crash.py and
benchmarks/fault_run.py; SCENARIOS lists them.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path
from typing import Callable

from tests.func.crash_harness import (Harness, RemoteSpec, Scale, check_store, check_workspace,
                                      configure, dataver, dvc_exe, dvcfile_oid, edit_dataset, git,
                                      make_dataset, needed_objects, run, scan, tree)


# --- building repos -------------------------------------------------------------------------------
def init_repo(path, scale: Scale) -> str:
    """A git repo with dataver, the dataset in ``data/`` added and committed."""
    os.makedirs(path)
    git(path, "init", "-q")
    dataver(path, "init", "-q")
    make_dataset(Path(path, "data"), scale)
    dataver(path, "add", "-q", "data")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "data")
    return str(path)


def copy_repo(src, dest) -> str:
    shutil.copytree(src, dest, symlinks=True)
    return str(dest)


def link_copy(src: str, dest: str) -> None:
    """``dest`` as a tree of hard links to ``src`` (objects are immutable: cheap snapshots)."""
    shutil.rmtree(dest, ignore_errors=True)
    if os.path.exists(src):
        shutil.copytree(src, dest, copy_function=os.link)


def dirty_fraction(rng: random.Random) -> float:
    return rng.choice([1.0, rng.uniform(0.2, 0.9)])


# --- scenarios ------------------------------------------------------------------------------------
def push_scenario(h: Harness, remote: RemoteSpec, kills: int, dvc_every: int = 0) -> None:
    """Kill `push` while the remote lacks all or part of the data; then push again."""
    configure(h.repo, remote)
    needed = needed_objects(h.repo)
    dvc_before = Path(h.repo, "data.dvc").read_bytes()
    full = h.timed("push")
    for i in range(kills):
        with h.round():
            if h.rng.random() < 0.5:
                remote.wipe()
            else:  # some files and every manifest gone (a .dir without its files cannot happen)
                held = [o for o in scan(remote.root).objects if not o.endswith(".dir")]
                remote.remove([o for o in scan(remote.root).objects if o.endswith(".dir")] +
                              h.rng.sample(held, int(len(held) * dirty_fraction(h.rng))))
            h.kill("push", full=full)
            h.check_cache(needed)
            h.check_remote(remote)
            if Path(h.repo, "data.dvc").read_bytes() != dvc_before:
                h.fail("push changed data.dvc")
            h.rerun("push")
            h.check_cache(needed)
            h.check(remote.check, needed)
            h.note_leftover_temps(h.cache(), remote.root)
            h.assert_clean(remote.name, dvc=_dvc_now(i, kills, dvc_every))


def fetch_pull_scenario(h: Harness, remote: RemoteSpec, kills: int, dvc_every: int = 0) -> None:
    """Kill `fetch` (cache emptied in part or whole) or `pull` (workspace too); run it again."""
    configure(h.repo, remote)
    needed = needed_objects(h.repo)
    expected = tree(Path(h.repo, "data"))
    dvc_before = Path(h.repo, "data.dvc").read_bytes()
    h.timed("push")
    shutil.rmtree(h.cache())
    full = {"fetch": h.timed("fetch")}
    shutil.rmtree(h.cache())
    shutil.rmtree(Path(h.repo, "data"))
    full["pull"] = h.timed("pull")
    for i in range(kills):
        with h.round():
            command = h.rng.choice(["fetch", "pull"])
            _drop_cache(h)
            if command == "pull":
                _drop_workspace(h)
            h.kill(command, full=full[command])
            h.check_cache()
            h.check_remote(remote, needed)
            if Path(h.repo, "data.dvc").read_bytes() != dvc_before:
                h.fail(f"{command} changed data.dvc")
            if Path(h.repo, "data").exists():
                h.check(check_workspace, h.repo, [expected])
            h.rerun(command)
            h.check_cache(needed)
            if tree(Path(h.repo, "data")) != expected:
                h.fail("the workspace differs from data.dvc after the re-run")
            h.note_leftover_temps(h.cache(), remote.root)
            h.assert_clean(remote.name, dvc=_dvc_now(i, kills, dvc_every))


def _drop_cache(h: Harness) -> None:
    """Remove the whole cache, or a random part of its objects."""
    if h.rng.random() < 0.5:
        shutil.rmtree(h.cache(), ignore_errors=True)
        return
    objects = scan(h.cache()).objects  # some files, and the manifests (never one without them)
    files = sorted(o for o in objects if not o.endswith(".dir"))
    for oid in h.rng.sample(files, int(len(files) * h.rng.uniform(0.2, 0.9))) + \
            [o for o in objects if o.endswith(".dir")]:
        os.unlink(objects[oid])


def _drop_workspace(h: Harness) -> None:
    data = Path(h.repo, "data")
    if h.rng.random() < 0.5:
        shutil.rmtree(data, ignore_errors=True)
        return
    files = sorted(data.rglob("*"))
    for path in h.rng.sample(files, len(files) // 2):
        if path.is_file():
            path.unlink()


def gc_scenario(h: Harness, remote: RemoteSpec, kills: int, dvc_every: int = 0) -> None:
    """Two versions of the data in the cache and on the remote; kill `gc -w -c` (which removes
    the old one's objects), check nothing in use went, then gc again. After every other kill,
    made to land while gc deletes the old version's files on the remote, bring the old data back
    into the cache and push it before gc runs again: the remote must then hold all of it."""
    if remote.delete is not None:
        raise ValueError("the gc scenario restores the remote behind its back: local remotes only")
    configure(h.repo, remote)
    v1_dvc = Path(h.repo, "data.dvc").read_bytes()
    old = needed_objects(h.repo)
    h.timed("push")
    edit_dataset(Path(h.repo, "data"), 0.7, "v2", h.rng)
    h.timed("add", "-q", "data")
    git(h.repo, "commit", "-qam", "v2")
    h.timed("push")
    needed = needed_objects(h.repo)
    dvc_before = Path(h.repo, "data.dvc").read_bytes()
    snap = os.path.join(h.repo, "..", "snapshot")
    index = os.path.join(h.repo, ".dvc", "tmp", "dataver")
    link_copy(h.cache(), os.path.join(snap, "cache"))
    link_copy(remote.root, os.path.join(snap, "remote"))
    shutil.copytree(index, os.path.join(snap, "index"))

    def restore():
        link_copy(os.path.join(snap, "cache"), h.cache())
        link_copy(os.path.join(snap, "remote"), remote.root)
        shutil.rmtree(index)
        shutil.copytree(os.path.join(snap, "index"), index)

    full = h.timed("gc", "-w", "-c", "-f")
    old_dir = next(o for o in old if o.endswith(".dir"))
    for i in range(kills):
        with h.round():
            restore()
            when = None
            if i % 2:  # kill once a file goes from the remote that sorts well before the .dir
                before = sorted(o for o in old - needed if o < old_dir)
                victim = h.rng.choice(before[:len(before) // 3] or [old_dir])
                when = _gone(remote.root, victim)
            elif h.rng.random() < 0.6:  # kill right after gc removed a random old object
                root = h.rng.choice([h.cache(), remote.root])
                when = _gone(root, h.rng.choice(sorted(old - needed)))
            h.kill("gc", "-w", "-c", "-f", full=full, when=when)
            h.soft(h.check_remote, remote, needed)
            h.soft(h.check_cache, needed)
            if Path(h.repo, "data.dvc").read_bytes() != dvc_before:
                h.fail("gc changed data.dvc")
            if i % 2:
                h.soft(_push_old_version, h, remote, v1_dvc, old, os.path.join(snap, "cache"))
            h.settle()
            h.rerun("gc", "-w", "-c", "-f")
            for where, root in (("cache", h.cache()), ("remote", remote.root)):
                left = set(h.check(check_store, root, where, needed).objects) - needed
                if left:
                    h.fail(f"gc left {len(left)} unused objects in the {where}")
            h.note_leftover_temps(h.cache(), remote.root)
            h.assert_clean(remote.name, dvc=_dvc_now(i, kills, dvc_every))


def _gone(root: str, oid: str) -> Callable[[], bool]:
    path = os.path.join(root, "files", "md5", oid[:2], oid[2:])
    return lambda: not os.path.exists(path)


def _push_old_version(h: Harness, remote: RemoteSpec, v1_dvc: bytes, old: set[str],
                      cache_snapshot: str) -> None:
    """The old version's data comes back into the cache (re-added, say) and is pushed: the
    remote must then hold all of it. A gc killed after removing some of its files but not its
    manifest, and before it told the remote index, must not make push (or `status -c`) take the
    remote for complete. Real DVC's answer is added to the message, for comparison."""
    old_dvc = Path(h.repo, "old.dvc")
    old_dvc.write_bytes(v1_dvc.replace(b"path: data", b"path: old"))
    try:
        missing = old - set(scan(remote.root).objects)
        link_copy(cache_snapshot, h.cache())
        status = dataver(h.repo, "status", "-c", "-r", remote.name, "old.dvc", check=False)
        theirs = run([dvc_exe(), "status", "-c", "-r", remote.name, "old.dvc"], h.repo,
                     check=False).stdout.strip()[:100] if missing else ""
        pushed = dataver(h.repo, "push", "-r", remote.name, "old.dvc", check=False)
        still = old - set(scan(remote.root).objects)
        problems = []
        if missing and "in sync" in status.stdout:
            problems.append(f"`status -c` of the old version says in sync while the remote lacks "
                            f"{len(missing)} of its {len(old)} objects (manifest there: "
                            f"{not any(o.endswith('.dir') for o in missing)}; real DVC says: "
                            f"{theirs!r})")
        if still:
            problems.append(f"`push` of the old version ({pushed.returncode}: "
                            f"{pushed.stdout.strip()!r}) left {len(still)} of its objects "
                            "missing on the remote")
        if problems:
            h.fail("; ".join(problems))
    finally:
        old_dvc.unlink()


def add_scenario(h: Harness, kills: int, dvc_every: int = 0) -> None:
    """Kill `add` of a directory not yet in the cache (sometimes twice); then add again."""
    final = Path(h.repo, "data.dvc").read_bytes()

    def reset():
        shutil.rmtree(h.cache(), ignore_errors=True)
        shutil.rmtree(Path(h.repo, ".dvc", "tmp", "dataver"), ignore_errors=True)
        for name in ("data.dvc", ".gitignore"):
            Path(h.repo, name).unlink(missing_ok=True)

    reset()
    full = h.timed("add", "data")
    needed = needed_objects(h.repo)
    for i in range(kills):
        with h.round():
            reset()
            for _attempt in range(1 + (h.rng.random() < 0.4)):  # a second kill on the leftovers
                h.kill("add", "data", full=full)
                h.check_cache()
                _check_dvcfile(h, {None, final})
            h.rerun("add", "data")
            if Path(h.repo, "data.dvc").read_bytes() != final:
                h.fail("data.dvc differs from the one a complete add wrote")
            if Path(h.repo, ".gitignore").read_text() != "/data\n":
                h.fail(f".gitignore is {Path(h.repo, '.gitignore').read_text()!r}")
            h.check_cache(needed)
            h.note_leftover_temps(h.cache())
            h.assert_clean(dvc=_dvc_now(i, kills, dvc_every))


def _check_dvcfile(h: Harness, allowed: set) -> None:
    """data.dvc is absent or one of ``allowed`` (bytes), and the cache holds all it needs."""
    path = Path(h.repo, "data.dvc")
    data = path.read_bytes() if path.exists() else None
    if data not in allowed:
        h.fail(f"data.dvc is neither the old nor the new version: {data!r}")
    if data is not None:
        missing = needed_objects(h.repo, dvcfiles=("data.dvc",)) - set(scan(h.cache()).objects)
        if missing:
            h.fail(f"data.dvc was written before {len(missing)} of its objects were cached")


def checkout_scenario(h: Harness, kills: int, dvc_every: int = 0) -> None:
    """Kill `checkout` of a deleted (or emptied) directory; then check out again."""
    expected = tree(Path(h.repo, "data"))
    objects = set(scan(h.cache()).objects)
    dvc_before = Path(h.repo, "data.dvc").read_bytes()
    shutil.rmtree(Path(h.repo, "data"))
    full = h.timed("checkout")
    for i in range(kills):
        with h.round():
            shutil.rmtree(Path(h.repo, "data"))
            if h.rng.random() < 0.5:  # a checkout that has only part of the work to do
                Path(h.repo, "data").mkdir()
            h.kill("checkout", full=full)
            if set(h.check_cache().objects) != objects:
                h.fail("checkout changed the set of cache objects")
            if Path(h.repo, "data.dvc").read_bytes() != dvc_before:
                h.fail("checkout changed data.dvc")
            if Path(h.repo, "data").exists():
                h.check(check_workspace, h.repo, [expected])
            h.rerun("checkout")
            if tree(Path(h.repo, "data")) != expected:
                h.fail("the workspace differs from data.dvc after the re-run")
            h.assert_clean(dvc=_dvc_now(i, kills, dvc_every))


def commit_scenario(h: Harness, kills: int, dvc_every: int = 0) -> None:
    """Kill `commit` of an edited directory; then commit again."""
    for step in ("warm-up", "timed"):  # the first one hashes every file of the copied repo
        edit_dataset(Path(h.repo, "data"), 0.03, step, h.rng)
        full = h.timed("commit", "data")
    for i in range(kills):
        with h.round():
            old = Path(h.repo, "data.dvc").read_bytes()
            edit_dataset(Path(h.repo, "data"), 0.03, f"edit {i}", h.rng)
            expected = tree(Path(h.repo, "data"))
            h.kill("commit", "data", full=full)
            h.check_cache()
            h.check(check_workspace, h.repo, [expected])
            path = Path(h.repo, "data.dvc")
            if path.read_bytes() != old:  # then it must be the new version, with its data cached
                _check_dvcfile(h, {path.read_bytes()})
                if _manifest_matches(h, expected) is False:
                    h.fail("data.dvc changed, but not to the edited data")
            h.rerun("commit", "data")
            if not _manifest_matches(h, expected):
                h.fail("after the re-run data.dvc does not describe the edited data")
            h.check_cache(needed_objects(h.repo))
            h.note_leftover_temps(h.cache())
            h.assert_clean(dvc=_dvc_now(i, kills, dvc_every))


def _manifest_matches(h: Harness, expected: dict[str, bytes]) -> bool:
    oid = dvcfile_oid(Path(h.repo, "data.dvc").read_bytes())
    with open(os.path.join(h.cache(), "files", "md5", oid[:2], oid[2:]), "rb") as fobj:
        listed = {e["relpath"]: e["md5"] for e in json.loads(fobj.read())}
    return listed == {rel: hashlib.md5(data).hexdigest() for rel, data in expected.items()}



def _dvc_now(i: int, kills: int, every: int) -> bool:
    """Ask real DVC after the last kill, and every ``every`` kills if given."""
    return i == kills - 1 or bool(every and (i + 1) % every == 0)


#: name -> (scenario, whether it needs a remote)
SCENARIOS = {"add": (add_scenario, False), "checkout": (checkout_scenario, False),
             "commit": (commit_scenario, False), "push": (push_scenario, True),
             "fetch/pull": (fetch_pull_scenario, True), "gc": (gc_scenario, True)}
