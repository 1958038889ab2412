"""After every kind of migration (LFS, annex, plain git; forward and rewrite) the repository is
plain DVC 3: the real `dvc status` says nothing changed, `dvc push` sends the data to a remote,
`dvc checkout` restores it (at an old commit too, after a rewrite) and `dvc pull` in a fresh
clone gets every file back with its original content."""
from __future__ import annotations

import os
import shutil

import pytest

from dataver.migrate.forward import Options, migrate
from dataver.migrate.rewrite import rewrite
from tests.conftest import run_dvc
from tests.migrate import require_tools
from tests.migrate.repos import annex_repo, git, lfs_repo, plain_git_repo

BUILDERS = {"lfs": lfs_repo, "annex": annex_repo, "git": plain_git_repo}


@pytest.fixture(autouse=True)
def _tools():
    require_tools("git-lfs", "git-annex")


def _options(fx, kind: str) -> Options:
    return Options(kind, above=fx.notes["above"] if kind == "git" else None)


def _contents(root: str, expected: dict) -> None:
    for path, content in expected.items():
        if content is None or os.path.basename(path) == ".gitattributes":
            continue
        full = os.path.join(root, path)
        assert os.path.isfile(full) and not os.path.islink(full), f"{path} absent"
        with open(full, "rb") as fobj:
            assert fobj.read() == content, f"{path} differs"


def _status_clean(cwd: str) -> None:
    out = run_dvc("status", cwd=cwd).stdout
    assert "up to date" in out or out.strip() in ("", "{}"), out


def _clone_and_pull(fx, tmp_path, remote: str, revs: dict[str, str]) -> None:
    """A fresh clone (no cache, no data): `dvc pull` at each revision gives the original files
    (``revs``: the new commit -> the old commit whose files it must hold)."""
    clone = str(tmp_path / "clone")
    git(str(tmp_path), "clone", "-q", "--no-checkout", fx.path, clone,
        env={"GIT_LFS_SKIP_SMUDGE": "1"})
    for new, old in revs.items():
        git(clone, "checkout", "-qf", new)
        git(clone, "clean", "-fdxq", "-e", "/.dvc/")
        run_dvc("remote", "add", "-f", "--local", "-d", "store", remote, cwd=clone)
        run_dvc("pull", cwd=clone)
        _contents(clone, fx.files_at(old))
        _status_clean(clone)


@pytest.mark.parametrize("kind", ["lfs", "annex", "git"])
def test_forward_result_is_plain_dvc(tmp_path, kind):
    fx = BUILDERS[kind](str(tmp_path / kind))
    head = fx.git("rev-parse", "HEAD").strip()
    result = migrate(_options(fx, kind), cwd=fx.path)
    remote = str(tmp_path / "dvc-remote")
    _status_clean(fx.path)
    run_dvc("remote", "add", "-d", "store", remote, cwd=fx.path)
    run_dvc("push", cwd=fx.path)
    assert os.listdir(remote)
    # dvc checkout puts back what was deleted
    first = sorted(fx.pointers_at(head))[0]
    os.remove(os.path.join(fx.path, first))
    run_dvc("checkout", cwd=fx.path)
    _contents(fx.path, fx.files_at(head))
    _status_clean(fx.path)
    _clone_and_pull(fx, tmp_path, remote, {result.commit: head})


@pytest.mark.parametrize("kind", ["lfs", "annex", "git"])
def test_rewrite_result_is_plain_dvc(tmp_path, kind):
    fx = BUILDERS[kind](str(tmp_path / kind))
    rewrite(_options(fx, kind), everything=True, cwd=fx.path)
    with open(os.path.join(fx.path, ".dvc", "tmp", "dataver", "migrate-map.txt")) as fobj:
        mapping = dict(line.split() for line in fobj)
    remote = str(tmp_path / "dvc-remote")
    _status_clean(fx.path)
    run_dvc("remote", "add", "--local", "-d", "store", remote, cwd=fx.path)
    run_dvc("push", "--all-commits", cwd=fx.path)
    # the real dvc checks out an old rewritten commit, with an empty work tree for its data
    old = fx.commits["c1"]
    git(fx.path, "checkout", "-qf", mapping[old])
    git(fx.path, "clean", "-fdxq", "-e", "/.dvc/")
    run_dvc("checkout", cwd=fx.path)
    _contents(fx.path, fx.files_at(old))
    _status_clean(fx.path)
    # and a clone pulls every commit's data from the remote alone
    shutil.rmtree(os.path.join(fx.path, ".dvc", "cache"))
    labels = ["c1", "c4", "c5", "c6"] if kind == "lfs" else list(fx.commits)  # plain, LFS, merge, plain
    _clone_and_pull(fx, tmp_path, remote, {mapping[fx.commits[c]]: fx.commits[c] for c in labels})
