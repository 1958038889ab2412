"""Data-card benchmark (issue 10, "Speed"): every figure beside the issue's reference.

Generates, with Pillow, N real JPEG and PNG images (about 80% JPEG, 320 to 1920 px wide, common
aspect ratios, gradients + shapes + noise so the JPEGs are not trivially small), a COCO file
naming them (``benchmarks/coco_gen.py``), a sparse safetensors checkpoint (a real header of ~300
tensors, the data part a hole) and a set of 1920x1080 JPEGs for ``--deep``; tracks them in a git
+ dataver repository and times, each command as a fresh process (start-up counts, as for users):

==  =====================================================  ==================================
 1  ``dataver add data`` (``dvc add`` on a copy beside it)  issue 5: at most 0.25x DVC
 2  first card, cold facts: ``card data --json``            >= 3,000 images/s per core
 3  the card after rewriting 1% of the images               <= 5% of the first card's time
 4  ``card deep --deep --json``, cold facts                 >= 150 1080p images/s per core
 5  COCO fact (+ cross-check) vs ``pycocotools.COCO()``    <= 0.5x, in this process
 6  stored card ``--rev HEAD`` / ``card diff HEAD~1 HEAD``  < 0.3 s each (best of 3)
 7  checkpoint card, cold facts (command; ``collect()``)    < 0.1 s for the header work
 8  peak RSS of the card commands (GNU time)               < 500 MB
 9  ``add`` with ``card.auto`` on vs off (fresh repos)      <= 2x
10  10x the images                                          not measured
==  =====================================================  ==================================

"per core" is images / CPU seconds of the command and all its worker processes (the
``RUSAGE_CHILDREN`` delta), so it does not depend on the number of cores or on other load; the
wall-clock rate is printed beside it. It is a benchmark, not a test: it always exits 0.

Usage::

    python benchmarks/card_bench.py                        # 20,000 images, 200,000 boxes, 1 GB
    python benchmarks/card_bench.py --images 500 --annotations 5000 --deep-images 20 --ckpt-gb 0.1
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing import Pool

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(ROOT, "src")
sys.path.insert(0, SRC)
sys.path.insert(0, HERE)

_SCRIPT = os.path.join(os.path.dirname(sys.executable), "dataver")
DATAVER = [_SCRIPT] if os.path.exists(_SCRIPT) else [sys.executable, "-m", "dataver"]
ASPECTS = [(4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (9, 16), (1, 1), (5, 4)]
# Peak RSS comes from GNU time's %M: the ru_maxrss that wait4 gives for a child of this process
# is at least this process's own peak (vfork shares its memory until exec), and pycocotools,
# run here for the COCO comparison, takes hundreds of MB.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


# --- data generation ---------------------------------------------------------------------------
_TEXTURES: dict = {}  # per worker process: noise fields that images crop at random offsets


def _texture(kind: str):
    """A 2048x2048 RGB noise field centred on 128, made once per worker (cropping it costs
    nothing, where fresh noise per image would dominate the generation time): ``"grain"``, fine
    noise plus soft blotches, for JPEGs; ``"blotch"``, flat 8x8 blocks only, for PNGs."""
    if kind not in _TEXTURES:
        import numpy as np
        from PIL import Image

        rng = np.random.default_rng(os.getpid())
        field = rng.normal(0.0, 12.0, (256, 256, 3)).repeat(8, 0).repeat(8, 1)
        if kind == "grain":
            field = field + rng.normal(0.0, 5.0, (2048, 2048, 3))
        _TEXTURES[kind] = Image.fromarray(np.clip(field + 128, 0, 255).astype(np.uint8), "RGB")
    return _TEXTURES[kind]


def make_image(spec: tuple) -> tuple[str, int, int]:
    """Write one image; ``spec`` is (path, width, height, format, seed). Returns (name, w, h).

    A two-colour gradient, 4 to 14 random shapes, then noise: fine grain on JPEGs, which keeps
    them from compressing to nothing, and only coarse flat blotches on PNGs (as on masks, renders
    or screenshots, which is what PNG datasets mostly hold), which keeps them from being huge."""
    import random

    from PIL import Image, ImageChops, ImageDraw

    path, width, height, fmt, seed = spec
    rng = random.Random(seed)
    corners = Image.new("RGB", (2, 2))
    corners.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(4)])
    img = corners.resize((width, height), Image.BILINEAR)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randrange(4, 15)):
        x0, x1 = sorted(rng.randrange(width) for _ in range(2))
        y0, y1 = sorted(rng.randrange(height) for _ in range(2))
        fill = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.randrange(3)
        if shape == 0:
            draw.ellipse([x0, y0, x1, y1], fill=fill)
        elif shape == 1:
            draw.rectangle([x0, y0, x1, y1], fill=fill)
        else:
            draw.polygon([(rng.randrange(width), rng.randrange(height)) for _ in range(5)], fill=fill)
    ox, oy = rng.randrange(2048 - width + 1), rng.randrange(2048 - height + 1)
    noise = _texture("grain" if fmt == "JPEG" else "blotch").crop((ox, oy, ox + width, oy + height))
    out = ImageChops.add(img, noise, offset=-128)
    if fmt == "JPEG":
        out.save(path, "JPEG", quality=rng.randrange(75, 93))
    else:
        out.save(path, "PNG", compress_level=3)
    return os.path.basename(path), width, height


def image_specs(folder: str, count: int, seed: int, fixed: tuple[int, int] | None = None) -> list[tuple]:
    """Specs for ``count`` images: widths uniform in 320..1920 with a common aspect ratio
    (heights kept <= 1920), 80% JPEG; or all ``fixed`` (w, h) JPEGs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    specs = []
    for i in range(count):
        if fixed:
            (width, height), fmt = fixed, "JPEG"
        else:
            width = int(rng.integers(320, 1921))
            aw, ah = ASPECTS[int(rng.integers(len(ASPECTS)))]
            height = max(32, min(1920, round(width * ah / aw)))
            fmt = "JPEG" if rng.random() < 0.8 else "PNG"
        name = f"{i + 1:012d}.{'jpg' if fmt == 'JPEG' else 'png'}"
        specs.append((os.path.join(folder, name), width, height, fmt, seed * 1_000_003 + i))
    return specs


def write_images(specs: list[tuple], jobs: int) -> list[tuple[str, int, int]]:
    """Make the images of ``specs`` in a pool of ``jobs`` processes; [(name, w, h)] in order."""
    for folder in {os.path.dirname(s[0]) for s in specs}:
        os.makedirs(folder, exist_ok=True)
    with Pool(jobs) as pool:
        return pool.map(make_image, specs, chunksize=8)


def rewrite_images(specs: list[tuple], fraction: float, seed: int, jobs: int) -> list[str]:
    """Rewrite ``fraction`` of the images with new content (same name, format and size, so the
    COCO file still fits); their paths."""
    import numpy as np

    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(specs), max(1, round(len(specs) * fraction)), replace=False).tolist())
    changed = [specs[i][:4] + (specs[i][4] + 7_777_777 * seed,) for i in picked]
    write_images(changed, jobs)
    return [s[0] for s in changed]


def write_coco(path: str, images: list[tuple[str, int, int]], annotations: int) -> None:
    """The COCO file over ``images`` (name, real width, real height) with ``annotations`` boxes."""
    from coco_gen import make_coco

    os.makedirs(os.path.dirname(path), exist_ok=True)
    make_coco(path, annotations=annotations, file_names=images, seed=1)


def write_safetensors(path: str, total_bytes: int, tensors: int = 300) -> int:
    """A safetensors file of about ``total_bytes``: a real header describing a transformer of
    ``tensors`` tensors (BF16 weights, F32 norms), the data part left as a hole (os.truncate), so
    it takes no time or disk to make. Returns its size."""
    layers = max(1, (tensors - 3) // 8)
    vocab = 32000

    def size_for(d: int) -> int:
        # per layer: q, k, v, o (d x d), up, gate (4d x d), down (d x 4d) in BF16, a norm (d) in
        # F32; embeddings and lm_head (vocab x d) in BF16, a final norm
        return 2 * (layers * 16 * d * d + 2 * vocab * d) + 4 * (layers + 1) * d

    d = 16
    while size_for(d + 16) <= total_bytes:
        d += 16
    entries, offset = [], 0

    def tensor(name: str, dtype: str, shape: list[int]) -> None:
        nonlocal offset
        size = (2 if dtype == "BF16" else 4) * math.prod(shape)
        entries.append((name, {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}))
        offset += size

    tensor("model.embed_tokens.weight", "BF16", [vocab, d])
    for i in range(layers):
        p = f"model.layers.{i}."
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensor(f"{p}self_attn.{name}.weight", "BF16", [d, d])
        tensor(f"{p}mlp.up_proj.weight", "BF16", [4 * d, d])
        tensor(f"{p}mlp.gate_proj.weight", "BF16", [4 * d, d])
        tensor(f"{p}mlp.down_proj.weight", "BF16", [d, 4 * d])
        tensor(f"{p}input_layernorm.weight", "F32", [d])
    tensor("model.norm.weight", "F32", [d])
    tensor("lm_head.weight", "BF16", [vocab, d])
    header = json.dumps({"__metadata__": {"format": "pt"}, **dict(entries)}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fobj:
        fobj.write(len(header).to_bytes(8, "little") + header)
    size = 8 + len(header) + offset
    os.truncate(path, size)
    return size


# --- running commands --------------------------------------------------------------------------
class CommandFailed(Exception):
    """A command exited non-zero: its step is reported as failed and the next one runs."""


@dataclass
class Sample:
    """One command: wall seconds, CPU seconds of it and its workers, peak RSS (MB), exit code."""

    wall: float
    cpu: float
    rss_mb: float
    rc: int


class Shell:
    """Runs commands in the benchmark's environment, logging their output to commands.log."""

    def __init__(self, work: str):
        self.work = work
        self.log = os.path.join(work, "commands.log")
        self.env = self._env()

    def _env(self) -> dict:
        """HOME inside the work dir, git identity, this checkout's src/ first; no GIT_/DVC_."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GIT_", "DVC_")) and k != "PYTHONDONTWRITEBYTECODE"}
        home = os.path.join(self.work, "home")
        os.makedirs(home, exist_ok=True)
        with open(os.path.join(home, ".gitconfig"), "w") as fobj:
            fobj.write("[user]\n\tname = Bench\n\temail = bench@example.com\n"
                       "[init]\n\tdefaultBranch = main\n")
        env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"), GIT_CONFIG_NOSYSTEM="1",
                   DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=os.path.join(home, "dvc-site-cache"),
                   DVC_GLOBAL_CONFIG_DIR=os.path.join(home, ".config", "dvc"),
                   DVC_SYSTEM_CONFIG_DIR=os.path.join(home, "system-dvc"))
        env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def run(self, cmd: list[str], cwd: str, stdout: str | None = None, check: bool = True,
            settle: bool = False) -> Sample:
        """Run ``cmd``; stdout to the file ``stdout`` (else the log). ``settle``: `sync` first,
        so write-back of earlier steps does not share the cores with the timed command."""
        if settle:
            self.run(["sync"], cwd)
        rss_file = os.path.join(self.work, "rss.txt")
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file, *cmd] if GNU_TIME else cmd
        with open(self.log, "ab") as log, open(stdout or os.devnull, "wb") as out:
            log.write(f"$ {shlex.join(cmd)}  (in {cwd})\n".encode())
            log.flush()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.Popen(argv, cwd=cwd, env=self.env, stdin=subprocess.DEVNULL,
                                    stdout=out if stdout else log, stderr=log)
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc = os.waitstatus_to_exitcode(status)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if check and rc != 0:
            raise CommandFailed(f"{shlex.join(cmd[len(DATAVER):] if cmd[:len(DATAVER)] == DATAVER else cmd)} "
                                f"exited {rc}: {last_line(self.log)}")
        return Sample(wall, cpu, peak_kb(rss_file) / 1024 if GNU_TIME else usage.ru_maxrss / 1024, rc)

    def sh(self, script: str, cwd: str) -> Sample:
        return self.run(["bash", "-c", script], cwd)


# --- the report --------------------------------------------------------------------------------
@dataclass
class Row:
    figure: str
    measured: str
    reference: str = ""
    ok: bool | None = None  # None: no reference to pass or fail

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: ""}[self.ok]


class Report:
    """Rows printed as they are measured, then once more as an aligned table."""

    def __init__(self):
        self.rows: list[Row] = []

    def add(self, figure: str, measured: str, reference: str = "", ok: bool | None = None) -> None:
        row = Row(figure, measured, reference, ok)
        self.rows.append(row)
        print(f"  {figure}: {measured}" + (f"  (reference {reference}: {row.verdict})" if reference else ""),
              file=sys.stderr, flush=True)

    def table(self, title: str) -> str:
        head = Row("figure", "measured", "reference", None)
        lines = [(r.figure, r.measured, r.reference, r.verdict if r is not head else "result")
                 for r in [head, *self.rows]]
        widths = [max(len(line[i]) for line in lines) for i in range(4)]
        out = [title]
        for i, line in enumerate(lines):
            out.append("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)


def peak_kb(path: str) -> int:
    """The peak RSS in KB that GNU time wrote to ``path`` (its last line; 0 if none)."""
    try:
        with open(path) as fobj:
            return int(fobj.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return 0


def last_line(path: str) -> str:
    """The last non-empty line of the file at ``path`` (a failed command's error)."""
    with open(path, "rb") as fobj:
        fobj.seek(max(0, os.path.getsize(path) - 4096))
        lines = [line for line in fobj.read().decode(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def best_of(n: int, fn) -> Sample:
    """The fastest (by wall time) of ``n`` runs of ``fn()``."""
    return min((fn() for _ in range(n)), key=lambda s: s.wall)


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s"


# --- the benchmark -----------------------------------------------------------------------------
class CardBench:
    """One run: generate, track, then measure each figure of the issue, in order."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="dataver-card-bench-"))
        os.makedirs(self.work, exist_ok=True)
        self.shell = Shell(self.work)
        self.repo = os.path.join(self.work, "repo")
        self.report = Report()
        # compile this checkout's sources once, as pip would, so no command pays for it
        subprocess.run([sys.executable, "-m", "compileall", "-q", SRC], env=self.shell.env,
                       check=False, stdout=subprocess.DEVNULL)
        self.peak: tuple[float, str] = (0.0, "")  # peak RSS (MB) of the card commands, and which
        self.image_specs: list[tuple] = []
        self.ckpt_bytes = 0
        self.times: dict[str, Sample] = {}

    # helpers
    def dataver(self, args: list[str], cwd: str | None = None, stdout: str | None = None,
                settle: bool = False) -> Sample:
        return self.shell.run([*DATAVER, *args], cwd or self.repo, stdout=stdout, settle=settle)

    def card(self, args: list[str], label: str) -> Sample:
        """A timed `dataver card ...` in the main repo, its JSON kept as out/<label>.json."""
        os.makedirs(os.path.join(self.work, "out"), exist_ok=True)
        sample = self.dataver(["card", *args], stdout=os.path.join(self.work, "out", f"{label}.json"),
                              settle=True)
        self.note_peak(sample, "card " + " ".join(args))
        return sample

    def note_peak(self, sample: Sample, what: str) -> None:
        self.peak = max(self.peak, (sample.rss_mb, what))

    def card_json(self, label: str):
        with open(os.path.join(self.work, "out", f"{label}.json"), "rb") as fobj:
            return json.load(fobj)

    def forget_facts(self, repo: str | None = None) -> None:
        """Cold facts: remove the fact store (<cache>/dataver)."""
        shutil.rmtree(os.path.join(repo or self.repo, ".dvc", "cache", "dataver"), ignore_errors=True)

    def git_commit(self, message: str, repo: str | None = None, paths: str = ".") -> None:
        self.shell.sh(f"git add -A {paths} && git commit -qm {shlex.quote(message)}", repo or self.repo)

    def new_repo(self, path: str, tool: list[str]) -> None:
        os.makedirs(path, exist_ok=True)
        self.shell.run(["git", "init", "-q"], path)
        self.shell.run([*tool, "init", "-q"], path)
        self.git_commit("init", path)

    def step(self, title: str) -> float:
        print(f"[{time.strftime('%H:%M:%S')}] {title}", file=sys.stderr, flush=True)
        return time.perf_counter()

    # 1. data
    def generate(self) -> None:
        args = self.args
        t0 = self.step(f"generating {args.images} images, a COCO file with {args.annotations} "
                       f"boxes, a {args.ckpt_gb} GB checkpoint and {args.deep_images} 1080p JPEGs")
        self.new_repo(self.repo, DATAVER)  # before the data, which git must not commit
        self.image_specs = image_specs(os.path.join(self.repo, "data", "images"), args.images, seed=1)
        images = write_images(self.image_specs, args.jobs)
        write_coco(os.path.join(self.repo, "data", "annotations", "instances.json"), images, args.annotations)
        self.ckpt_bytes = write_safetensors(os.path.join(self.repo, "model", "model.safetensors"),
                                            int(args.ckpt_gb * (1 << 30)))
        write_images(image_specs(os.path.join(self.repo, "deep"), args.deep_images, seed=2,
                                 fixed=(1920, 1080)), args.jobs)
        size = int(subprocess.run(["du", "-sb", "data"], cwd=self.repo, capture_output=True,
                                  text=True).stdout.split()[0])
        print(f"  data/: {size / 1e9:.2f} GB ({size / max(1, args.images) / 1e3:.0f} KB/image); "
              f"generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    # 2. add (and the copies later steps start from)
    def track(self) -> None:
        """``dataver add`` data, model and deep/ and commit; before that, ``dvc add`` times a copy
        of data/ in a sibling repo (deleted right after, so the copies never all exist at once),
        and step 9's repo gets its copy of the data as it is now."""
        self.step("add: dataver add data (dvc add data on a copy)")
        data = os.path.join(self.repo, "data")
        if self.args.dvc:
            dvc_repo = os.path.join(self.work, "repo-dvc")
            self.new_repo(dvc_repo, [self.args.dvc])
            self.shell.run([self.args.dvc, "config", "core.check_update", "false"], dvc_repo)
            self.shell.run(["cp", "-r", data, dvc_repo], self.work)
        add = self.dataver(["add", "-q", "data"], settle=True)
        self.times["add"] = add
        if self.args.dvc:
            dvc = self.shell.run([self.args.dvc, "add", "-q", "data"], dvc_repo, settle=True)
            ratio = add.wall / dvc.wall
            self.report.add("add data: dataver / dvc", f"{fmt_s(add.wall)} / {fmt_s(dvc.wall)} = {ratio:.2f}x "
                            f"(CPU {add.cpu:.1f} / {dvc.cpu:.1f} s, RSS {add.rss_mb:.0f} / {dvc.rss_mb:.0f} MB)",
                            "<= 0.25x (issue 5)", ratio <= 0.25)
            self.shell.run(["chmod", "-R", "u+w", dvc_repo], self.work)
            shutil.rmtree(dvc_repo)
        else:
            self.report.add("add data (dataver)", fmt_s(add.wall))
        self.dataver(["add", "-q", "model"])
        self.dataver(["add", "-q", "deep"])
        self.git_commit("v1: data, model, deep")
        auto_repo = os.path.join(self.work, "repo-auto")
        self.new_repo(auto_repo, DATAVER)
        self.shell.run(["cp", "-r", data, auto_repo], self.work)

    # 3. first card
    def first_card(self) -> None:
        self.step("first card of data/, cold facts")
        self.forget_facts()
        first = self.card(["data", "--json"], "first")
        self.times["first"] = first
        n = self.args.images
        card = self.card_json("first")[0]
        seen = (card.get("images") or {}).get("count")
        if seen != n:
            print(f"  warning: the card counts {seen} images, {n} were generated", file=sys.stderr)
        per_core = n / first.cpu
        self.report.add("first card (cold facts): wall, CPU", f"{fmt_s(first.wall)}, {first.cpu:.2f} s CPU")
        self.report.add("first card: images/s per core", f"{per_core:.0f}", ">= 3000", per_core >= 3000)
        self.report.add("first card: images/s wall", f"{n / first.wall:.0f} ({os.cpu_count()} cores)")

    # 4. 1% changed
    def changed_card(self) -> None:
        self.step("card after rewriting 1% of the images (warm facts)")
        changed = rewrite_images(self.image_specs, 0.01, seed=3, jobs=self.args.jobs)
        again = self.card(["data", "--json"], "changed")
        label = f"card after changing 1% ({len(changed)} images)"
        if "first" not in self.times:
            self.report.add(label, f"{fmt_s(again.wall)} (no first card to compare with)")
            return
        share = again.wall / self.times["first"].wall
        self.report.add(label, f"{fmt_s(again.wall)} = {share:.1%} of first", "<= 5%", share <= 0.05)

    # 5. deep
    def deep_card(self) -> None:
        self.step("card --deep of deep/ (1080p JPEG), cold facts")
        self.forget_facts()
        deep = self.card(["deep", "--deep", "--json"], "deep")
        n = self.args.deep_images
        per_core = n / deep.cpu
        self.report.add("--deep 1080p JPEG: images/s per core",
                        f"{per_core:.0f} ({n} in {fmt_s(deep.wall)}, {deep.cpu:.2f} s CPU)",
                        ">= 150", per_core >= 150)

    # 6. COCO
    def coco(self) -> None:
        self.step("COCO: pycocotools.coco.COCO(path) vs dataver.facts.coco.coco_fact(path)")
        path = os.path.join(self.repo, "data", "annotations", "instances.json")
        theirs, _ = timed_call(load_pycocotools, path)
        ours, fact = timed_call(coco_fact, path)
        ratio = ours / theirs
        self.report.add("COCO fact / pycocotools COCO()", f"{ours:.2f} s / {theirs:.2f} s = {ratio:.2f}x",
                        "<= 0.5x", ratio <= 0.5)
        first = self.times.get("first")
        if first and first.cpu > ours:  # the first card computed this fact too
            self.report.add("first card without the COCO fact: images/s per core",
                            f"{self.args.images / (first.cpu - ours):.0f}")
        cross = cross_check_seconds(fact, self.image_specs)
        if cross is None:
            self.report.add("COCO cross-check (files, sizes)", "not measured (cards/coco_checks.py missing)")
        else:
            total = (ours + cross) / theirs
            self.report.add("COCO fact + cross-check / pycocotools", f"{ours + cross:.2f} s = {total:.2f}x",
                            "<= 0.5x", total <= 0.5)

    # 7. stored cards
    def stored_cards(self) -> None:
        self.step("stored cards: card --rev HEAD, card diff HEAD~1 HEAD")
        self.dataver(["add", "-q", "data"])  # records the 1% change of step 4
        self.dataver(["card", "-q", "--save", "data"], stdout=os.devnull)
        self.git_commit("v2: card saved")
        rewrite_images(self.image_specs, 0.005, seed=4, jobs=self.args.jobs)
        self.dataver(["add", "-q", "data"])
        self.dataver(["card", "-q", "--save", "data"], stdout=os.devnull)
        self.git_commit("v3: changed, card saved")
        rev = best_of(3, lambda: self.card(["data", "--rev", "HEAD", "--json"], "rev"))
        self.report.add("stored card: card data --rev HEAD --json", fmt_s(rev.wall), "< 0.3 s", rev.wall < 0.3)
        diff = best_of(3, lambda: self.card(["diff", "HEAD~1", "HEAD", "data", "--json"], "diff"))
        self.report.add("card diff HEAD~1 HEAD data --json", fmt_s(diff.wall), "< 0.3 s", diff.wall < 0.3)

    # 8. checkpoint
    def checkpoint(self) -> None:
        self.step("checkpoint card, cold facts")
        self.forget_facts()
        cmd = self.card(["model", "--json"], "model")
        start = best_of(3, lambda: self.dataver(["--version"]))
        self.report.add(f"checkpoint card ({self.ckpt_bytes / 2**30:.2f} GiB): command", f"{fmt_s(cmd.wall)} "
                        f"(`dataver --version`: {fmt_s(start.wall)})", "< 0.1 s", cmd.wall < 0.1)
        path = os.path.join(self.repo, "model", "model.safetensors")
        first, _ = timed_call(collect_one, path)  # imports the modules the command imports too
        seconds, facts = min((timed_call(collect_one, path) for _ in range(3)), key=lambda r: r[0])
        fact = next(iter(facts.values()), {})
        self.report.add("checkpoint: facts.collect() in process", f"{seconds * 1000:.1f} ms (best of 3), "
                        f"{first * 1000:.0f} ms with imports ({fact.get('tensors')} tensors, "
                        f"{fact.get('parameters')} parameters)", "< 0.1 s", seconds < 0.1)

    # 9. memory
    def memory(self) -> None:
        peak, what = self.peak
        self.report.add("peak RSS of the card commands", f"{peak:.0f} MB (`{what}`)", "< 500 MB", peak < 500)

    # 10. card.auto
    def auto_add(self) -> None:
        """``add data`` in two fresh repos holding the data as first generated, one after the
        other: with ``card.auto`` off, then on (cold facts: a new cache)."""
        self.step("add with card.auto off, then on (fresh repos, cold facts)")
        repo, plain = os.path.join(self.work, "repo-auto"), os.path.join(self.work, "repo-plain")
        self.new_repo(plain, DATAVER)
        self.shell.run(["cp", "-r", os.path.join(repo, "data"), plain], self.work)
        alone = self.dataver(["add", "-q", "data"], cwd=plain, settle=True)
        self.shell.run(["chmod", "-R", "u+w", plain], self.work)
        shutil.rmtree(plain)  # before the next copy: the disk holds one extra copy at a time
        self.dataver(["config", "card.auto", "true"], cwd=repo)
        self.git_commit("card.auto", repo, paths=".dvc/config")  # data/ is not tracked yet
        auto = self.dataver(["add", "-q", "data"], cwd=repo, settle=True)
        self.note_peak(auto, "add data with card.auto")
        with open(os.path.join(repo, "data.dvc")) as fobj:
            saved = "card" in fobj.read()
        ratio = auto.wall / alone.wall
        self.report.add("add, card.auto on / off", f"{fmt_s(auto.wall)} / {fmt_s(alone.wall)} = {ratio:.2f}x"
                        f" (RSS {auto.rss_mb:.0f} / {alone.rss_mb:.0f} MB)"
                        + ("" if saved else " (no card recorded in data.dvc!)"), "<= 2x", ratio <= 2)

    # 11. scale
    def scale(self) -> None:
        self.report.add("10x images (200,000 at the default)", "not measured", "<= ~10x the 20,000 time")

    def run(self) -> None:
        print(f"work dir: {self.work}", file=sys.stderr)
        self.generate()
        self.track()
        for step in (self.first_card, self.changed_card, self.deep_card, self.coco, self.stored_cards,
                     self.checkpoint, self.auto_add, self.memory, self.scale):
            try:
                step()
            except (CommandFailed, ImportError) as exc:  # the rest can still be measured
                text = str(exc)
                self.report.add(step.__name__, "failed: " + (text if len(text) < 110 else text[:107] + "..."))

    def title(self) -> str:
        a = self.args
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        return (f"# card_bench: {a.images} images, {a.annotations} COCO boxes, {self.ckpt_bytes / 2**30:.2f} GiB "
                f"safetensors, {a.deep_images} 1080p JPEGs; {os.cpu_count()} cores, load {load}, "
                f"warm page cache")


# --- in-process measurements (run in this process, not as commands) ---------------------------
def timed_call(fn, *args):
    """(wall seconds, result) of ``fn(*args)``."""
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def load_pycocotools(path: str):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # it prints progress lines
        return COCO(path)


def coco_fact(path: str) -> dict:
    from dataver.facts.coco import coco_fact as fact

    return fact(path)


def cross_check_seconds(fact: dict, specs: list[tuple]) -> float | None:
    """Time of the card's COCO cross-checks (missing/orphan files, sizes) against image facts of
    the generated images (their sizes are known); None if that module has not landed."""
    try:
        from dataver.cards import coco_checks
    except ImportError:
        return None
    pool = {f"images/{os.path.basename(p)}": {"type": "image", "format": fmt, "width": w, "height": h,
                                               "mode": "RGB", "orientation": None, "frames": 1}
            for p, w, h, fmt, _seed in specs}
    start = time.perf_counter()
    base = coco_checks.guess_base(fact, sorted(pool))
    list(coco_checks.cross_checks(fact, pool, base)) if base is not None else None
    return time.perf_counter() - start


def collect_one(path: str) -> dict:
    """Basic facts of the one file at ``path`` with a fresh FactStore in a temp dir."""
    from dataver.facts import FactStore, collect

    with tempfile.TemporaryDirectory() as cache:
        store = FactStore(cache)
        try:
            basic, _deep = collect(store, [("0" * 32, path, os.path.getsize(path), os.path.basename(path))])
        finally:
            store.close()
    return basic


# --- main --------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_dvc = os.environ.get("DATAVER_DVC") or next(
        (p for p in (os.path.join(ROOT, ".venv-dvc", "bin", "dvc"), "/work/main/.venv-dvc/bin/dvc")
         if os.path.exists(p)), "")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20000, help="images in data/ (default 20000)")
    parser.add_argument("--annotations", type=int, default=200000, help="COCO boxes (default 200000)")
    parser.add_argument("--deep-images", type=int, default=300, help="1080p JPEGs for --deep (default 300)")
    parser.add_argument("--ckpt-gb", type=float, default=1.0, help="safetensors size in GiB (default 1)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="processes generating images")
    parser.add_argument("--dvc", default=default_dvc, help="real DVC for the `add` reference ('' to skip)")
    parser.add_argument("--workdir", help="where to work (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = CardBench(args)
    try:
        bench.run()
    except CommandFailed as exc:  # generating or tracking failed: nothing to measure
        print(f"stopped: {exc}", file=sys.stderr)
    finally:
        print(bench.report.table(bench.title()), flush=True)
        if not args.keep:
            subprocess.run(["chmod", "-R", "u+w", bench.work], check=False)
            shutil.rmtree(bench.work, ignore_errors=True)
        else:
            print(f"kept: {bench.work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
