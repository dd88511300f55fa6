"""`diagnose gradients`: a few real training steps, then per layer the gradient norm, weight norm,
update-to-weight ratio, dead ReLU fraction and pre-activation mean / std. Flags non-finite values,
vanishing or exploding gradients (first vs last layer), mostly-dead ReLU layers and update ratios
far from the healthy ~1e-3, naming the layers."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from colorize.config import LossConfig
from colorize.diagnose import plots
from colorize.diagnose.report import CheckResult
from colorize.diagnose.setup import Batch, Setup
from colorize.diagnose.steps import LossFn, adam, make_step
from colorize.training.monitor import dead_fraction, layer_params

# Thresholds, all on the generator's last step.
GRAD_RATIO_WARN, GRAD_RATIO_FAIL = 1e2, 1e4  # per-element gradient RMS, first vs last layer
UPDATE_LOW, UPDATE_HIGH, UPDATE_FAIL = 1e-4, 1e-2, 1e-1  # median update-to-weight ratio
DEAD_WARN, DEAD_FAIL = 0.5, 0.9


def layer_table(model: nn.Module, acts: dict[str, torch.Tensor], ratios: dict[str, float]) -> list[dict]:
    rows = []
    for name, p in layer_params(model):
        g = p.grad
        rows.append({
            "layer": name,
            "weight_norm": float(p.detach().float().norm()),
            "grad_norm": float(g.float().norm()) if g is not None else float("nan"),
            "grad_rms": float(g.float().pow(2).mean().sqrt()) if g is not None else float("nan"),
            "update_ratio": ratios.get(name, float("nan")),
        })
    modules = dict(model.named_modules())
    for name, a in acts.items():
        rows.append({
            "activation": name,
            "pre_mean": float(a.mean()),
            "pre_std": float(a.std()),
            "dead_fraction": dead_fraction(a) if isinstance(modules.get(name), nn.ReLU) else 0.0,
            "nonfinite": int((~torch.isfinite(a)).sum()),
        })
    return rows


def check_gradients(G: nn.Module, D: nn.Module | None, batches: list[Batch], recon_loss: LossFn | None,
                    loss_cfg: LossConfig, lr: float, betas=(0.5, 0.999), steps: int = 5,
                    device: torch.device | str = "cpu", step_opts: dict | None = None) -> CheckResult:
    """recon_loss None: the trainer's own step and loss (colorize.training.gan_step)."""
    r = CheckResult("gradients")
    f = r.figures
    G.train()
    if D is not None:
        D.train()
    opt_g, opt_d = adam(G, lr, betas), adam(D, lr, betas)
    step = make_step(G, D, opt_g, opt_d, loss_cfg, recon_loss, **(step_opts or {}))
    logs: dict[str, float] = {}
    acts: dict[str, torch.Tensor] = {}
    ratios: dict[str, float] = {}
    losses, medians = [], []  # per step: the generator's loss, the median update/weight ratio
    for k in range(steps):
        inp, target = batches[k % len(batches)]
        logs, acts, ratios = step(inp.to(device), target.to(device), health=True)
        losses.append(logs.get("recon", float("nan")))  # the adversarial part reacts to D, not G
        finite = [v for v in ratios.values() if math.isfinite(v)]
        medians.append(float(np.median(finite)) if finite else float("nan"))
    rows = layer_table(G, acts, ratios)
    layers = [x for x in rows if "layer" in x]
    units = [x for x in rows if "activation" in x]
    f.update({"lr": lr, "steps": steps, "last_losses": logs, "recon_loss_per_step": losses,
              "update_ratio_median_per_step": medians, "layers": layers, "activations": units})
    if len(losses) > 1 and math.isfinite(losses[-1]) and losses[0] > 0 and losses[-1] > 10 * losses[0]:
        r.fail(f"the reconstruction loss exploded from {losses[0]:.4g} to {losses[-1]:.4g} in {steps} steps: "
               f"learning rate {lr:g} too high or the gradients unstable")

    nonfinite = [x["layer"] for x in layers if not (math.isfinite(x["grad_norm"]) and math.isfinite(x["weight_norm"]))]
    nonfinite += [x["activation"] for x in units if x["nonfinite"]]
    if nonfinite or not all(math.isfinite(v) for v in logs.values()):
        r.fail(f"non-finite losses, gradients, weights or activations in {len(nonfinite)} layers: "
               f"{', '.join(nonfinite[:4]) or 'the loss'}")

    with_grad = [x for x in layers if math.isfinite(x["grad_rms"])]
    no_grad = [x["layer"] for x in with_grad if x["grad_rms"] == 0]
    if no_grad:
        r.warn(f"{len(no_grad)} layers get exactly zero gradient: {', '.join(no_grad[:4])}")
    if len(with_grad) >= 2 and with_grad[0]["grad_rms"] > 0 and with_grad[-1]["grad_rms"] > 0:
        first, last = with_grad[0], with_grad[-1]
        ratio = first["grad_rms"] / last["grad_rms"]
        f["grad_ratio_first_last"] = ratio
        spread = max(ratio, 1 / ratio)
        kind = "vanish" if ratio < 1 else "explode"
        msg = (f"gradients {kind} towards the input: per-element gradient {first['grad_rms']:.2g} at "
               f"{first['layer']} vs {last['grad_rms']:.2g} at {last['layer']} ({spread:.0f}x)")
        if spread > GRAD_RATIO_FAIL:
            r.fail(msg)
        elif spread > GRAD_RATIO_WARN:
            r.warn(msg)
    elif len(with_grad) >= 2:
        f["grad_ratio_first_last"] = float("nan")

    updates = [m for m in medians if math.isfinite(m)]
    if updates:
        # the largest step's median: once updates have blown the weights up, later ratios look small
        median = max(updates)
        f["update_ratio_median"] = median
        off = [x for x in layers if math.isfinite(x["update_ratio"]) and not 1e-5 <= x["update_ratio"] <= UPDATE_FAIL]
        if median > UPDATE_FAIL:
            r.fail(f"updates rewrite the weights: median update/weight ratio {median:.2g} (healthy ~1e-3); "
                   f"learning rate {lr:g} far too high")
        elif not UPDATE_LOW <= median <= UPDATE_HIGH:
            r.warn(f"median update/weight ratio {median:.2g} is far from ~1e-3: learning rate {lr:g} "
                   f"too {'high' if median > UPDATE_HIGH else 'low'}?")
        if off and median <= UPDATE_FAIL:
            r.warn(f"{len(off)} layers with update ratios outside [1e-5, 1e-1]: "
                   + ", ".join(f"{x['layer']} {x['update_ratio']:.2g}" for x in off[:4]))

    dead = [x for x in units if x["dead_fraction"] > DEAD_WARN]
    f["max_dead_fraction"] = max((x["dead_fraction"] for x in units), default=0.0)
    if dead:
        names = ", ".join(f"{x['activation']} {100 * x['dead_fraction']:.0f}%" for x in dead[:4])
        msg = f"{len(dead)} of {len(units)} ReLU layers have more than half their units dead: {names}"
        (r.fail if f["max_dead_fraction"] > DEAD_FAIL else r.warn)(msg)

    labels = [x["layer"] for x in layers]
    r.images["layers.png"] = plots.bar_plot(
        labels,
        {"grad RMS": [x["grad_rms"] for x in layers], "update/weight": [x["update_ratio"] for x in layers]},
        f"generator after {steps} steps (lr {lr:g})")
    r.summary = (f"{len(layers)} layers, grad RMS first/last {f.get('grad_ratio_first_last', float('nan')):.3g}, "
                 f"median update/weight {f.get('update_ratio_median', float('nan')):.2g}, max dead ReLU "
                 f"{100 * f['max_dead_fraction']:.0f}%, loss {logs.get('g_total', float('nan')):.4g}")
    return r


def run(setup: Setup, steps: int = 5) -> CheckResult:
    t = setup.cfg.train
    return check_gradients(setup.generator(), setup.discriminator(), setup.batches(steps), setup.recon_loss,
                           setup.cfg.loss, t.lr_g, t.betas, steps, device=setup.device,
                           step_opts=setup.step_options())
