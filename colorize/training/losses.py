"""Adversarial loss (vanilla, LSGAN or hinge) plus the reconstruction terms the generator is mostly
trained by: MSE on RGB (objective "rgb"), or, for objective "chroma_classes", a rebalanced
classification over quantized chroma with MSE on chroma and on coarse brightness."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from colorize.chroma import classification_loss, rgb_to_ycc
from colorize.config import LossConfig

OBJECTIVES = ("rgb", "chroma_classes")


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


def reconstruction(cfg: LossConfig, fake: torch.Tensor, target: torch.Tensor,
                   extras: tuple | None = None, class_weights: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The generator's loss without its adversarial term. `extras` = (class logits, luma) at half
    resolution from a chroma-unet or chroma-s2d (objective chroma_classes). "g_mse" is always the MSE the
    objective promises: RGB for "rgb", chroma for "chroma_classes"."""
    fake, target = fake.float(), target.float()
    if cfg.objective == "rgb":
        mse = F.mse_loss(fake, target)
        total, parts = cfg.lambda_mse * mse, {"g_mse": mse}
        if cfg.lambda_l1:
            l1 = F.l1_loss(fake, target)
            total = total + cfg.lambda_l1 * l1
            parts["g_l1"] = l1
        return total, parts
    if cfg.objective != "chroma_classes":
        raise ValueError(f"unknown loss.objective {cfg.objective!r} ({', '.join(OBJECTIVES)})")
    ycc = rgb_to_ycc(target)
    if extras is None:
        # Only the image (checks that call G(x) as the Colorizer does): its MSE parts, no classes.
        fake_ycc = rgb_to_ycc(fake)
        mse, luma_mse = F.mse_loss(fake_ycc[:, 1:], ycc[:, 1:]), F.mse_loss(fake_ycc[:, :1], ycc[:, :1])
        return cfg.lambda_mse * mse + cfg.lambda_luma * luma_mse, {"g_mse": mse, "g_luma": luma_mse}
    logits, luma = extras
    # The classes and luma come at a fraction of the image's resolution (1/2 for chroma-unet, 1/4
    # for chroma-s2d): the target is averaged down to theirs.
    coarse = F.adaptive_avg_pool2d(ycc, logits.shape[-2:])
    ce = classification_loss(logits, coarse[:, 1:], class_weights)
    mse = F.mse_loss(rgb_to_ycc(fake)[:, 1:], ycc[:, 1:])
    luma_mse = F.mse_loss(luma.float(), F.adaptive_avg_pool2d(ycc[:, :1], luma.shape[-2:]))
    total = cfg.lambda_ce * ce + cfg.lambda_mse * mse + cfg.lambda_luma * luma_mse
    return total, {"g_ce": ce, "g_mse": mse, "g_luma": luma_mse}


def generator_loss(
    cfg: LossConfig, fake_logits: torch.Tensor | None, fake: torch.Tensor, target: torch.Tensor,
    extras: tuple | None = None, class_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total generator loss and its parts (detached, for logging)."""
    total, parts = reconstruction(cfg, fake, target, extras, class_weights)
    if fake_logits is not None and cfg.lambda_gan:
        adv = g_adv_loss(cfg.gan, fake_logits.float())
        total = total + cfg.lambda_gan * adv
        parts["g_adv"] = adv
    parts["g_total"] = total
    return total, {k: v.detach() for k, v in parts.items()}
