"""`dataver diff` keeps DVC's behaviour beside the visual-diff flags: `--md` placed before, between
or after the revisions is DVC's markdown flag (it takes a directory only with --images,
--annotations or --html, or as a third word), byte for byte against real `dvc diff`."""
from __future__ import annotations

import pytest

from tests.compat.test_diff_compat import history  # noqa: F401 - the fixture
from tests.conftest import run_cli, run_dvc


@pytest.mark.parametrize("args", [
    ["--md", "v1", "v2"], ["v1", "v2", "--md"], ["--md", "v1"],
    ["--md", "--show-hash", "v2", "v1"], ["--json", "v1", "v2"],
])
def test_md_anywhere_is_dvcs_flag(history, args):  # noqa: F811
    ours = run_cli("diff", *args)
    theirs = run_dvc("diff", *args)
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


def test_md_between_the_revisions(history):  # noqa: F811
    """DVC's argparse refuses `diff v1 --md v2` (the revisions are taken before the flag);
    dataver reads it as `diff v1 v2 --md`."""
    ours = run_cli("diff", "v1", "--md", "v2")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == run_dvc("diff", "v1", "v2", "--md").stdout
