"""Pipeline benchmark: dataver against DVC deciding that a 50-stage pipeline over a 20,000-file
dataset needs nothing run (`repro`, `status`), drawing it (`dag`) and comparing params
(`params diff`), on the same repository.

It prints numbers and asserts nothing. The pipeline: `data/` (N files, tracked by a .dvc file)
and `params.yaml` with one section per stage; 10 chains of 5 stages, the first of each chain
depending on all of `data/`, every stage on its own params and on the previous stage's output.
DVC runs the pipeline once (untimed); each tool then reports the other's result up to date,
which is checked before timing. The targets are those of the pipelines issue: no-op `repro` and
`status` at most 0.1x DVC's time, `dag` and `params diff` at most 0.2x.

    .venv/bin/python benchmarks/pipeline_bench.py                  # 20,000 files, 3 rounds
    .venv/bin/python benchmarks/pipeline_bench.py --files 2000 --rounds 1
"""
from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, os.path.join(ROOT, "src")]

import run as harness  # noqa: E402  (benchmarks/run.py: timing and environment helpers)
from dataver import sampledata  # noqa: E402

CHAINS, LENGTH = 10, 5
STEPS = {  # step -> (command arguments, target ratio)
    "repro_noop": (["repro"], 0.1),
    "status_noop": (["status"], 0.1),
    "dag": (["dag"], 0.2),
    "params_diff": (["params", "diff"], 0.2),
}


def pipeline_yaml() -> str:
    lines = ["stages:"]
    for chain in range(CHAINS):
        for step in range(LENGTH):
            name = f"c{chain}s{step}"
            prev = "data" if step == 0 else f"out/c{chain}s{step - 1}.txt"
            lines += [f"  {name}:",
                      f"    cmd: echo {name} > out/{name}.txt",
                      "    deps:", f"    - {prev}",
                      "    params:", f"    - {name}.lr", f"    - {name}.epochs",
                      "    outs:", f"    - out/{name}.txt"]
    return "\n".join(lines) + "\n"


def params_yaml() -> str:
    return "".join(f"c{c}s{s}:\n  lr: 0.1\n  epochs: {c + s}\n"
                   for c in range(CHAINS) for s in range(LENGTH))


class PipelineBench:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="dataver-pipeline-bench-"))
        os.makedirs(self.work, exist_ok=True)
        self.log = os.path.join(self.work, "commands.log")
        self.env = harness.Bench._env(SimpleNamespace(work=self.work))
        self.cmds = {"dataver": shlex.split(args.dataver), "dvc": shlex.split(args.dvc)}
        self.tools = ["dataver"] + ([] if args.no_dvc else ["dvc"])
        self.samples: dict[str, dict[str, list]] = {}  # step -> tool -> [harness.Sample]

    def quiet(self, cmd, cwd):
        harness.run_quiet(cmd, cwd, self.env, self.log)

    def output(self, cmd, cwd) -> str:
        return subprocess.run(cmd, cwd=cwd, env=self.env, capture_output=True, text=True).stdout

    def make_repo(self) -> str:
        repo = os.path.join(self.work, "repo")
        os.makedirs(os.path.join(repo, "out"))
        self.quiet(["git", "init", "-q"], repo)
        self.quiet([*self.cmds["dvc"], "init", "-q"], repo)
        sampledata.make_flat_files(os.path.join(repo, "data"), self.args.files, self.args.file_kb * 1024)
        with open(os.path.join(repo, "dvc.yaml"), "w") as fobj:
            fobj.write(pipeline_yaml())
        with open(os.path.join(repo, "params.yaml"), "w") as fobj:
            fobj.write(params_yaml())
        with open(os.path.join(repo, "out", ".gitkeep"), "w"):
            pass
        print(f"running the pipeline once with dvc ({CHAINS * LENGTH} stages, {self.args.files} files)...",
              flush=True)
        self.quiet([*self.cmds["dvc"], "add", "-q", "data"], repo)
        self.quiet([*self.cmds["dvc"], "repro", "-q"], repo)
        self.quiet(["git", "add", "-A"], repo)
        self.quiet(["git", "commit", "-qm", "pipeline"], repo)
        return repo

    def check_up_to_date(self, repo) -> None:
        for tool in self.tools:
            text = self.output([*self.cmds[tool], "status"], repo)
            if "up to date" not in text:
                raise SystemExit(f"{tool} status is not clean before timing: {text[:500]}")

    def run(self) -> None:
        repo = self.make_repo()
        self.check_up_to_date(repo)
        for round_no in range(self.args.rounds):
            order = self.tools if round_no % 2 == 0 else self.tools[::-1]
            for step, (argv, _target) in STEPS.items():
                for tool in order:
                    sample = harness.timed([*self.cmds[tool], *argv], repo, self.env, self.log)
                    if sample.rc != 0:
                        raise SystemExit(f"{tool} {step} failed ({sample.rc}); see {self.log}")
                    self.samples.setdefault(step, {}).setdefault(tool, []).append(sample)
            print(f"round {round_no + 1} done", flush=True)


def render(samples, args) -> str:
    """Median wall seconds and the dataver/DVC ratios of wall and of CPU time (user + system:
    less disturbed when other jobs share the machine); the verdict is on wall time."""
    head = (f"{'step':<14}{'dataver s':>11}{'dvc s':>9}{'dv/dvc':>9}{'cpu dv/dvc':>12}"
            f"{'target':>8}  verdict")
    lines = [f"# pipeline: {CHAINS * LENGTH} stages over {args.files} x {args.file_kb} KB; "
             f"median of {args.rounds}; load {os.getloadavg()[0]:.1f}", head, "-" * len(head)]
    for step, by in samples.items():
        wall = {tool: statistics.median(s.seconds for s in v) for tool, v in by.items()}
        cpu = {tool: statistics.median(s.cpu_s for s in v) for tool, v in by.items()}
        target = STEPS[step][1]
        if "dvc" in wall:
            ratio = wall["dataver"] / wall["dvc"]
            tail = (f"{wall['dvc']:>9.3f}{ratio:>9.3f}{cpu['dataver'] / cpu['dvc']:>12.3f}"
                    f"{target:>8.2f}  {'pass' if ratio <= target else 'FAIL'}")
        else:
            tail = f"{'-':>9}{'-':>9}{'-':>12}{target:>8.2f}"
        lines.append(f"{step:<14}{wall['dataver']:>11.3f}{tail}")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20000, help="files in data/ (default 20000)")
    parser.add_argument("--file-kb", type=int, default=4, help="size of each file in KiB (default 4)")
    harness.tool_args(parser, rounds=3)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = PipelineBench(args)
    try:
        bench.run()
    finally:
        if not args.keep:
            harness.remove_workdir(bench.work)
    print(render(bench.samples, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
