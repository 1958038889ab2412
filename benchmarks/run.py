"""Benchmark dataver against real DVC on a generated dataset, step by step, interleaved.

Each round makes two sibling git repos (one per tool) holding the same data (N small files in
``data/`` plus one large file ``big.bin``) and runs the same workflow in both, alternating which
tool goes first at every step. Beside each step, a machine baseline (``cp -r``, ``md5sum``,
``find`` with stat, a bare interpreter start) shows what the hardware allows. The table reports
medians over the rounds, the dataver/DVC ratio, the ratio to the baseline and the peak RSS.

Usage::

    python benchmarks/run.py                       # small default scale, 3 rounds
    python benchmarks/run.py --files 20000 --file-kb 32 --large-mb 1024   # issue 5 scale
    python benchmarks/run.py --files 200000 --file-kb 4 --large-mb 0 --no-dvc  # scale check

By default every step runs with a warm page cache: numbers measure CPU and syscall work more than
disk speed. ``--drop-caches`` (root only; it slows everything else on the machine) syncs and drops
the OS caches before every timed command, baselines included.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

from dataver import sampledata  # noqa: E402

# step name -> (description, target ratio dataver/DVC: issue 5's; data status, du, ls-url issue 15's)
STEPS = {
    "add_dir": ("add a directory of N files", 0.25),
    "add_large": ("add the large file", 0.5),
    "status_noop": ("status, nothing changed", 0.1),
    "add_noop": ("add again, nothing changed", 0.1),
    "data_status_noop": ("data status, nothing changed", 0.1),
    "du": ("du of the directory", 0.2),
    "ls_url": ("ls-url -R of the directory", 0.2),
    "status_changed": ("status after changing 1% of files", 0.15),
    "readd_changed": ("re-add after changing 1% of files", 0.15),
    "diff": ("diff HEAD~1 HEAD", None),
    "checkout_deleted": ("checkout after deleting the directory", 0.3),
    "checkout_prev": ("git checkout HEAD~1, then checkout", 0.15),
    "version": ("--version start-up", 0.3),
}
TOOLS = ("dataver", "dvc")
# The console script users run (as DVC's is): `python -m dataver` would add runpy's start-up.
_SCRIPT = os.path.join(os.path.dirname(sys.executable), "dataver")
DEFAULT_DATAVER = shlex.quote(_SCRIPT) if os.path.exists(_SCRIPT) else \
    f"{shlex.quote(sys.executable)} -m dataver"


@dataclass
class Sample:
    """One timed command."""

    seconds: float
    rss_mb: float
    rc: int
    cpu_s: float = 0.0  # user + system CPU time: less disturbed by other load than wall time


@dataclass
class Results:
    """Samples per step per runner ("dataver", "dvc", "baseline")."""

    samples: dict[str, dict[str, list[Sample]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # step -> why

    def add(self, step: str, runner: str, sample: Sample) -> None:
        self.samples.setdefault(step, {}).setdefault(runner, []).append(sample)


def timed(cmd: list[str], cwd: str, env: dict, log: str) -> Sample:
    """Run ``cmd``, returning wall time and the child's peak RSS (from wait4)."""
    with open(log, "ab") as out:
        out.write(f"$ {shlex.join(cmd)}  (in {cwd})\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(elapsed, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime)


def sh(script: str) -> list[str]:
    return ["bash", "-c", script]


def run_quiet(cmd: list[str], cwd: str, env: dict, log: str) -> None:
    sample = timed(cmd, cwd, env, log)
    if sample.rc != 0:
        raise SystemExit(f"setup command failed ({sample.rc}): {shlex.join(cmd)}; see {log}")


class Bench:
    """One benchmark run: the dataset, the tools' command lines and the results."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="dataver-bench-"))
        os.makedirs(self.work, exist_ok=True)
        self.log = os.path.join(self.work, "commands.log")
        self.env = self._env()
        self.cmds = {"dataver": shlex.split(args.dataver), "dvc": shlex.split(args.dvc)}
        self.tools = ["dataver"] + ([] if args.no_dvc else ["dvc"])
        self.results = Results()
        self.source = os.path.join(self.work, "source")
        self.trash = os.path.join(self.work, "trash")
        if args.dataver == DEFAULT_DATAVER:  # compile this checkout's sources, as pip would
            subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "src")],
                           env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.has_diff = self._dataver_has_diff()

    def _env(self) -> dict:
        # PYTHONDONTWRITEBYTECODE would make every dataver run compile its sources again, which
        # an installed package never does (DVC's site-packages hold compiled files).
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GIT_", "DVC_")) and k != "PYTHONDONTWRITEBYTECODE"}
        home = os.path.join(self.work, "home")
        os.makedirs(home, exist_ok=True)
        with open(os.path.join(home, ".gitconfig"), "w") as fobj:
            fobj.write("[user]\n\tname = Bench\n\temail = bench@example.com\n"
                       "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
        env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=os.path.join(home, "dvc-site-cache"),
                   DVC_GLOBAL_CONFIG_DIR=os.path.join(home, ".config", "dvc"),
                   DVC_SYSTEM_CONFIG_DIR=os.path.join(home, "system-dvc"), GIT_CONFIG_NOSYSTEM="1")
        src = os.path.join(ROOT, "src")
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def _dataver_has_diff(self) -> bool:
        proc = subprocess.run([*shlex.split(self.args.dataver), "diff", "--help"], env=self.env,
                              capture_output=True, cwd=self.work)
        return proc.returncode == 0

    # --- dataset ---------------------------------------------------------------------------
    def make_dataset(self) -> None:
        if os.path.isdir(self.source):
            shutil.rmtree(self.source)
        data = os.path.join(self.source, "data")
        sampledata.make_flat_files(data, self.args.files, self.args.file_kb * 1024)
        if self.args.large_mb:
            sampledata.make_large_file(os.path.join(self.source, "big.bin"), self.args.large_mb << 20)

    def fresh_repos(self) -> dict[str, str]:
        repos = {}
        for tool in self.tools:
            repo = os.path.join(self.work, f"repo-{tool}")
            self.discard(repo)
            os.makedirs(repo)
            run_quiet(["git", "init", "-q"], repo, self.env, self.log)
            run_quiet([*self.cmds[tool], "init", "-q"], repo, self.env, self.log)
            if tool == "dvc":
                run_quiet([*self.cmds[tool], "config", "core.check_update", "false"], repo, self.env, self.log)
            run_quiet(sh("git add -A && git commit -qm init"), repo, self.env, self.log)
            run_quiet(["cp", "-r", "data", repo], self.source, self.env, self.log)
            if self.args.large_mb:
                run_quiet(["cp", "big.bin", repo], self.source, self.env, self.log)
            repos[tool] = repo
        return repos

    # --- running steps ---------------------------------------------------------------------
    def step(self, name: str, rnd: int, repos: dict[str, str], tool_args: list[str],
             baseline: str | None, prepare=None, ok_codes=(0,)) -> None:
        """Run ``tool_args`` under every tool (order alternating by round) and the baseline."""
        if self.args.steps and name not in self.args.steps:
            if prepare:  # keep the repos in the state later steps expect
                for tool in self.tools:
                    prepare(tool, repos[tool])
            for tool in self.tools:
                sample = timed([*self.cmds[tool], *tool_args], repos[tool], self.env, self.log)
                if sample.rc not in ok_codes:
                    raise SystemExit(f"{tool} {' '.join(tool_args)} failed ({sample.rc}); see {self.log}")
            return
        order = self.tools if rnd % 2 == 0 else list(reversed(self.tools))
        for tool in order:
            if prepare:
                prepare(tool, repos[tool])
            self.settle()
            sample = timed([*self.cmds[tool], *tool_args], repos[tool], self.env, self.log)
            if sample.rc not in ok_codes:
                raise SystemExit(f"{tool} {' '.join(tool_args)} failed ({sample.rc}); see {self.log}")
            self.results.add(name, tool, sample)
        if baseline and not self.args.no_baseline:
            base_dir = os.path.join(self.work, "baseline")
            self.discard(base_dir)
            os.makedirs(base_dir)
            self.settle()
            self.results.add(name, "baseline", timed(sh(baseline), repos["dataver"], self.env, self.log))

    def discard(self, path: str) -> None:
        """Move ``path`` out of the way; it is deleted with the work dir at the end. Deleting
        tens of thousands of files just before a timed step slows that step's file creation
        (ext4 without a journal skips, one by one, the inodes freed in the last minutes), for
        whichever tool comes next: not the work being measured."""
        if os.path.lexists(path):
            os.makedirs(self.trash, exist_ok=True)
            os.rename(path, os.path.join(self.trash, f"{os.path.basename(path)}-{len(os.listdir(self.trash))}"))

    def settle(self) -> None:
        """Before each timed command: write out what earlier steps left dirty (`sync`), so
        the kernel's write-back of, say, a 1 GiB file just added does not share the cores with
        whichever tool runs next; with --drop-caches, also empty the page cache."""
        script = "sync && echo 3 > /proc/sys/vm/drop_caches" if self.args.drop_caches else "sync"
        run_quiet(sh(script), self.work, self.env, self.log)

    def git_commit(self, repos: dict[str, str], message: str) -> None:
        for repo in repos.values():
            run_quiet(sh(f"git add -- '*.dvc' .gitignore && git commit -qm '{message}'"), repo, self.env, self.log)

    def round(self, rnd: int) -> None:
        repos = self.fresh_repos()
        base = os.path.join(self.work, "baseline")
        all_files = "find data -type f -print0"
        stat_all = "find data -type f -printf '%s %T@ %i\\n' > /dev/null"
        self.step("add_dir", rnd, repos, ["add", "-q", "data"],
                  f"cp -r data {base}/data && {all_files} | xargs -0 md5sum > /dev/null")
        if self.args.large_mb:
            self.git_commit(repos, "data")
            self.step("add_large", rnd, repos, ["add", "-q", "big.bin"],
                      f"cp big.bin {base}/big.bin && md5sum big.bin > /dev/null")
        self.git_commit(repos, "v1")
        self.step("status_noop", rnd, repos, ["status", "-q"], stat_all, ok_codes=(0, 1))
        self.step("add_noop", rnd, repos, ["add", "-q", "data"], stat_all)
        self.step("data_status_noop", rnd, repos, ["data", "status"], stat_all, ok_codes=(0, 1))
        self.step("du", rnd, repos, ["du", "data"], "du -s data > /dev/null")
        self.step("ls_url", rnd, repos, ["ls-url", "-R", "data"], "find data > /dev/null")
        changed = os.path.join(self.work, "changed.lst")

        def change(tool, repo):
            names = sampledata.modify_fraction(os.path.join(repo, "data"), 0.01, seed=rnd + 1)
            with open(changed, "w") as fobj:
                fobj.write("".join(f"data/{n}\0" for n in names))

        self.step("status_changed", rnd, repos, ["status", "-q"],
                  f"{stat_all} && xargs -0 md5sum < {changed} > /dev/null", prepare=change, ok_codes=(0, 1))
        self.step("readd_changed", rnd, repos, ["add", "-q", "data"],
                  f"{stat_all} && xargs -0 cp -t {base} < {changed} && xargs -0 md5sum < {changed} > /dev/null")
        self.git_commit(repos, "v2")
        self._diff(rnd, repos)

        def delete(tool, repo):
            run_quiet(sh("chmod -R u+w data && rm -rf data"), repo, self.env, self.log)

        self.step("checkout_deleted", rnd, repos, ["checkout", "-q"], f"cp -r data {base}/data",
                  prepare=delete)

        def previous(tool, repo):
            run_quiet(["git", "checkout", "-q", "HEAD~1"], repo, self.env, self.log)

        self.step("checkout_prev", rnd, repos, ["checkout", "-q"],
                  f"{stat_all} && xargs -0 cp -t {base} < {changed}", prepare=previous)
        self.step("version", rnd, repos, ["--version"], f"{shlex.quote(sys.executable)} -c pass")

    def _diff(self, rnd: int, repos: dict[str, str]) -> None:
        if not self.has_diff:
            self.results.skipped["diff"] = "`dataver diff` does not exist yet"
            return
        self.step("diff", rnd, repos, ["diff", "HEAD~1", "HEAD"], "git diff --stat HEAD~1 HEAD > /dev/null",
                  ok_codes=(0, 1))

    def run(self) -> Results:
        print(f"work dir: {self.work}", file=sys.stderr)
        t0 = time.perf_counter()
        self.make_dataset()
        print(f"dataset: {self.args.files} x {self.args.file_kb} KB + {self.args.large_mb} MB "
              f"({time.perf_counter() - t0:.1f}s to generate)", file=sys.stderr)
        for rnd in range(self.args.rounds):
            t0 = time.perf_counter()
            self.round(rnd)
            print(f"round {rnd + 1}/{self.args.rounds}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        return self.results


# --- reporting -------------------------------------------------------------------------------
def summarize(results: Results) -> list[dict]:
    """One row per step: medians, ratios and peak RSS."""
    rows = []
    for step, (desc, target) in STEPS.items():
        runs = results.samples.get(step)
        if not runs:
            if step not in results.skipped:
                continue  # not selected with --steps
            rows.append({"step": step, "description": desc, "skipped": results.skipped[step]})
            continue
        row = {"step": step, "description": desc, "target": target}
        for runner, samples in runs.items():
            row[f"{runner}_s"] = statistics.median(s.seconds for s in samples)
            row[f"{runner}_rss_mb"] = max(s.rss_mb for s in samples)
            row[f"{runner}_cpu_s"] = statistics.median(s.cpu_s for s in samples)
        dv, dvc, base = row.get("dataver_s"), row.get("dvc_s"), row.get("baseline_s")
        row["ratio_dvc"] = dv / dvc if dv is not None and dvc else None
        row["ratio_baseline"] = dv / base if dv is not None and base else None
        dv_cpu, dvc_cpu = row.get("dataver_cpu_s"), row.get("dvc_cpu_s")
        row["cpu_ratio_dvc"] = dv_cpu / dvc_cpu if dv_cpu is not None and dvc_cpu else None
        rows.append(row)
    return rows


def render(rows: list[dict], args: argparse.Namespace) -> str:
    head = ["step", "dataver s", "dvc s", "dv/dvc", "target", "machine s", "dv/machine",
            "cpu dv/dvc", "dv MB", "dvc MB"]
    lines = [head]

    def num(value, fmt):
        return "-" if value is None else format(value, fmt)

    for row in rows:
        if "skipped" in row:
            lines.append([row["step"], "n/a", "n/a", "n/a"] + [""] * (len(head) - 4))
            continue
        ok = row["ratio_dvc"] is not None and row["target"] is not None and row["ratio_dvc"] <= row["target"]
        lines.append([
            row["step"], num(row.get("dataver_s"), ".3f"), num(row.get("dvc_s"), ".3f"),
            num(row["ratio_dvc"], ".2f"), (num(row["target"], ".2f") + (" ok" if ok else "")) if row["target"] else "",
            num(row.get("baseline_s"), ".3f"), num(row["ratio_baseline"], ".1f"), num(row["cpu_ratio_dvc"], ".2f"),
            num(row.get("dataver_rss_mb"), ".0f"), num(row.get("dvc_rss_mb"), ".0f"),
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [f"# {args.files} files x {args.file_kb} KB + {args.large_mb} MB file, median of "
           f"{args.rounds} rounds, {os.cpu_count()} cores, "
           f"{'cold' if args.drop_caches else 'warm'} page cache"]
    for i, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    for row in rows:
        if "skipped" in row:
            out.append(f"{row['step']}: {row['skipped']}")
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_dvc = os.environ.get("DATAVER_DVC") or next(
        (p for p in (os.path.join(ROOT, ".venv-dvc", "bin", "dvc"), "/work/main/.venv-dvc/bin/dvc")
         if os.path.exists(p)), "dvc")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="number of small files (default 2000)")
    parser.add_argument("--file-kb", type=int, default=32, help="size of each small file in KiB (default 32)")
    parser.add_argument("--large-mb", type=int, default=100, help="size of the large file in MiB, 0 for none")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the table shows medians (default 3)")
    parser.add_argument("--dataver", default=DEFAULT_DATAVER,
                        help="command that runs dataver (default: the dataver script next to "
                             "this Python, else this Python with -m dataver; either way "
                             "using this checkout's src/)")
    parser.add_argument("--dvc", default=default_dvc, help="command that runs DVC")
    parser.add_argument("--no-dvc", action="store_true", help="run dataver and the baseline only")
    parser.add_argument("--no-baseline", action="store_true", help="skip the machine baseline")
    parser.add_argument("--drop-caches", action="store_true",
                        help="drop the OS page cache before every timed command (needs root)")
    parser.add_argument("--steps", nargs="*", choices=list(STEPS), help="time only these steps")
    parser.add_argument("--workdir", help="where to put the dataset and repos (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE ('-' = stdout)")
    return parser.parse_args(argv)


def tool_args(parser: argparse.ArgumentParser, rounds: int = 1) -> None:
    """The options every side-by-side benchmark takes: rounds, the tools' commands, the work dir
    (the other benchmarks share them with this one)."""
    defaults = parse_args([])
    parser.add_argument("--rounds", type=int, default=rounds, help=f"rounds; medians are shown (default {rounds})")
    parser.add_argument("--dataver", default=defaults.dataver, help="command that runs dataver")
    parser.add_argument("--dvc", default=defaults.dvc, help="command that runs DVC")
    parser.add_argument("--no-dvc", action="store_true", help="skip DVC")
    parser.add_argument("--workdir", help="work directory (default: a temp dir, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")


def remove_workdir(work: str) -> None:
    """Delete a benchmark's work dir (read-only cache files included)."""
    subprocess.run(["chmod", "-R", "u+w", work], check=False)
    shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    try:
        results = bench.run()
        report(results, args)  # before the (slow) clean-up
    finally:
        if not args.keep:
            remove_workdir(bench.work)
    return 0


def report(results: Results, args: argparse.Namespace) -> None:
    rows = summarize(results)
    print(render(rows, args), flush=True)
    if args.json:
        doc = {"files": args.files, "file_kb": args.file_kb, "large_mb": args.large_mb,
               "rounds": args.rounds, "cores": os.cpu_count(), "load": os.getloadavg(),
               "harness_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "steps": rows,
               "samples": {s: {r: [vars(x) for x in v] for r, v in d.items()}
                           for s, d in results.samples.items()}}
        text = json.dumps(doc, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as fobj:
                fobj.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
