"""`dataver card` end to end through the CLI: a generated COCO dataset with one planted defect of
each kind, stored cards in `.dvc` meta, cards of revisions read from the cache and a remote,
push/pull/gc carrying card objects, card diff as a CI gate, notes, card.auto and bad input."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from dataver.cli.main import main
from tests.conftest import git, run_cli
from tests.func.card_data import PLANTED, make

pytest.importorskip  # the cards extra is installed by the test setup: no skip on purpose


def cli(*args) -> int:
    return main(list(args))


def card_json(capsys, *args) -> list[dict]:
    capsys.readouterr()
    assert cli("card", "--json", *args) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def dataset(repo_dir):
    """The planted dataset added as `data` and committed (cwd: the repo)."""
    make(repo_dir / "data")
    assert cli("add", "-q", "data") == 0
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "v1")
    return repo_dir


def counts(card: dict) -> dict[str, int]:
    return {c["code"]: c["count"] for c in card["checks"]}


def test_every_planted_defect_is_reported_with_its_count(dataset, capsys):
    [card] = card_json(capsys, "data")
    found = counts(card)
    for code, count in PLANTED.items():
        assert found.get(code) == count, (code, found)
    errors = {c["code"] for c in card["checks"] if c["severity"] == "error"}
    assert errors <= set(PLANTED), errors - set(PLANTED)  # nothing reported that is not there
    assert card["images"]["count"] == 13 and card["images"]["by_mode"] == {"L": 1, "RGB": 11}
    [coco] = card["coco"]
    assert coco["path"] == "annotations/instances.json" and coco["images_base"] == "images"
    assert {c["name"]: c["instances"] for c in coco["per_category"]}["unused"] == 0
    assert card["checkpoints"][0]["parameters"] == 20
    assert card["pdfs"]["count"] == 2 and card["pdfs"]["unreadable"] == 1


def test_card_json_is_byte_identical_for_identical_data(tmp_path, monkeypatch, capsys):
    outputs = []
    for name in ("one", "two"):
        root = tmp_path / name
        root.mkdir()
        monkeypatch.chdir(root)
        git(root, "init", "-q")
        assert cli("init", "-q") == 0
        make(root / "data")
        assert cli("add", "-q", "data") == 0
        capsys.readouterr()
        assert cli("card", "--json", "data") == 0
        outputs.append(capsys.readouterr().out)
        assert cli("card", "--save", "-q", "data") == 0
        outputs.append((root / "data.dvc").read_text())
    assert outputs[0] == outputs[2]
    assert outputs[1] == outputs[3]  # the same card id


def test_save_records_the_card_in_meta_and_reuses_it(dataset, capsys):
    assert cli("card", "--save", "-q", "data") == 0
    text = (dataset / "data.dvc").read_text()
    [card] = card_json(capsys, "data")
    assert card["stored"] and f"  meta:\n    dataver-card: {card['stored']}\n" in text
    assert text.index("path: data") < text.index("meta:")
    obj = dataset / ".dvc" / "cache" / "files" / "md5" / card["stored"][:2] / card["stored"][2:]
    assert json.loads(obj.read_bytes())["output"]["md5"] == card["output"]["md5"]
    # new content: add drops the stale card id, and the card is computed again
    (dataset / "data" / "notes" / "empty.txt").unlink()
    assert cli("add", "-q", "data") == 0
    assert "dataver-card" not in (dataset / "data.dvc").read_text()
    [card] = card_json(capsys, "data")
    assert card["stored"] is None and "file.empty" not in counts(card)


def test_a_corrupt_stored_card_is_never_used(dataset, capsys):
    assert cli("card", "--save", "-q", "data") == 0
    [card] = card_json(capsys, "data")
    obj = dataset / ".dvc" / "cache" / "files" / "md5" / card["stored"][:2] / card["stored"][2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(obj.read_bytes().replace(b'"count": 13', b'"count": 99'))
    [again] = card_json(capsys, "data")
    assert again["stored"] is None and again["images"]["count"] == 13


def test_rev_reads_the_cache_and_fetches_from_the_remote(dataset, tmp_path, capsys):
    assert cli("card", "--save", "-q", "data") == 0
    git(dataset, "commit", "-qam", "card")
    assert cli("remote", "add", "-q", "-d", "store", str(tmp_path / "store")) == 0
    assert cli("push", "-q") == 0
    stored = card_json(capsys, "data")[0]["stored"]
    assert (tmp_path / "store" / "files" / "md5" / stored[:2] / stored[2:]).exists()
    shutil.rmtree(dataset / "data")
    shutil.rmtree(dataset / ".dvc" / "cache")
    [card] = card_json(capsys, "--rev", "HEAD", "data")
    assert card["stored"] == stored and card["rev"] == "HEAD"
    assert not (dataset / "data").exists()  # nothing checked out
    # without a stored card the data is fetched and the card computed
    shutil.rmtree(dataset / ".dvc" / "cache")
    [fresh] = card_json(capsys, "--rev", "HEAD~1", "data")
    assert fresh["stored"] is None and counts(fresh) == counts(card)


def test_pull_and_gc_carry_card_objects(dataset, tmp_path, capsys):
    assert cli("card", "--save", "-q", "data") == 0
    git(dataset, "commit", "-qam", "card")
    stored = card_json(capsys, "data")[0]["stored"]
    assert cli("remote", "add", "-q", "-d", "store", str(tmp_path / "store")) == 0
    git(dataset, "commit", "-qam", "remote")
    assert cli("push", "-q") == 0
    assert cli("gc", "-w", "-f", "-q") == 0
    cached = dataset / ".dvc" / "cache" / "files" / "md5" / stored[:2] / stored[2:]
    assert cached.exists()  # gc keeps the card of the workspace version
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(dataset), str(clone))
    os.chdir(clone)
    assert cli("pull", "-q") == 0
    assert (clone / ".dvc" / "cache" / "files" / "md5" / stored[:2] / stored[2:]).exists()
    # a remote without the card (DVC pushed the data) fails nothing
    os.remove(tmp_path / "store" / "files" / "md5" / stored[:2] / stored[2:])
    shutil.rmtree(clone / ".dvc" / "cache")
    assert cli("pull", "-q") == 0
    assert card_json(capsys, "data")[0]["stored"] is None


def test_card_diff_and_fail_if(dataset, capsys):
    doc = json.loads((dataset / "data" / "annotations" / "instances.json").read_text())
    doc["annotations"] = [a for a in doc["annotations"] if a["category_id"] != 2]
    (dataset / "data" / "annotations" / "instances.json").write_text(json.dumps(doc))
    (dataset / "data" / "images" / "gone.jpg").write_bytes(
        (dataset / "data" / "images" / "000000.jpg").read_bytes())
    capsys.readouterr()
    assert cli("card", "diff", "--json") == 0
    [d] = json.loads(capsys.readouterr().out)
    cats = {c["name"]: c for c in d["categories"]}
    assert (cats["dog"]["a_instances"], cats["dog"]["b_instances"], cats["dog"]["pct"]) == (7, 0, -100)
    assert "coco.missing-file" in [c["code"] for c in d["checks"]["gone"]]
    assert cli("card", "diff", "-q", "--fail-if", "max_category_loss_pct > 10") == 1
    assert cli("card", "diff", "-q", "--fail-if", "new_errors > 0") == 0
    assert cli("card", "diff", "HEAD", "data", "-q", "--fail-if", "category['dog'].delta < 0") == 1
    assert cli("card", "diff", "-q", "--fail-if", "os.system('x')") == 1
    assert "--fail-if" in capsys.readouterr().err


def test_check_exits_non_zero_on_error_level_checks(dataset, tmp_path):
    assert cli("card", "--check", "-q", "data") == 1
    clean = dataset / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("fine")
    assert cli("add", "-q", "clean") == 0
    assert cli("card", "--check", "-q", "clean") == 0


def test_notes_appear_in_every_form(dataset, capsys, tmp_path):
    assert cli("card", "--notes", "data") == 0
    path = dataset / "data.notes.md"
    text = path.read_text().replace("<!-- Why was this dataset made? For which task? Who made it? -->",
                                    "Counting cats and dogs on farms.")
    path.write_text(text)
    [card] = card_json(capsys, "data")
    assert card["notes"]["sections"] == [{"key": "motivation", "title": "Motivation",
                                          "text": "Counting cats and dogs on farms."}]
    capsys.readouterr()
    assert cli("card", "--md", "data") == 0
    assert "Counting cats and dogs on farms." in capsys.readouterr().out
    assert cli("card", "--html", str(tmp_path / "card.html"), "data") == 0
    assert "Counting cats and dogs on farms." in (tmp_path / "card.html").read_text()
    # notes of a revision come from git at that revision
    git(dataset, "add", "data.notes.md")
    git(dataset, "commit", "-qm", "notes")
    path.write_text("# data\n## Motivation\nChanged since.\n")
    [old] = card_json(capsys, "--rev", "HEAD", "data")
    assert old["notes"]["sections"][0]["text"] == "Counting cats and dogs on farms."


def test_card_auto_saves_cards_on_add(repo_dir, capsys):
    assert cli("config", "card.auto", "true") == 0
    assert "card_auto = true" in (repo_dir / ".dvc" / "config").read_text()
    (repo_dir / "d").mkdir()
    (repo_dir / "d" / "x.txt").write_text("x")
    assert cli("add", "-q", "d") == 0
    assert "dataver-card:" in (repo_dir / "d.dvc").read_text()


@pytest.mark.parametrize("args,expect", [
    (["card", "nothere"], "nothere"),
    (["card", "--save", "--rev", "HEAD", "data"], "--save"),
    (["card", "--rev", "no-such-rev", "data"], "no-such-rev"),
    (["card", "--rev", "HEAD", "other"], "other"),
])
def test_bad_input_is_one_line(dataset, args, expect):
    proc = run_cli(*args, cwd=dataset)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR:") and expect in lines[0], proc.stderr


def test_html_with_several_outputs_is_refused(dataset, tmp_path):
    (dataset / "m.bin").write_bytes(b"weights")
    assert cli("add", "-q", "m.bin") == 0
    proc = run_cli("card", "--html", str(tmp_path / "x.html"), cwd=dataset)
    assert proc.returncode == 1 and "one output" in proc.stderr
    assert not (tmp_path / "x.html").exists()


def test_card_of_a_folder_inside_an_output(dataset, tmp_path, capsys):
    [card] = card_json(capsys, "data/images")
    assert card["output"]["path"] == "data/images"
    assert card["files"]["count"] == 13 and card["coco"] == [] and card["pdfs"] is None
    assert "images/" not in card["files"]["largest"][0]["path"]  # relative to the folder
    assert cli("card", "--save", "-q", "data/images") == 1
    # at a revision, only that folder's objects are fetched
    assert cli("remote", "add", "-q", "-d", "store", str(tmp_path / "store")) == 0
    assert cli("push", "-q") == 0
    shutil.rmtree(dataset / ".dvc" / "cache")
    [old] = card_json(capsys, "--rev", "HEAD", "data/docs")
    assert old["pdfs"]["count"] == 2 and old["files"]["count"] == 2
    cached = [p for p in (dataset / ".dvc" / "cache" / "files" / "md5").rglob("*") if p.is_file()]
    assert len(cached) <= 3  # the two PDFs (and the manifest), not the 18 files
