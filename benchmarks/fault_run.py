"""Fault injection, the long run: the crash scenarios of tests/func/test_crash.py with many kills.

Each scenario (add, checkout, commit, push, fetch/pull, gc) gets a fresh copy of a generated repo
and kills its command N times with SIGKILL at random moments (the main process alone or its whole
process group), checking after every kill and every re-run what tests/func/crash_harness.py
checks. push and fetch/pull run against a local directory remote and against `rclone serve s3`;
gc against the local remote. Real DVC is asked every ``--dvc-every`` kills and after the last.

Usage::

    python benchmarks/fault_run.py --kills 50 --seed 123
    python benchmarks/fault_run.py --kills 200 --scenarios push fetch/pull --remotes s3
    python benchmarks/fault_run.py --kills 20 --files 20000 --big-mb 200 --keep --workdir /tmp/f

The seed is printed; a failure names it, and ``--seed S --scenarios NAME`` replays that scenario
(as does ``DATAVER_CRASH_SEED=S`` for its first kills in the test). A failed scenario does not
stop the others; the exit code is 1 if any failed. Kill moments depend on timing, so a replay
repeats the choices (which command, mode, trigger) but not always the exact moment.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "src")]

from tests.func import crash_harness as H  # noqa: E402
from tests.func import crash_scenarios as S  # noqa: E402

REMOTES = ("local", "s3")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills per scenario and remote")
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--scenarios", nargs="+", choices=sorted(S.SCENARIOS),
                        default=list(S.SCENARIOS))
    parser.add_argument("--remotes", nargs="+", choices=REMOTES, default=list(REMOTES))
    parser.add_argument("--files", type=int, default=3000, help="small files in the dataset")
    parser.add_argument("--big-mb", type=int, default=32, help="size of its one big file")
    parser.add_argument("--s3-files", type=int, default=1000, help="small files, S3 scenarios")
    parser.add_argument("--s3-big-mb", type=int, default=16)
    parser.add_argument("--dvc-every", type=int, default=10, help="ask real DVC every N kills")
    parser.add_argument("--modes", nargs="+", choices=("main", "group"), default=["main", "group"],
                        help="kill the main process, its process group, or either at random")
    parser.add_argument("--workdir", help="default: a temp dir, deleted unless --keep")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true", help="no line per kill")
    parser.add_argument("--stop", action="store_true",
                        help="end a scenario at its first failure (default: count them, go on)")
    return parser.parse_args(argv)


class Runner:
    def __init__(self, args: argparse.Namespace, work: str):
        self.args = args
        self.work = work
        self.bases: dict[tuple, str] = {}
        self.s3 = None  # (server, served dir)
        self.rows: list[dict] = []

    def base(self, scale: H.Scale) -> str:
        key = (scale.files, scale.big_mb)
        if key not in self.bases:
            print(f"making a repo of {scale.files} files + {scale.big_mb} MB ...", flush=True)
            path = os.path.join(self.work, f"base-{len(self.bases)}", "repo")
            self.bases[key] = S.init_repo(path, scale)
        return self.bases[key]

    def remote(self, kind: str, dest: str) -> tuple[H.RemoteSpec, H.Scale]:
        args = self.args
        if kind == "local":
            return H.local_remote(os.path.join(dest, "remote")), H.Scale(args.files, args.big_mb)
        if self.s3 is None:
            from tests.remotes.servers import start_s3

            workdir = os.path.join(self.work, "s3-server")
            os.makedirs(workdir)
            self.s3 = (start_s3(workdir), os.path.join(workdir, "s3-data"))
        return H.s3_remote(*self.s3), H.Scale(args.s3_files, args.s3_big_mb)

    def run(self, name: str, kind: str | None) -> None:
        scenario, needs_remote = S.SCENARIOS[name]
        dest = os.path.join(self.work, f"{name.replace('/', '-')}-{kind or 'none'}")
        os.makedirs(dest)
        scale = H.Scale(self.args.files, self.args.big_mb)
        extra = []
        if needs_remote:
            spec, scale = self.remote(kind, dest)
            extra = [spec]
        repo = S.copy_repo(self.base(scale), os.path.join(dest, "repo"))
        log = (lambda line: None) if self.args.quiet else (lambda line: print(line, flush=True))
        harness = H.Harness(repo, self.args.seed, log, tuple(self.args.modes),
                            keep_going=not self.args.stop)
        print(f"== {name}{f' ({kind} remote)' if kind else ''}", flush=True)
        t0 = time.monotonic()
        try:
            scenario(harness, *extra, self.args.kills, self.args.dvc_every)
        except AssertionError as exc:  # in its set-up, or any failure with --stop
            harness.failures.append(str(exc))
            print(f"FAILED: {exc}", flush=True)
        error = "\n".join(harness.failures[:3]) + (
            f"\n(and {len(harness.failures) - 3} more)" if len(harness.failures) > 3 else "")
        row = {"scenario": name, "remote": kind or "-", **harness.summary(),
               "seconds": round(time.monotonic() - t0, 1), "error": error,
               "leftover_temps": harness.temps_after_rerun[:5]}
        self.rows.append(row)
        if not self.args.keep:
            shutil.rmtree(dest, ignore_errors=True)

    def close(self) -> None:
        if self.s3 is not None:
            self.s3[0].stop()


def report(rows: list[dict], seed: int) -> int:
    head = ("scenario", "remote", "kills", "landed", "group_kills", "failed", "temps_after_kill",
            "temps_after_rerun", "seconds")

    def line(cells) -> str:
        return "  ".join(f"{c:<10}" if i < 2 else f"{c:>{len(h)}}"
                         for i, (h, c) in enumerate(zip(head, cells)))

    print(f"\nDATAVER_CRASH_SEED={seed}")
    print(line(head) + "  result")
    for row in rows:
        print(line([row[h] for h in head]) + "  " + ("FAILED" if row["error"] else "ok"))
    failed = [r for r in rows if r["error"]]
    left = [r for r in rows if r["temps_after_rerun"]]
    for row in left:
        print(f"\n{row['scenario']} ({row['remote']}): temp files a re-run did not remove, "
              f"e.g. {row['leftover_temps']}")
    for row in failed:
        print(f"\n{row['scenario']} ({row['remote']}) failed:\n{row['error']}")
    return 1 if failed else 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    print(f"DATAVER_CRASH_SEED={args.seed}", flush=True)
    work = args.workdir or tempfile.mkdtemp(prefix="dataver-faults-")
    os.makedirs(work, exist_ok=True)
    os.environ.update(H.environ_for_tests(os.path.join(work, "home")))
    runner = Runner(args, work)
    try:
        for name in args.scenarios:
            kinds = [None] if not S.SCENARIOS[name][1] else \
                [k for k in args.remotes if name != "gc" or k == "local"]
            for kind in kinds:
                runner.run(name, kind)
    finally:
        runner.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return report(runner.rows, args.seed)


if __name__ == "__main__":
    sys.exit(main())
