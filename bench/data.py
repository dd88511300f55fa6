"""Training pairs per second that the data pipeline delivers (cached decode + crop/flip + input
synthesis + to-tensor), per DataLoader worker count. One JSON line per measurement.

    .venv/bin/python bench/data.py --config configs/cpu-tiny.toml
    .venv/bin/python bench/data.py --set data.size=256 --workers 0,1,2
    .venv/bin/python bench/data.py --quick          # tiny smoke setting on generated images

Lines: data/cache_build (cold: decode + resize + PNG write of every image, the first epoch's extra
cost), data/index_warm (later runs: hashing only), data/stages (ms per sample for each stage, one
process) and data/pairs_per_s per worker count.

Comparison with the trainer's consumption: the images/s of the train step at the same config is
measured first with bench/train_step.py's code (or given with --train-step-ips); each pairs_per_s
line then carries the ratio and the run ends with a data/verdict line naming the fewest workers
that deliver 2x that rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorize.config import load_config  # noqa: E402
from colorize.data import build_splits  # noqa: E402
from colorize.data.cache import read_cached  # noqa: E402
from colorize.data.dataset import epoch_batches  # noqa: E402
from colorize.data.synth import synthesize_input  # noqa: E402
from colorize.device import cpu_facts  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "color"


def peak_rss_mb() -> float:
    """Peak resident memory of this process (importing torch alone is most of it)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def children_pss_mb() -> float | None:
    """Proportional set size of this process's live children (DataLoader workers): their own
    memory, with pages shared with the parent after fork counted fractionally. None where /proc
    does not tell."""
    try:
        pids = {pid for f in Path("/proc/self/task").glob("*/children") for pid in f.read_text().split()}
        total = 0.0
        for pid in pids:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
        return round(total, 1)
    except OSError:
        return None


def generate_images(folder: Path, n: int, seed: int = 0) -> Path:
    """Smooth random color fields with hard-edged shapes, sizes like small illustrations."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        h, w = int(rng.integers(160, 400)), int(rng.integers(160, 400))
        base = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
        im = Image.fromarray(base).resize((w, h), Image.Resampling.BICUBIC)
        arr = np.array(im)
        for _ in range(6):
            y, x = int(rng.integers(0, h - 20)), int(rng.integers(0, w - 20))
            arr[y:y + int(rng.integers(10, h // 2)), x:x + int(rng.integers(10, w // 2))] = rng.integers(0, 256, 3)
        Image.fromarray(arr).save(folder / f"gen_{k:04d}.png")
    return folder


def summarize(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def endless(n: int, seed: int):
    """(epoch, i) pairs across epochs, as the trainer's sampler yields them."""
    epoch = 0
    while True:
        yield from ((epoch, i) for b in epoch_batches(n, 1, seed, epoch) for i in b)
        epoch += 1


def batched(it, batch: int):
    while True:
        yield [next(it) for _ in range(batch)]


def pairs_per_s(ds, batch: int, workers: int, batches: int, warmup: int, repeats: int,
                seed: int) -> tuple[list[float], float | None]:
    loader = DataLoader(ds, batch_sampler=batched(endless(len(ds), seed), batch), num_workers=workers,
                        persistent_workers=False)
    it = iter(loader)
    for _ in range(warmup):  # worker start-up and first prefetches are not steady state
        next(it)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(batches):
            inp, _target = next(it)
        rates.append(batches * inp.shape[0] / (time.perf_counter() - t0))
    workers_mb = children_pss_mb() if workers else 0.0
    del it
    return rates, workers_mb


def stage_times(ds, samples: int) -> dict[str, float]:
    """Milliseconds per sample in each stage, in this process, over the first `samples` items."""
    spent = {"decode_ms": 0.0, "crop_ms": 0.0, "synth_ms": 0.0}
    cfg = ds.cfg
    n = min(samples, len(ds))
    for i in range(n):
        rng = ds.rng(i)
        t0 = time.perf_counter()
        rgb = read_cached(ds.entries[i], ds.side)
        t1 = time.perf_counter()
        patch = ds.crop(rgb, rng)
        t2 = time.perf_counter()
        synthesize_input(patch, rng, cfg.p_gray, cfg.p_xdog, cfg.p_edges)
        t3 = time.perf_counter()
        spent["decode_ms"] += t1 - t0
        spent["crop_ms"] += t2 - t1
        spent["synth_ms"] += t3 - t2
    return {k: round(v / n * 1000, 3) for k, v in spent.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="TOML config (colorize.config); defaults otherwise")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="folder of color images (default ../shared/data/color; generated images if absent)")
    p.add_argument("--cache", type=Path, help="cache folder (default: a fresh temporary one, so the cold build is measured)")
    p.add_argument("--workers", default="0,1,2", help="comma-separated DataLoader worker counts")
    p.add_argument("--batches", type=int, default=20, help="batches per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=3, help="batches before timing")
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads in this process (0: torch's default); collation with workers=0 runs here")
    p.add_argument("--train-step-ips", type=float,
                   help="images/s the train step consumes (bench/train_step.py); default: measured here")
    p.add_argument("--no-train-step", action="store_true", help="skip measuring the train step")
    p.add_argument("--quick", action="store_true", help="tiny smoke setting: 6 generated images, size 32, 2 repeats")
    args = p.parse_args(argv)

    overrides = list(args.set)
    if args.quick:
        overrides = ["data.size=32", "data.batch_size=4", *overrides]
        args.batches, args.repeats, args.warmup = 2, 2, 1
    cfg = load_config(args.config, overrides)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        data = args.data
        if args.quick or not data.is_dir():
            data = generate_images(Path(tmp) / "images", 6 if args.quick else 64)
        cache = args.cache or Path(tmp) / "cache"
        common = {
            "config": args.config or "defaults", "overrides": overrides, "data": str(data),
            "size": cfg.data.size, "batch_size": cfg.data.batch_size, "device": "cpu",
            "cpu": platform.machine(), "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(), "torch": torch.__version__, **cpu_facts().summary(),
        }

        def emit(what: str, **fields) -> None:
            print(json.dumps({"what": what, **common, **fields, "peak_rss_mb": peak_rss_mb()}), flush=True)

        t0 = time.perf_counter()
        splits = build_splits(data, cfg.data, cache, cfg.train.seed)
        cold = time.perf_counter() - t0
        counts = splits.summary["counts"]
        emit("data/cache_build", seconds=round(cold, 3), images=sum(counts[s] for s in ("train", "val", "test")),
             skipped=counts["skipped"], cache_side=splits.summary["cache_side"])
        t0 = time.perf_counter()
        splits = build_splits(data, cfg.data, cache, cfg.train.seed)
        emit("data/index_warm", seconds=round(time.perf_counter() - t0, 3))

        if args.train_step_ips is None and not args.no_train_step:
            args.train_step_ips = train_step_ips(cfg, args.quick)
            emit("data/train_step_consumes", images_per_s=round(args.train_step_ips, 2))
        ds = splits.train
        emit("data/stages", images=len(ds), **stage_times(ds, 8 if args.quick else 64))
        best: dict[int, float] = {}
        for w in workers:
            rates, workers_mb = pairs_per_s(ds, cfg.data.batch_size, w, args.batches, args.warmup, args.repeats, cfg.train.seed)
            best[w] = statistics.median(rates)
            extra = {}
            if args.train_step_ips:
                extra["ratio_to_train_step"] = round(best[w] / args.train_step_ips, 2)
            emit("data/pairs_per_s", workers=w, unit="pairs/s", repeats=args.repeats,
                 pairs_per_repeat=args.batches * cfg.data.batch_size, **summarize(rates),
                 workers_pss_mb=workers_mb, **extra)
        if args.train_step_ips:
            enough = [w for w in sorted(best) if best[w] >= 2 * args.train_step_ips]
            emit("data/verdict", train_step_ips=args.train_step_ips,
                 workers_for_2x=enough[0] if enough else None, target_met=bool(enough))
    return 0


def train_step_ips(cfg, quick: bool) -> float:
    """What the trainer consumes at this config: its fastest CPU/GPU variant, from bench/train_step.py."""
    import torch
    from train_step import measure, variants

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    steps, repeats = (1, 1) if quick else (3, 3)
    recs = [measure(cfg, device, name, opts, steps, repeats, 1) for name, opts in variants(device, False).items()]
    return max(r["images_per_s"] for r in recs)


if __name__ == "__main__":
    raise SystemExit(main())
