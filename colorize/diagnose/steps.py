"""One training step as the trainer does it (discriminator step, then generator step), written out
here so the checks control the learning rate, regularization and the loss themselves."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from colorize.config import LossConfig
from colorize.losses import d_loss, g_adv_loss

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def adam(model: nn.Module | None, lr: float, betas=(0.5, 0.999), weight_decay: float = 0.0):
    if model is None:
        return None
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, betas=tuple(betas),
                            weight_decay=weight_decay)


def gan_step(G: nn.Module, D: nn.Module | None, opt_g, opt_d, loss_cfg: LossConfig, recon_loss: LossFn,
             inp: torch.Tensor, target: torch.Tensor, before_g_step: Callable[[], None] | None = None,
             ) -> dict[str, float]:
    """D step (when D is given), then G step on recon_loss (+ lambda_gan x adversarial loss).
    `before_g_step` runs after G's backward, before its update (to snapshot weights or read grads)."""
    fake = G(inp)
    logs: dict[str, float] = {}
    if D is not None:
        loss_d = d_loss(loss_cfg.gan, D(inp, target).float(), D(inp, fake.detach()).float())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        logs["d_loss"] = float(loss_d.detach())
    recon = recon_loss(fake, target)
    total = recon
    if D is not None:
        D.requires_grad_(False)
        adv = g_adv_loss(loss_cfg.gan, D(inp, fake).float())
        D.requires_grad_(True)
        total = recon + loss_cfg.lambda_gan * adv
        logs["g_adv"] = float(adv.detach())
    opt_g.zero_grad(set_to_none=True)
    total.backward()
    if before_g_step is not None:
        before_g_step()
    opt_g.step()
    logs["recon"] = float(recon.detach())
    logs["g_total"] = float(total.detach())
    with torch.no_grad():
        logs["mse"] = float(torch.mean((fake.detach().float() - target.float()) ** 2))
    return logs
