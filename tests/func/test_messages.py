"""Messages a user reads: checkout lists its changes sorted; the `git add` hint quotes paths
a shell would split."""
from __future__ import annotations

import shlex
import subprocess

from tests.conftest import run_cli


def test_checkout_lists_changes_sorted(repo_dir):
    names = ["zeta.txt", "alpha.txt", "mid/b.txt", "mid/a.txt", "beta.txt"]
    for name in names:
        (repo_dir / name).parent.mkdir(exist_ok=True)
        (repo_dir / name).write_text(name)
    assert run_cli("add", "zeta.txt", "alpha.txt", "mid", "beta.txt").returncode == 0
    for name in names:
        (repo_dir / name).unlink()
    out = run_cli("checkout").stdout.splitlines()
    assert out == [f"A\t{name}" for name in sorted(names)]


def test_git_add_hint_quotes_paths_with_spaces(repo_dir):
    (repo_dir / "my dir").mkdir()
    (repo_dir / "my dir" / "a b.txt").write_text("x")
    (repo_dir / "plain.txt").write_text("y")
    proc = run_cli("add", "my dir/a b.txt", "plain.txt")
    hint = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("git add")]
    assert hint, proc.stdout
    words = shlex.split(hint[0])[2:]
    assert sorted(words) == sorted(["my dir/a b.txt.dvc", "my dir/.gitignore", "plain.txt.dvc",
                                    ".gitignore"])
    subprocess.run(hint[0], shell=True, cwd=repo_dir, check=True)  # the hint works as typed
