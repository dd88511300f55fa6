"""One GAN training step (discriminator update, then generator update): the only one, used by the
trainer, the diagnostics (also with an injected reconstruction loss) and the training benchmark,
so all three run exactly the same work."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from colorize.config import LossConfig
from colorize.training.losses import d_loss, g_adv_loss, generator_loss
from colorize.training.monitor import record_activations, snapshot, update_ratios


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


def drawing(inp: torch.Tensor) -> torch.Tensor:
    """The discriminator judges colors given the drawing alone: color hints (input channels
    after the first) are the generator's to follow, and the reconstruction losses check that."""
    return inp[:, :1]


@dataclass
class StepResult:
    logs: dict[str, torch.Tensor]
    activations: dict[str, torch.Tensor]  # generator pre-activations, when health was asked for
    update_ratios: dict[str, float]


ReconLoss = Callable[[object, torch.Tensor], torch.Tensor]  # (generator output, target) -> loss


class GanStep:
    """`G_run` / `D_run` may be wrapped (DDP, torch.compile); `G` / `D` are the plain modules.
    The generator's update goes through the plain D: no gradient all-reduce for D there.
    `bf16`: bf16 autocast (see colorize.device.resolve_precision). `recon_loss`: replaces the
    configured reconstruction loss (the diagnostics inject broken ones); it takes what G returns."""

    def __init__(self, G: nn.Module, D: nn.Module | None, opt_g, opt_d, loss: LossConfig, *, G_run=None, D_run=None,
                 bf16: bool = False, device_type: str = "cpu", grad_clip: float = 0.0,
                 class_weights: torch.Tensor | None = None, recon_loss: ReconLoss | None = None):
        self.G, self.D, self.opt_g, self.opt_d, self.loss = G, D, opt_g, opt_d, loss
        self.G_run, self.D_run = G_run or G, D_run or D
        self.bf16, self.device_type, self.grad_clip = bf16, device_type, grad_clip
        self.recon_loss = recon_loss
        self.use_gan = loss.lambda_gan > 0 and D is not None
        self.classes = loss.objective == "chroma_classes"
        self.class_weights = class_weights
        self.batch_stats = D is not None and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())

    def _judge_fake(self, inp: torch.Tensor, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """D's verdict on the fakes for the generator's update; a D with batch statistics sees them
        beside the real pairs, as in its own update."""
        inp = drawing(inp)
        if not self.batch_stats:
            return self.D(inp, fake)
        return self.D(torch.cat([inp, inp]), torch.cat([target.to(fake.dtype), fake])).chunk(2)[1]

    def _autocast(self):
        return torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.bf16)

    def _generator_loss(self, out, logits, fake, target, extras) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.recon_loss is None:
            return generator_loss(self.loss, logits, fake, target, extras, self.class_weights)
        recon = self.recon_loss(out, target)
        parts = {"g_recon": recon, "g_mse": torch.mean((fake.float() - target.float()) ** 2)}
        total = recon
        if logits is not None and self.loss.lambda_gan:
            parts["g_adv"] = g_adv_loss(self.loss.gan, logits.float())
            total = recon + self.loss.lambda_gan * parts["g_adv"]
        parts["g_total"] = total
        return total, {k: v.detach() for k, v in parts.items()}

    def __call__(self, inp: torch.Tensor, target: torch.Tensor, step_no: int, health: bool = False) -> StepResult:
        logs: dict[str, torch.Tensor] = {}
        with record_activations(self.G) if health else nullcontext({}) as acts:
            with self._autocast():
                out = self.G_run(inp, return_logits=True) if self.classes else self.G_run(inp)
        fake, extras = (out[0], out[1:]) if self.classes else (out, None)
        if self.use_gan:
            with self._autocast():
                # Real and fake pairs in one pass: a discriminator with batch statistics could
                # otherwise tell them apart by those statistics instead of by their colors.
                cond = drawing(inp)
                both = self.D_run(torch.cat([cond, cond]), torch.cat([target.to(fake.dtype), fake.detach()])).float()
                real_logits, fake_logits = both.chunk(2)
                loss_d = d_loss(self.loss.gan, real_logits, fake_logits)
            check_finite(step_no, {"d_loss": loss_d})
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            logs["grad_norm/discriminator"] = grad_norm(self.D.parameters(), self.grad_clip)
            self.opt_d.step()
            logs["loss/d"] = loss_d.detach()

        if self.D is not None:
            self.D.requires_grad_(False)
        try:
            with self._autocast():
                logits = self._judge_fake(inp, fake, target) if self.use_gan else None
                loss_g, parts = self._generator_loss(out, logits, fake, target, extras)
        finally:
            if self.D is not None:
                self.D.requires_grad_(True)
        check_finite(step_no, parts)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        logs["grad_norm/generator"] = grad_norm(self.G.parameters(), self.grad_clip)
        before = snapshot(self.G) if health else None
        self.opt_g.step()
        logs.update({f"loss/{k}": v for k, v in parts.items()})
        return StepResult(logs, acts, update_ratios(self.G, before) if health else {})
