"""Read-only dvc.yaml / dvc.lock support: a pipeline made and run by real dvc; dataver's
status, checkout and diff include its outputs as dvc does."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from dataver.cli.main import main
from tests.conftest import git, run_dvc
from tests.func.helpers import cli, dvc_repo, write_files

CMD_PREP = "cp raw.txt out.txt && mkdir -p outdir && echo x > outdir/x && echo y > outdir/y"
CMD_METR = "echo '{\"a\": 1}' > metrics.json; echo nc > nocache.txt"


@pytest.fixture(scope="module")
def pipeline_template(tmp_path_factory):
    """A git repo with a .dvc file, a two-stage root pipeline and one in sub/, run by dvc once
    per module (dvc is slow), in an environment isolated like conftest's."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as env:
        for key, value in (("HOME", home), ("XDG_CONFIG_HOME", home / ".config"),
                           ("DVC_GLOBAL_CONFIG_DIR", home / ".config" / "dvc"),
                           ("DVC_SYSTEM_CONFIG_DIR", home / "system-dvc"),
                           ("DVC_SITE_CACHE_DIR", home / "site-cache"), ("DVC_NO_ANALYTICS", "1"),
                           ("GIT_CONFIG_NOSYSTEM", "1"), ("GIT_AUTHOR_NAME", "T"),
                           ("GIT_AUTHOR_EMAIL", "t@example.com"), ("GIT_COMMITTER_NAME", "T"),
                           ("GIT_COMMITTER_EMAIL", "t@example.com")):
            env.setenv(key, str(value))
        root = str(tmp_path_factory.mktemp("pipe") / "repo")
        dvc_repo(root)
        write_files(root, {"raw.txt": "raw\n", "sub/s.txt": "s\n"})
        run_dvc("add", "-q", "raw.txt", cwd=root)
        run_dvc("stage", "add", "-q", "-n", "prep", "-d", "raw.txt", "-o", "out.txt", "-o", "outdir",
                CMD_PREP, cwd=root)
        run_dvc("stage", "add", "-q", "-n", "metr", "-d", "out.txt", "-M", "metrics.json",
                "-o", "nocache.txt", CMD_METR, cwd=root)
        run_dvc("stage", "add", "-q", "-n", "sp", "-d", "s.txt", "-o", "so.txt", "cp s.txt so.txt",
                cwd=os.path.join(root, "sub"))
        run_dvc("repro", "-q", "-P", cwd=root)
        git(root, "add", "-A")
        git(root, "commit", "-qm", "pipeline")
    return root


@pytest.fixture
def pipe(pipeline_template, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    shutil.copytree(pipeline_template, root, symlinks=True)
    monkeypatch.chdir(root)
    return root


def status_json(capsys, *args):
    code, out, _ = cli(capsys, "status", "--json", *args)
    assert code == 0
    return json.loads(out)


def dvc_status_json(root, *args, cwd=None):
    return json.loads(run_dvc("status", "--json", *args, cwd=cwd or root).stdout)


def test_clean_pipeline_is_up_to_date(pipe, capsys):
    assert cli(capsys, "status")[1] == "Data and pipelines are up to date.\n"
    assert cli(capsys, "-q", "status")[0] == 0


def test_status_of_changed_pipeline_matches_dvc(pipe, capsys, monkeypatch):
    os.chmod(pipe / "raw.txt", 0o644)
    (pipe / "raw.txt").write_text("raw changed\n")
    os.unlink(pipe / "out.txt")
    (pipe / "outdir" / "x").unlink()
    os.unlink(pipe / "sub" / "so.txt")
    with open(pipe / "dvc.yaml") as fobj:
        text = fobj.read()
    with open(pipe / "dvc.yaml", "w") as fobj:
        fobj.write(text.replace("echo nc > nocache.txt", "echo other > nocache.txt"))
    assert status_json(capsys) == dvc_status_json(pipe)
    for target in (["prep"], ["dvc.yaml"], ["sub/dvc.yaml:sp"], ["raw.txt.dvc", "metr"]):
        assert status_json(capsys, *target) == dvc_status_json(pipe, *target), target
    monkeypatch.chdir(pipe / "sub")  # keys and paths relative to the working directory
    assert status_json(capsys) == dvc_status_json(pipe, cwd=pipe / "sub")
    code, out, _ = cli(capsys, "status")
    assert "\tchanged command\n" in out and "../dvc.yaml:prep:\n\tchanged deps:\n" in out


def test_checkout_restores_pipeline_outputs(pipe, capsys):
    shutil.rmtree(pipe / "outdir")
    os.unlink(pipe / "sub" / "so.txt")
    os.unlink(pipe / "metrics.json")  # cache: false -> not restored, as in dvc
    code, out, _ = cli(capsys, "checkout")
    assert code == 0
    assert (pipe / "outdir" / "y").read_text() == "y\n" and (pipe / "sub" / "so.txt").read_text() == "s\n"
    assert not (pipe / "metrics.json").exists()
    assert status_json(capsys) == {"metr": [{"changed outs": {"metrics.json": "deleted"}}]}
    assert status_json(capsys) == dvc_status_json(pipe)


def test_pipeline_outputs_are_protected_from_add_move(pipe, capsys):
    # commit records a stage in dvc.lock (tests/pipeline/test_repro_options.py): unchanged here
    assert cli(capsys, "commit", "out.txt")[0] == 0
    assert cli(capsys, "commit")[0] == 0
    assert git(pipe, "status", "--porcelain") == ""
    for args, needle in ((["add", "out.txt"], "dvc.yaml"), (["add", "outdir/x"], "outdir"),
                         (["move", "out.txt", "o2.txt"], "stage 'prep'"),
                         (["remove", "dvc.yaml"], "give a stage")):
        code, _, err = cli(capsys, *args)
        assert code == 1 and needle in err, (args, err)


def test_diff_includes_pipeline_outputs_like_dvc(pipe, capsys):
    os.chmod(pipe / "outdir" / "x", 0o644)
    (pipe / "outdir" / "x").write_text("new x\n")
    code, out, _ = cli(capsys, "diff", "--json")
    assert code == 0
    assert json.loads(out) == json.loads(run_dvc("diff", "--json", cwd=pipe).stdout)
    assert main(["diff", "HEAD~1" if False else "HEAD"]) == 0  # workspace vs HEAD works


def test_corrupt_lock_file_is_one_line_error(pipe, capsys):
    (pipe / "dvc.lock").write_text("schema: '9.9'\nstages: {}\n")
    code, _, err = cli(capsys, "status")
    assert code == 1 and "dvc.lock" in err and "schema" in err and err.count("\n") == 1
    (pipe / "dvc.lock").write_text("schema: '2.0'\nstages:\n  prep:\n    outs:\n    - path: ../../etc/x\n      md5: 0cc175b9c0f1b6a831c399e269772661\n")
    code, _, err = cli(capsys, "checkout")
    assert code == 1 and "outside" in err
    assert not os.path.exists(pipe.parent.parent / "etc")
