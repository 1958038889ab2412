"""`.dvc` files carrying a data card id in `meta` stay DVC files: real DVC 3 status, checkout,
push, pull (and add, which keeps `meta`) work on them; dataver push and pull carry card objects
to a real S3 server (`rclone serve s3`)."""
from __future__ import annotations

import json
import shutil

import pytest

from dataver.cli.main import main
from tests.conftest import git, run_dvc, tree
from tests.func.card_data import make
from tests.remotes.conftest import configure_remote

pytestmark = pytest.mark.compat


def dataver(*args) -> None:
    assert main(["-q", *args]) == 0, args


def card_of(capsys, *args) -> dict:
    capsys.readouterr()
    assert main(["card", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)[0]


def test_dvc_works_on_dvc_files_with_card_meta(repo_dir, tmp_path, capsys):
    make(repo_dir / "data")
    dataver("add", "data")
    dataver("card", "--save", "data")
    stored = card_of(capsys, "data")["stored"]
    dvcfile = (repo_dir / "data.dvc").read_text()
    assert f"dataver-card: {stored}" in dvcfile
    dataver("remote", "add", "-d", "store", str(tmp_path / "store"))
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "data with card")
    assert "up to date" in run_dvc("status").stdout
    before = tree(repo_dir / "data")
    # dvc checkout restores a deleted file and leaves the .dvc file alone
    (repo_dir / "data" / "images" / "000002.jpg").unlink()
    run_dvc("checkout")
    assert tree(repo_dir / "data") == before
    # dvc push, then dvc pull into an empty cache and workspace
    run_dvc("push")
    shutil.rmtree(repo_dir / "data")
    shutil.rmtree(repo_dir / ".dvc" / "cache")
    run_dvc("pull")
    assert tree(repo_dir / "data") == before
    assert (repo_dir / "data.dvc").read_text() == dvcfile
    assert "up to date" in run_dvc("status").stdout
    # DVC did not carry the card, and dataver computes it again without failing
    assert card_of(capsys, "data")["stored"] is None
    # dataver push sends it; dvc status -c stays in sync
    dataver("card", "--save", "data")
    dataver("push")
    assert (tmp_path / "store" / "files" / "md5" / stored[:2] / stored[2:]).exists()
    assert "in sync" in run_dvc("status", "-c").stdout
    # dvc add of changed data keeps meta (DVC keeps annotations): dataver sees a stale card
    (repo_dir / "data" / "notes" / "empty.txt").write_text("now it has text")
    run_dvc("add", "data")
    assert f"dataver-card: {stored}" in (repo_dir / "data.dvc").read_text()
    assert card_of(capsys, "data")["stored"] is None


@pytest.mark.remote
def test_push_and_pull_carry_cards_on_s3(server_pool, repo_dir, tmp_path, monkeypatch, capsys):
    configure_remote("r", server_pool("s3").remote())
    make(repo_dir / "data")
    dataver("add", "data")
    dataver("card", "--save", "data")
    stored = card_of(capsys, "data")["stored"]
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-qm", "data")
    dataver("push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo_dir), str(clone))
    monkeypatch.chdir(clone)
    for name in (repo_dir / ".dvc").glob("config.local"):
        shutil.copy(name, clone / ".dvc" / "config.local")
    dataver("pull")
    assert (clone / ".dvc" / "cache" / "files" / "md5" / stored[:2] / stored[2:]).exists()
    card = card_of(capsys, "--rev", "HEAD", "data")
    assert card["stored"] == stored
