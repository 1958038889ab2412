"""History benchmark: `diff` between two versions of a large directory, and reading one file of
it at an older tag through the Python API, dataver against real DVC on the same repository.

One git repo holds ``data/`` with N files at tag v1; v2 changes 1% of them, deletes and adds a
few. Both tools run on that same repo (it is DVC-compatible), each command as a fresh process
(so start-up counts, as it does for users), warmed once, then timed ``--rounds`` times,
alternating which tool goes first. Prints medians and the DVC/dataver speed-up.

Usage::

    python benchmarks/history_bench.py                 # 20,000 files
    python benchmarks/history_bench.py --files 2000 --rounds 3
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(ROOT, "src")


# the console script users run (as DVC's is); `python -m dataver` would add runpy's start-up
_SCRIPT = os.path.join(os.path.dirname(sys.executable), "dataver")
DATAVER = [_SCRIPT] if os.path.exists(_SCRIPT) else [sys.executable, "-m", "dataver"]


def dvc_bin() -> str:
    for cand in (os.environ.get("DATAVER_DVC"), os.path.join(ROOT, ".venv-dvc", "bin", "dvc"),
                 "/work/main/.venv-dvc/bin/dvc", shutil.which("dvc")):
        if cand and os.path.exists(cand):
            return cand
    raise SystemExit("real dvc not found: set DATAVER_DVC")


def env_for(home: str) -> dict:
    # As users run it: bytecode caches written (both tools), no GIT_/DVC_ settings leaking in.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "DVC_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HOME=home, DVC_NO_ANALYTICS="1", GIT_CONFIG_NOSYSTEM="1", PYTHONPATH=SRC,
               GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@b", DVC_SITE_CACHE_DIR=os.path.join(home, "dvc-site"))
    return env


def run(cmd: list[str], cwd: str, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-500:]}")
    return elapsed


def build(repo: str, files: int, env: dict) -> None:
    """v1: ``files`` files of 1-2 KB under data/ (100 per subdirectory); v2: 1% changed,
    10 deleted, 10 added."""
    dataver = [sys.executable, "-m", "dataver"]
    os.makedirs(repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    run(dataver + ["init", "-q"], repo, env)
    for i in range(files):
        path = os.path.join(repo, "data", f"d{i // 100:04d}", f"f{i:06d}.bin")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fobj:
            fobj.write(f"file {i}\n".encode() * (100 + i % 100))
    for tag, change in (("v1", None), ("v2", files)):
        if change:
            for i in range(0, change, 100):
                with open(os.path.join(repo, "data", f"d{i // 100:04d}", f"f{i:06d}.bin"), "ab") as f:
                    f.write(b"changed\n")
            for i in range(1, 11):
                os.remove(os.path.join(repo, "data", f"d{i:04d}", f"f{i * 100 + 1:06d}.bin"))
                with open(os.path.join(repo, "data", "d0000", f"new{i}.bin"), "wb") as f:
                    f.write(b"new %d\n" % i)
        run(dataver + ["add", "-q", "data"], repo, env)
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", tag], cwd=repo, env=env, check=True)
        subprocess.run(["git", "tag", tag], cwd=repo, env=env, check=True)


def commands(dvc: str) -> dict[str, dict[str, list[str]]]:
    dvc_python = os.path.join(os.path.dirname(dvc), "python")
    read = "import {m}.api as a; assert a.read('data/d0001/f000150.bin', rev='v1', mode='rb')"
    return {
        "diff v1 v2 --json": {
            "dataver": [*DATAVER, "diff", "v1", "v2", "--json"],
            "dvc": [dvc, "diff", "v1", "v2", "--json"],
        },
        "diff (HEAD vs unchanged workspace)": {
            "dataver": [*DATAVER, "diff"],
            "dvc": [dvc, "diff"],
        },
        "api.read of one file in the dir at v1": {
            "dataver": [sys.executable, "-c", read.format(m="dataver")],
            "dvc": [dvc_python, "-c", read.format(m="dvc")],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated repository")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="dataver-history-bench-")
    try:
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        env = env_for(home)
        repo = os.path.join(tmp, "repo")
        print(f"building {args.files} files, two versions ...", flush=True)
        build(repo, args.files, env)
        print(f"{'step':40} {'dataver s':>10} {'dvc s':>10} {'speed-up':>9}")
        for step, cmds in commands(dvc_bin()).items():
            times: dict[str, list[float]] = {"dataver": [], "dvc": []}
            for tool, cmd in cmds.items():
                run(cmd, repo, env)  # warm-up (and DVC's own index caches)
            for rnd in range(args.rounds):
                order = ("dataver", "dvc") if rnd % 2 == 0 else ("dvc", "dataver")
                for tool in order:
                    times[tool].append(run(cmds[tool], repo, env))
            ours, theirs = statistics.median(times["dataver"]), statistics.median(times["dvc"])
            print(f"{step:40} {ours:10.3f} {theirs:10.3f} {theirs / ours:8.1f}x", flush=True)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
