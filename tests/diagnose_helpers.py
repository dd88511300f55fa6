"""Tiny models and synthetic batches for the diagnose tests: smooth random color images (a few
blobs of color, so there is something to learn) with their luminance as the input."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from colorize.chroma import LUMA as BT601_LUMA
from colorize.config import Config
from colorize.diagnose.setup import Setup
from colorize.models import build_generator

LUMA = torch.tensor(BT601_LUMA).view(1, 3, 1, 1)


def tiny_config(**train) -> Config:
    cfg = Config()
    cfg.data.size, cfg.data.batch_size = 32, 4
    cfg.model.generator_kwargs = {"base": 8, "depth": 2}
    cfg.model.discriminator_kwargs = {"base": 8, "layers": 2}
    cfg.train.lr_g = cfg.train.lr_d = 1e-3
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def color_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """[n, 3, size, size] in [-1, 1]: 4x4 random colors, smoothly upsampled."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g) * 2 - 1
    return F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1)


def batch_of(target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return (target * LUMA).sum(1, keepdim=True), target


def synthetic_batches(n: int, batch: int = 4, size: int = 32, seed: int = 0) -> list:
    return [batch_of(color_images(batch, size, seed * 1000 + k)) for k in range(n)]


def tiny_setup(cfg: Config | None = None, **fields) -> Setup:
    cfg = cfg or tiny_config()
    fields.setdefault("batches", lambda n: synthetic_batches(n))
    return Setup(cfg, **fields)


def tiny_unet(**kwargs):
    torch.manual_seed(0)
    return build_generator("unet", {"base": 8, "depth": 2, **kwargs})


def write_color_pngs(folder, n: int = 12, side: int = 48) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    imgs = color_images(n, side, seed=7)
    for i, t in enumerate(imgs):
        arr = ((t.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
        Image.fromarray(arr).save(folder / f"img{i:02d}.png")
