"""One GAN training step (discriminator update, then generator update), shared by the trainer
and the training benchmark so both time and run exactly the same work."""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from colorize.config import LossConfig
from colorize.losses import d_loss, generator_loss
from colorize.monitor import record_activations, snapshot, update_ratios


class TrainingDiverged(RuntimeError):
    """A non-finite loss: the run stops before the bad update, the last checkpoint stays intact."""


def check_finite(step: int, parts: dict[str, torch.Tensor]) -> None:
    for name, value in parts.items():
        if not math.isfinite(float(value.detach())):
            raise TrainingDiverged(
                f"step {step}: loss {name} is {float(value)}; stopped before updating, "
                "the last checkpoint is intact (lower the learning rate or enable train.grad_clip)"
            )


def grad_norm(params, clip: float) -> torch.Tensor:
    """Total gradient norm; clips to `clip` when it is positive."""
    params = [p for p in params if p.grad is not None]
    if not params:
        return torch.zeros(())
    return torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))


@dataclass
class StepResult:
    logs: dict[str, torch.Tensor]
    activations: dict[str, torch.Tensor]  # generator pre-activations, when health was asked for
    update_ratios: dict[str, float]


class GanStep:
    """`G_run` / `D_run` may be wrapped (DDP, torch.compile); `G` / `D` are the plain modules.
    The generator's update goes through the plain D: no gradient all-reduce for D there."""

    def __init__(self, G: nn.Module, D: nn.Module, opt_g, opt_d, loss: LossConfig, *, G_run=None, D_run=None,
                 amp: bool = False, device_type: str = "cpu", grad_clip: float = 0.0):
        self.G, self.D, self.opt_g, self.opt_d, self.loss = G, D, opt_g, opt_d, loss
        self.G_run, self.D_run = G_run or G, D_run or D
        self.amp, self.device_type, self.grad_clip = amp, device_type, grad_clip
        self.use_gan = loss.lambda_gan > 0

    def _autocast(self):
        return torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.amp)

    def __call__(self, inp: torch.Tensor, target: torch.Tensor, step_no: int, health: bool = False) -> StepResult:
        logs: dict[str, torch.Tensor] = {}
        with record_activations(self.G) if health else nullcontext({}) as acts:
            with self._autocast():
                fake = self.G_run(inp)
        if self.use_gan:
            with self._autocast():
                loss_d = d_loss(self.loss.gan, self.D_run(inp, target).float(), self.D_run(inp, fake.detach()).float())
            check_finite(step_no, {"d_loss": loss_d})
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            logs["grad_norm/discriminator"] = grad_norm(self.D.parameters(), self.grad_clip)
            self.opt_d.step()
            logs["loss/d"] = loss_d.detach()

        self.D.requires_grad_(False)
        try:
            with self._autocast():
                logits = self.D(inp, fake) if self.use_gan else None
                loss_g, parts = generator_loss(self.loss, logits, fake, target)
        finally:
            self.D.requires_grad_(True)
        check_finite(step_no, parts)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        logs["grad_norm/generator"] = grad_norm(self.G.parameters(), self.grad_clip)
        before = snapshot(self.G) if health else None
        self.opt_g.step()
        logs.update({f"loss/{k}": v for k, v in parts.items()})
        return StepResult(logs, acts, update_ratios(self.G, before) if health else {})
