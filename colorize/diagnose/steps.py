"""Training steps for the checks: always the trainer's own GanStep (discriminator update, then
generator update, with the run's precision and gradient clipping), so the checks exercise the
code a long run will execute. A check given a custom reconstruction loss (tests inject broken
ones) passes it to the same GanStep."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from colorize.config import LossConfig
from colorize.training.gan_step import GanStep, TrainingDiverged
from colorize.training.losses import generator_loss

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepFn = Callable[..., tuple[dict[str, float], dict[str, torch.Tensor], dict[str, float]]]


def default_recon(loss_cfg: LossConfig) -> LossFn:
    """The generator's loss without its adversarial term. Takes what `forward` returns: the image,
    or (image, class logits, luma) for the chroma_classes objective."""

    def loss(out, target):
        fake, extras = (out[0], out[1:]) if isinstance(out, tuple) else (out, None)
        return generator_loss(loss_cfg, None, fake, target, extras)[0]

    return loss


def forward(G: nn.Module, inp: torch.Tensor, loss_cfg: LossConfig):
    """The generator's output as its loss needs it (see default_recon)."""
    return G(inp, return_logits=True) if loss_cfg.objective == "chroma_classes" else G(inp)


def image(out) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out


def adam(model: nn.Module | None, lr: float, betas=(0.5, 0.999), weight_decay: float = 0.0):
    if model is None:
        return None
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, betas=tuple(betas),
                            weight_decay=weight_decay)


def make_step(G: nn.Module, D: nn.Module | None, opt_g, opt_d, loss_cfg: LossConfig,
              recon_loss: LossFn | None = None, *, bf16: bool = False, grad_clip: float = 0.0) -> StepFn:
    """step(inp, target, health=False) -> (logs, generator pre-activations, update ratios).
    logs: recon, g_total, (d_loss, g_adv with a discriminator), mse; NaN when the step diverged."""
    device_type = next(G.parameters()).device.type
    stepper = GanStep(G, D, opt_g, opt_d, loss_cfg, bf16=bf16, device_type=device_type, grad_clip=grad_clip,
                      recon_loss=recon_loss)
    count = [0]

    def step(inp, target, health: bool = False):
        count[0] += 1
        try:
            result = stepper(inp, target, count[0], health=health)
        except TrainingDiverged:
            return {"recon": math.nan, "g_total": math.nan, "mse": math.nan}, {}, {}
        lg = {k: float(v.detach()) for k, v in result.logs.items()}
        recon = lg.get("loss/g_recon", lg["loss/g_total"] - loss_cfg.lambda_gan * lg.get("loss/g_adv", 0.0))
        logs = {"recon": recon, "g_total": lg["loss/g_total"], "mse": lg["loss/g_mse"]}
        if "loss/d" in lg:
            logs["d_loss"] = lg["loss/d"]
        if "loss/g_adv" in lg:
            logs["g_adv"] = lg["loss/g_adv"]
        return logs, dict(result.activations), result.update_ratios

    return step
