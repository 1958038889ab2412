"""Fault injection: start a dataver command, SIGKILL it (the main process alone, or its whole
process group) at a random moment, check what it left, run it again, check the result.

The scenarios (crash_scenarios.py) use this module; ``tests/func/test_crash.py`` runs them with
a few kills each (for CI), ``benchmarks/fault_run.py`` with as many as asked. A failed check
raises AssertionError naming the seed, the kill and what broke.

What is checked after every kill:

- no process of the command's process group outlives it (forked workers get SIGTERM from the
  kernel when the main process dies, and must be gone within ``SURVIVOR_GRACE`` seconds);
- every object in the cache and on the remote has an md5 equal to its name, a `.dir` manifest is
  there only with every file it lists (DVC and dataver both take a remote `.dir` as the sign that
  the directory is complete), and every other file is one of our temp files (never an object
  under another name, never an object moved aside as corrupt);
- the `.dvc` file is the old or the new version; workspace files are complete versions.

And after the command ran again: it succeeded, the cache and the remote hold what the `.dvc`
files need, and dataver and real DVC (`dvc status`, `dvc status -c`) report the repo clean.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SURVIVOR_GRACE = 5.0  # seconds a worker may take to notice its parent died and clean up
OBJECT = re.compile(r"^(?:files/md5/)?([0-9a-f]{2})/([0-9a-f]{30}(?:\.dir)?)$")
TEMP = re.compile(r"\.[0-9a-f]{12}\.tmp$")  # <rest>.<hex>.tmp, incoming.<hex>.tmp (cache, remote)
WORKSPACE_TEMP = re.compile(r"\.[0-9a-f]{8}\.dvtmp$")
UP_TO_DATE = "Data and pipelines are up to date.\n"
REGISTRY = ".dataver-running/"  # in the cache: registrations of running commands


# --- the dataset -------------------------------------------------------------------------------
@dataclass
class Scale:
    files: int = 3000  # small files (200 B - 3 KB) in 20 folders
    big_mb: int = 32  # plus one file this large


def make_dataset(base, scale: Scale = Scale(), seed: int = 0) -> None:
    gen = random.Random(seed)
    for i in range(scale.files):
        path = Path(base) / f"d{i % 20:02d}" / f"img{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gen.randbytes(gen.randrange(200, 3000)))
    block = gen.randbytes(1 << 20)
    with open(Path(base) / "model.ckpt", "wb") as fobj:
        for i in range(scale.big_mb):
            fobj.write(block[i:] + block[:i])  # distinct blocks, cheap to make


def edit_dataset(base, fraction: float, tag: str, rng: random.Random) -> None:
    """Rewrite ``fraction`` of the small files and a block of the big one."""
    paths = sorted(Path(base).rglob("img*.jpg"))
    for path in rng.sample(paths, int(len(paths) * fraction)):
        path.write_bytes(f"{tag} {path.name} ".encode() * rng.randrange(1, 40))
    with open(Path(base) / "model.ckpt", "r+b") as fobj:
        fobj.seek(rng.randrange(1 << 20))
        fobj.write(f"checkpoint {tag}".encode())


def tree(path) -> dict[str, bytes]:
    result = {}
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as fobj:
                result[os.path.relpath(full, path).replace(os.sep, "/")] = fobj.read()
    return result


# --- running commands -----------------------------------------------------------------------------
def environ_for_tests(home: str) -> dict[str, str]:
    """An environment like tests/conftest.py's isolated_env (for the benchmark script)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "DVC_", "DATAVER_", "AWS_")) or k == "DATAVER_DVC"}
    os.makedirs(home, exist_ok=True)
    Path(home, ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
               DVC_SYSTEM_CONFIG_DIR=os.path.join(home, "system-dvc"),
               DVC_GLOBAL_CONFIG_DIR=os.path.join(home, ".config", "dvc"), DVC_NO_ANALYTICS="1",
               DVC_SITE_CACHE_DIR=os.path.join(home, "dvc-site-cache"), GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="Test", GIT_AUTHOR_EMAIL="test@example.com",
               GIT_COMMITTER_NAME="Test", GIT_COMMITTER_EMAIL="test@example.com",
               PYTHONPATH=os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def dvc_exe() -> str:
    for cand in (os.environ.get("DATAVER_DVC"), os.path.join(ROOT, ".venv-dvc", "bin", "dvc"),
                 shutil.which("dvc")):
        if cand and os.path.exists(cand):
            return cand
    raise AssertionError("real dvc not found: run scripts/test.sh (it installs .venv-dvc)")


def run(args: list[str], cwd, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def dataver(repo, *args, check: bool = True) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dataver", *args], repo, check)


def git(repo, *args) -> str:
    return run(["git", *args], repo).stdout


@dataclass
class Kill:
    """What happened to one command that was to be killed."""

    args: tuple
    mode: str  # "main" (SIGKILL to the main process) or "group" (to its process group)
    delay: float  # seconds after start (or when the trigger fired)
    landed: bool  # False when the command had finished before the signal
    code: int | None
    survivors: list[str] = field(default_factory=list)  # processes that outlived the command
    stderr: str = ""

    def __str__(self) -> str:
        where = f"killed ({self.mode}) after {self.delay:.3f}s" if self.landed \
            else f"finished (exit {self.code}) before the kill at {self.delay:.3f}s"
        return f"`dataver {' '.join(self.args)}` {where}"


def group_members(pgid: int) -> list[str]:
    """Live (not zombie) processes of process group ``pgid``: 'pid cmdline'."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fobj:
                fields = fobj.read().rpartition(b")")[2].split()
            if int(fields[2]) != pgid or fields[0] in (b"Z", b"X"):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fobj:
                cmdline = fobj.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        found.append(f"{entry} {cmdline}")
    return found


def start(repo, *args) -> subprocess.Popen:
    """``dataver ARGS`` in a process group of its own (so the group can be killed and watched)."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "dataver", *args], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def kill(proc: subprocess.Popen, args, mode: str, delay: float | None = None,
         when: Callable[[], bool] | None = None, sig=signal.SIGKILL) -> Kill:
    """Send ``sig`` to ``proc`` (mode "main") or its group ("group") after ``delay`` seconds or
    once ``when()`` is true, then wait until the whole group is gone (see SURVIVOR_GRACE)."""
    t0 = time.monotonic()
    landed = False
    if when is not None:
        while proc.poll() is None and not when():
            time.sleep(0.001)
    else:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
    elapsed = time.monotonic() - t0
    if proc.poll() is None:
        landed = True
        if mode == "group":
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    code = proc.wait()
    survivors = _wait_group_gone(proc.pid)
    proc.log.seek(0)
    stderr = proc.log.read().decode(errors="replace")
    proc.log.close()
    return Kill(tuple(args), mode, elapsed, landed, code, survivors, stderr)


def _wait_group_gone(pgid: int) -> list[str]:
    """Members of the group still alive after SURVIVOR_GRACE seconds (then killed)."""
    deadline = time.monotonic() + SURVIVOR_GRACE
    while (members := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.01)
    if members:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return members


# --- checking stores (the cache, a remote directory) ----------------------------------------------
_MD5_MEMO: dict[tuple, str] = {}


def file_md5(path: str, st: os.stat_result) -> str:
    key = (path, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    digest = _MD5_MEMO.get(key)
    if digest is None:
        md5 = hashlib.md5()
        with open(path, "rb") as fobj:
            while chunk := fobj.read(1 << 20):
                md5.update(chunk)
        digest = _MD5_MEMO[key] = md5.hexdigest()
    return digest


@dataclass
class Scan:
    """A store's files: objects (oid -> path), our temp files, the server's, anything else."""

    objects: dict[str, str] = field(default_factory=dict)
    temps: list[str] = field(default_factory=list)
    server_temps: list[str] = field(default_factory=list)
    strange: list[str] = field(default_factory=list)


def scan(root: str, server_temp: re.Pattern | None = None) -> Scan:
    result = Scan()
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel.startswith(REGISTRY):
                continue  # who is running (dataver.leftovers): not data
            match = OBJECT.match(rel)
            if match and rel.startswith("files/md5/"):
                result.objects[match.group(1) + match.group(2)] = full
            elif TEMP.search(name):
                result.temps.append(rel)
            elif server_temp is not None and server_temp.search(name):
                result.server_temps.append(rel)
            else:
                result.strange.append(rel)
    return result


def check_store(root: str, what: str, needed: set[str] = frozenset(),
                server_temp: re.Pattern | None = None) -> Scan:
    """Assert the store at ``root`` is sound (see the module docstring) and holds ``needed``."""
    found = scan(root, server_temp)
    assert not found.strange, f"{what}: files that are neither objects nor temp files: " \
        f"{found.strange[:5]}"
    for oid, path in found.objects.items():
        digest = file_md5(path, os.stat(path))
        assert digest == oid.removesuffix(".dir"), f"{what}: object {oid} has md5 {digest}"
        if oid.endswith(".dir"):
            with open(path, "rb") as fobj:
                listed = {entry["md5"] for entry in json.loads(fobj.read())}
            missing = listed - set(found.objects)
            assert not missing, f"{what}: manifest {oid} is there without {len(missing)} of " \
                f"its {len(listed)} files (e.g. {sorted(missing)[0]})"
    missing = needed - set(found.objects)
    assert not missing, f"{what}: {len(missing)} needed objects missing, e.g. {sorted(missing)[:3]}"
    return found


def needed_objects(repo, cache: str | None = None, dvcfiles=("data.dvc",)) -> set[str]:
    """Object ids the ``.dvc`` files need: each output's own and its manifest's entries."""
    cache = cache or os.path.join(repo, ".dvc", "cache")
    oids = set()
    for name in dvcfiles:
        oid = dvcfile_oid(Path(repo, name).read_bytes())
        oids.add(oid)
        if oid.endswith(".dir"):
            with open(os.path.join(cache, "files", "md5", oid[:2], oid[2:]), "rb") as fobj:
                oids |= {entry["md5"] for entry in json.loads(fobj.read())}
    return oids


def dvcfile_oid(data: bytes) -> str:
    match = re.search(rb"md5: ([0-9a-f]{32}(?:\.dir)?)", data)
    assert match, data
    return match.group(1).decode()


def check_workspace(repo, versions: list[dict[str, bytes]], out: str = "data") -> None:
    """Every file of ``out`` that is not our temp file is complete: the content it has in one of
    ``versions`` (path -> bytes)."""
    for rel, data in tree(Path(repo, out)).items():
        if WORKSPACE_TEMP.search(rel):
            continue
        assert any(v.get(rel) == data for v in versions), f"{out}/{rel} is half-written"


# --- the harness ----------------------------------------------------------------------------------
class Harness:
    """One scenario's repo, random source and report."""

    def __init__(self, repo, seed, log: Callable[[str], None] = print, modes=("main", "group"),
                 keep_going: bool = False):
        self.repo = str(repo)
        self.seed = seed
        self.rng = random.Random(seed)
        self.log = log
        self.modes = modes
        self.kills: list[Kill] = []
        self.temps_after_kill = 0
        self.temps_after_rerun: list[str] = []  # leftovers the next run did not remove
        self.current: str = ""
        self.t0 = time.monotonic()
        self.problems: list[str] = []
        self.keep_going = keep_going
        self.failures: list[str] = []  # with keep_going

    @contextlib.contextmanager
    def round(self):
        """One kill and its checks. With ``keep_going`` a failure is kept (see ``failures``) and
        the scenario goes on with its next kill, whose set-up starts afresh; else it raises."""
        try:
            yield
        except AssertionError as exc:
            if not self.keep_going:
                raise
            self.failures.append(str(exc))
            self.log(f"  FAILED: {exc}")
        finally:
            self.problems = []

    def fail(self, message: str):
        raise AssertionError(f"[DATAVER_CRASH_SEED={self.seed}] {self.current}: {message}")

    def check(self, func, *args, **kwargs):
        """Call a check; its AssertionError gains the seed and the kill that preceded it."""
        try:
            return func(*args, **kwargs)
        except AssertionError as exc:
            self.fail(str(exc))

    def soft(self, func, *args, **kwargs):
        """Call a check; keep its failure for :meth:`settle` (to see every problem of a kill)."""
        try:
            return func(*args, **kwargs)
        except AssertionError as exc:
            prefix = f"[DATAVER_CRASH_SEED={self.seed}] {self.current}: "
            self.problems.append(str(exc).removeprefix(prefix))

    def settle(self) -> None:
        """Fail with every problem :meth:`soft` kept."""
        if self.problems:
            problems, self.problems = self.problems, []
            self.fail("\n  - " + "\n  - ".join(problems))

    def timed(self, *args) -> float:
        t0 = time.monotonic()
        self.check(dataver, self.repo, *args)
        return time.monotonic() - t0

    def kill(self, *args, full: float, when=None, sig=signal.SIGKILL) -> Kill:
        """Start ``dataver ARGS`` and kill it at a random moment within ``full`` seconds (or
        once ``when()`` holds), in a random mode; asserts that no process outlived it."""
        mode = self.rng.choice(self.modes)
        delay = self.rng.uniform(0.005, full)
        result = kill(start(self.repo, *args), args, mode, None if when else delay, when, sig)
        self.kills.append(result)
        self.current = str(result)
        self.log(f"  [{time.monotonic() - self.t0:6.1f}s] {result}")
        if result.survivors:
            self.fail(f"processes outlived the command: {result.survivors}")
        if result.landed is False and result.code != 0:
            self.fail(f"it failed on its own: {result.stderr[-2000:]}")
        return result

    def rerun(self, *args) -> subprocess.CompletedProcess:
        proc = dataver(self.repo, *args, check=False)
        if proc.returncode != 0:
            self.fail(f"re-running `dataver {' '.join(args)}` failed ({proc.returncode}): "
                      f"{proc.stderr[-2000:]}")
        self.current += f", then `dataver {' '.join(args)}` again"
        return proc

    def cache(self) -> str:
        return os.path.join(self.repo, ".dvc", "cache")

    def check_cache(self, needed=frozenset()) -> Scan:
        found = self.check(check_store, self.cache(), "cache", needed)
        self.temps_after_kill += len(found.temps)
        return found

    def check_remote(self, remote: "RemoteSpec", needed=frozenset()) -> Scan:
        found = self.check(remote.check, needed)
        self.temps_after_kill += len(found.temps)
        return found

    def assert_clean(self, cloud: str | None = None, dvc: bool = False) -> None:
        """dataver (and with ``dvc`` real DVC) report the workspace, and with ``cloud`` the
        remote of that name, in sync."""
        checks = [([sys.executable, "-m", "dataver", "status"], UP_TO_DATE)]
        if cloud:
            checks.append(([sys.executable, "-m", "dataver", "status", "-c", "-r", cloud],
                           f"Cache and remote '{cloud}' are in sync.\n"))
        if dvc:
            checks.append(([dvc_exe(), "status"], UP_TO_DATE))
            if cloud:
                checks.append(([dvc_exe(), "status", "-c", "-r", cloud],
                               f"Cache and remote '{cloud}' are in sync.\n"))
        for args, expected in checks:
            proc = run(args, self.repo, check=False)
            if proc.returncode != 0 or proc.stdout != expected:
                self.fail(f"`{os.path.basename(args[0])} {' '.join(args[1:])}` is not clean "
                          f"({proc.returncode}): {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
        leftovers = [r for r in tree(Path(self.repo, "data")) if WORKSPACE_TEMP.search(r)] \
            if Path(self.repo, "data").is_dir() else []
        if leftovers:
            self.fail(f"workspace temp files left after a complete run: {leftovers[:5]}")

    def note_leftover_temps(self, *roots: str) -> None:
        """Temp files still in the stores after a complete run (the next run of push, pull,
        fetch or gc should remove what a killed one left)."""
        for root in roots:
            self.temps_after_rerun += [os.path.join(root, t) for t in scan(root).temps]

    def summary(self) -> dict:
        landed = [k for k in self.kills if k.landed]
        return {"kills": len(self.kills), "landed": len(landed), "failed": len(self.failures),
                "group_kills": sum(k.mode == "group" for k in landed),
                "temps_after_kill": self.temps_after_kill,
                "temps_after_rerun": len(self.temps_after_rerun)}


# --- remotes --------------------------------------------------------------------------------------
@dataclass
class RemoteSpec:
    """A remote for the scenarios: its config, where its objects can be read directly, and how
    to delete some of them (through the server where it has one: a server may cache listings)."""

    name: str
    conf: dict[str, str]
    root: str  # local directory holding the remote's `files/md5/...`
    delete: Callable[[list[str]], None] | None = None  # keys -> delete them (None: unlink)
    server_temp: re.Pattern | None = None  # the server's own temp files (an upload cut short)

    def check(self, needed: set[str] = frozenset()) -> Scan:
        return check_store(self.root, "remote", needed, self.server_temp)

    def remove(self, oids) -> None:
        keys = [f"files/md5/{oid[:2]}/{oid[2:]}" for oid in oids]
        if self.delete is not None:
            self.delete(keys)
            return
        for key in keys:
            try:
                os.unlink(os.path.join(self.root, *key.split("/")))
            except FileNotFoundError:
                pass

    def wipe(self) -> None:
        if self.delete is not None:
            self.remove(scan(self.root).objects)
            leftover = scan(self.root)
            for rel in leftover.temps:
                os.unlink(os.path.join(self.root, rel))
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def local_remote(path: str) -> RemoteSpec:
    return RemoteSpec("r", {"url": path}, path)


def s3_remote(server, served: str) -> RemoteSpec:
    """A fresh prefix on ``server`` (tests/remotes/servers.py's `rclone serve s3`, started over
    the directory ``served``)."""
    from dataver.remote.registry import open_backend

    conf = server.remote()

    def delete(keys):  # through the server, as test_conformance.py does: it may cache listings
        backend = open_backend("r", conf)
        for start in range(0, len(keys), 250):
            failures = backend.delete_many(keys[start:start + 250], 8)
            assert not failures, failures

    return RemoteSpec("r", conf, os.path.join(served, conf["url"].removeprefix("s3://")), delete,
                      re.compile(r"^\.rclone_temp_"))  # rclone's, of an upload cut short


def configure(repo, spec: RemoteSpec) -> None:
    dataver(repo, "remote", "add", "-q", "-f", "-d", spec.name, spec.conf["url"])
    for key, value in spec.conf.items():
        if key != "url":
            secret = ["--local"] if key in ("secret_access_key", "password") else []
            dataver(repo, "remote", "modify", *secret, spec.name, key, value)
