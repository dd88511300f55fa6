"""Serve the colorizing web app on this machine only (no share link, no analytics).

    python -m app [--checkpoint DIR] [--host 127.0.0.1] [--port 7860] [--examples DIR] [--allow-training]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from colorize.paths import default_checkpoint

# Before gradio is imported: no usage statistics, no update checks.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m app", description=__doc__.splitlines()[0])
    p.add_argument(
        "--checkpoint", type=Path, default=default_checkpoint(), help="the model shown first"
    )
    p.add_argument(
        "--models",
        type=Path,
        nargs="*",
        default=[Path("checkpoints"), Path("runs")],
        help="folders searched for more checkpoints for the model picker",
    )
    p.add_argument("--examples", type=Path, default=None, help="folder of example images to offer")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to your network)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--size", type=int, default=None, help="working long side in pixels (default: the card's)")
    p.add_argument("--max-pixels", type=int, default=40_000_000, help="larger images are refused")
    p.add_argument("--max-file-size", default="25mb", help="larger uploads are refused (e.g. 25mb)")
    p.add_argument("--characters", type=Path, default=default_checkpoint().parent / "characters",
                   help="folder of character models (one folder each) shown by name with their sample pictures")
    p.add_argument("--allow-training", action="store_true",
                   help="show the New character panel: trains a character model in the background (minutes of CPU)")
    p.add_argument("--character-base", type=Path, default=None,
                   help="the model a new character is fine-tuned from (default: the shipped default model)")
    p.add_argument("--character-steps", type=int, default=None, help="training steps per character (default: the recipe's; 0: the palette alone)")
    p.add_argument("--character-config", type=Path, default=None,
                   help="the training recipe (default: configs/finetune-character.toml)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from colorize.checkpoint import CheckpointError, read_card

    try:
        read_card(args.checkpoint)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for flag, folder in (("--character-base", args.character_base),):
        if folder is not None:
            try:
                read_card(folder)
            except CheckpointError as exc:
                print(f"error: {exc} ({flag})", file=sys.stderr)
                return 2
    if args.character_config is not None and not args.character_config.is_file():
        print(f"error: {args.character_config}: no such file (--character-config)", file=sys.stderr)
        return 2
    if args.character_steps is not None and args.character_steps < 0:
        print(f"error: --character-steps must be 0 (the palette alone) or more, not {args.character_steps}",
              file=sys.stderr)
        return 2
    if args.examples and not args.examples.is_dir():
        print(f"error: {args.examples}: no such folder (--examples)", file=sys.stderr)
        return 2
    from app.ui import Settings, launch

    settings = Settings(
        args.checkpoint,
        args.models,
        args.examples,
        args.device,
        args.size,
        args.max_pixels,
        args.max_file_size,
        allow_training=args.allow_training,
        characters=args.characters,
        character_base=args.character_base,
        character_steps=args.character_steps,
        character_config=args.character_config,
    )
    launch(settings, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
