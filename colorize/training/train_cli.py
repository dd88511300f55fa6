"""`python -m colorize train`: the command-line shell over colorize.training.train.train."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from colorize.config import ConfigError, load_config

log = logging.getLogger("colorize.training.train")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="TOML run configuration, e.g. configs/cpu-tiny.toml")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR[*N]",
                   help="folder(s) of color images, read recursively; DIR*N shows DIR's training images N times an epoch")
    p.add_argument("--out", required=True, help="run folder: checkpoints, metrics.jsonl, TensorBoard events")
    p.add_argument("--steps", type=int, help="total training steps (overrides train.steps)")
    p.add_argument("--seed", type=int, help="overrides train.seed")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--git-tag", action="store_true", help="tag the code's commit at each checkpoint")
    p.add_argument("--init-from", metavar="CHECKPOINT", help="start from a trained model (fine-tuning)")
    p.add_argument("--freeze", choices=["encoder"], action="append", default=[],
                   help="keep these weights fixed (with --init-from)")
    p.add_argument("--cache-dir", help="pre-resized image cache (default ~/.cache/colorize or $COLORIZE_CACHE_DIR)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value; repeatable")


def main(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.steps is not None:
        overrides.append(f"train.steps={args.steps}")
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.git_tag:
        overrides.append("log.git_tag=true")
    from colorize.metrics import higher_is_better

    try:
        cfg = load_config(args.config, overrides)
        higher_is_better(cfg.log.best_metric)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.freeze and not args.init_from:
        print(f"error: --freeze {' '.join(args.freeze)} needs --init-from CHECKPOINT: freezing freshly "
              "initialized weights would keep them random", file=sys.stderr)
        return 2
    from colorize.checkpoint import CheckpointError
    from colorize.data import DataError
    from colorize.device import DeviceError
    from colorize.training.train import TrainingDiverged, train

    try:
        summary = train(cfg, args.data, args.out, resume=args.resume, init_from=args.init_from,
                        freeze=tuple(args.freeze), cache_dir=args.cache_dir)
    except (TrainingDiverged, DataError, CheckpointError, DeviceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log.info("done: %s", json.dumps(summary))
    return 0
