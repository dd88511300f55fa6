"""bench/colorize.py runs on a tiny setting and prints well-formed JSON lines (not timed)."""

import json
import subprocess
import sys
from pathlib import Path

from infer_helpers import make_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def test_colorize_bench_quick(tmp_path):
    ckpt = make_checkpoint(tmp_path / "ckpt")
    res = subprocess.run(
        [sys.executable, "bench/colorize.py", "--quick", "--threads", "1", "--checkpoint", str(ckpt)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    # Two page sizes, each as a manga page and as line art, each hint-free and with hint strokes.
    assert [r["what"] for r in lines] == ["colorize/latency"] * 8 + ["colorize/throughput", "colorize/memory"]
    assert [r["content"] for r in lines[:8]] == ["manga", "manga", "lineart", "lineart"] * 2
    assert [r["hints"] for r in lines[:8]] == [False, True] * 4
    assert all(r["path"] in ("regions", "guided") for r in lines[:8])
    for r in lines[:8]:
        assert 0 < r["min_s"] <= r["median_s"] <= r["max_s"] and r["peak_rss_mb"] > 0
        assert r["threads"] == 1 and r["device"] == "cpu" and r["checkpoint"] == str(ckpt)
        assert set(r["parts_median_s"]) == {"prepare", "predict", "finish", "encode"}
    assert lines[8]["pages"] == 8 and lines[8]["model_pages_per_s"] > 0 and lines[8]["batch_pages_per_s"] > 0
    assert lines[9]["pages"] == 20 and lines[9]["rss_mb_after_20"] > 0


def test_without_a_checkpoint_it_says_it_times_an_untrained_default_model(tmp_path):
    res = subprocess.run(
        [sys.executable, str(ROOT / "bench/colorize.py"), "--quick", "--threads", "1", "--only", "latency"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert lines[0]["what"] == "note" and "untrained" in lines[0]["note"]
    assert lines[1]["generator"]["name"] == "unet" and "untrained" in lines[1]["checkpoint"]
