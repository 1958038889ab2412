"""Speed and memory of `dataver ui` on a generated dataset (not a timed test).

    python benchmarks/ui_bench.py [--images 100000] [--no-coco] [--dir /tmp/dataver-ui-bench]

Builds (once; reused when the folder exists) a repo with an output ``data`` of N small PNGs
in one folder plus (unless --no-coco) a COCO file (3 boxes per image), committed as v1, then v2
with 1% of the images changed, 0.5% added, 0.5% removed and 1% of the boxes moved. Then, each against a fresh
`dataver ui` process (its peak RSS read from /proc):

- browse: the first page of 50 thumbnails from a cold start (thumbnail cache emptied): the page
  and its 50 thumbnails fetched 6 at a time, as a browser does; then the same view again; then
  the file page of one image (its COCO file indexed on first use) and of another;
- compare: the summary page of v1 -> v2 cold, then again (the diff is kept in memory).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


def run(args, cwd, **kw):
    return subprocess.run(args, cwd=cwd, check=True, **kw)


def dataver(cwd, *args):
    run([sys.executable, "-m", "dataver", *args], cwd, env={**os.environ, "PYTHONPATH": SRC})


def png(seed: int) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (64, 48), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def coco(n: int, moved: set[int]) -> dict:
    images = [{"id": i, "file_name": f"img_{i:06d}.png", "width": 64, "height": 48} for i in range(n)]
    anns = []
    for i in range(n):
        for k in range(3):
            x = 2 + k * 20 + (5 if (i in moved and k == 0) else 0)
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1 + k, "bbox": [x, 4, 12, 12],
                         "area": 144, "iscrowd": 0, "segmentation": [[x, 4, x + 12, 4, x + 12, 16, x, 16]]})
    return {"images": images, "annotations": anns,
            "categories": [{"id": c, "name": f"class{c}"} for c in (1, 2, 3)]}


def build(root: str, n: int, with_coco: bool = True) -> None:
    """The repo with v1 and v2 (see the module doc)."""
    os.makedirs(root)
    run(["git", "init", "-q"], root)
    dataver(root, "init", "-q")
    run(["git", "commit", "-qm", "init"], root)
    images = os.path.join(root, "data", "images")
    os.makedirs(images)
    os.makedirs(os.path.join(root, "data", "annotations"))
    base = [png(s) for s in range(256)]
    for i in range(n):  # distinct bytes per file: a suffix after IEND still decodes
        with open(os.path.join(images, f"img_{i:06d}.png"), "wb") as fobj:
            fobj.write(base[i % 256] + b"%08d" % i)
    if with_coco:
        with open(os.path.join(root, "data", "annotations", "instances.json"), "w") as fobj:
            json.dump(coco(n, set()), fobj)
    dataver(root, "add", "-q", "data")
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "v1"], root)
    run(["git", "tag", "v1"], root)
    step = 100
    for i in range(0, n, step):  # 1% changed
        path = os.path.join(images, f"img_{i:06d}.png")
        os.chmod(path, 0o644)
        os.unlink(path)
        with open(path, "wb") as fobj:
            fobj.write(png(i + 7) + b"changed")
    for i in range(1, n, 200):  # 0.5% removed
        os.unlink(os.path.join(images, f"img_{i:06d}.png"))
    for i in range(n // 200):  # 0.5% added
        with open(os.path.join(images, f"new_{i:06d}.png"), "wb") as fobj:
            fobj.write(base[i % 256] + b"new%08d" % i)
    path = os.path.join(root, "data", "annotations", "instances.json")
    if with_coco:
        os.chmod(path, 0o644)
        os.unlink(path)
        with open(path, "w") as fobj:
            json.dump(coco(n, set(range(3, n, 100))), fobj)
    dataver(root, "add", "-q", "data")
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "v2"], root)
    run(["git", "tag", "v2"], root)


class UI:
    """A `dataver ui` process on a free port."""

    def __init__(self, root: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "dataver", "ui", "--port", "0"], cwd=root,
                                     stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": SRC})
        self.url = re.search(r"(http://\S+?)/? ", self.proc.stdout.readline()).group(1)

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=300) as resp:
            return resp.read()

    def peak_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as fobj:
            return int(re.search(r"VmHWM:\s+(\d+)", fobj.read()).group(1)) / 1024

    def stop(self) -> None:
        self.proc.send_signal(2)
        self.proc.wait(30)


def page_with_thumbs(ui: UI, path: str) -> float:
    start = time.perf_counter()
    html = ui.get(path).decode()
    thumbs = re.findall(r'src="(/thumb/[0-9a-f]{32}\?size=\d+)"', html)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(ui.get, thumbs))
    assert len(thumbs) == 50, len(thumbs)
    return time.perf_counter() - start


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--no-coco", action="store_true", help="images only, no COCO file")
    parser.add_argument("--dir", default="/tmp/dataver-ui-bench")
    args = parser.parse_args()
    root = os.path.join(args.dir, f"repo-{args.images}" + ("-nococo" if args.no_coco else ""))
    if not os.path.isdir(root):
        start = time.perf_counter()
        build(root, args.images, not args.no_coco)
        print(f"built {args.images:,} images in {time.perf_counter() - start:.1f} s")
    shutil.rmtree(os.path.join(root, ".dvc", "tmp", "dataver", "thumbs"), ignore_errors=True)
    ui = UI(root)
    try:
        cold = page_with_thumbs(ui, "/browse/v2/data/images")
        warm = page_with_thumbs(ui, "/browse/v2/data/images")
        other = page_with_thumbs(ui, "/browse/v2/data/images?page=1000")
        first = timed(ui.get, "/file/v2/data/images/img_000003.png")
        second = timed(ui.get, "/file/v2/data/images/img_000005.png")
        print(f"browse: first page of 50 thumbnails cold {cold:.2f} s, again {warm:.3f} s, "
              f"page 1000 {other:.2f} s; one image with its boxes {first:.2f} s, another "
              f"{second:.3f} s; peak RSS {ui.peak_mb():.0f} MB")
    finally:
        ui.stop()
    ui = UI(root)
    try:
        cold = timed(ui.get, "/compare/v1/v2/data")
        warm = timed(ui.get, "/compare/v1/v2/data")
        page = timed(ui.get, "/compare/v1/v2/data?class=boxes-moved&page=3")
        print(f"compare summary: cold {cold:.2f} s, again {warm:.3f} s, a filtered page {page:.3f} s; "
              f"peak RSS {ui.peak_mb():.0f} MB")
    finally:
        ui.stop()


if __name__ == "__main__":
    main()
