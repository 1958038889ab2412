"""check-ignore pattern logic (dataver.ops.check_ignore)."""
from __future__ import annotations

import pytest

from dataver.ops.check_ignore import IgnoreChecker, rebase


@pytest.mark.parametrize("rule, expected", [
    ("x", "sub/**/x"), ("/x", "sub/x"), ("a/b", "sub/a/b"), ("**/deep", "sub/**/deep"),
    ("!keep", "!/sub/**/keep"), ("!/a/b", "!/sub/a/b"), ("dir/", "sub/**/dir/"), ("\\#hash", "sub/**/#hash"),
])
def test_rebase_onto_the_root(rule, expected):
    assert rebase(rule, "sub") == expected


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_last_matching_group_decides_and_first_of_a_run_is_reported(tmp_path, monkeypatch):
    write(tmp_path / ".dvcignore", "# comment\n*.log\nbar.log\n!keep.log\ncache/\n")
    write(tmp_path / "sub" / ".dvcignore", "x\n")
    (tmp_path / "cache").mkdir()
    monkeypatch.chdir(tmp_path)
    checker = IgnoreChecker(str(tmp_path))

    def show(target):
        res = checker.check(target)
        return res.ignored, [str(p) for p in res.patterns]

    assert show("bar.log") == (True, [".dvcignore:2:*.log"])  # same run: the first one
    assert show("keep.log") == (False, [".dvcignore:4:!keep.log"])
    assert show("cache") == (True, [".dvcignore:5:cache/"])
    assert show("cache/inner/f") == (True, [".dvcignore:5:cache/"])  # a parent dir decides
    assert show("sub/a/x") == (True, ["sub/.dvcignore:1:x"])
    assert show("x") == (False, [])  # sub's pattern applies only below sub/
    assert show(".git") == (True, [":.git"])
    assert show(str(tmp_path.parent / "elsewhere")) == (False, [])


def test_dvcignore_inside_an_ignored_dir_is_not_read(tmp_path, monkeypatch):
    write(tmp_path / ".dvcignore", "skip/\n")
    write(tmp_path / "skip" / ".dvcignore", "!*\n")
    monkeypatch.chdir(tmp_path)
    assert IgnoreChecker(str(tmp_path)).check("skip/f").ignored
