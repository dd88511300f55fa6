"""`diagnose features`: what the network extracts. The first convolution's filters and a fixed
sample's feature maps at a few depths, as image grids (PNG here; `feature_grids` gives the same
grids to TensorBoard during training; they live in colorize.training.monitor). Flags filters that are all alike and depths where most
feature maps are blank."""

from __future__ import annotations

import torch
from torch import nn

from colorize.diagnose import plots
from colorize.diagnose.report import CheckResult
from colorize.diagnose.setup import Setup
from colorize.training.monitor import feature_grids, feature_maps, filter_grid, first_conv

__all__ = ["check_features", "feature_grids", "run"]

def check_features(model: nn.Module, inp: torch.Tensor, channels: int = 16) -> CheckResult:
    r = CheckResult("features")
    f = r.figures
    conv = first_conv(model)
    if conv is None:
        r.fail("the model has no convolution layer")
        r.summary = "nothing to show"
        return r
    name, layer = conv
    w = layer.weight.detach().float().flatten(1)
    distinct = torch.cdist(w, w).fill_diagonal_(float("inf")).min(1).values if w.shape[0] > 1 else torch.ones(1)
    f["first_conv"] = {"layer": name, "filters": int(w.shape[0]), "shape": list(layer.weight.shape),
                       "min_distance_between_filters": float(distinct.min()),
                       "filter_norm_mean": float(w.norm(dim=1).mean())}
    identical = int((distinct <= 1e-6 * max(float(w.norm(dim=1).max()), 1e-12)).sum())
    if identical:
        r.warn(f"{identical} of {w.shape[0]} first-layer filters in {name} duplicate another: units are not diverse")
    r.images["filters.png"] = filter_grid(layer)
    r.images["input.png"] = plots.to_unit(inp[:1])[0]

    maps = feature_maps(model, inp)
    f["depths"] = {}
    for k, (layer_name, m) in enumerate(maps.items()):
        blank = m.flatten(1).std(1) < 1e-6
        f["depths"][layer_name] = {"channels": int(m.shape[0]), "size": list(m.shape[1:]),
                                   "blank_fraction": float(blank.float().mean()), "mean": float(m.mean())}
        if blank.float().mean() > 0.5:
            r.warn(f"{int(blank.sum())} of {m.shape[0]} feature maps at {layer_name} are blank (constant)")
        r.images[f"features_{k}_{layer_name.replace('.', '_')}.png"] = plots.tile_grid(
            plots.normalize_each(m[:channels]), nrow=8, min_side=64)
    blank_txt = ", ".join(f"{v['blank_fraction'] * 100:.0f}%" for v in f["depths"].values())
    r.summary = (f"{w.shape[0]} first-layer filters ({identical} duplicates); {len(maps)} depths saved, "
                 f"blank maps {blank_txt or 'n/a'}")
    return r


def run(setup: Setup, checkpoint: str | None = None) -> CheckResult:
    if checkpoint:
        from colorize.checkpoint import load_generator

        model = load_generator(checkpoint, setup.device)[0]
    else:
        model = setup.generator()
    inp, _ = setup.fixed_sample(1)
    result = check_features(model, inp.to(setup.device))
    result.figures["model"] = checkpoint or "freshly initialized (pass --checkpoint to see a trained one)"
    return result
