"""Remote speed: push and pull against one local S3 server (`rclone serve s3`), dataver vs DVC vs
`rclone copy --transfers 32` of the same objects, plus a no-op push and `status -c` at 20,000
files (what the remote index is for). Prints a table; asserts nothing.

Usage::

    python benchmarks/remote_bench.py                          # 2000 x 32 KB + 100 MB, 20,000 no-op
    python benchmarks/remote_bench.py --files 5000 --large-mb 500 --noop-files 20000 --rounds 3
    python benchmarks/remote_bench.py --no-dvc

Every push goes to an empty prefix of the same bucket; every pull runs in a fresh git clone
(checkout included: pull restores the workspace). The rclone baseline copies the cache's
``files/md5`` tree up, then down into an empty directory, with 32 parallel transfers.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import uuid
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, ROOT, os.path.join(ROOT, "src")]

import run as harness  # noqa: E402  (benchmarks/run.py: timing and environment helpers)
from dataver import sampledata  # noqa: E402
from tests.remotes.servers import S3_BUCKET, S3_KEY, S3_SECRET, find_tool, start_s3  # noqa: E402


class RemoteBench:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="dataver-remote-bench-"))
        os.makedirs(self.work, exist_ok=True)
        self.log = os.path.join(self.work, "commands.log")
        self.env = harness.Bench._env(SimpleNamespace(work=self.work))
        # Let Python cache bytecode, as in a normal install (dataver runs from source here).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.cmds = {"dataver": shlex.split(args.dataver), "dvc": shlex.split(args.dvc)}
        self.tools = ["dataver"] + ([] if args.no_dvc else ["dvc"])
        self.server = start_s3(self.work)
        self.endpoint = self.server.options["endpointurl"]
        self.samples: dict[str, dict[str, list[float]]] = {}

    def close(self):
        self.server.stop()

    def quiet(self, cmd, cwd):
        harness.run_quiet(cmd, cwd, self.env, self.log)

    def time(self, step, runner, cmd, cwd):
        sample = harness.timed(cmd, cwd, self.env, self.log)
        if sample.rc != 0:
            raise SystemExit(f"{runner} {step} failed ({sample.rc}); see {self.log}")
        self.samples.setdefault(step, {}).setdefault(runner, []).append(sample.seconds)

    def make_repo(self, name, files, file_kb, large_mb) -> str:
        """A git repo with `data/` (and `big.bin`) added by dataver and committed; DVC reads it
        as its own (same cache and .dvc files)."""
        repo = os.path.join(self.work, name)
        os.makedirs(repo)
        self.quiet(["git", "init", "-q"], repo)
        self.quiet([*self.cmds["dataver"], "init", "-q"], repo)
        sampledata.make_flat_files(os.path.join(repo, "data"), files, file_kb * 1024)
        targets = ["data"]
        if large_mb:
            sampledata.make_large_file(os.path.join(repo, "big.bin"), large_mb << 20)
            targets.append("big.bin")
        self.quiet([*self.cmds["dataver"], "add", "-q", *targets], repo)
        self.quiet(["git", "add", "-A"], repo)
        self.quiet(["git", "commit", "-qm", "data"], repo)
        return repo

    def configure(self, tool, repo, url) -> None:
        cmd = self.cmds[tool]
        self.quiet([*cmd, "remote", "add", "-f", "-d", "bench", url], repo)
        for key, value in self.server.options.items():
            self.quiet([*cmd, "remote", "modify", "--local", "bench", key, value], repo)

    def clone(self, repo, tool, url) -> str:
        dest = os.path.join(self.work, f"clone-{tool}-{uuid.uuid4().hex[:6]}")
        self.quiet(["git", "clone", "-q", repo, dest], self.work)
        self.configure(tool, dest, url)
        return dest

    def rclone(self, src, dst) -> list[str]:
        return [find_tool("rclone"), "copy", "--transfers", "32", "--checkers", "32",
                "--config", os.devnull, "--s3-provider", "Other", "--s3-endpoint", self.endpoint,
                "--s3-access-key-id", S3_KEY, "--s3-secret-access-key", S3_SECRET,
                "--s3-force-path-style", src, dst]

    def transfer_round(self, repo) -> None:
        for tool in self.tools:
            url = f"s3://{S3_BUCKET}/{tool}-{uuid.uuid4().hex[:8]}"
            self.configure(tool, repo, url)
            self.time("push", tool, [*self.cmds[tool], "push", "-q"], repo)
            clone = self.clone(repo, tool, url)
            self.time("pull", tool, [*self.cmds[tool], "pull", "-q"], clone)
            shutil.rmtree(clone, ignore_errors=True)
        prefix = f"{S3_BUCKET}/rclone-{uuid.uuid4().hex[:8]}/files/md5"
        cache = os.path.join(repo, ".dvc", "cache", "files", "md5")
        self.time("push", "rclone", self.rclone(cache, f":s3:{prefix}"), repo)
        down = os.path.join(self.work, f"rclone-down-{uuid.uuid4().hex[:6]}")
        self.time("pull", "rclone", self.rclone(f":s3:{prefix}", down), repo)
        shutil.rmtree(down, ignore_errors=True)

    def noop_round(self, repo) -> None:
        for tool in self.tools:
            url = f"s3://{S3_BUCKET}/noop-{tool}-{uuid.uuid4().hex[:8]}"
            self.configure(tool, repo, url)
            self.quiet([*self.cmds[tool], "push", "-q"], repo)
            self.time("noop_push_20k", tool, [*self.cmds[tool], "push", "-q"], repo)
            self.time("status_c_20k", tool, [*self.cmds[tool], "status", "-c", "-q"], repo)

    def run(self) -> None:
        repo = self.make_repo("transfer", self.args.files, self.args.file_kb, self.args.large_mb)
        noop = self.make_repo("noop", self.args.noop_files, 1, 0)
        for _ in range(self.args.rounds):
            self.transfer_round(repo)
            self.noop_round(noop)


def render(samples, args) -> str:
    runners = ["dataver", "dvc", "rclone"]
    head = f"{'step':<16}" + "".join(f"{r + ' s':>11}" for r in runners) + f"{'dv/dvc':>9}{'dv/rclone':>11}"
    lines = [f"# remote: {args.files} x {args.file_kb} KB + {args.large_mb} MB; no-op at "
             f"{args.noop_files} files; median of {args.rounds}; load {os.getloadavg()[0]:.1f}",
             head, "-" * len(head)]
    for step, by in samples.items():
        med = {r: statistics.median(v) for r, v in by.items()}
        cells = "".join(f"{med[r]:>11.3f}" if r in med else f"{'-':>11}" for r in runners)
        ratio = lambda a, b: f"{med[a] / med[b]:.2f}" if a in med and b in med else "-"  # noqa: E731
        lines.append(f"{step:<16}{cells}{ratio('dataver', 'dvc'):>9}{ratio('dataver', 'rclone'):>11}")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="small files pushed/pulled (default 2000)")
    parser.add_argument("--file-kb", type=int, default=32, help="size of each small file in KiB")
    parser.add_argument("--large-mb", type=int, default=100, help="size of the large file in MiB (0: none)")
    parser.add_argument("--noop-files", type=int, default=20000, help="files for the no-op steps")
    harness.tool_args(parser, rounds=1)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = RemoteBench(args)
    try:
        bench.run()
    finally:
        bench.close()
        if not args.keep:
            harness.remove_workdir(bench.work)
    print(render(bench.samples, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
