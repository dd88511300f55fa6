"""`python -m colorize diagnose <check>`: the checks practitioners run before a long run. Each
prints a verdict (PASS / WARN / FAIL with the measured numbers), writes result.json and PNGs into
--out, and exits 1 on FAIL so it can gate a run. The checks are functions over a model, batches and
a loss (see each module), this is only the command-line shell."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# check name -> module; `all` runs them in this order: cheapest and most basic first.
CHECKS = {
    "data": "colorize.diagnose.data",
    "init": "colorize.diagnose.init",
    "precision": "colorize.diagnose.precision",
    "zero-lr": "colorize.diagnose.zero_lr",
    "gradients": "colorize.diagnose.gradients",
    "overfit": "colorize.diagnose.overfit",
    "lr-range": "colorize.diagnose.lr_range",
    "features": "colorize.diagnose.features",
}
# Checks of a trained model (--checkpoint): run one by name; `all` is for before training.
TRAINED_CHECKS = {
    "fit": "colorize.diagnose.fit",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("check", choices=[*CHECKS, *TRAINED_CHECKS, "all"], help="which check to run")
    p.add_argument("--config", help="TOML run configuration (default: built-in defaults)")
    p.add_argument("--data", required=True, help="folder of color images, as for train")
    p.add_argument("--out", help="output folder (default runs/diagnose/<check>)")
    p.add_argument("--steps", type=int, help="step budget of zero-lr (fresh batches, default 20), gradients (5), "
                   "overfit (300) and lr-range (100); with `all`, of each of them")
    p.add_argument("--lr", type=float, help="overfit: learning rate (default train.lr_g)")
    p.add_argument("--checkpoint", help="features: show a trained generator instead of a fresh one; "
                   "fit: the trained generator to measure")
    p.add_argument("--holdout", help="fit: a folder of color pictures the model never trained on, measured "
                   "beside the training and validation splits of --data")
    p.add_argument("--count", type=int, help="fit: pictures per split (default 40)")
    p.add_argument("--cache-dir", help="pre-resized image cache (default as for train)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: train.device")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value; repeatable")


def options(check: str, args: argparse.Namespace) -> dict:
    opts: dict = {}
    if args.steps is not None and check in ("zero-lr", "overfit", "lr-range", "gradients"):
        opts["steps"] = args.steps
    if check == "overfit" and args.lr is not None:
        opts["lr"] = args.lr
    if check in ("features", "fit") and args.checkpoint:
        opts["checkpoint"] = args.checkpoint
    if check == "fit":
        opts |= {k: v for k, v in (("holdout", args.holdout), ("count", args.count)) if v is not None}
    return opts


def main(args: argparse.Namespace) -> int:
    from colorize.config import ConfigError, load_config
    from colorize.data import DataError
    from colorize.diagnose.report import print_result, save_result
    from colorize.diagnose.setup import load_setup

    try:
        cfg = load_config(args.config, args.overrides)
        setup = load_setup(cfg, args.data, args.cache_dir, args.device)
    except (ConfigError, DataError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or Path("runs") / "diagnose" / args.check)
    if args.check == "all":
        from colorize.diagnose.all import run_all

        results = run_all(setup, out, {c: options(c, args) for c in CHECKS})
        return 1 if any(r.failed for r in results) else 0
    result = importlib.import_module({**CHECKS, **TRAINED_CHECKS}[args.check]).run(setup, **options(args.check, args))
    path = save_result(result, out)
    print_result(result)
    print(f"  figures: {path}", flush=True)
    return 1 if result.failed else 0
