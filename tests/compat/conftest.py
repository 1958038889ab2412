"""Helpers for compat tests: sibling repos worked by dataver and by real DVC 3.x, and snapshots of
everything both tools write (so a comparison covers `.dvc` files, `.gitignore`s, the cache and
file modes at once)."""
from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from tests.conftest import git, run_cli, run_dvc

# Written by each tool for itself, never shared with the other.
_PRIVATE = (".git", os.path.join(".dvc", "tmp"))


def dataver(*args, cwd, ok: bool = True):
    """Run the dataver CLI in a subprocess; assert success unless ``ok`` is False."""
    proc = run_cli(*args, cwd=cwd)
    if ok:
        assert proc.returncode == 0, f"dataver {' '.join(args)} failed: {proc.stdout}{proc.stderr}"
    return proc


def dvc(*args, cwd, ok: bool = True):
    """Run the real dvc; assert success unless ``ok`` is False."""
    return run_dvc(*args, cwd=cwd, check=ok)


def _mode(rel: str, path: str):
    # Inside .dvc/ every permission bit counts (cache files are 0444); in the workspace only
    # whether a file is executable (DVC re-copies files on add, dataver leaves them be).
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    return mode if rel.startswith(".dvc" + os.sep) else bool(mode & stat.S_IXUSR)


def snapshot(root) -> dict[str, tuple]:
    """relpath -> (bytes, mode) for files, (None, mode) for directories, below ``root``, skipping
    `.git` and `.dvc/tmp` (each tool's private state); see ``_mode`` for what mode holds."""
    root = str(root)
    result: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel_dir, d)) not in _PRIVATE]
        for name in dirs:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            result[rel + "/"] = (None, _mode(rel, os.path.join(dirpath, name)))
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as fobj:
                data = fobj.read()
            rel = os.path.normpath(os.path.join(rel_dir, name))
            result[rel] = (data, _mode(rel, full))
    return result


def assert_same(left, right, extra_in_right=lambda rel: False) -> None:
    """Snapshots of two repos are identical; on failure, show the differing paths readably.
    Paths for which ``extra_in_right`` is true may exist in ``right`` only."""
    a, b = snapshot(left), snapshot(right)
    b = {k: v for k, v in b.items() if k in a or not extra_in_right(k)}
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    detail = {k: (a[k], b[k]) for k in differ[:5]}
    assert (only_a, only_b, differ) == ([], [], []), f"dataver vs dvc differ: {detail}"


def index(root) -> list[str]:
    """What git has staged: ``mode oid path`` lines."""
    return sorted(git(root, "ls-files", "-s").splitlines())


def status_json(tool, root, *targets) -> dict:
    """``status --json`` of dataver or dvc, parsed."""
    proc = tool("status", "--json", *targets, cwd=root)
    return json.loads(proc.stdout or "{}")


@pytest.fixture
def pair(tmp_path):
    """Two sibling git repos: ``a`` initialised by dataver, ``b`` by dvc, both committed."""
    a, b = tmp_path / "a", tmp_path / "b"
    for path, tool in ((a, dataver), (b, dvc)):
        path.mkdir()
        git(path, "init", "-q")
        tool("init", cwd=path)
        git(path, "commit", "-qm", "init")
    return a, b


def twin_copies(made, tmp_path, inner: str = "") -> tuple:
    """Two copies of the prepared tree ``made``: (dataver's, dvc's), each ``inner`` below it."""
    copies = []
    for name in ("ours", "theirs"):
        shutil.copytree(made, tmp_path / name, symlinks=True)
        copies.append(tmp_path / name / inner if inner else tmp_path / name)
    return tuple(copies)


def make_tree(root, spec: dict, executable: tuple = ()) -> None:
    """Create files from ``{relpath: bytes | str | None}`` (None: an empty directory); the
    relpaths in ``executable`` get mode 0755."""
    for rel, content in spec.items():
        path = os.path.join(str(root), rel)
        if content is None:
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fobj:
            fobj.write(content.encode() if isinstance(content, str) else content)
        if rel in executable:
            os.chmod(path, 0o755)


def dvc_pipeline(root, files: dict, *repro_args: str):
    """A git repository at ``root`` holding ``files`` ({relpath: text}, as :func:`make_tree`)
    where real DVC ran the pipeline (``dvc repro -q`` and ``repro_args``), all committed."""
    root.mkdir(parents=True)
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    make_tree(root, files)
    dvc("repro", "-q", *repro_args, cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "pipeline")
    return root


def dvc_repo(root):
    """An empty git repository at ``root`` (made if needed) with `dvc init` run in it."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    dvc("init", "-q", cwd=root)
    return root
