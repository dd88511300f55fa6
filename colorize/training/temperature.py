"""`python -m colorize temperature CHECKPOINT --data DIR...`: choose how vivid a chroma-unet's
colors are. Its annealed mean (colorize.chroma) sharpens the predicted color distribution by
1 / temperature: 1 is the plain mean (safe, sepia-prone), lower tends to the most likely color
(vivid, riskier). Each candidate is scored on the checkpoint's own validation pictures (the same
data folders it was trained with: the split is by content hash, so it comes out the same) by
val/color_score, and `--write` stores the best one in the card, where the Colorizer reads it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from colorize.checkpoint import CheckpointError, load_generator
from colorize.config import ConfigError, from_dict
from colorize.fileio import atomic_write_text


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint folder of a chroma-unet model")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR[*N]", help="the folders it was trained on")
    p.add_argument("--temps", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.6, 0.8, 1.0])
    p.add_argument("--images", type=int, help="validation pictures to score (default: the config's log.val_images)")
    p.add_argument("--cache-dir", help="image cache (as for train)")
    p.add_argument("--write", action="store_true", help="store the best temperature in the card")


def score_temperatures(G, val, cfg, temps: list[float]) -> list[dict[str, float]]:
    from colorize.training.validation import validate

    rows = []
    for t in temps:
        G.temperature = float(t)
        rows.append({"temperature": float(t), **validate(G, val, cfg, "cpu")})
    return rows


def main(args: argparse.Namespace) -> int:
    from colorize.data import DataError, build_splits
    from colorize.data.cache import DEFAULT_CACHE

    ckpt = Path(args.checkpoint)
    try:
        G, card = load_generator(ckpt)
        cfg = from_dict(card["config"], str(ckpt / "card.json"))
    except (CheckpointError, ConfigError) as exc:
        print(f"error: {exc}")
        return 1
    if not hasattr(G, "temperature"):
        print(f"error: {ckpt}: generator {card['generator']['name']!r} has no temperature (chroma-unet only)")
        return 2
    if args.images:
        cfg.log.val_images = args.images
    try:
        splits = build_splits(args.data, cfg.data, Path(args.cache_dir or DEFAULT_CACHE), cfg.train.seed)
    except DataError as exc:
        print(f"error: {exc}")
        return 1
    if not len(splits.val):
        print("error: no validation pictures in these folders")
        return 1
    rows = score_temperatures(G, splits.val, cfg, args.temps)
    best = min(rows, key=lambda r: r["val/color_score"])
    print(f"{'temperature':>11}  color_score  cbcr_error  colorfulness_ratio  deltaE")
    for r in rows:
        mark = "  <- best" if r is best else ""
        print(f"{r['temperature']:>11.2f}  {r['val/color_score']:>11.3f}  {r['val/cbcr_error']:>10.3f}  "
              f"{r['val/colorfulness_ratio']:>18.3f}  {r['val/deltaE']:>6.2f}{mark}")
    g = rows[0]
    print(f"{'gray':>11}  {g['val/gray_color_score']:>11.3f}  {g['val/gray_cbcr_error']:>10.3f}  {0:>18.3f}  "
          f"{g['val/gray_deltaE']:>6.2f}")
    if args.write:
        card["generator"]["kwargs"]["temperature"] = best["temperature"]
        card["temperature_scores"] = rows
        atomic_write_text(ckpt / "card.json", json.dumps(card, indent=2, default=str) + "\n")
        print(f"wrote temperature {best['temperature']:g} into {ckpt / 'card.json'}")
    return 0
