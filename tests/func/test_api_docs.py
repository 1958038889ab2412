"""Every ```python example in docs/api.md runs, in order, in a repository like the one the page
describes."""
from __future__ import annotations

import os
import re

import pytest

from tests.conftest import ROOT
from tests.history_helpers import tag_versions

DOC = os.path.join(ROOT, "docs", "api.md")


def examples() -> list[str]:
    with open(DOC, encoding="utf-8") as fobj:
        return re.findall(r"```python\n(.*?)```", fobj.read(), flags=re.S)


@pytest.fixture
def doc_repo(repo_dir, tmp_path):
    tag_versions(repo_dir, tmp_path / "store", {
        f"v{n}": {"data/images/cat.jpg": b"\xff\xd8cat %d" % n, "data/labels/a.json": b'{"label": "cat"}',
                  "model.pt": b"weights %d" % n}
        for n in (1, 2)}, ["data", "model.pt"])
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
    assert "{'lr': 0.05}\n{'acc': 0.9, 'loss': {'val': 0.3}}\n" \
        "{'params.yaml': {'lr': {'old': 0.1, 'new': 0.05, 'diff': -0.05}}}" in out
    assert "['upper']\n[]\n['upper']\n" in out  # repro: ran, up to date, restored


def test_every_public_function_is_documented():
    import dataver.api

    with open(DOC, encoding="utf-8") as fobj:
        text = fobj.read()
    for name in ("open", "read", "get_url", "card", "card_diff"):
        assert f"### `{name}(" in text
    for name in ("params_show", "metrics_show"):
        assert hasattr(dataver.api, name) and f"`{name}(*targets" in text
    for method in ("add", "commit", "status", "checkout", "push", "fetch", "pull", "cloud_status",
                   "gc", "diff", "at_rev", "card", "card_diff", "card_notes", "params_diff", "metrics_show", "metrics_diff", "ls", "list_url", "get", "imp", "update", "install", "repro"):
        assert hasattr(dataver.api.Repo, method), method
        assert f"`{method}" in text, method
