"""`python -m colorize <command>`: each command lives in its own module exposing
`add_arguments(parser)` and `main(args) -> int`; modules are imported only when used."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

TRAINING_COMMANDS = {"train", "character", "sweep", "diagnose"}  # long runs of training steps on the CPU

COMMANDS = {
    "train": ("colorize.training.train_cli", "train a colorization GAN"),
    "checkpoints": ("colorize.checkpoints_cli", "list the checkpoints of a run"),
    "batch": ("colorize.inference.batch", "colorize a folder of images"),
    "eval": ("colorize.evaluation.evaluate", "score a checkpoint on held-out color images"),
    "quality": ("colorize.evaluation.quality", "held-out and real-input quality figures and side-by-side sheets"),
    "diagnose": ("colorize.diagnose", "pre-flight checks before a long run"),
    "temperature": ("colorize.training.temperature", "choose how vivid a color-class model's colors are (temperature, vividness)"),
    "sweep": ("colorize.training.sweep", "short seeded runs over a hyper-parameter grid"),
    "character": ("colorize.character.cli", "fine-tune the default model on one character's pictures"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m colorize", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    if wanted in TRAINING_COMMANDS:
        # Before torch loads OpenMP: waiting threads sleep instead of spinning. Beside one busy
        # process the default recipe made 3.8 images/s so, 1.36 spinning (bench/train_shared.py).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == wanted:  # only the chosen command's module is imported
            importlib.import_module(module).add_arguments(p)
    args, _ = parser.parse_known_args(argv) if wanted is None else (parser.parse_args(argv), None)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    return int(importlib.import_module(COMMANDS[args.command][0]).main(args) or 0)
