"""bench/scrape.py runs on its tiny setting and prints valid JSON lines (not timed here)."""

from __future__ import annotations

import json
import subprocess
import sys

from scraper_helpers import REPO


def test_bench_scrape_quick_prints_json_lines():
    run = subprocess.run([sys.executable, "bench/scrape.py", "--quick"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert [line["what"] for line in lines] == ["scrape/api_rate", "scrape/list", "scrape/resume", "scrape/relist"]
    for line in lines:
        assert line["device"] == "cpu" and line["threads"] >= 1 and line["peak_rss_mb"] > 0
        assert line["cpu_model"] and line["cpu_capability"]  # asked of a child process: no torch here
        assert line["min"] <= line["median"] <= line["max"]
    rate = lines[0]
    assert rate["config"]["rate"] == 20 and 0 < rate["median"]
    resume = lines[2]
    assert resume["requests_seen"] == {"api": 0, "image": 0}  # a resume over finished posts asks nothing
