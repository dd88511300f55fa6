"""`diagnose overfit`: can the model memorize one small batch? With augmentation and regularization
off (the same tensors every step, no weight decay, no adversarial term) the reconstruction loss must
fall by at least 90% within the step budget. The true error to the target (MSE) is tracked beside
the loss: a loss that falls while the output does not approach the target is a wrong loss."""

from __future__ import annotations

import math

import torch
from torch import nn

from colorize.device import autocast
from colorize.diagnose import plots
from colorize.diagnose.report import CheckResult
from colorize.diagnose.setup import Setup
from colorize.diagnose.steps import LossFn, adam, forward, image


def check_overfit(G: nn.Module, inp: torch.Tensor, target: torch.Tensor, recon_loss: LossFn, lr: float,
                  max_steps: int = 300, drop: float = 0.9, betas=(0.5, 0.999), run=None,
                  bf16: bool = False) -> CheckResult:
    """`run(G, inp)`: the generator's output as `recon_loss` takes it (default: G(inp)). `bf16`:
    under bf16 autocast, as the trainer runs on this machine (Setup.bf16)."""
    r = CheckResult("overfit")
    f = r.figures
    G.train()
    opt = adam(G, lr, betas)
    losses: list[float] = []
    mses: list[float] = []
    for _ in range(max_steps):
        with autocast(inp.device, bf16):
            out = run(G, inp) if run else G(inp)
            loss = recon_loss(out, target)
        fake = image(out)
        losses.append(float(loss.detach()))
        mses.append(float(torch.mean((fake.detach().float() - target.float()) ** 2)))
        if not math.isfinite(losses[-1]):
            break
        if len(losses) > 1 and losses[-1] <= (1 - drop) * losses[0] and mses[-1] <= (1 - drop) * mses[0]:
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    f.update({"lr": lr, "batch_size": int(inp.shape[0]), "max_steps": max_steps, "steps": len(losses),
              "loss_curve": losses, "mse_curve": mses})
    start, end = losses[0], losses[-1]
    loss_drop = 1 - end / start if start > 0 and math.isfinite(end) else float("nan")
    mse_drop = 1 - mses[-1] / mses[0] if mses[0] > 0 and math.isfinite(mses[-1]) else float("nan")
    best_drop = 1 - min(x for x in losses if math.isfinite(x)) / start if start > 0 else float("nan")
    f.update({"loss_start": start, "loss_end": end, "loss_drop": loss_drop, "mse_start": mses[0],
              "mse_end": mses[-1], "mse_drop": mse_drop})

    if not math.isfinite(end):
        r.fail(f"the loss became {end} at step {len(losses) - 1} (best drop before that {100 * best_drop:.0f}%): "
               f"learning rate {lr:g} too high?")
    elif loss_drop >= drop and not mse_drop >= drop:
        r.fail(f"the loss fell {100 * loss_drop:.0f}% but the error to the target only {100 * mse_drop:.0f}%: "
               "the loss does not measure distance to the target")
    elif not loss_drop >= drop:
        r.fail(f"the loss fell only {100 * loss_drop:.0f}% ({start:.4g} -> {end:.4g}) in {len(losses)} steps on "
               f"one batch of {inp.shape[0]}; expected >= {100 * drop:.0f}%: model, loss or learning rate {lr:g} "
               "cannot fit (or raise --steps)")

    r.images["curve.png"] = plots.line_plot(
        {"loss / start": (list(range(len(losses))), [x / start for x in losses]),
         "MSE to target / start": (list(range(len(mses))), [x / mses[0] for x in mses]),
         f"goal: -{100 * drop:.0f}%": ([0, max(len(losses) - 1, 1)], [1 - drop, 1 - drop])},
        f"overfitting one batch of {inp.shape[0]} (lr {lr:g})", "step", "relative to step 0", ylog=True)
    r.summary = (f"loss {start:.4g} -> {end:.4g} ({100 * loss_drop:.1f}% drop), MSE {mses[0]:.4g} -> "
                 f"{mses[-1]:.4g} in {len(losses)} steps (budget {max_steps}, batch {inp.shape[0]}, lr {lr:g})")
    return r


def run(setup: Setup, steps: int = 300, batch_size: int = 4, lr: float | None = None) -> CheckResult:
    inp, target = setup.batches(1)[0]
    t = setup.cfg.train
    return check_overfit(setup.generator(), inp[:batch_size].to(setup.device), target[:batch_size].to(setup.device),
                         setup.loss_fn(), lr if lr is not None else t.lr_g, steps, betas=t.betas,
                         run=lambda G, x: forward(G, x, setup.cfg.loss), bf16=setup.bf16())
