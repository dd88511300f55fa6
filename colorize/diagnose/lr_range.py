"""`diagnose lr-range`: the learning-rate range test (L. Smith, 2017). One short run whose learning
rate grows exponentially from 1e-7 to 1; the loss against the rate shows where learning starts,
where it is fastest and where it diverges. The suggestion is the rate of steepest descent of the
smoothed loss (each step's over its batch's first) before its minimum; the configured rate is
compared with it."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from colorize.device import autocast
from colorize.diagnose import plots
from colorize.diagnose.report import CheckResult
from colorize.diagnose.setup import Batch, Setup
from colorize.diagnose.steps import LossFn, adam

MIN_FALL = 0.05  # the smallest fall of the relative loss that counts as learning


def smooth(values: list[float], beta: float = 0.9) -> list[float]:
    """Bias-corrected exponential moving average (as in fast.ai's LR finder)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return out


def relative_to_batch(losses: list[float], batches: int) -> list[float]:
    """Each loss over the first loss of the same batch (the sweep cycles through `batches`): the
    batches differ in difficulty (on real pictures by 3x), and that cycle would otherwise swamp the
    learning the sweep is looking for, and put the "steepest descent" at its first steps."""
    first = losses[:batches]
    return [v / max(first[i % batches], 1e-12) for i, v in enumerate(losses)]


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float, int]:
    """(rate, index) of the steepest fall of the smoothed loss against log(rate), before the minimum."""
    stop = int(np.argmin(smoothed))
    if stop < 2:
        return lrs[stop], stop
    slope = np.gradient(np.asarray(smoothed[: stop + 1]), np.log10(np.asarray(lrs[: stop + 1])))
    i = int(np.argmin(slope[: stop]))
    return lrs[i], i


def check_lr_range(G: nn.Module, batches: list[Batch], recon_loss: LossFn, configured_lr: float,
                   lr_min: float = 1e-7, lr_max: float = 1.0, steps: int = 100, betas=(0.5, 0.999),
                   device: torch.device | str = "cpu", diverge: float = 4.0, bf16: bool = False) -> CheckResult:
    """`bf16`: under bf16 autocast, as the trainer runs on this machine (Setup.bf16)."""
    r = CheckResult("lr-range")
    f = r.figures
    G.train()
    opt = adam(G, lr_min, betas)
    lrs, losses = [], []
    for k in range(steps):
        lr = lr_min * (lr_max / lr_min) ** (k / max(steps - 1, 1))
        for group in opt.param_groups:
            group["lr"] = lr
        inp, target = batches[k % len(batches)]
        with autocast(device, bf16):
            loss = recon_loss(G(inp.to(device)), target.to(device))
        value = float(loss.detach())
        lrs.append(lr)
        losses.append(value)
        if not math.isfinite(value):
            break
        sm = smooth(relative_to_batch(losses, len(batches)))
        if k > 5 and sm[-1] > diverge * min(sm):
            break  # diverged: the rest of the sweep says nothing
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    finite = [x for x in losses if math.isfinite(x)]
    lrs_f = lrs[: len(finite)]
    relative = relative_to_batch(finite, len(batches))
    sm = smooth(relative)
    f.update({"lrs": lrs, "losses": losses, "relative": relative, "smoothed": sm, "configured_lr": configured_lr})
    if len(finite) < 3:
        r.fail(f"the loss was non-finite after {len(finite)} steps at learning rate {lrs[len(finite)]:.2g}")
        r.summary = "no usable sweep"
        return r
    best_i = int(np.argmin(sm))
    suggested, _ = suggest(lrs_f, sm)
    diverged_at = lrs[len(sm) - 1] if len(lrs) < steps or len(finite) < len(losses) else None
    f.update({"suggested_lr": suggested, "min_loss_lr": lrs_f[best_i], "min_relative_loss": sm[best_i],
              "start_relative_loss": sm[0], "diverged_at_lr": diverged_at})

    # Relative to each batch's own first loss the batches' difficulty no longer adds noise, so a
    # 5% fall is learning (a toy U-Net's sweep falls 8%, the default recipe's 17%).
    if sm[best_i] > (1 - MIN_FALL) * sm[0]:
        r.fail(f"the loss never fell more than {100 * MIN_FALL:.0f}% over the whole sweep "
               f"({sm[0]:.4g} -> best {sm[best_i]:.4g}): "
               "nothing learns at any rate")
    else:
        limit = lrs_f[best_i]
        if configured_lr > limit:
            r.warn(f"configured learning rate {configured_lr:g} is above {limit:.2g}, where the loss bottomed out "
                   f"before diverging: expect instability (suggested {suggested:.2g})")
        elif configured_lr < suggested / 100:
            r.warn(f"configured learning rate {configured_lr:g} is over 100x below the suggested {suggested:.2g}: "
                   "training will be slow")

    r.images["lr_range.png"] = plots.line_plot(
        {"loss / its batch's first": (lrs_f, relative), "smoothed": (lrs_f, sm)},
        "learning-rate range test", "learning rate", "relative loss", xlog=True,
        markers={f"suggested {suggested:.1e}": suggested, f"configured {configured_lr:.1e}": configured_lr})
    div = f"diverged at {diverged_at:.2g}" if diverged_at else "did not diverge"
    r.summary = (f"suggested lr {suggested:.2g} (steepest descent), loss lowest at {lrs_f[best_i]:.2g}, {div}; "
                 f"configured {configured_lr:g}; loss {100 * (1 - sm[best_i] / sm[0]):.0f}% under its first "
                 f"over {len(lrs)} steps")
    return r


def run(setup: Setup, steps: int = 100, batches: int = 8) -> CheckResult:
    t = setup.cfg.train
    return check_lr_range(setup.generator(), setup.batches(batches), setup.loss_fn(), t.lr_g, steps=steps,
                          betas=t.betas, device=setup.device, bf16=setup.bf16())
