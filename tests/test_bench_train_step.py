"""The training benchmark runs on a tiny setting and prints well-formed JSON lines (not timed)."""

import json
import subprocess
import sys

import torch
from conftest import ROOT


def test_train_step_bench_quick(tiny_config):
    res = subprocess.run([sys.executable, "bench/train_step.py", "--config", str(tiny_config), "--quick",
                          "--threads", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    steps = [r for r in lines if r["what"] == "train_step"]
    assert {r["variant"] for r in steps} >= {"plain", "channels_last", "bf16", "auto"}
    for r in steps:
        assert r["images_per_s"] > 0 and r["seconds_per_step"]["median_s"] > 0
        assert r["batch"] == 4 and r["size"] == 32 and r["device"] == "cpu"
    # every figure names the CPU it was measured on, and what "auto" ran there and why
    from colorize.device import resolve_precision

    auto = resolve_precision("auto", torch.device("cpu"))
    for r in lines:
        assert r["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and r["cpu_model"]
        assert r["cpu_native_bf16"] == auto.native_bf16
    (row,) = [r for r in steps if r["variant"] == "auto"]
    assert row["precision"] == auto.precision and row["precision_reason"] == auto.reason
    assert [r["precision"] for r in steps if r["variant"] in ("plain", "bf16")] == ["fp32", "bf16"]
    assert lines[-1]["what"] == "train_step/speedup" and lines[-1]["ratios"]["plain"] == 1.0
