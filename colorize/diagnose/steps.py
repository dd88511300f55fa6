"""Training steps for the checks. By default the trainer's own GanStep runs (discriminator update,
then generator update), so the checks exercise the code a long run will execute. A check given a
custom reconstruction loss (tests inject broken ones) runs the same sequence written out here."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from colorize.config import LossConfig
from colorize.gan_step import GanStep, TrainingDiverged
from colorize.losses import d_loss, g_adv_loss, generator_loss
from colorize.monitor import record_activations, snapshot, update_ratios

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
              recon_loss: LossFn | None = None) -> StepFn:
    """step(inp, target, health=False) -> (logs, generator pre-activations, update ratios).
    logs: recon, g_total, (d_loss, g_adv with a discriminator), mse; NaN when the step diverged."""
    if recon_loss is None and (D is not None or loss_cfg.objective != "rgb"):
        return _trainer_step(G, D, opt_g, opt_d, loss_cfg)
    return _own_step(G, D, opt_g, opt_d, loss_cfg, recon_loss or default_recon(loss_cfg))


def _trainer_step(G, D, opt_g, opt_d, loss_cfg: LossConfig) -> StepFn:
    stepper = GanStep(G, D, opt_g, opt_d, loss_cfg)
    count = [0]

    def step(inp, target, health: bool = False):
        count[0] += 1
        try:
            result = stepper(inp, target, count[0], health=health)
        except TrainingDiverged:
            return {"recon": math.nan, "g_total": math.nan, "mse": math.nan}, {}, {}
        lg = {k: float(v.detach()) for k, v in result.logs.items()}
        recon = lg["loss/g_total"] - loss_cfg.lambda_gan * lg.get("loss/g_adv", 0.0)
        logs = {"recon": recon, "g_total": lg["loss/g_total"], "mse": lg["loss/g_mse"]}
        if "loss/d" in lg:
            logs["d_loss"] = lg["loss/d"]
        if "loss/g_adv" in lg:
            logs["g_adv"] = lg["loss/g_adv"]
        return logs, dict(result.activations), result.update_ratios

    return step


def _own_step(G, D, opt_g, opt_d, loss_cfg: LossConfig, recon_loss: LossFn) -> StepFn:
    use_gan = D is not None and loss_cfg.lambda_gan > 0

    def step(inp, target, health: bool = False):
        logs: dict[str, float] = {}
        with record_activations(G) if health else _nothing() as acts:
            fake = G(inp)
        if use_gan:
            loss_d = d_loss(loss_cfg.gan, D(inp, target).float(), D(inp, fake.detach()).float())
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            logs["d_loss"] = float(loss_d.detach())
        recon = recon_loss(fake, target)
        total = recon
        if use_gan:
            D.requires_grad_(False)
            adv = g_adv_loss(loss_cfg.gan, D(inp, fake).float())
            D.requires_grad_(True)
            total = recon + loss_cfg.lambda_gan * adv
            logs["g_adv"] = float(adv.detach())
        opt_g.zero_grad(set_to_none=True)
        total.backward()
        before = snapshot(G) if health else None
        opt_g.step()
        logs["recon"] = float(recon.detach())
        logs["g_total"] = float(total.detach())
        logs["mse"] = float(torch.mean((fake.detach().float() - target.float()) ** 2))
        return logs, dict(acts), update_ratios(G, before) if health else {}

    return step


class _nothing:
    def __enter__(self):
        return {}

    def __exit__(self, *exc):
        return False
