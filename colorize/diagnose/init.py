"""`diagnose init`: a freshly built network, before any training. No weight tensor may start as a
constant (symmetry is never broken), the signal must keep its scale through the layers on a real
batch, the output must not start saturated, and the loss at init must be in line with predicting
plain gray."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from colorize.diagnose.report import CheckResult
from colorize.training.gan_step import drawing
from colorize.training.monitor import layer_params

SATURATED = 0.99  # |y| beyond which a tanh's gradient is under 2% of its peak
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Tanh, nn.Sigmoid)


def constant_layers(model: nn.Module) -> dict[str, float]:
    """Weight tensors (conv / linear) whose values are all equal: name -> that value."""
    out = {}
    for name, p in layer_params(model):
        w = p.detach().float()
        if w.numel() > 1 and float(w.max() - w.min()) == 0.0:
            out[name] = float(w.flatten()[0])
    return out


@torch.no_grad()
def activation_scales(model: nn.Module, inp: torch.Tensor) -> tuple[list[tuple[str, float]], torch.Tensor]:
    """Std of every activation module's output, in the order the forward pass reaches them."""
    found: list[tuple[str, float]] = []
    handles = []
    for name, mod in model.named_modules():
        if isinstance(mod, ACTIVATIONS):
            handles.append(mod.register_forward_hook(
                lambda _m, _i, out, name=name: found.append((name, float(out.float().std())))))
    try:
        out = model(inp)
    finally:
        for h in handles:
            h.remove()
    return found, out


def check_init(model: nn.Module, inp: torch.Tensor, target: torch.Tensor,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> CheckResult:
    r = CheckResult("init")
    f = r.figures
    model.train()  # as in the first training step: batch statistics

    non_finite = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
    if non_finite:
        r.fail(f"non-finite initial weights in {', '.join(non_finite[:5])}")
    const = constant_layers(model)
    f["weight_std"] = {n: float(p.detach().float().std()) for n, p in layer_params(model)}
    f["constant_layers"] = const
    if const:
        names = ", ".join(f"{n} (all {v:g})" for n, v in list(const.items())[:4])
        r.fail(f"{len(const)} of {len(f['weight_std'])} weight tensors start constant: {names}"
               f"{' ...' if len(const) > 4 else ''}; their units stay identical (init skipped or zeroed?)")

    scales, out = activation_scales(model, inp)
    f["activation_std"] = [{"layer": n, "std": s} for n, s in scales]
    stds = [s for _, s in scales]
    if stds:
        lo_i = min(range(len(stds)), key=stds.__getitem__)
        hi_i = max(range(len(stds)), key=stds.__getitem__)
        f["activation_std_first_last"] = [stds[0], stds[-1]]
        if not all(math.isfinite(s) for s in stds):
            r.fail("non-finite activations at init: " + ", ".join(n for n, s in scales if not math.isfinite(s))[:200])
        elif stds[lo_i] < 1e-4:
            dead = [n for n, s in scales if s < 1e-4]
            r.fail(f"the signal vanishes: activation std {stds[lo_i]:.2g} at {scales[lo_i][0]} "
                   f"({len(dead)} of {len(stds)} layers below 1e-4, e.g. {', '.join(dead[:3])})")
        elif stds[hi_i] > 1e3 or stds[hi_i] / max(stds[lo_i], 1e-12) > 1e3:
            r.fail(f"the signal explodes: activation std from {stds[lo_i]:.3g} ({scales[lo_i][0]}) "
                   f"to {stds[hi_i]:.3g} ({scales[hi_i][0]})")
        elif stds[hi_i] / stds[lo_i] > 30:
            r.warn(f"activation scale drifts {stds[hi_i] / stds[lo_i]:.0f}x through the network "
                   f"({scales[lo_i][0]} {stds[lo_i]:.3g} vs {scales[hi_i][0]} {stds[hi_i]:.3g})")

    out = out.float()
    # Paper that is white in the input is white in any output that keeps the input's brightness
    # (chroma-unet does by construction): only outputs pinned where the input is not count.
    free = (drawing(inp).float().abs() <= SATURATED).expand_as(out)  # hint channels are not the page
    pinned = (out.abs() > SATURATED) & free
    f["output"] = {"mean": float(out.mean()), "std": float(out.std()),
                   "saturated_fraction": float(pinned.sum() / free.sum().clamp_min(1))}
    if f["output"]["std"] < 1e-6:
        r.fail(f"the output is constant at init ({f['output']['mean']:.3g} everywhere)")
    elif f["output"]["saturated_fraction"] > 0.2:
        r.warn(f"{100 * f['output']['saturated_fraction']:.0f}% of initial outputs are saturated "
               f"(|y| > {SATURATED}) where the input is not: tanh gradients vanish there")

    if loss_fn is not None:
        with torch.no_grad():
            loss = float(loss_fn(out, target))
            gray = float(loss_fn(torch.zeros_like(out), target))  # predicting mid-gray everywhere
        f["loss_at_init"], f["loss_predict_gray"] = loss, gray
        if not math.isfinite(loss):
            r.fail(f"the loss at init is {loss}")
        elif gray > 0 and loss > 5 * gray:
            r.warn(f"loss at init {loss:.4g} is {loss / gray:.1f}x that of predicting gray ({gray:.4g}): "
                   "the initial outputs are needlessly far off")

    r.summary = (f"{len(f['weight_std'])} weight tensors ({len(const)} constant), activation std "
                 f"{min(stds, default=float('nan')):.3g}..{max(stds, default=float('nan')):.3g} over {len(stds)} layers, "
                 f"output std {f['output']['std']:.3g}")
    if "loss_at_init" in f:
        r.summary += f", loss {f['loss_at_init']:.4g} (gray {f['loss_predict_gray']:.4g})"
    return r


def run(setup) -> CheckResult:
    inp, target = setup.batches(1)[0]
    model = setup.generator()
    return check_init(model, inp.to(setup.device), target.to(setup.device), setup.loss_fn())
