"""`dataver diff --images / --annotations` end to end on the generated two-version dataset of
tests/func/visual_data.py: exact counts per change class between two revisions and between a
revision and the workspace, objects fetched from a local remote (only those needed), text and
JSON output, bad input, `--md` keeping DVC's meaning, thumbnails and pixel differences."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from dataver.cli.main import main
from tests.conftest import git
from tests.func import visual_data as vd


def cli(*args) -> int:
    return main(list(args))


def diff_json(capsys, *args) -> dict:
    capsys.readouterr()
    assert cli("diff", "--json", *args) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def versions(repo_dir):
    """v1 and v2 of the dataset as `data`, committed and tagged (cwd: the repo)."""
    vd.commit_versions(repo_dir)
    return repo_dir


@pytest.fixture
def pushed(repo_dir, tmp_path):
    """As ``versions``, both versions pushed to a local default remote."""
    assert cli("remote", "add", "-q", "-d", "store", str(tmp_path / "store")) == 0
    git(repo_dir, "commit", "-qam", "remote")
    vd.commit_versions(repo_dir, push=True)
    return repo_dir


def check_files(out: dict) -> None:
    """``out`` (one output of the JSON) reports exactly the changes of visual_data."""
    assert out["path"] == "data"
    assert out["summary"] == vd.EXPECTED
    got = {f["path"]: (f["status"], f["old_path"]) for f in out["files"]}
    assert got == vd.EXPECTED_FILES
    assert [f["path"] for f in out["files"]] == sorted(got)
    rows = {f["path"]: f for f in out["files"]}
    assert rows[vd.CORRUPT]["error"].startswith("B: ")
    assert rows[vd.CORRUPT]["b_size"] == 120 and rows[vd.CORRUPT]["a_size"] > 120
    resized = rows[vd.RESIZED]
    assert (resized["a_image"]["width"], resized["a_image"]["height"]) == (64, 48)
    assert (resized["b_image"]["width"], resized["b_image"]["height"]) == (32, 24)
    assert resized["a_image"]["format"] == "PNG" and resized["a_image"]["mode"] == "RGB"
    added = rows["images/new_0.png"]
    assert added["a_md5"] is None and added["a_image"] is None and added["b_size"] > 0
    assert rows["notes/readme.txt"]["a_image"] is None
    assert all(f["error"] is None for p, f in rows.items() if p != vd.CORRUPT)


def check_annotations(out: dict) -> None:
    [ann] = out["annotations"]
    assert ann["path"] == vd.COCO and ann["a_md5"] and ann["b_md5"]
    assert ann["summary"] == vd.EXPECTED_BOXES
    assert ann["categories"] == vd.EXPECTED_CATEGORIES
    per = {c["name"]: {k: c[k] for k in ("added", "removed", "moved", "relabeled", "unchanged")}
           for c in ann["per_category"]}
    assert per == vd.EXPECTED_PER_CATEGORY
    got = {im["file_name"]: dict(Counter(b["class"] for b in im["boxes"]))
           for im in ann["images"]}
    assert got == vd.EXPECTED_IMAGES
    assert [im["file_name"] for im in ann["images"]] == sorted(vd.EXPECTED_IMAGES)
    moved = next(im for im in ann["images"] if im["file_name"] == "img_001.png")
    assert moved["a_id"] != moved["b_id"]  # ids differ: matched by file name


def test_two_revisions_images_and_annotations(versions, capsys):
    result = diff_json(capsys, "v1", "v2", "--annotations")
    assert (result["a"], result["b"]) == ("v1", "v2")
    [out] = result["outputs"]
    check_files(out)
    check_annotations(out)
    images_only = diff_json(capsys, "v1", "v2", "--images")
    assert "annotations" not in images_only["outputs"][0]
    assert images_only["outputs"][0]["files"] == out["files"]


def test_revision_against_the_workspace(versions, capsys):
    result = diff_json(capsys, "v1", "--annotations")  # the workspace holds v2
    assert result["b"] == "workspace"
    check_files(result["outputs"][0])
    check_annotations(result["outputs"][0])
    # an uncommitted change: one more image
    (versions / "data" / "images" / "new_2.png").write_bytes(vd.image_bytes(102))
    [out] = diff_json(capsys, "v2", "--images")["outputs"]
    assert out["summary"] == {"added": 1, "removed": 0, "renamed": 0, "reencoded": 0,
                              "changed": 0, "unchanged": 16, "other": 0}
    same = diff_json(capsys, "v2", "v2", "--images")["outputs"][0]
    assert same["files"] == [] and same["summary"]["unchanged"] == 16


def test_the_same_result_from_a_remote_fetching_only_what_is_needed(pushed, capsys):
    local = diff_json(capsys, "v1", "v2", "--annotations")
    shutil.rmtree(pushed / ".dvc" / "cache")
    shutil.rmtree(pushed / "data")
    fetched = diff_json(capsys, "v1", "v2", "--annotations")
    readme = next(f for f in fetched["outputs"][0]["files"] if f["path"] == "notes/readme.txt")
    assert (readme["a_size"], readme["b_size"]) == (None, None)  # not an image: not fetched
    for result in (local, fetched):
        for row in result["outputs"][0]["files"]:
            if row["path"] == "notes/readme.txt":
                row["a_size"] = row["b_size"] = None
    assert fetched == local
    check_files(fetched["outputs"][0])
    cache = pushed / ".dvc" / "cache" / "files" / "md5"
    present = {p.parent.name + p.name for p in cache.glob("*/*")}
    unchanged = [vd.image_bytes(i) for i in (0, 1, 2, 3, 10, 11)]
    import hashlib

    assert not {hashlib.md5(data).hexdigest() for data in unchanged} & present
    assert not any(p.endswith(".dir") for p in present)  # manifests kept under .dvc/tmp
    assert len(list((pushed / ".dvc" / "tmp" / "dataver" / "fetched-manifests").iterdir())) == 2
    assert not (pushed / "data").exists()  # nothing checked out


def test_missing_objects_without_a_remote_are_one_line(versions, capsys):
    shutil.rmtree(versions / ".dvc" / "cache")
    capsys.readouterr()
    assert cli("diff", "v1", "v2", "--images") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no default remote" in err[0]


def test_text_output(versions, capsys):
    capsys.readouterr()
    assert cli("diff", "v1", "v2", "--annotations") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("data: 2 added, 1 removed, 1 renamed, 1 reencoded, 3 changed, 2 other, "
                        "7 unchanged")
    assert "  changed    data/images/img_005.png  64x48 -> 32x24" in lines
    assert ("  renamed    data/images/moved/img_008.png  (data/images/img_008.png)  "
            "64x48 -> 64x48") in lines
    assert "  added      data/images/new_0.png  64x48" in lines
    assert any(x.startswith("  changed    data/images/img_004.png  64x48 -> 64x48  (error: B: ")
               for x in lines)
    assert ("  data/annotations/instances.json: 8 images changed; boxes: 5 added, 5 removed, "
            "1 moved, 1 relabeled, 6 unchanged") in lines
    assert ("    categories: added horse (5); removed fish (4); renamed dog -> puppy (2)"
            in lines)
    header = next(i for i, x in enumerate(lines) if x.lstrip().startswith("category "))
    assert lines[header + 1].split() == ["cat", "1", "3", "1", "0", "4"]
    assert cli("diff", "v1", "v2", "--images", "--limit", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[-1] == "  ... and 8 more"


@pytest.mark.parametrize("args, message", [
    (["nosuch", "--images"], "unknown Git revision 'nosuch'"),
    (["v1", "v2", "--images", "--iou", "0"], "IoU threshold"),
    (["v1", "v2", "--annotations", "--iou", "1.5"], "IoU threshold"),
    (["v1", "v2", "--images", "--iou", "abc"], "IoU threshold"),
    (["v1", "v2", "--images", "--limit", "0"], "--limit"),
    (["v1", "v2", "--images", "--targets", "nope"], "nope"),
    (["v1", "v2", "--images", "--md"], "--md DIR"),
])
def test_bad_input_is_one_line(versions, capsys, args, message):
    capsys.readouterr()
    assert cli("diff", *args) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ERROR: ") and message in err[0], err
    assert captured.out == ""


def test_iou_threshold_changes_matches(versions, capsys):
    [strict] = diff_json(capsys, "v1", "v2", "--annotations", "--iou", "0.8")["outputs"]
    summary = strict["annotations"][0]["summary"]
    # the box shifted by 3 px (IoU 0.74) is no longer the same object
    assert (summary["moved"], summary["added"], summary["removed"]) == (0, 6, 6)


def test_md_keeps_dvcs_meaning_without_the_visual_flags(versions, capsys):
    capsys.readouterr()
    outputs = []
    for args in (["v1", "v2", "--md"], ["--md", "v1", "v2"], ["v1", "--md", "v2"]):
        assert cli("diff", *args) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0].startswith("| Status") and outputs[0] == outputs[1] == outputs[2]
    assert cli("diff", "--md", "v1") == 0  # v1 against the workspace
    assert capsys.readouterr().out.startswith("| Status")


def test_md_dir_and_html_need_the_export_module_or_write(versions, capsys, tmp_path):
    capsys.readouterr()
    code = cli("diff", "v1", "v2", "--md", str(tmp_path / "md"))
    err = capsys.readouterr().err
    try:
        import dataver.visual.export  # noqa: F401
    except ImportError:
        assert code == 1 and "not available" in err
        return
    assert code == 0 and (tmp_path / "md" / "summary.md").exists()
    assert cli("diff", "v1", "v2", "--html", str(tmp_path / "r.html")) == 0
    assert (tmp_path / "r.html").stat().st_size > 0


def test_plain_diff_imports_no_heavy_library(versions):
    code = ("import sys; from dataver.cli.main import main; main(['diff', 'v1', 'v2', '-q']); "
            "print(sorted(m for m in ('numpy', 'PIL', 'scipy', 'orjson') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=versions)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# --- thumbnails and pixel differences -------------------------------------------------------

def test_thumbnails_are_cached_upright_and_corrupt_images_get_a_placeholder(versions):
    from PIL import Image

    from dataver.repo import Repo
    from dataver.visual import thumbs

    img = versions / "data" / "images"
    tall = versions / "tall.jpg"
    Image.new("RGB", (80, 40), (200, 10, 10)).save(tall, exif=_exif_rotated())
    with Repo() as repo:
        path = thumbs.thumbnail(repo, "a" * 32, str(tall), 64)
        assert path == os.path.join(repo.tmp_dir, "dataver", "thumbs", "a" * 32 + "-64.jpg")
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and im.size == (32, 64)  # upright
        mtime = os.stat(path).st_mtime_ns
        assert thumbs.thumbnail(repo, "a" * 32, str(tall), 64) == path
        assert os.stat(path).st_mtime_ns == mtime  # the second view reads the kept file
        data, error = thumbs.thumbnail_bytes(repo, "b" * 32, str(img / "img_004.png"), 128)
        assert error == "image file is truncated" and data[:3] == b"\xff\xd8\xff"
        assert not os.path.exists(os.path.join(repo.tmp_dir, "dataver", "thumbs",
                                               "b" * 32 + "-128.jpg"))
        with Image.open(thumbs.thumbnail(repo, "b" * 32, str(img / "img_004.png"))) as im:
            assert im.size == (256, 256)


def _exif_rotated():
    from PIL import Image

    exif = Image.Exif()
    exif[274] = 6  # rotate 90 degrees to be shown upright
    return exif


def test_pixel_difference(versions):
    import io

    from PIL import Image

    from dataver.repo import Repo
    from dataver.visual import thumbs

    img = versions / "data" / "images"
    v1_6 = versions / "old6.png"
    v1_6.write_bytes(vd.image_bytes(6))
    with Image.open(io.BytesIO(thumbs.pixel_difference(str(v1_6), str(img / "img_006.png"),
                                                       256))) as im:
        assert im.format == "PNG" and im.size == (64, 48)
        assert im.getpixel((25, 20)) != (0, 0, 0) and im.getpixel((60, 45)) == (0, 0, 0)
    same = thumbs.pixel_difference(str(img / "img_007.png"), str(versions / "old6.png"), 32)
    with Image.open(io.BytesIO(same)) as im:
        assert im.size == (32, 24)  # B fitted into 32 x 32, A scaled to the same size
    with Repo() as repo:
        bad = thumbs.pixel_difference(repo, "c" * 32, str(v1_6), "d" * 32,
                                      str(img / "img_004.png"), 64)
        assert bad[:8] == b"\x89PNG\r\n\x1a\n"
        good = thumbs.pixel_difference(repo, "c" * 32, str(v1_6), "e" * 32,
                                       str(img / "img_006.png"), 64)
        assert os.path.exists(os.path.join(repo.tmp_dir, "dataver", "thumbs",
                                           f"{'c' * 32}-{'e' * 32}-64.diff.png"))
        assert good[:8] == b"\x89PNG\r\n\x1a\n"


def test_targets_select_outputs_or_paths_inside_them(versions, capsys):
    [out] = diff_json(capsys, "v1", "v2", "--images", "--targets", "data.dvc")["outputs"]
    assert out["summary"] == vd.EXPECTED
    [out] = diff_json(capsys, "v1", "v2", "--images", "--targets", "data/notes")["outputs"]
    assert [f["path"] for f in out["files"]] == ["notes/readme.txt"]
    assert out["summary"]["unchanged"] == 1 and out["summary"]["other"] == 1
