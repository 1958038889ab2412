"""The benchmark harness runs end to end (tiny scale, dataver and baseline only) and reports
every step. It asserts no timings."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_harness_reports_every_step(tmp_path):
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--files", "30", "--file-kb", "1",
         "--large-mb", "1", "--rounds", "1", "--no-dvc", "--workdir", str(tmp_path / "work"),
         "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    doc = json.loads(out.read_text())
    timed = {row["step"] for row in doc["steps"] if "skipped" not in row}
    assert {"add_dir", "add_large", "status_noop", "add_noop", "data_status_noop", "du", "ls_url",
            "status_changed", "readd_changed",
            "checkout_deleted", "checkout_prev", "version"} <= timed
    for row in doc["steps"]:
        if "skipped" not in row:
            assert row["dataver_s"] > 0 and row["baseline_s"] > 0 and row["dataver_rss_mb"] > 0
    assert "add_dir" in proc.stdout and "dv/machine" in proc.stdout
    assert not (tmp_path / "work").exists()  # cleaned up without --keep
