"""Migration benchmark (issue 12): a generated Git LFS repository, migrated forward and with
``--rewrite --everything``, against the issue's references:

- forward migration <= 1.5x the time of computing md5 and sha256 over the unique bytes it
  converts (HEAD's LFS objects: one pass over each, both digests, hashlib, one thread);
- rewrite of the whole history <= the time of ``git lfs migrate export --everything`` on a copy
  of the same repository (the comparable work in the other direction).

The repository: ``--files`` unique LFS objects (``--mb`` MB in all) over ``--commits`` commits on
``main`` (each commit adds files and changes some, every 10th renames one, every 15th deletes
one), 100 folders under ``data/``, checked out (smudged) as a user has it. It is built directly:
objects written into ``.git/lfs/objects``, commits by `git fast-import`, then `git checkout`
through git-lfs's smudge filter. Each timed run gets its own copy (hard links for the work-tree
files, copies of the LFS objects; index refreshed and a first `git status` run, untimed, as in a
repository in use), with a warm page cache.

Usage::

    .venv/bin/python benchmarks/migrate_bench.py            # 1,000 files, 200 MB, 50 commits
    .venv/bin/python benchmarks/migrate_bench.py --full     # the issue's 10,000 files, 2 GB, 200 commits
    .venv/bin/python benchmarks/migrate_bench.py --files 3000 --mb 500 --commits 100 --keep

It prints measured ratios next to the targets; it asserts nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(ROOT, "src")
LFS_ATTR = "*.bin filter=lfs diff=lfs merge=lfs -text\n"
FOLDERS = 100


def env_for(home: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DVC_"))}
    env.update(HOME=home, GIT_CONFIG_NOSYSTEM="1", PYTHONPATH=SRC, DVC_NO_ANALYTICS="1",
               GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    return env


CPU: dict[str, float] = {}  # step -> CPU seconds (user + system) of the processes it ran


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sh(cmd: list[str], cwd: str, env: dict, stdin: bytes | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode(errors='replace')[-800:]}")
    return elapsed


# --- the repository ------------------------------------------------------------------------------
def plan_history(files: int, total: int, commits: int, seed: int = 12):
    """Per commit: [(path, size, object index) written] and [paths deleted] and [(old, new) renamed]."""
    rng = random.Random(seed)
    sizes = [rng.uniform(0.5, 1.5) for _ in range(files)]
    scale = total / sum(sizes)
    sizes = [max(1, int(s * scale)) for s in sizes]
    per_commit = [files // commits + (1 if i < files % commits else 0) for i in range(commits)]
    live: list[str] = []
    plan, obj, counter = [], 0, 0
    for number, count in enumerate(per_commit):
        writes, deletes, renames = [], [], []
        written: set[str] = set()
        for _ in range(count):
            path = rng.choice(live) if live and rng.random() < 0.2 else None
            if path is not None and path not in written:  # a new version of an existing file
                pass
            else:
                path = f"data/d{counter % FOLDERS:02d}/f{counter:06d}.bin"
                counter += 1
                live.append(path)
            written.add(path)
            writes.append((path, sizes[obj], obj))
            obj += 1
        if number and number % 10 == 0 and len(live) > 2:
            old = live.pop(rng.randrange(len(live)))
            if all(old != w[0] for w in writes):
                new = old.replace(".bin", "-renamed.bin")
                renames.append((old, new))
                live.append(new)
            else:
                live.append(old)
        if number and number % 15 == 0 and len(live) > 2:
            gone = live.pop(rng.randrange(len(live)))
            if all(gone != w[0] for w in writes):
                deletes.append(gone)
            else:
                live.append(gone)
        plan.append((writes, deletes, renames))
    return plan, sizes


def content(index: int, size: int) -> bytes:
    return random.Random(index * 7919 + 1).randbytes(size)


def build(repo: str, files: int, total: int, commits: int, env: dict) -> tuple[int, int]:
    """The LFS repository; returns (unique objects, their bytes)."""
    os.makedirs(repo)
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    sh(["git", "lfs", "install", "--local"], repo, env)
    plan, sizes = plan_history(files, total, commits)
    objects = os.path.join(repo, ".git", "lfs", "objects")
    pointers: dict[int, bytes] = {}
    for writes, _d, _r in plan:
        for _path, size, index in writes:
            data = content(index, size)
            oid = hashlib.sha256(data).hexdigest()
            folder = os.path.join(objects, oid[:2], oid[2:4])
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, oid), "wb") as fobj:
                fobj.write(data)
            pointers[index] = (f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\n"
                               f"size {size}\n").encode()
    stream = bytearray()
    for number, (writes, deletes, renames) in enumerate(plan):
        date = 1700000000 + number * 600
        msg = f"commit {number}\n".encode()
        stream += (b"commit refs/heads/main\n"
                   + f"committer bench <bench@example.com> {date} +0000\n".encode()
                   + b"data %d\n" % len(msg) + msg)
        if number == 0:
            attr = LFS_ATTR.encode()
            stream += b"M 100644 inline .gitattributes\ndata %d\n" % len(attr) + attr + b"\n"
        for path, _size, index in writes:
            stream += f"M 100644 inline {path}\n".encode() + b"data %d\n" % len(pointers[index])
            stream += pointers[index] + b"\n"
        for old, new in renames:
            stream += f"R {old} {new}\n".encode()
        for path in deletes:
            stream += f"D {path}\n".encode()
        stream += b"\n"
    sh(["git", "fast-import", "--quiet"], repo, env, bytes(stream))
    sh(["git", "checkout", "-qf", "main"], repo, env)  # smudged by git-lfs, as a user has it
    return len(pointers), sum(sizes)


def copy(src: str, dst: str, env: dict) -> None:
    """A copy that shares work-tree and git file content (hard links) but not metadata git or
    the tools change. The LFS objects are copied: a migration hard-links an LFS object into the
    cache (and marks it read-only) only when no other name shares it, as in a user's repository."""
    subprocess.run(["cp", "-al", src, dst], check=True)
    objects = os.path.join(dst, ".git", "lfs", "objects")
    shutil.rmtree(objects)
    subprocess.run(["cp", "-a", os.path.join(src, ".git", "lfs", "objects"), objects], check=True)
    for name in ("index", "config", "HEAD", "packed-refs"):
        path = os.path.join(dst, ".git", name)
        if os.path.exists(path):
            os.unlink(path)
            shutil.copy2(os.path.join(src, ".git", name), path)
    refs = os.path.join(dst, ".git", "refs")
    shutil.rmtree(refs)
    shutil.copytree(os.path.join(src, ".git", "refs"), refs)
    # untimed: the copy's stat info, and the first `git status` after a checkout, which
    # re-cleans (through git-lfs) every file written in the same second as the index
    sh(["git", "update-index", "-q", "--refresh"], dst, env)
    sh(["git", "status", "--porcelain", "--untracked-files=no"], dst, env)
    subprocess.run(["sync"], check=False)


# --- the timed steps -----------------------------------------------------------------------------
def head_oids(repo: str, env: dict) -> set[str]:
    out = subprocess.run(["git", "lfs", "ls-files", "--long"], cwd=repo, env=env,
                         capture_output=True, check=True).stdout.decode()
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def hash_baseline(repo: str, oids: set[str]) -> tuple[float, int]:
    """md5 and sha256 of the LFS objects ``oids``, one read each, one thread; (seconds, bytes)."""
    start, cpu, nbytes = time.perf_counter(), time.process_time(), 0
    root = os.path.join(repo, ".git", "lfs", "objects")
    for oid in sorted(oids):
        md5, sha = hashlib.md5(), hashlib.sha256()
        with open(os.path.join(root, oid[:2], oid[2:4], oid), "rb") as fobj:
            while chunk := fobj.read(1 << 20):
                md5.update(chunk)
                sha.update(chunk)
                nbytes += len(chunk)
    CPU["hash"] = time.process_time() - cpu
    return time.perf_counter() - start, nbytes


def dataver_api(repo: str, env: dict, call: str) -> tuple[float, dict]:
    code = ("import json, sys\n"
            "from dataver.migrate.forward import Options, migrate\n"
            "from dataver.migrate.rewrite import rewrite\n"
            f"r = {call}\n"
            "print(json.dumps({k: v for k, v in vars(r).items() if isinstance(v, (int, str))}))\n")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"dataver failed: {proc.stderr.decode(errors='replace')[-1500:]}")
    return elapsed, json.loads(proc.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--commits", type=int, default=50)
    parser.add_argument("--full", action="store_true", help="the issue's scale: 10,000 files, 2 GB, 200 commits")
    parser.add_argument("--workdir", help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--no-export", action="store_true", help="skip `git lfs migrate export`")
    parser.add_argument("--json", metavar="FILE", help="write the numbers there")
    args = parser.parse_args()
    if args.full:
        args.files, args.mb, args.commits = 10000, 2048, 200
    work = args.workdir or tempfile.mkdtemp(prefix="dataver-migrate-bench-")
    os.makedirs(work, exist_ok=True)
    home = os.path.join(work, "home")
    os.makedirs(home, exist_ok=True)
    env = env_for(home)
    with open(os.path.join(home, ".gitconfig"), "w") as fobj:
        fobj.write("[init]\n\tdefaultBranch = main\n")
    try:
        print(f"== building {args.files} LFS files, {args.mb} MB, {args.commits} commits in {work}")
        start = time.perf_counter()
        base = os.path.join(work, "base")
        nobj, nbytes = build(base, args.files, args.mb * 1_000_000, args.commits, env)
        print(f"   built in {time.perf_counter() - start:.1f} s: {nobj} unique objects, "
              f"{nbytes / 1e6:.0f} MB (load {os.getloadavg()[0]:.2f})")
        results = {"files": nobj, "bytes": nbytes, "commits": args.commits}
        at_head = head_oids(base, env)
        results["head_objects"] = len(at_head)
        results["hash"], results["head_bytes"] = hash_baseline(base, at_head)

        copy(base, os.path.join(work, "forward"), env)
        cpu = children_cpu()
        results["forward"], fwd = dataver_api(os.path.join(work, "forward"), env,
                                              "migrate(Options('lfs'))")
        CPU["forward"] = children_cpu() - cpu
        copy(base, os.path.join(work, "rewrite"), env)
        cpu = children_cpu()
        results["rewrite"], rw = dataver_api(os.path.join(work, "rewrite"), env,
                                             "rewrite(Options('lfs'), everything=True)")
        CPU["rewrite"] = children_cpu() - cpu
        results["read_forward"], results["read_rewrite"] = fwd.get("read"), rw.get("read")
        results["in_place"] = fwd.get("in_place")
        if not args.no_export:
            copy(base, os.path.join(work, "export"), env)
            cpu = children_cpu()
            results["lfs_export"] = sh(["git", "lfs", "migrate", "export", "--everything",
                                        "--include=*.bin", "--yes"], os.path.join(work, "export"), env)
            CPU["lfs_export"] = children_cpu() - cpu
        results["cpu"] = dict(CPU)
        report(results)
        if args.json:
            with open(args.json, "w") as fobj:
                json.dump(results, fobj, indent=2)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def report(r: dict) -> None:
    cpu = r.get("cpu", {})
    print(f"\n{r['files']} LFS objects, {r['bytes'] / 1e6:.0f} MB, {r['commits']} commits "
          f"(load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores)")
    print(f"{'step':<38}{'wall s':>8}{'CPU s':>8}{'ratio':>7}{'CPU ratio':>10}{'target':>8}  ok")

    def row(name: str, key: str, ref: str | None = None, target: float | None = None) -> None:
        line = f"{name:<38}{r[key]:>8.2f}{cpu.get(key, 0):>8.2f}"
        if ref is not None:
            ratio = r[key] / r[ref]
            cpu_ratio = cpu.get(key, 0) / cpu[ref] if cpu.get(ref) else float("nan")
            line += f"{ratio:>7.2f}{cpu_ratio:>10.2f}{'<= ' + str(target):>8}  "
            line += "yes" if ratio <= target else "NO"
        print(line)

    row("md5 + sha256 of HEAD unique bytes", "hash")
    print(f"{'':<38}({r['head_objects']} objects, {r['head_bytes'] / 1e6:.0f} MB: what forward converts)")
    row("forward migration", "forward", "hash", 1.5)
    if "lfs_export" in r:
        row("git lfs migrate export --everything", "lfs_export")
        row("rewrite --everything", "rewrite", "lfs_export", 1.0)
    else:
        row("rewrite --everything", "rewrite")
    print(f"objects read: forward {r['read_forward']} (HEAD has {r['head_objects']}), "
          f"rewrite {r['read_rewrite']} (the history has {r['files']})")
    print(f"work-tree files the forward migration left in place: {r.get('in_place')} "
          f"(of {r['head_objects']}; the others were rewritten from the cache)")


if __name__ == "__main__":
    main()
