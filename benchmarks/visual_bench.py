"""Visual-diff benchmark (issue 11, "Speed"): measured figures beside the issue's targets.

1. ``dataver diff A B --images --json`` between two versions of a 100,000-image output whose
   manifests are in the cache, about 1% of the files changed (added, removed, renamed,
   re-encoded, pixels changed). Target: under 2 s. Timed as a fresh process (start-up counts),
   twice: with cold facts (the fact store deleted: headers of every changed file and a decode of
   each same-path image pair are read) and warm (facts stored: the manifests alone).
2. The annotation diff of two COCO files of 1,000,000 annotations each (``coco_gen.make_coco``;
   B is A with about 5% of its annotations changed: 2% moved, 1% relabeled, 1% removed, 1%
   added), ``dataver.visual.annotation_diff`` in this process, CPU time of this process (one
   core: nothing here runs in parallel). Target: under 10 s. The JSON serialisation (orjson)
   is printed beside it.

The dataset of (1) is made without 100,000 image files: the two ``.dir`` manifests list
100,000 paths each, and only the objects the diff reads (the changed files, ~1,300 tiny real
PNGs) are written to the cache; unchanged files never are read, so their objects need not
exist. `.dvc` files are committed with git as `dataver add` would write them.

Usage::

    python benchmarks/visual_bench.py                    # 100,000 images, 1,000,000 boxes
    python benchmarks/visual_bench.py --images 10000 --annotations 100000
    python benchmarks/visual_bench.py --skip-coco --workdir /tmp/vb --keep
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, HERE)

_SCRIPT = os.path.join(os.path.dirname(sys.executable), "dataver")
DATAVER = [_SCRIPT] if os.path.exists(_SCRIPT) else [sys.executable, "-m", "dataver"]
CHANGES = {"added": 0.003, "removed": 0.002, "renamed": 0.002, "reencoded": 0.0015,
           "changed": 0.0015}  # shares of the images: ~1% in all


# --- 1. the image manifests -----------------------------------------------------------------

def _png(seed: int, level: int = 6) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (16, 12), ((seed * 37) % 256, (seed * 91) % 256, (seed >> 8) % 256))
    img.putpixel((seed % 16, (seed // 16) % 12), (255, 255, 255))
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=level)
    return out.getvalue()


def _fake_md5(i: int) -> str:
    return hashlib.md5(f"unchanged object {i}".encode()).hexdigest()


def build_manifests(repo_dir: str, images: int) -> dict:
    """A repo whose `data` output has ``images`` files at tag v1 and about 1% changed at v2;
    returns the true counts."""
    from dataver.manifest import Manifest
    from dataver.repo import Repo

    os.makedirs(repo_dir)
    env = _git_env()
    subprocess.run(["git", "init", "-q", repo_dir], check=True, env=env)
    Repo.init(repo_dir)
    repo = Repo(repo_dir)
    n = {k: max(1, int(images * share)) for k, share in CHANGES.items()}
    names = [f"img/{i // 1000:03d}/{i:06d}.png" for i in range(images)]
    a = {name: _fake_md5(i) for i, name in enumerate(names)}
    b = dict(a)

    def store(data: bytes) -> str:
        md5 = hashlib.md5(data).hexdigest()
        repo.odb.add_bytes(data, md5)
        return md5

    at = iter(range(images))  # the changed files come first, each class from its own seeds
    for k in range(n["removed"]):
        name = names[next(at)]
        a[name] = store(_png(1_000_000 + k))
        del b[name]
    for k in range(n["renamed"]):
        name = names[next(at)]
        a[name] = store(_png(2_000_000 + k))
        del b[name]
        b[name.replace("img/", "moved/")] = a[name]
    for k in range(n["reencoded"]):
        name = names[next(at)]
        a[name], b[name] = store(_png(3_000_000 + k, 9)), store(_png(3_000_000 + k, 0))
    for k in range(n["changed"]):
        name = names[next(at)]
        a[name], b[name] = store(_png(4_000_000 + k)), store(_png(5_000_000 + k))
    for k in range(n["added"]):
        b[f"new/{k:06d}.png"] = store(_png(6_000_000 + k))
    for tag, files in (("v1", a), ("v2", b)):
        manifest = Manifest(files)
        repo.odb.add_bytes(manifest.to_bytes(), manifest.oid)
        with open(os.path.join(repo_dir, "data.dvc"), "w") as fobj:
            fobj.write(f"outs:\n- md5: {manifest.oid}\n  size: {len(files) * 200}\n"
                       f"  nfiles: {len(files)}\n  hash: md5\n  path: data\n")
        subprocess.run(["git", "-C", repo_dir, "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", repo_dir, "commit", "-qm", tag], check=True, env=env)
        subprocess.run(["git", "-C", repo_dir, "tag", tag], check=True, env=env)
    repo.close()
    n["unchanged"] = images - sum(v for k, v in n.items() if k != "added")
    return n


def _git_env() -> dict:
    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    return env


def timed(cmd: list[str], cwd: str) -> tuple[float, float, bytes]:
    """(wall seconds, CPU seconds of the process and its children, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def bench_images(workdir: str, images: int) -> list[tuple]:
    repo_dir = os.path.join(workdir, "images-repo")
    start = time.perf_counter()
    truth = build_manifests(repo_dir, images)
    print(f"  made {images:,}-image manifests in {time.perf_counter() - start:.1f} s", flush=True)
    cmd = DATAVER + ["diff", "v1", "v2", "--images", "--json"]
    facts = os.path.join(repo_dir, ".dvc", "cache", "dataver")
    shutil.rmtree(facts, ignore_errors=True)
    cold = timed(cmd, repo_dir)
    warm = min((timed(cmd, repo_dir) for _ in range(3)), key=lambda r: r[0])
    [out] = json.loads(warm[2])["outputs"]
    got = {k: out["summary"][k] for k in truth}
    if got != truth:
        print(f"  WRONG counts: {got} != {truth}")
    return [(f"diff --images, {images:,} images, cold facts", cold[0], cold[1], 2.0),
            (f"diff --images, {images:,} images, warm facts (best of 3)", warm[0], warm[1], 2.0)]


# --- 2. the COCO files ----------------------------------------------------------------------

def changed_coco(src: str, dst: str, seed: int = 1) -> dict:
    """Write ``dst``: the COCO file ``src`` with ~5% of its annotations changed (2% moved by a
    tenth of their width, 1% relabeled, 1% removed, 1% added near an existing box), one piece
    of the annotations array at a time. Returns the numbers of each change."""
    import numpy as np
    import orjson

    from dataver.facts import json_pieces

    with open(src, "rb") as fobj:
        data = fobj.read()
    skeleton, pieces = json_pieces.split(data)
    doc = orjson.loads(skeleton)
    cats = [c["id"] for c in doc["categories"]]
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(("moved", "relabeled", "removed", "added"), 0)
    next_id = 10 ** 9
    head = orjson.dumps({k: v for k, v in doc.items() if k != "annotations"})
    with open(dst, "wb") as out:
        out.write(head[:-1] + b',"annotations":[')
        first = True
        for piece in json_pieces.parse_pieces(data, pieces, elide=False):
            draw = rng.random(len(piece))
            kept = []
            for ann, r in zip(piece, draw.tolist()):
                if r < 0.02:
                    ann["bbox"][0] = round(ann["bbox"][0] + ann["bbox"][2] * 0.1, 2)
                    counts["moved"] += 1
                elif r < 0.03:
                    ann["category_id"] = cats[(cats.index(ann["category_id"]) + 1) % len(cats)]
                    counts["relabeled"] += 1
                elif r < 0.04:
                    counts["removed"] += 1
                    continue
                elif r < 0.05:
                    x, y, w, h = ann["bbox"]
                    kept.append({**ann, "id": next_id, "bbox": [x + w * 0.7, y, w, h]})
                    next_id += 1
                    counts["added"] += 1
                kept.append(ann)
            if kept:
                out.write((b"" if first else b",") + orjson.dumps(kept)[1:-1])
                first = False
        out.write(b"]}")
    return counts


def bench_coco(workdir: str, annotations: int) -> list[tuple]:
    import gc

    from coco_gen import make_coco

    from dataver.visual import annotation_diff

    a, b = os.path.join(workdir, "a.json"), os.path.join(workdir, "b.json")
    start = time.perf_counter()
    make_coco(a, images=max(1, annotations // 10), annotations=annotations)
    changes = changed_coco(a, b)
    print(f"  made two COCO files of {annotations:,} annotations in "
          f"{time.perf_counter() - start:.1f} s; changes {changes}", flush=True)
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = annotation_diff(a, b)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    import orjson

    cpu1, wall1 = time.process_time(), time.perf_counter()
    text = orjson.dumps(result)
    json_cpu, json_wall = time.process_time() - cpu1, time.perf_counter() - wall1
    s = result["summary"]
    print(f"  summary {s}; {len(text) / 1e6:.0f} MB of JSON")
    merged = changes["removed"] - s["removed"]  # a removed and an added box of another
    if (s["moved"] != changes["moved"] or merged < 0 or merged != changes["added"] - s["added"]
            or merged != s["relabeled"] - changes["relabeled"]):  # category that overlap are
        print(f"  WRONG counts: {s} for the changes {changes}")  # one relabeled box
    elif merged:
        print(f"  {merged} removed + added pairs overlap (IoU >= 0.5): counted as relabeled")
    rows = [(f"annotation diff, 2 x {annotations:,} boxes", wall, cpu, 10.0),
            ("  its JSON (orjson.dumps)", json_wall, json_cpu, None)]
    del result, text
    return rows + [_coco_command(workdir, a, b)]


def _coco_command(workdir: str, a: str, b: str) -> tuple:
    """`dataver diff v1 v2 --annotations --json` on a repo whose COCO file is ``a`` at v1 and
    ``b`` at v2: the whole command (start-up, facts, the diff, JSON on stdout)."""
    repo_dir = os.path.join(workdir, "coco-repo")
    env = _git_env()
    subprocess.run(["git", "init", "-q", repo_dir], check=True, env=env)
    subprocess.run(DATAVER + ["init", "-q"], cwd=repo_dir, check=True, env=env)
    os.makedirs(os.path.join(repo_dir, "ann"))
    for tag, src in (("v1", a), ("v2", b)):
        target = os.path.join(repo_dir, "ann", "instances.json")
        if os.path.exists(target):
            os.unlink(target)
        shutil.copyfile(src, target)
        subprocess.run(DATAVER + ["add", "-q", "ann"], cwd=repo_dir, check=True, env=env)
        for git in (["add", "-A"], ["commit", "-qm", tag], ["tag", tag]):
            subprocess.run(["git", "-C", repo_dir, *git], check=True, env=env)
    wall, cpu, out = timed(DATAVER + ["diff", "v1", "v2", "--annotations", "--json"], repo_dir)
    return (f"  the command: diff --annotations --json ({len(out) / 1e6:.0f} MB)", wall, cpu, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument("--skip-coco", action="store_true")
    parser.add_argument("--workdir")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="dataver-visual-bench-")
    os.makedirs(workdir, exist_ok=True)
    rows = []
    try:
        if not args.skip_images:
            rows += bench_images(workdir, args.images)
        if not args.skip_coco:
            rows += bench_coco(workdir, args.annotations)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"\nvisual diff (load {load:.1f}, {os.cpu_count()} cores)")
    print(f"{'what':58} {'wall s':>8} {'CPU s':>8} {'target':>8}  ok")
    for what, wall, cpu, target in rows:
        verdict = "" if target is None else ("yes" if cpu < target and wall < target else
                                             "CPU" if cpu < target else "no")
        shown = "" if target is None else f"< {target:g}"
        print(f"{what:58} {wall:8.2f} {cpu:8.2f} {shown:>8}  {verdict}")


if __name__ == "__main__":
    main()
