"""The app-training benchmark colors real pages with the default model while a real character
fine-tune runs in a thread, per OpenMP wait policy, and prints one JSON line each (not timed)."""

import json
import subprocess
import sys

from conftest import ROOT


def test_app_training_share_bench_small(color_dir):
    res = subprocess.run([sys.executable, "bench/app_training_share.py", "--data", str(color_dir), "--pages", "1",
                          "--size", "160", "224", "--policies", "PASSIVE"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    [row] = [json.loads(line) for line in res.stdout.splitlines()]
    assert row["omp_wait_policy"] == "PASSIVE" and row["page"] == "160x224" and row["pages"] == 1
    assert row["page_idle_s"] > 0 and row["page_beside_training_s"] > 0 and row["cpu_capability"]
