"""Training speed idle and beside a busy process: what another job on the machine costs a CPU run,
and what the OpenMP wait policy and the thread count do about it. One JSON line per variant.

    .venv/bin/python bench/train_shared.py --data ../shared/data/extra/full
    .venv/bin/python bench/train_shared.py --config configs/cpu-tiny.toml --data DIR --steps 8 --variants idle:PASSIVE:2

Each variant runs `python -m colorize train` for --steps steps (no validation, no checkpoints
but the last) with OMP_WAIT_POLICY and train.threads as given; "busy" starts one spinning Python
process in its own session first (its own autogroup, as a job in another terminal has) and stops
it after. Figures are the medians of the trainer's own speed/images_per_s and speed/cpu_share over
the logged windows after the first (warm-up).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import cpu_context, emit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = "idle:ACTIVE:2,idle:PASSIVE:2,idle:PASSIVE:1,busy:ACTIVE:2,busy:PASSIVE:2,busy:PASSIVE:1"


def run_variant(args, load: str, policy: str, threads: int, out: Path) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY=policy)
    cmd = [sys.executable, "-m", "colorize", "train", "--config", args.config, "--out", str(out), "--data", *args.data,
           "--steps", str(args.steps), "--set", f"train.threads={threads}", "--set", f"log.log_every={args.log_every}",
           *[x for k in ("val_every", "ckpt_every", "image_every", "hist_every") for x in ("--set", f"log.{k}=100000")]]
    busy = None
    if load == "busy":
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    if res.returncode != 0:
        raise SystemExit(f"{load}:{policy}:{threads}: training failed: {res.stderr.strip().splitlines()[-1:]}")
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in logged if "speed/images_per_s" in r]
    rows = logged[1:] or logged  # the first window warms up
    return {"images_per_s": statistics.median(r["speed/images_per_s"] for r in rows),
            "cpu_share": statistics.median(r.get("speed/cpu_share", float("nan")) for r in rows), "windows": len(rows)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/default-model.toml")
    p.add_argument("--data", nargs="+", default=["../shared/data/extra/full"])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--variants", default=VARIANTS, help="comma-separated LOAD:POLICY:THREADS, LOAD idle or busy")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for i, variant in enumerate(args.variants.split(",")):
            load, policy, threads = variant.split(":")
            figures = run_variant(args, load, policy, int(threads), Path(tmp) / f"run{i}")
            emit({"what": "train_shared", "config": args.config, "steps": args.steps, "load": load,
                  "omp_wait_policy": policy, "threads": int(threads), **figures, **cpu_context()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
