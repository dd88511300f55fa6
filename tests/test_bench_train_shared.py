"""The shared-CPU training benchmark runs real tiny trainings, idle and beside a busy process, and
prints one well-formed JSON line per variant (not timed)."""

import json
import subprocess
import sys

from conftest import ROOT


def test_train_shared_bench_tiny(tiny_config, color_dir):
    res = subprocess.run([sys.executable, "bench/train_shared.py", "--config", str(tiny_config), "--data", str(color_dir),
                          "--steps", "4", "--log-every", "1", "--variants", "idle:PASSIVE:1,busy:ACTIVE:1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(r["load"], r["omp_wait_policy"], r["threads"]) for r in rows] == [("idle", "PASSIVE", 1), ("busy", "ACTIVE", 1)]
    for r in rows:
        assert r["images_per_s"] > 0 and r["cpu_share"] > 0 and r["windows"] == 3
        assert r["cpu_capability"] and r["cpu_model"]
