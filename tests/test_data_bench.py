"""bench/data.py runs on a tiny setting and prints valid JSON lines (nothing is timed here)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_data_quick_prints_json_lines(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "data.py"), "--quick", "--workers", "0,1",
         "--train-step-ips", "1.0", "--data", str(tmp_path / "absent")],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    whats = [d["what"] for d in lines]
    assert whats == ["data/cache_build", "data/index_warm", "data/stages",
                     "data/pairs_per_s", "data/pairs_per_s", "data/verdict"]
    for d in lines:
        for key in ("config", "device", "threads", "torch", "peak_rss_mb", "size", "cpu_model", "cpu_capability"):
            assert key in d, (key, d)
    rates = [d for d in lines if d["what"] == "data/pairs_per_s"]
    assert [d["workers"] for d in rates] == [0, 1]
    for d in rates:
        assert 0 < d["min"] <= d["median"] <= d["max"] and d["ratio_to_train_step"] > 0
    assert lines[0]["images"] == 6 and lines[0]["skipped"] == 0
    assert lines[-1]["workers_for_2x"] in (0, 1)
