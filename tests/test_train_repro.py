"""Seeded runs are reproducible, and a run killed with SIGKILL resumes to the same losses."""

import signal
import subprocess
import sys
import time

import pytest
from train_helpers import ROOT, cli, losses, run_inprocess


def test_same_seed_identical_losses_different_seed_differs(tiny_config, color_dir, tmp_path):
    runs = {}
    for name, seed in [("a", 0), ("b", 0), ("c", 1)]:
        run_inprocess(tiny_config, color_dir, tmp_path / name, [f"train.seed={seed}", "train.steps=6"])
        runs[name] = losses(tmp_path / name)
    assert sorted(runs["a"]) == list(range(1, 7))
    assert runs["a"] == runs["b"]
    assert runs["a"][1]["loss/g_mse"] != runs["c"][1]["loss/g_mse"]
    assert all(runs["a"][s] != runs["c"][s] for s in runs["a"])


def _wait_for_step(metrics, step: int, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"training ended before step {step}: {proc.stderr.read()}")
        if metrics.exists() and f'"step": {step},' in metrics.read_text():
            return
        time.sleep(0.05)
    pytest.fail(f"step {step} not reached in {timeout} s")


def test_sigkill_then_resume_equals_uninterrupted(tiny_config, color_dir, tmp_path):
    common = ["--config", tiny_config, "--data", color_dir, "--steps", 14, "--set", "data.workers=1"]
    full = cli(["train", *common, "--out", tmp_path / "full"])
    assert full.returncode == 0, full.stderr
    assert "OMP_WAIT_POLICY PASSIVE" in full.stderr  # set before torch loaded OpenMP: waiting threads sleep

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "colorize", "train", *map(str, common), "--out", str(killed)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_step(killed / "metrics.jsonl", 10, proc)  # past the step-8 checkpoint
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    resumed = cli(["train", *common, "--out", killed, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr and "step-00000008" in resumed.stderr

    expected, got = losses(tmp_path / "full"), losses(killed)
    assert sorted(got) == sorted(expected) == list(range(1, 15))
    assert got == expected
    # Nothing half-written is left behind.
    assert not list(killed.rglob("*.part"))
