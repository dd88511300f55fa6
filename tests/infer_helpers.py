"""Shared by the Colorizer, batch and app tests: a tiny untrained checkpoint and line art drawn
here (the tests never depend on the trained default model or on ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from colorize.checkpoint import save_checkpoint
from colorize.config import Config
from colorize.models import build_generator

TINY = {"base": 8, "depth": 2}


def tiny_card(kwargs: dict | None = None, step: int = 0, metrics: dict | None = None) -> dict:
    return {
        "step": step,
        "generator": {"name": "unet", "kwargs": dict(kwargs or TINY)},
        "discriminator": {"name": "patchgan", "kwargs": {"base": 8}},
        "config": Config().to_dict(),
        "metrics": dict(metrics or {}),
    }


def make_checkpoint(folder: Path, step: int = 0, metrics: dict | None = None, seed: int = 0) -> Path:
    """An untrained tiny U-Net: it still outputs some color, which is all these tests need."""
    import torch

    torch.manual_seed(seed)
    return save_checkpoint(Path(folder), tiny_card(step=step, metrics=metrics), build_generator("unet", TINY))


def make_chroma_checkpoint(folder: Path, vividness: float = 0.5, seed: int = 0) -> Path:
    """An untrained tiny chroma-unet with a color prior in its card (gray and the bluish half
    common, the reddish half rare), so its vividness setting has something to lean on: an
    untrained model's colors average out to gray, vividness leans them towards red."""
    import torch

    from colorize.chroma import class_centers

    torch.manual_seed(seed)
    kwargs = {"base": 8, "depth": 2, "vividness": vividness}
    centers = class_centers()
    prior = torch.where(centers[:, 1] > 0, 1e-4, 1e-2)  # Cr > 0: rare
    prior[int(centers.norm(dim=1).argmin())] = 0.5
    card = {**tiny_card(kwargs), "generator": {"name": "chroma-unet", "kwargs": kwargs},
            "chroma_prior": (prior / prior.sum()).tolist()}
    return save_checkpoint(Path(folder), card, build_generator("chroma-unet", kwargs))


def line_art(width: int = 240, height: int = 320, seed: int = 0) -> Image.Image:
    """Black 1- and 3-pixel lines and a few gray fills on white paper, mode "L"."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        r = int(rng.integers(5, max(6, min(width, height) // 3)))
        draw.ellipse(
            (x0 - r, y0 - r, x0 + r, y0 + r),
            fill=int(rng.integers(150, 240)),
            outline=0,
            width=int(rng.choice([1, 3])),
        )
    for _ in range(8):
        pts = [tuple(int(v) for v in rng.integers(0, (width, height))) for _ in range(2)]
        draw.line(pts, fill=0, width=int(rng.choice([1, 2])))
    return im


def color_page(width: int = 240, height: int = 320, seed: int = 0) -> Image.Image:
    """A full-color picture: saturated blocks of many hues."""
    rng = np.random.default_rng(seed)
    hue = np.linspace(0, 255, width)[None].repeat(height, 0)
    planes = [hue, np.full_like(hue, 200), rng.uniform(150, 255, (height, width))]
    return Image.merge("HSV", [Image.fromarray(p.astype(np.uint8)) for p in planes]).convert("RGB")


def mean_chroma(image: Image.Image) -> float:
    """Mean distance of Cb, Cr from neutral, in 8-bit levels: 0 for any gray image."""
    ycc = np.asarray(image.convert("RGB").convert("YCbCr"), dtype=np.int16)[..., 1:]
    return float(np.abs(ycc - 128).mean())


S2D_TINY = {"hint_ch": 4, "base": 8, "depth": 1, "max_ch": 16, "blocks": [1]}


def make_hint_checkpoint(folder: Path, seed: int = 0) -> Path:
    """An untrained tiny chroma-s2d that takes color hints."""
    import torch

    torch.manual_seed(seed)
    card = {**tiny_card(S2D_TINY), "generator": {"name": "chroma-s2d", "kwargs": dict(S2D_TINY)}}
    return save_checkpoint(Path(folder), card, build_generator("chroma-s2d", S2D_TINY))


def two_boxes(width: int = 320, height: int = 200) -> Image.Image:
    """Line art of two closed boxes side by side (black 3 px outlines on white), mode "L"."""
    im = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(im)
    draw.rectangle((20, 30, width // 2 - 10, height - 30), outline=0, width=3)
    draw.rectangle((width // 2 + 10, 30, width - 20, height - 30), outline=0, width=3)
    return im


def box_interiors(width: int = 320, height: int = 200) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """(rows, cols) well inside the left and the right box of two_boxes."""
    rows = slice(45, height - 45)
    return (rows, slice(35, width // 2 - 25)), (rows, slice(width // 2 + 25, width - 35))
