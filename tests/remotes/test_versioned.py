"""Cloud-versioned S3 remotes (``version_aware`` / ``worktree``) against real DVC 3.67.1, on moto's
S3 server with a bucket that keeps versions: what one tool pushes the other pulls, at the exact
versions recorded; `.dvc` files come out byte-identical (version ids aside, which the bucket
draws at random) after push and after add/commit."""
from __future__ import annotations

import re
import shutil

import pytest

from dataver.cli.main import main
from tests.conftest import git, run_dvc, tree
from tests.remotes.server_moto import BUCKET, s3_client

pytestmark = pytest.mark.compat

VERSION = re.compile(r"version_id: \S+")


def dataver(*args) -> None:
    assert main(["-q", *args]) == 0, args


def configure(tool: str, conf: dict, mode: str = "version_aware") -> None:
    """Remote 'r' (default) with ``mode`` true, set up by ``tool``; the secret in config.local."""
    run = dataver if tool == "dataver" else (lambda *a: run_dvc(*a))
    run("remote", "add", "-d", "-f", "r", conf["url"])
    for key, value in conf.items():
        if key != "url":
            run("remote", "modify", *(["--local"] if key == "secret_access_key" else []), "r", key, value)
    run("remote", "modify", "r", mode, "true")


def make_data(root) -> None:
    (root / "data" / "sub").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg"):
        (root / "data" / name).write_bytes(name.encode() * 50)
    (root / "data" / "sub" / "ann.json").write_text('{"boxes": []}')
    (root / "model.pt").write_bytes(b"\x00weights" * 100)


def new_repo(root, monkeypatch):
    """An empty git + `dvc init` repository at ``root``, as the current directory."""
    root.mkdir()
    git(root, "init", "-q")
    monkeypatch.chdir(root)
    run_dvc("init", "-q")
    return root


def pushed_by_dataver(server, root) -> dict:
    """``root`` with a remote on ``server``, data added, pushed and committed: the remote's conf."""
    conf = server.remote()
    configure("dataver", conf)
    make_data(root)
    dataver("add", "data")
    dataver("push")
    commit(root)
    return conf


def clone_of(root, clone, tool: str, conf: dict, monkeypatch, mode: str = "version_aware"):
    """A git clone of ``root`` at ``clone`` (the current directory), its remote set by ``tool``
    (config.local, holding the secret, is not cloned)."""
    git(clone.parent, "clone", "-q", str(root), str(clone))
    monkeypatch.chdir(clone)
    configure(tool, conf, mode)
    return clone


def commit(root, msg: str = "data") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", msg)


def dvc_files(root) -> dict[str, str]:
    return {name: (root / name).read_text() for name in ("data.dvc", "model.pt.dvc")}


def without_versions(files: dict[str, str]) -> dict[str, str]:
    return {name: VERSION.sub("version_id: V", text) for name, text in files.items()}


def recorded_versions(text: str) -> list[str]:
    return [m.split(": ")[1] for m in VERSION.findall(text)]


@pytest.mark.parametrize("mode", ["version_aware", "worktree"])
def test_push_writes_what_dvc_writes(versioned_s3, tmp_path, monkeypatch, mode):
    """Same data pushed by each tool to its own prefix: identical `.dvc` files but for the
    version ids, which name real versions holding the right bytes."""
    texts = {}
    for tool in ("dvc", "dataver"):
        root = new_repo(tmp_path / tool, monkeypatch)
        conf = versioned_s3.remote()
        configure(tool, conf, mode)
        make_data(root)
        run_dvc("add", "-q", "data", "model.pt")
        if tool == "dvc":
            run_dvc("push")
        else:
            dataver("push")
        texts[tool] = dvc_files(root)
        prefix = conf["url"].split(f"{BUCKET}/", 1)[1]
        client = s3_client(conf["endpointurl"])
        for version in recorded_versions(texts[tool]["data.dvc"]):
            listed = client.list_object_versions(Bucket=BUCKET, Prefix=prefix)["Versions"]
            key = next(v["Key"] for v in listed if v["VersionId"] == version)
            body = client.get_object(Bucket=BUCKET, Key=key, VersionId=version)["Body"].read()
            assert body == (root / key[len(prefix) + 1:]).read_bytes()
    assert "files:" in texts["dataver"]["data.dvc"] and "md5: " not in texts["dataver"]["data.dvc"].split("files:")[0]
    assert without_versions(texts["dataver"]) == without_versions(texts["dvc"])


@pytest.mark.parametrize("pusher,puller", [("dvc", "dataver"), ("dataver", "dvc")])
def test_pull_gets_the_recorded_versions(versioned_s3, repo_dir, tmp_path, monkeypatch,
                                         pusher, puller):
    """A clone at the first commit gets the first versions even after newer ones were pushed
    over them at the same paths."""
    conf = versioned_s3.remote()
    configure(pusher, conf)
    make_data(repo_dir)
    dataver("add", "data", "model.pt")
    push = dataver if pusher == "dataver" else (lambda *a: run_dvc(*a))
    push("push")
    commit(repo_dir, "v1")
    first = tree(repo_dir / "data")
    (repo_dir / "data" / "a.jpg").write_bytes(b"second version")
    (repo_dir / "model.pt").write_bytes(b"second model")
    push("add", "data", "model.pt")
    push("push")
    commit(repo_dir, "v2")

    clone = clone_of(repo_dir, tmp_path / "clone", puller, conf, monkeypatch)
    git(clone, "checkout", "-q", "HEAD~1")
    if puller == "dataver":
        assert main(["status", "-q"]) == 1  # not in cache
        dataver("fetch")
        dataver("checkout")
        assert main(["status", "-q"]) == 0
        assert "up to date" in run_dvc("status").stdout
    else:
        run_dvc("pull")
        assert main(["status", "-q"]) == 0
    assert tree(clone / "data") == first
    assert (clone / "model.pt").read_bytes() == b"\x00weights" * 100
    git(clone, "checkout", "-q", "-")
    shutil.rmtree(clone / "data")
    if puller == "dataver":
        dataver("pull")
    else:
        run_dvc("pull")
    assert tree(clone / "data") == tree(repo_dir / "data")
    assert (clone / "model.pt").read_bytes() == b"second model"


def test_add_keeps_versions_of_unchanged_files(versioned_s3, tmp_path, monkeypatch, capsys):
    """After a push, `add` of a changed directory keeps the ``files:`` form and the versions of
    unchanged files, byte for byte as `dvc add`; the next push sends only the changed ones."""
    root = new_repo(tmp_path / "base", monkeypatch)
    configure("dvc", versioned_s3.remote())
    make_data(root)
    run_dvc("add", "-q", "data", "model.pt")
    run_dvc("push")
    texts = {}
    for tool in ("dvc", "dataver"):
        copy = tmp_path / tool
        shutil.copytree(root, copy, symlinks=True)
        monkeypatch.chdir(copy)
        (copy / "data" / "a.jpg").write_bytes(b"changed")
        (copy / "data" / "new.jpg").write_bytes(b"new")
        (copy / "model.pt").write_bytes(b"new model")
        if tool == "dvc":
            run_dvc("add", "-q", "data", "model.pt")
        else:
            dataver("add", "data", "model.pt")
        texts[tool] = dvc_files(copy)
    assert texts["dataver"] == texts["dvc"]
    assert "cloud:" in texts["dataver"]["data.dvc"] and "cloud:" not in texts["dataver"]["model.pt.dvc"]
    capsys.readouterr()
    assert main(["push"]) == 0
    assert "3 files pushed" in capsys.readouterr().out
    assert main(["status", "-q"]) == 0
    after = (tmp_path / "dataver" / "data.dvc").read_text()
    kept = recorded_versions(texts["dvc"]["data.dvc"])
    assert set(kept) <= set(recorded_versions(after)) and len(recorded_versions(after)) == 4


def test_status_cloud_is_refused_as_dvc_refuses_it(versioned_s3, repo_dir, capsys):
    configure("dataver", versioned_s3.remote())
    make_data(repo_dir)
    dataver("add", "data")
    capsys.readouterr()
    assert main(["status", "-c"]) == 1
    err = capsys.readouterr().err
    assert "'status' is unsupported for cloud versioned remotes" in err
    assert "Traceback" not in err
    proc = run_dvc("status", "-c", check=False)
    assert proc.returncode != 0 and "'status' is unsupported for cloud versioned remotes" in proc.stderr


def test_bad_files_entry_is_refused(versioned_s3, repo_dir, capsys):
    """``files:`` comes from outside: an entry escaping the output is a one-line error."""
    (repo_dir / "data.dvc").write_text(
        "outs:\n- hash: md5\n  path: data\n  files:\n  - relpath: ../evil\n"
        "    md5: 60b725f10c9c85c70d97880dfe8191b3\n    size: 2\n")
    capsys.readouterr()
    assert main(["status"]) != 0
    err = capsys.readouterr().err
    assert "data.dvc" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_worktree_push_deletes_nothing_as_dvc(versioned_s3, tmp_path, monkeypatch):
    """A file removed from a pushed directory stays on a worktree remote with either tool
    (DVC 3.67.1 deletes nothing there), and the `.dvc` files agree."""
    seen = {}
    for tool in ("dvc", "dataver"):
        root = new_repo(tmp_path / tool, monkeypatch)
        conf = versioned_s3.remote()
        configure(tool, conf, "worktree")
        make_data(root)
        run = dataver if tool == "dataver" else (lambda *a: run_dvc(*a))
        run("add", "data", "model.pt")
        run("push")
        (root / "data" / "b.jpg").unlink()
        (root / "data" / "c.jpg").write_bytes(b"c")
        run("add", "data")
        run("push")
        prefix = conf["url"].split(f"{BUCKET}/", 1)[1]
        listed = s3_client(conf["endpointurl"]).list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
        seen[tool] = (sorted(o["Key"][len(prefix) + 1:] for o in listed["Contents"]),
                      without_versions(dvc_files(root)))
    assert "data/b.jpg" in seen["dataver"][0]
    assert seen["dataver"] == seen["dvc"]


def test_pull_after_dvc_update_of_worktree(versioned_s3, repo_dir, tmp_path, monkeypatch):
    """`dvc update` of a worktree output records versions outside ``cloud:``; dataver pulls
    those versions as DVC does (and finds nothing to push)."""
    conf = versioned_s3.remote()
    configure("dvc", conf, "worktree")
    make_data(repo_dir)
    run_dvc("add", "-q", "data")
    run_dvc("push")
    prefix = conf["url"].split(f"{BUCKET}/", 1)[1]
    s3_client(conf["endpointurl"]).put_object(Bucket=BUCKET, Key=f"{prefix}/data/a.jpg",
                                              Body=b"changed on the remote")
    run_dvc("update", "data.dvc")
    assert "\n    version_id: " in (repo_dir / "data.dvc").read_text()  # a.jpg's, not in cloud:
    commit(repo_dir)
    clone = clone_of(repo_dir, tmp_path / "clone", "dataver", conf, monkeypatch, "worktree")
    dataver("pull")
    assert (clone / "data" / "a.jpg").read_bytes() == b"changed on the remote"
    assert tree(clone / "data") == tree(repo_dir / "data")
    before = (clone / "data.dvc").read_text()
    dataver("push")
    assert (clone / "data.dvc").read_text() == before


@pytest.mark.parametrize("backend", ["obstore", "s3fs"])
def test_fetch_all_commits_gets_every_recorded_version(versioned_s3, repo_dir, tmp_path,
                                                      monkeypatch, backend):
    """`fetch -A` gets the versions each commit records, also where two commits hold different
    content at one path (DVC 3.67.1 keeps only one of them per path). Through both S3 backends
    (s3fs is what a remote whose credentials come from a profile uses)."""
    if backend == "s3fs":
        monkeypatch.setenv("DATAVER_NO_OBSTORE", "1")
    conf = versioned_s3.remote()
    configure("dataver", conf)
    make_data(repo_dir)
    dataver("add", "data")
    dataver("push")
    commit(repo_dir, "v1")
    (repo_dir / "data" / "a.jpg").write_bytes(b"second version")
    dataver("add", "data")
    dataver("push")
    commit(repo_dir, "v2")
    clone = clone_of(repo_dir, tmp_path / "clone", "dataver", conf, monkeypatch)
    dataver("fetch", "-A")
    from dataver.hashing import md5_bytes
    from dataver.repo import Repo

    from dataver.remote import open_remote

    with Repo(str(clone)) as repo:
        assert repo.odb.exists(md5_bytes(b"a.jpg" * 50))
        assert repo.odb.exists(md5_bytes(b"second version"))
        rem = open_remote(repo)
        assert type(rem.backend).__name__ == ("FsspecBackend" if backend == "s3fs" else "ObstoreBackend")
        rem.close()
    git(clone, "checkout", "-q", "HEAD~1")
    dataver("checkout")
    assert tree(clone / "data") == {**tree(repo_dir / "data"), "a.jpg": b"a.jpg" * 50}


def test_pull_of_a_file_inside_a_listed_directory(versioned_s3, repo_dir, tmp_path, monkeypatch):
    """A target inside a ``files:`` directory fetches and checks out that file alone, with no
    `.dir` object in the cache, as `dvc pull data/sub/ann.json` does."""
    conf = pushed_by_dataver(versioned_s3, repo_dir)
    for tool in ("dataver", "dvc"):
        clone = clone_of(repo_dir, tmp_path / tool, tool, conf, monkeypatch)
        if tool == "dataver":
            dataver("pull", "data/sub/ann.json")
        else:
            run_dvc("pull", "data/sub/ann.json")
        assert tree(clone / "data") == {"sub/ann.json": b'{"boxes": []}'}


def test_missing_or_wrong_version_fails_by_name(versioned_s3, repo_dir, tmp_path, monkeypatch,
                                                capsys):
    """A recorded version the bucket lacks, or whose bytes do not match the recorded md5, fails
    that file in one line; nothing unverified enters the cache."""
    conf = pushed_by_dataver(versioned_s3, repo_dir)
    text = (repo_dir / "data.dvc").read_text()
    wrong_md5 = text.replace("md5: " + text.split("md5: ")[1][:32],
                             "md5: " + "f" * 32, 1)  # a.jpg's md5
    for edited, expect in ((VERSION.sub("version_id: nosuchversion", text, count=1),
                            "version nosuchversion is missing on remote 'r'"),
                           (wrong_md5, "does not match its md5")):
        clone = clone_of(repo_dir, tmp_path / f"clone{len(expect)}", "dataver", conf, monkeypatch)
        (clone / "data.dvc").write_text(edited)
        capsys.readouterr()
        assert main(["fetch"]) == 1
        err = capsys.readouterr().err
        assert "failed to fetch 'data/a.jpg'" in err and expect in err, err
        assert len(err.strip().splitlines()) == 1
        assert not (clone / ".dvc" / "cache" / "files" / "md5" / "ff" / ("f" * 30)).exists()


def test_push_to_a_bucket_without_versioning_fails_cleanly(versioned_s3, repo_dir, capsys):
    """No version id back from the bucket: the push fails by name and records nothing (DVC
    3.67.1 fails with a traceback-style error and leaves a half `cloud:` record)."""
    conf = versioned_s3.remote()
    s3_client(conf["endpointurl"]).create_bucket(Bucket="dataver-unversioned")
    configure("dataver", {**conf, "url": "s3://dataver-unversioned/x"})
    make_data(repo_dir)
    dataver("add", "model.pt")
    before = (repo_dir / "model.pt.dvc").read_text()
    capsys.readouterr()
    assert main(["push"]) == 1
    err = capsys.readouterr().err
    assert "failed to push 'model.pt'" in err and "no version id" in err
    assert (repo_dir / "model.pt.dvc").read_text() == before


def test_two_versioned_remotes_are_both_recorded(versioned_s3, repo_dir, tmp_path, monkeypatch):
    """Each remote's versions go under its own name in ``cloud:``; either one serves a pull."""
    confs = {"one": versioned_s3.remote(), "two": versioned_s3.remote()}
    for name, conf in confs.items():
        dataver("remote", "add", name, conf["url"])
        for key, value in {**conf, "version_aware": "true"}.items():
            if key != "url":
                dataver("remote", "modify", name, key, value)
    make_data(repo_dir)
    dataver("add", "data")
    dataver("push", "-r", "two")
    dataver("push", "-r", "one")
    text = (repo_dir / "data.dvc").read_text()
    assert text.count("      two:\n") == 3 and text.count("      one:\n") == 3
    assert len(set(recorded_versions(text))) == 6
    commit(repo_dir)
    for name in confs:
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(repo_dir), str(clone))
        monkeypatch.chdir(clone)
        dataver("pull", "-r", name)
        assert tree(clone / "data") == tree(repo_dir / "data")
