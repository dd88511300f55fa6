"""`diagnose zero-lr`: train with learning rate 0 and regularization off. Nothing may change the
weights then; the loss on a repeated batch must be exactly constant and, over fresh batches, flat
within noise. A change or a trend points at code outside the optimizer touching weights, or at
data / augmentation / loss that drift with the step. Also: the loss must respond to its target."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from colorize.config import LossConfig
from colorize.diagnose import plots
from colorize.diagnose.report import CheckResult
from colorize.diagnose.setup import Batch, Setup
from colorize.diagnose.steps import LossFn, adam, default_recon, make_step


def _params(model: nn.Module | None, prefix: str) -> dict[str, torch.Tensor]:
    if model is None:
        return {}
    return {f"{prefix}.{n}": p.detach().clone() for n, p in model.named_parameters()}


def check_zero_lr(G: nn.Module, D: nn.Module | None, batches: list[Batch], recon_loss: LossFn | None,
                  loss_cfg: LossConfig, repeats: int = 5, device: torch.device | str = "cpu",
                  step_opts: dict | None = None) -> CheckResult:
    """recon_loss None: the trainer's own step and loss (colorize.training.gan_step)."""
    r = CheckResult("zero-lr")
    f = r.figures
    G.train()
    if D is not None:
        D.train()
    opt_g, opt_d = adam(G, 0.0), adam(D, 0.0)
    before = {**_params(G, "G"), **_params(D, "D")}
    train_step = make_step(G, D, opt_g, opt_d, loss_cfg, recon_loss, **(step_opts or {}))
    recon_loss = recon_loss or default_recon(loss_cfg)

    def step(inp, target):
        return train_step(inp.to(device), target.to(device))[0]

    # 1. The same batch again and again: a deterministic forward pass gives the same loss each time.
    inp0, tgt0 = batches[0]
    same = [step(inp0, tgt0)["recon"] for _ in range(repeats)]
    f["repeated_batch_losses"] = same
    # 2. Consecutive batches from the pipeline: they differ, but must not trend with the step.
    fresh = [step(inp, target)["recon"] for inp, target in batches]
    f["fresh_batch_losses"] = fresh

    bad = [x for x in same + fresh if not math.isfinite(x)]
    if bad:
        r.fail(f"non-finite loss with learning rate 0 ({len(bad)} steps): bad values in the data or the loss")

    changed = []
    after = {**_params(G, "G"), **_params(D, "D")}
    for name, w in before.items():
        if not torch.equal(w, after[name]):
            changed.append((name, float((after[name].float() - w.float()).abs().max())))
    f["changed_weights"] = dict(changed)
    if changed:
        r.fail(f"{len(changed)} weight tensors changed with learning rate 0, e.g. "
               + ", ".join(f"{n} (max |dw| {d:.2g})" for n, d in changed[:3])
               + ": something besides the optimizer writes to the weights")

    spread = (max(same) - min(same)) / max(abs(np.mean(same)), 1e-12) if not bad else float("nan")
    f["repeated_batch_relative_spread"] = spread
    if not bad and spread > 1e-5:
        r.fail(f"the loss on one unchanged batch varies by {100 * spread:.3g}% across steps at learning rate 0: "
               "the forward pass or the loss is not deterministic (dropout? a step-dependent term?)")

    slope_r = float("nan")
    if len(fresh) >= 6 and not bad and np.std(fresh) > 0:
        slope_r = float(np.corrcoef(np.arange(len(fresh)), fresh)[0, 1])
        half = len(fresh) // 2
        drift = (np.mean(fresh[half:]) - np.mean(fresh[:half])) / max(abs(np.mean(fresh)), 1e-12)
        f["fresh_trend_correlation"], f["fresh_relative_drift"] = slope_r, float(drift)
        if abs(slope_r) > 0.8 and abs(drift) > 0.05:
            r.fail(f"the loss trends with the step at learning rate 0 (correlation {slope_r:.2f}, "
                   f"{100 * drift:+.0f}% from the first to the second half): data or augmentation change over time")

    # 3. The loss must depend on the target (and the output on the input).
    with torch.no_grad():
        inp, target = inp0.to(device), tgt0.to(device)
        fake = G(inp)
        other = -target  # same shape and range, different content
        l_true, l_other = float(recon_loss(fake, target)), float(recon_loss(fake, other))
        f["loss_with_target"], f["loss_with_other_target"] = l_true, l_other
        if math.isfinite(l_true) and abs(l_true - l_other) <= 1e-6 * max(abs(l_true), 1e-12):
            r.fail(f"the loss ignores its target: {l_true:.6g} with the real target and with a negated one")
        out_other = G(-inp)
        f["output_change_with_input"] = float((out_other - fake).abs().mean())
        if f["output_change_with_input"] < 1e-7:
            r.fail("the generator's output does not depend on its input")

    r.images["losses.png"] = plots.line_plot(
        {"repeated batch": (list(range(len(same))), same),
         "fresh batches": (list(range(len(same), len(same) + len(fresh))), fresh)},
        "reconstruction loss at learning rate 0", "step", "loss")
    r.summary = (f"{len(before)} weight tensors, {len(changed)} changed; repeated-batch spread {spread:.2g}, "
                 f"fresh-batch trend r={slope_r:.2f} over {len(fresh)} steps; loss {l_true:.4g} vs "
                 f"{l_other:.4g} with another target")
    return r


def run(setup: Setup, steps: int = 20) -> CheckResult:
    return check_zero_lr(setup.generator(), setup.discriminator(), setup.batches(steps), setup.recon_loss,
                         setup.cfg.loss, device=setup.device, step_opts=setup.step_options())
