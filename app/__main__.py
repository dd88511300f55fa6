"""Serve the colorizing web app on this machine only (no share link, no analytics).

    python -m app [--checkpoint DIR] [--host 127.0.0.1] [--port 7860] [--examples DIR]
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
    )
    launch(settings, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
