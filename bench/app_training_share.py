"""A page's time in the web app while its "New character" panel trains, per OpenMP wait policy.

The app trains a character in a thread of its own process (app/character_job.py), so pages and the
training share one OpenMP runtime. One JSON line per policy: the median seconds of a 1024x1456
manga page with hints, idle and beside the training, and the training's steps per second.

    .venv/bin/python bench/app_training_share.py --data ../shared/data/extra/characters/Emilia

Each policy runs in a fresh process (OMP_WAIT_POLICY is read when torch loads OpenMP). The
training is the real `train_character` with the default model and config, cancelled after the
measurement; its folders are temporary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ("ACTIVE", "PASSIVE")


def measure(args: argparse.Namespace) -> dict:
    """In this process (the policy already in the environment): page times idle, then beside a
    training thread."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
    sys.path.insert(0, str(ROOT))
    from bench.colorize import hint_strokes, manga_page
    from colorize.character.errors import Cancelled
    from colorize.character.train import train_character
    from colorize.inference.colorizer import Colorizer

    colorizer = Colorizer(ROOT / "checkpoints" / "default", device="cpu")
    width, height = args.size
    page, hints = manga_page(width, height, seed=1), hint_strokes(width, height, seed=1)

    def pages(count: int) -> list[float]:
        times = []
        for _ in range(count):
            start = time.perf_counter()
            colorizer.colorize(page, hints=hints)
            times.append(time.perf_counter() - start)
        return times

    pages(1)  # warm-up
    idle = pages(args.pages)
    stop, steps = threading.Event(), []

    def train(work: Path) -> None:  # errors print in the thread, and the check below stops the run
        try:
            train_character("bench", [args.data], out=work / "model", work_dir=work / "work", steps=100000,
                            should_stop=stop.is_set, cache_dir=work / "cache",
                            progress=lambda p: steps.append((time.perf_counter(), p.step)) if p.stage == "train" else None)
        except Cancelled:
            pass

    with tempfile.TemporaryDirectory() as tmp:
        thread = threading.Thread(target=train, args=(Path(tmp),), daemon=True)
        thread.start()
        while not steps and thread.is_alive():  # the training's own preparation is not what is measured
            time.sleep(0.5)
        if not steps:
            raise SystemExit(f"{args.data}: the character training did not start (see its error above)")
        busy = pages(args.pages)
        stop.set()
        thread.join()
    rate = (steps[-1][1] - steps[0][1]) / (steps[-1][0] - steps[0][0]) if len(steps) > 1 else None
    return {"page_idle_s": statistics.median(idle), "page_beside_training_s": statistics.median(busy),
            "training_steps_per_s": rate, "pages": args.pages}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="a character's pictures (10 or more)")
    p.add_argument("--pages", type=int, default=5, help="pages timed idle and beside the training")
    p.add_argument("--size", type=int, nargs=2, default=(1024, 1456), metavar=("W", "H"), help="the page's size")
    p.add_argument("--policies", default=",".join(POLICIES), help="OMP_WAIT_POLICY values, comma-separated")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.inner:
        print(json.dumps(measure(args)))
        return 0
    import torch

    for policy in args.policies.split(","):
        env = dict(os.environ, OMP_WAIT_POLICY=policy)
        out = subprocess.run([sys.executable, __file__, "--inner", "--data", str(args.data), "--pages", str(args.pages),
                              "--size", *map(str, args.size)],
                             env=env, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps({"what": "app/page_beside_training", "omp_wait_policy": policy, "page": "x".join(map(str, args.size)), **row,
                          "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                          "threads": torch.get_num_threads()}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
