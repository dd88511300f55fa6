"""Two processes on the CPU through torchrun (gloo): one run, rank 0 writes."""

import json
import os
import subprocess
import sys

from train_helpers import ROOT


def test_torchrun_two_processes_on_cpu(tiny_config, color_dir, tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "colorize", "train", "--config", str(tiny_config), "--data", str(color_dir),
         "--out", str(out), "--steps", "4", "--set", "train.device=cpu"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in rows if "loss/g_mse" in r]
    assert train_steps == [1, 2, 3, 4]  # logged once, by rank 0
    card = json.loads((out / "checkpoints" / "step-00000004" / "card.json").read_text())
    assert card["step"] == 4
    # Throughput counts both ranks' batches.
    assert rows[0]["speed/images_per_s"] > 0
