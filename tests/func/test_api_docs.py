"""Every ```python example in docs/api.md runs, in order, in a repository like the one the page
describes."""
from __future__ import annotations

import os
import re

import pytest

from tests.conftest import ROOT, git

DOC = os.path.join(ROOT, "docs", "api.md")


def examples() -> list[str]:
    with open(DOC, encoding="utf-8") as fobj:
        return re.findall(r"```python\n(.*?)```", fobj.read(), flags=re.S)


@pytest.fixture
def doc_repo(repo_dir, tmp_path):
    from dataver.cli.main import main
    from dataver.repo import Repo

    assert main(["remote", "add", "-d", "store", str(tmp_path / "store")]) == 0
    for version in (1, 2):
        (repo_dir / "data" / "images").mkdir(parents=True, exist_ok=True)
        (repo_dir / "data" / "labels").mkdir(exist_ok=True)
        (repo_dir / "data" / "images" / "cat.jpg").write_bytes(b"\xff\xd8cat %d" % version)
        (repo_dir / "data" / "labels" / "a.json").write_text('{"label": "cat"}')
        (repo_dir / "model.pt").write_bytes(b"weights %d" % version)
        with Repo() as repo:
            repo.add(["data", "model.pt"])
            repo.push()
        git(repo_dir, "add", "-A")
        git(repo_dir, "commit", "-qm", f"v{version}")
        git(repo_dir, "tag", f"v{version}")
    return repo_dir


def test_every_example_runs(doc_repo, capsys):
    blocks = examples()
    assert len(blocks) >= 10
    for number, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{DOC}:example-{number}", "exec"), {"__name__": "__doc_example__"})
        except Exception as exc:  # name the example that failed
            raise AssertionError(f"docs/api.md example {number} failed: {exc!r}\n{code}") from exc
    out = capsys.readouterr().out
    assert "b'\\xff\\xd8ca'" in out  # the first example's output
    assert "['data/', 'data/images/cat.jpg', 'model.pt']" in out


def test_every_public_function_is_documented():
    import dataver.api

    with open(DOC, encoding="utf-8") as fobj:
        text = fobj.read()
    for name in ("open", "read", "get_url"):
        assert f"### `{name}(" in text
    for method in ("add", "commit", "status", "checkout", "push", "fetch", "pull", "cloud_status",
                   "gc", "diff", "at_rev", "ls", "list_url", "get", "imp", "update"):
        assert hasattr(dataver.api.Repo, method), method
        assert f"`{method}" in text, method
