"""Validation during training: reconstruction loss and image metrics on the validation split,
always on the same deterministic samples."""

from __future__ import annotations

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from colorize.config import Config

HIGHER_IS_BETTER = {"psnr", "ssim", "colorfulness"}


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean PSNR (dB) over a batch of images in [-1, 1], computed on the [0, 1] scale."""
    mse = ((pred.float() - target.float()) / 2).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return (10 * torch.log10(1.0 / mse)).mean()


@torch.no_grad()
def validate(G, dataset, cfg: Config, device, memory_format=torch.contiguous_format) -> dict[str, float]:
    loader = DataLoader(dataset, batch_size=cfg.data.batch_size, shuffle=False, num_workers=cfg.data.workers)
    totals: dict[str, float] = {}
    n = 0
    for i, (inp, target) in enumerate(loader):
        if i >= cfg.log.val_batches:
            break
        inp = inp.to(device).contiguous(memory_format=memory_format)
        target = target.to(device)
        out = G(inp).float()
        k = inp.shape[0]
        batch = {"val/mse": F.mse_loss(out, target).item(), "val/psnr": psnr(out, target).item()}
        for key, value in batch.items():
            totals[key] = totals.get(key, 0.0) + value * k
        n += k
    return {k: v / max(n, 1) for k, v in totals.items()}
