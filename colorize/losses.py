"""Adversarial loss (vanilla, LSGAN or hinge) plus the MSE reconstruction term the generator is
mostly trained by; an optional L1 term sharpens colors."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from colorize.config import LossConfig


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    if kind == "vanilla":
        return 0.5 * (
            F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        )
    if kind == "lsgan":
        return 0.5 * (F.mse_loss(real_logits, torch.ones_like(real_logits)) + F.mse_loss(fake_logits, torch.zeros_like(fake_logits)))
    if kind == "hinge":
        return 0.5 * (F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean())
    raise ValueError(f"unknown GAN loss {kind!r} (vanilla, lsgan, hinge)")


def g_adv_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    if kind == "vanilla":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    if kind == "lsgan":
        return F.mse_loss(fake_logits, torch.ones_like(fake_logits))
    if kind == "hinge":
        return -fake_logits.mean()
    raise ValueError(f"unknown GAN loss {kind!r} (vanilla, lsgan, hinge)")


def generator_loss(
    cfg: LossConfig, fake_logits: torch.Tensor | None, fake: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total generator loss and its parts (detached, for logging)."""
    mse = F.mse_loss(fake.float(), target.float())
    total = cfg.lambda_mse * mse
    parts = {"g_mse": mse}
    if cfg.lambda_l1:
        l1 = F.l1_loss(fake.float(), target.float())
        total = total + cfg.lambda_l1 * l1
        parts["g_l1"] = l1
    if fake_logits is not None and cfg.lambda_gan:
        adv = g_adv_loss(cfg.gan, fake_logits.float())
        total = total + cfg.lambda_gan * adv
        parts["g_adv"] = adv
    parts["g_total"] = total
    return total, {k: v.detach() for k, v in parts.items()}
