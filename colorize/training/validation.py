"""Validation during training, on what users get: each validation image, gray, goes through the
Colorizer's steps (reduced to the working size the model will be used at, colored, chroma
upsampled onto the image's own brightness) and is compared with the original.

The figure that picks checkpoints is `color_score` = CbCr error x (1 + |1 - colorfulness ratio|):
the color error alone is won by a gray output (a wrong color costs more than none), so the
colorfulness gap multiplies it. Gray output has ratio 0 and scores twice its CbCr error; a model
must be both close in color and about as colorful as the truth to beat it."""

from __future__ import annotations

import functools

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from colorize.config import Config
from colorize.images import reduce_to_side
from colorize.metrics import cbcr_error, ciede2000, colorfulness, psnr

DEFAULT_VAL_SIDE = 448  # working long side when the config's infer.size is 0


def color_score(cbcr: float, ratio: float) -> float:
    return cbcr * (1.0 + abs(1.0 - ratio))


def working_side(cfg: Config) -> int:
    return cfg.infer.size or DEFAULT_VAL_SIDE


@torch.no_grad()
def colorize_gray(G, gray: Image.Image, side: int, device, memory_format=torch.contiguous_format) -> np.ndarray:
    """RGB uint8 of a gray "L" image, the Colorizer's way without its region step: reduce to the
    working long side, run, upsample the chroma onto the full-size brightness."""
    small = reduce_to_side(gray, side)
    x = torch.from_numpy(np.asarray(small, np.float32) / 127.5 - 1)[None, None]
    m = int(getattr(G, "multiple", 1))
    sh, sw = x.shape[-2:]
    x = F.pad(x, (0, -sw % m, 0, -sh % m), mode="replicate")
    y = G(x.to(device).contiguous(memory_format=memory_format)).float().cpu()[..., :sh, :sw]
    rgb = ((y[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    _, cb, cr = Image.fromarray(rgb).convert("YCbCr").split()
    planes = [gray] + [c.resize(gray.size, Image.Resampling.BILINEAR) for c in (cb, cr)]
    return np.asarray(Image.merge("YCbCr", planes).convert("RGB"))


@functools.lru_cache(maxsize=4096)
def target_figures(entry, cache_side: int) -> tuple[float, float, float]:
    """What does not depend on the model, computed once per picture for the whole run: the
    target's colorfulness and the gray passthrough's CbCr error and CIEDE2000."""
    from colorize.data.cache import read_cached

    target = read_cached(entry, cache_side)
    gray_rgb = np.asarray(Image.fromarray(target).convert("L").convert("RGB"))
    return colorfulness(target), cbcr_error(gray_rgb, target), ciede2000(gray_rgb, target)


@torch.no_grad()
def validate(G, dataset, cfg: Config, device, memory_format=torch.contiguous_format) -> dict[str, float]:
    """Means over the first log.val_images validation images (whole cached pictures, gray input),
    with the gray passthrough's figures beside them."""
    from colorize.data.cache import read_cached

    side = working_side(cfg)
    rows = []
    for entry in dataset.entries[: cfg.log.val_images]:
        target = read_cached(entry, dataset.side)
        out = colorize_gray(G, Image.fromarray(target).convert("L"), side, device, memory_format)
        col_t, gray_cbcr, gray_de = target_figures(entry, dataset.side)
        rows.append((cbcr_error(out, target), colorfulness(out), col_t, ciede2000(out, target),
                     gray_cbcr, gray_de, psnr(out, target)))
    if not rows:
        return {}
    cbcr, col, col_t, de, gray_cbcr, gray_de, psnr_db = np.mean(np.array(rows), axis=0)
    ratio = col / max(col_t, 1e-6)
    figures = {"val/color_score": color_score(cbcr, ratio), "val/cbcr_error": cbcr, "val/colorfulness_ratio": ratio,
               "val/deltaE": de, "val/gray_color_score": color_score(gray_cbcr, 0.0),
               "val/gray_cbcr_error": gray_cbcr, "val/gray_deltaE": gray_de, "val/psnr": psnr_db}
    return {k: float(v) for k, v in figures.items()}
