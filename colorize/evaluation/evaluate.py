"""`python -m colorize eval`: score a checkpoint on held-out color images.

Each color image becomes a model input (its gray luminance, or synthetic line art from the
training pipeline's XDoG extractor with a fixed per-file seed), goes through the Colorizer exactly
as a user's image would, and the result is compared with the original: PSNR and SSIM on RGB,
mean CIEDE2000, mean CbCr error (brightness-blind), colorfulness of output and target (and
their ratio), and line preservation (SSIM of the output's
luminance against the input). The same figures for the "gray passthrough" baseline (the input
itself, as RGB) say how much the model adds. Writes metrics.json and an error-analysis page
(index.html) of the worst and best images by CIEDE2000: input | output | target."""

from __future__ import annotations

import argparse
import html
import io
import json
import logging
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from colorize.fileio import atomic_write_bytes, atomic_write_text

log = logging.getLogger("colorize.eval")

SHOWN = ("deltaE", "cbcr_error", "psnr", "ssim", "line_ssim", "colorfulness", "colorfulness_target")
THUMB_HEIGHT = 192


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (card.json + generator.safetensors)")
    p.add_argument("--images", required=True, help="folder of held-out color images (read recursively)")
    p.add_argument("--out", help="report folder (default runs/eval/<checkpoint name>-<mode>)")
    p.add_argument("--mode", choices=["gray", "lineart"], default="gray",
                   help="model input made from each image: its luminance, or XDoG line art")
    p.add_argument("--max-side", type=int, default=512,
                   help="scale images down to this long side before scoring (0 = full size)")
    p.add_argument("--size", type=int, help="the Colorizer's working size (default: from the card)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=0, help="line-art synthesis seed")
    p.add_argument("--limit", type=int, help="only the first N images (in name order), for quick runs")
    p.add_argument("-k", "--show", type=int, default=8, help="worst and best images on the page")
    p.add_argument("--update-card", action="store_true", help="store the mean figures in the checkpoint's card")


def make_input(rgb: np.ndarray, mode: str, seed: int, name: str) -> Image.Image:
    """The 1-channel model input ("L") for one color image. Line art gets its own seed from the file
    name, so adding or removing files never changes another file's input."""
    gray = Image.fromarray(rgb).convert("L")  # BT.601 luma, as the Colorizer computes it
    if mode == "gray":
        return gray
    from colorize.evaluation.eval_lineart import luminance, xdog  # frozen: training's synthesis moves on

    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    lines = xdog(luminance(rgb), rng)
    return Image.fromarray((lines * 255 + 0.5).astype(np.uint8))


def shrink(image: Image.Image, max_side: int) -> Image.Image:
    if max_side and max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def strip(images: list[Image.Image], height: int = THUMB_HEIGHT) -> Image.Image:
    """Images side by side at one height, 4 px white gaps."""
    scaled = [im.convert("RGB").resize((max(1, round(im.width * height / im.height)), height),
                                       Image.Resampling.LANCZOS) for im in images]
    out = Image.new("RGB", (sum(im.width for im in scaled) + 4 * (len(scaled) - 1), height), "white")
    x = 0
    for im in scaled:
        out.paste(im, (x, 0))
        x += im.width + 4
    return out


def score_image(colorizer, path: Path, root: Path, mode: str, max_side: int, seed: int) -> dict[str, Any]:
    """Metrics of the model and of the gray baseline for one image, plus its thumbnail strip."""
    from colorize.images import load_rgb
    from colorize.metrics import cbcr_error, compute_metrics

    target_im = shrink(load_rgb(path), max_side)
    target = np.asarray(target_im)
    name = path.relative_to(root).as_posix()
    inp = make_input(target, mode, seed, name)
    output = np.asarray(colorizer.colorize(inp).convert("RGB"))
    inp_arr = np.asarray(inp)
    baseline = np.repeat(inp_arr[..., None], 3, axis=2)
    return {
        "file": name,
        "size": list(target_im.size),
        "model": {**compute_metrics(output, target, inp_arr), "cbcr_error": cbcr_error(output, target)},
        "baseline": {**compute_metrics(baseline, target, inp_arr), "cbcr_error": cbcr_error(baseline, target)},
        "strip": strip([inp, Image.fromarray(output), target_im]),
        "images": (inp, Image.fromarray(output), target_im),  # for `quality` sheets
    }


def mean_metrics(rows: list[dict], who: str) -> dict[str, float]:
    keys = rows[0][who].keys() if rows else []
    means = {k: float(np.mean([r[who][k] for r in rows])) for k in keys}
    if means.get("colorfulness_target"):
        # a ratio of means: one near-gray target would make a mean of per-image ratios explode
        means["colorfulness_ratio"] = means["colorfulness"] / means["colorfulness_target"]
    return means


def beats(rows: list[dict]) -> dict[str, int]:
    """On how many images the model does better than the gray passthrough, per metric."""
    from colorize.metrics import higher_is_better

    out = {}
    for key in ("deltaE", "cbcr_error", "psnr", "ssim", "colorfulness_gap"):
        sign = 1 if higher_is_better(key) else -1
        out[key] = sum(sign * (r["model"][key] - r["baseline"][key]) > 0 for r in rows)
    return out


def table(means: dict[str, dict[str, float]]) -> str:
    lines = [f"{'metric':<22}{'model':>10}{'gray baseline':>16}"]
    better = {"deltaE": "lower", "cbcr_error": "lower", "psnr": "higher", "ssim": "higher",
              "line_ssim": "higher", "colorfulness_gap": "lower", "colorfulness_ratio": "1 is the target's"}
    for k in (*SHOWN, "colorfulness_gap", "colorfulness_ratio"):
        if k in means["model"]:
            note = f"  ({better[k]} is better)" if k in better else ""
            lines.append(f"{k:<22}{means['model'][k]:>10.3f}{means['baseline'][k]:>16.3f}{note}")
    return "\n".join(lines)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def write_page(out: Path, result: dict, rows: list[dict], k: int) -> Path:
    """index.html with the worst and best k images by CIEDE2000; thumbnails in thumbs/."""
    ranked = sorted(rows, key=lambda r: r["model"]["deltaE"], reverse=True)
    worst, best = ranked[:k], ranked[::-1][:k]
    shown = {id(r) for r in worst + best}
    for i, r in enumerate(ranked):
        if id(r) in shown:
            r["thumb"] = f"thumbs/{i:04d}.png"
            atomic_write_bytes(out / r["thumb"], _png(r["strip"]))

    def section(title: str, items: list[dict]) -> str:
        cells = []
        for r in items:
            m, b = r["model"], r["baseline"]
            figures = " &middot; ".join(f"{key} {m[key]:.3g} <span class=b>({b[key]:.3g})</span>"
                                        for key in SHOWN if key in m)
            cells.append(f'<figure><img src="{html.escape(r["thumb"])}" alt="{html.escape(r["file"])}">'
                         f"<figcaption><b>{html.escape(r['file'])}</b><br>{figures}</figcaption></figure>")
        return f"<h2>{title}</h2>\n" + "\n".join(cells)

    means = result["mean"]
    rows_html = "".join(
        f"<tr><td>{key}</td><td>{means['model'][key]:.3f}</td><td>{means['baseline'][key]:.3f}</td></tr>"
        for key in (*SHOWN, "colorfulness_gap", "colorfulness_ratio") if key in means["model"])
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>eval: {html.escape(result['checkpoint'])}</title>
<style>body{{font-family:sans-serif;margin:1.5em}} figure{{margin:0 0 1.2em 0}} img{{max-width:100%}}
figcaption{{font-size:13px}} .b{{color:#888}} table{{border-collapse:collapse}} td,th{{padding:2px 10px;border-bottom:1px solid #ddd}}</style>
</head><body>
<h1>Error analysis: {html.escape(result['checkpoint'])}</h1>
<p>{result['count']} images from {html.escape(result['images'])}, input mode <b>{result['mode']}</b>,
long side {result['max_side'] or 'full size'}; checkpoint step {result.get('step')}.
Each row: input | model output | target. Figures: model <span class=b>(gray-passthrough baseline)</span>.</p>
<table><tr><th>metric (mean)</th><th>model</th><th>gray baseline</th></tr>{rows_html}</table>
{section(f"Worst {len(worst)} by CIEDE2000", worst)}
{section(f"Best {len(best)} by CIEDE2000", best)}
</body></html>
"""
    path = out / "index.html"
    atomic_write_text(path, page)
    return path


def evaluate(checkpoint: str | Path, images: str | Path, mode: str = "gray", max_side: int = 512,
             size: int | None = None, device: str = "auto", seed: int = 0, colorizer=None,
             limit: int | None = None) -> tuple[dict, list[dict]]:
    """(result for metrics.json, per-image rows with thumbnails). Unreadable images are skipped with
    a one-line warning each. `colorizer`: an already built Colorizer (with its own options) to use
    instead of a default one; `limit`: only the first N images in name order."""
    from tqdm import tqdm

    from colorize.images import ImageLoadError, list_images
    from colorize.inference.colorizer import Colorizer

    images = Path(images)
    if not images.is_dir():
        raise FileNotFoundError(f"{images}: no such folder")
    paths = list_images(images)[:limit]
    if not paths:
        raise FileNotFoundError(f"{images}: no images")
    if colorizer is None:
        colorizer = Colorizer(checkpoint, device=device, size=size)
    rows, skipped = [], []
    t0 = time.perf_counter()
    for path in tqdm(paths, desc="eval", unit="img", file=sys.stderr, disable=None):
        try:
            rows.append(score_image(colorizer, path, images, mode, max_side, seed))
        except ImageLoadError as exc:
            log.warning("skipping %s", exc)
            skipped.append({"file": path.relative_to(images).as_posix(), "reason": str(exc)})
    if not rows:
        raise FileNotFoundError(f"{images}: none of the {len(paths)} images could be read")
    result = {
        "checkpoint": str(checkpoint),
        "step": colorizer.card.get("step"),
        "images": str(images),
        "mode": mode,
        "max_side": max_side,
        "working_size": colorizer.size,
        "seed": seed,
        "count": len(rows),
        "seconds": round(time.perf_counter() - t0, 1),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "mean": {"model": mean_metrics(rows, "model"), "baseline": mean_metrics(rows, "baseline")},
        "model_beats_baseline": beats(rows),
        "model_beats_baseline_share": {k: v / len(rows) for k, v in beats(rows).items()},
        "per_image": [{k: r[k] for k in ("file", "size", "model", "baseline")} for r in rows],
        "skipped": skipped,
    }
    return result, rows


def main(args: argparse.Namespace) -> int:
    from colorize.checkpoint import CheckpointError, read_card, update_card

    try:
        result, rows = evaluate(args.checkpoint, args.images, args.mode, args.max_side, args.size,
                                args.device, args.seed, limit=args.limit)
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out or Path("runs") / "eval" / f"{Path(args.checkpoint).resolve().name}-{args.mode}")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(result, indent=2) + "\n")
    page = write_page(out, result, rows, args.show)
    print(f"{result['count']} images, mode {args.mode}, checkpoint {args.checkpoint} (step {result['step']})")
    print(table(result["mean"]))
    wins = result["model_beats_baseline"]
    print("model better than gray on " + ", ".join(f"{k} {v}/{result['count']}" for k, v in wins.items()) + " images")
    print(f"metrics: {out / 'metrics.json'}\npage:    {page}")
    if args.update_card:
        card = read_card(args.checkpoint)
        evals = dict(card.get("eval") or {})
        evals[args.mode] = {k: result[k] for k in ("images", "count", "max_side", "working_size", "seed", "created")}
        evals[args.mode].update(model=result["mean"]["model"], baseline=result["mean"]["baseline"],
                                model_beats_baseline_share=result["model_beats_baseline_share"])
        update_card(Path(args.checkpoint), eval=evals)
        print(f"card:    {Path(args.checkpoint) / 'card.json'} (eval.{args.mode})")
    return 0
