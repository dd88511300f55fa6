"""Running real (tiny) training runs from tests, in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from colorize.config import load_config
from colorize.training.train import train

ROOT = Path(__file__).resolve().parents[1]


def run_inprocess(config: Path, data: Path, out: Path, overrides=(), **kwargs) -> dict:
    cfg = load_config(config, list(overrides))
    return train(cfg, data, out, **kwargs)


def cli(args: list[str], cwd: Path = ROOT, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    env.pop("OMP_WAIT_POLICY", None)  # the command's own choice is what the tests see
    return subprocess.run([sys.executable, "-m", "colorize", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, **popen)


def losses(run_dir: Path, prefixes=("loss/", "grad_norm/", "val/")) -> dict[int, dict[str, float]]:
    """step -> the deterministic values logged at that step (timings left out)."""
    out: dict[int, dict[str, float]] = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        out.setdefault(row["step"], {}).update({k: v for k, v in row.items() if k.startswith(prefixes)})
    return out
