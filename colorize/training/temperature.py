"""`python -m colorize temperature CHECKPOINT --data DIR...`: choose how vivid a color-class model's
colors are, with two knobs of its class distribution (colorize.chroma):
- temperature: the annealed mean sharpens the distribution by 1 / temperature: 1 is the plain
  mean (safe, sepia-prone), lower tends to the most likely color;
- vividness: the distribution is reweighted towards colors the training set shows rarely (the
  most likely color of an unsure model is a muted one, so sharpening alone stays muted).
Each pair is scored on the checkpoint's own validation pictures (the same data folders it was
trained with: the split is by content hash, so it comes out the same) by val/color_score, among
the pairs whose CbCr error is clearly (--margin, 3%) below the gray passthrough's: vivid but
wrong colors must not win. `--write` stores the best pair in the card, where the Colorizer reads it."""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from colorize.checkpoint import CheckpointError, load_generator
from colorize.config import ConfigError, from_dict
from colorize.fileio import atomic_write_text


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint folder of a color-class model (chroma-s2d, chroma-unet)")
    p.add_argument("--data", required=True, nargs="+", metavar="DIR[*N]", help="the folders it was trained on")
    p.add_argument("--temps", type=float, nargs="+", default=[0.4, 0.7, 1.0])
    p.add_argument("--vividness", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75])
    p.add_argument("--margin", type=float, default=MARGIN,
                   help="how much lower than gray's the CbCr error must be (relative; default %(default)s)")
    p.add_argument("--images", type=int, help="validation pictures to score (default: the config's log.val_images)")
    p.add_argument("--cache-dir", help="image cache (as for train)")
    p.add_argument("--write", action="store_true", help="store the best temperature in the card")


def score_settings(G, val, cfg, temps: list[float], vividness: list[float],
                   palettes: list[float] = (0.0,)) -> list[dict[str, float]]:
    from colorize.training.validation import validate

    rows = []
    for p, v, t in itertools.product(palettes, vividness, temps):
        G.temperature, G.vividness, G.palette = float(t), float(v), float(p)
        rows.append({"temperature": float(t), "vividness": float(v), "palette": float(p),
                     **validate(G, val, cfg, "cpu")})
    return rows


MARGIN = 0.03  # how much closer than gray (relative CbCr error) a setting must be to be chosen


def best_setting(rows: list[dict[str, float]], margin: float = MARGIN) -> dict[str, float]:
    """The lowest color_score among the settings clearly closer to the truth than gray (CbCr
    error at least `margin` under gray's: a few dozen validation pictures cannot tell a setting
    0.1 level better than gray from one as bad as gray); the lowest CbCr error when none is."""
    closer = [r for r in rows if r["val/cbcr_error"] < (1 - margin) * r["val/gray_cbcr_error"]]
    if closer:
        return min(closer, key=lambda r: r["val/color_score"])
    return min(rows, key=lambda r: r["val/cbcr_error"])


def print_table(rows: list[dict[str, float]], best: dict[str, float]) -> None:
    print(f"{'temperature':>11}  {'vividness':>9}  color_score  cbcr_error  colorfulness_ratio  deltaE")
    for r in rows:
        mark = "  <- best" if r is best else ""
        print(f"{r['temperature']:>11.2f}  {r['vividness']:>9.2f}  {r['val/color_score']:>11.3f}  "
              f"{r['val/cbcr_error']:>10.3f}  {r['val/colorfulness_ratio']:>18.3f}  {r['val/deltaE']:>6.2f}{mark}")
    g = rows[0]
    print(f"{'gray':>11}  {'':>9}  {g['val/gray_color_score']:>11.3f}  {g['val/gray_cbcr_error']:>10.3f}  "
          f"{0:>18.3f}  {g['val/gray_deltaE']:>6.2f}")


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
        print(f"error: {ckpt}: generator {card['generator']['name']!r} has no temperature (color-class models only: chroma-s2d, chroma-unet)")
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
    if any(args.vividness) and not card.get("chroma_prior"):
        print(f"error: {ckpt}: card has no chroma_prior, so vividness other than 0 cannot be tried")
        return 2
    rows = score_settings(G, splits.val, cfg, args.temps, args.vividness)
    best = best_setting(rows, args.margin)
    print_table(rows, best)
    if best["val/cbcr_error"] >= (1 - args.margin) * best["val/gray_cbcr_error"]:
        print(f"note: no setting is {100 * args.margin:g}% under the gray passthrough's CbCr error; "
              "the closest one is marked")
    if args.write:
        card["generator"]["kwargs"]["temperature"] = best["temperature"]
        card["generator"]["kwargs"]["vividness"] = best["vividness"]
        card["temperature_scores"] = rows
        atomic_write_text(ckpt / "card.json", json.dumps(card, indent=2, default=str) + "\n")
        print(f"wrote temperature {best['temperature']:g} and vividness {best['vividness']:g} "
              f"into {ckpt / 'card.json'}")
    return 0
