"""Helpers for command tests: run dataver in-process, and build the same repo with real dvc
next to it so a test can compare files byte for byte."""
from __future__ import annotations

import os
import stat

from dataver.cli.main import main
from tests.conftest import git, run_dvc


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run `dataver ARGS` in-process; returns (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def dvc_repo(path) -> str:
    """A fresh git repo at ``path`` initialised by real `dvc init` and committed."""
    os.makedirs(path)
    git(path, "init", "-q")
    run_dvc("init", "-q", cwd=path)
    git(path, "commit", "-qm", "init")
    return str(path)


def write_files(root, files: dict[str, str]) -> None:
    """Create ``relpath -> text`` files below ``root``."""
    for rel, text in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as fobj:
            fobj.write(text)


def repo_files(root) -> dict[str, bytes]:
    """Every file of the workspace except .git/ and .dvc/ (tmp and cache), by relpath."""
    result = {}
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirs[:] = [d for d in dirs if d not in (".git", ".dvc")]
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as fobj:
                result[os.path.normpath(os.path.join(rel_dir, name))] = fobj.read()
    return result


def cache_objects(cache_dir) -> set[str]:
    """Object ids in a 3.x cache."""
    base = os.path.join(cache_dir, "files", "md5")
    found = set()
    for dirpath, _dirs, files in os.walk(base):
        found |= {os.path.basename(dirpath) + f for f in files if not f.endswith(".tmp")}
    return found


def link_kind(path) -> str:
    """'symlink', 'hardlink' (shares an inode) or 'file'."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    return "hardlink" if st.st_nlink > 1 else "file"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def twin_repos(tmp_path, monkeypatch, files: dict[str, str], commands: list[list[str]],
               setup: list[list[str]] = (), late_files: dict[str, str] | None = None,
               ) -> tuple[str, str, list[int], list[int]]:
    """Build the same repo twice — with dataver (in-process) and with real dvc — write ``files``,
    run ``setup`` then commit everything to git, write ``late_files``, then run ``commands``. Returns the two
    roots and the exit codes of ``commands`` for each tool."""
    from tests.conftest import run_dvc as dvc_run

    roots = {"dataver": str(tmp_path / "dv"), "dvc": str(tmp_path / "dvc")}
    codes: dict[str, list[int]] = {"dataver": [], "dvc": []}
    for tool, root in roots.items():
        if tool == "dvc":
            dvc_repo(root)
        else:
            os.makedirs(root)
            git(root, "init", "-q")
            monkeypatch.chdir(root)
            assert main(["init"]) == 0
            git(root, "commit", "-qm", "init")
        write_files(root, files)
        for stage, cmds in (("setup", setup), ("run", commands)):
            for cmd in cmds:
                if tool == "dvc":
                    code = dvc_run(*cmd, cwd=root, check=False).returncode
                else:
                    monkeypatch.chdir(root)
                    code = main(list(cmd))
                if stage == "run":
                    codes[tool].append(code)
            if stage == "setup":
                git(root, "add", "-A")
                git(root, "commit", "-qm", "setup", "--allow-empty")
                write_files(root, late_files or {})
    return roots["dataver"], roots["dvc"], codes["dataver"], codes["dvc"]


def git_status(root) -> str:
    return git(root, "status", "--short", "--untracked-files=all")


def snapshot(root) -> dict:
    """Everything a failed command must leave alone: every file below ``root`` (bytes digest and
    mode, a link's target, a special file's mode) but .git/ and .dvc/tmp/, and the git index.
    Walks without recursion, so trees deeper than 1000 folders are fine."""
    import hashlib

    files, stack = {}, [str(root)]
    while stack:
        folder = stack.pop()
        for entry in os.scandir(folder):
            rel = os.path.relpath(entry.path, root)
            if rel in (".git", os.path.join(".dvc", "tmp")):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:  # past PATH_MAX: no path reaches it; that it is there is all we see
                files[rel] = ("unreachable",)
                continue
            if entry.is_symlink():
                files[rel] = ("link", os.readlink(entry.path))
            elif stat.S_ISDIR(st.st_mode):
                files[rel] = ("dir", stat.S_IMODE(st.st_mode))
                stack.append(entry.path)
            elif stat.S_ISREG(st.st_mode):
                with open(entry.path, "rb") as fobj:
                    files[rel] = ("file", st.st_mode, hashlib.md5(fobj.read()).hexdigest())
            else:
                files[rel] = ("special", st.st_mode)
    index = git(root, "ls-files", "-s") if os.path.isdir(os.path.join(root, ".git")) else ""
    return {"files": files, "index": index}


def remove_deep(path) -> None:
    """Delete the tree at ``path`` however deep (shutil.rmtree recurses, and no path reaches
    below 4095 bytes): one folder descriptor at a time, down to a leaf folder, then up."""
    top_parent = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open(os.path.basename(path), os.O_RDONLY | os.O_DIRECTORY, dir_fd=top_parent)
    depth = 0
    while True:
        os.chmod(fd, 0o755)
        folders = [e.name for e in os.scandir(fd) if e.is_dir(follow_symlinks=False)]
        for entry in os.scandir(fd):
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.name, dir_fd=fd)
        if folders:
            child = os.open(folders[0], os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, depth = child, depth + 1
            continue
        parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd) if depth else top_parent
        inode = os.fstat(fd).st_ino
        os.close(fd)
        name = next(e.name for e in os.scandir(parent) if e.inode() == inode)
        os.rmdir(name, dir_fd=parent)
        if not depth:
            os.close(parent)
            return
        fd, depth = parent, depth - 1


def refuses(capsys, root, *args, expect=()) -> str:
    """Run `dataver ARGS` in-process and assert a clean refusal: exit 1, one `ERROR:` line (no
    traceback) holding every string of ``expect``, and nothing changed below ``root`` (see
    :func:`snapshot`). Returns the line."""
    before = snapshot(root)
    code, out, err = cli(capsys, *args)
    assert "Traceback" not in err, err
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and err.startswith("ERROR: "), \
        (args, code, out, err)
    for text in expect:
        assert text in err, (args, text, err)
    assert snapshot(root) == before, args
    return err.rstrip("\n")
