"""What TensorBoard shows about a run: scalars, sample images, the network's health (weight /
gradient / pre-activation histograms, dead ReLU units, update-to-weight ratios) and what it
extracts (first-layer filters, feature maps; `diagnose features` saves the same grids as PNG)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import make_grid

from colorize.models import unwrap


def layer_params(model: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    """Weights of conv / linear layers: what histograms and update ratios are about."""
    for name, p in unwrap(model).named_parameters():
        if p.requires_grad and p.dim() > 1:
            yield name, p


@contextmanager
def record_activations(model: nn.Module):
    """Collect each ReLU / LeakyReLU's input (the pre-activation) during the forward passes inside
    the block: {layer name: tensor}."""
    found: dict[str, torch.Tensor] = {}
    handles = []
    for name, mod in unwrap(model).named_modules():
        if isinstance(mod, nn.ReLU | nn.LeakyReLU):

            def hook(_m, inputs, _out, name=name):
                found[name] = inputs[0].detach().float()

            handles.append(mod.register_forward_hook(hook))
    try:
        yield found
    finally:
        for h in handles:
            h.remove()


def dead_fraction(pre_activation: torch.Tensor) -> float:
    """Fraction of channels never positive anywhere in the batch: ReLU units that pass no signal
    and get no gradient."""
    per_channel_max = pre_activation.transpose(0, 1).flatten(1).amax(dim=1)
    return float((per_channel_max <= 0).float().mean())


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in layer_params(model)}


def update_ratios(model: nn.Module, before: dict[str, torch.Tensor]) -> dict[str, float]:
    """||w_after - w_before|| / ||w_before|| per layer; healthy training sits near 1e-3."""
    out = {}
    for name, p in layer_params(model):
        if name in before:
            denom = before[name].float().norm().item()
            out[name] = (p.detach().float() - before[name].float()).norm().item() / max(denom, 1e-12)
    return out


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], gray inputs as 3 channels, for image grids."""
    x = x.detach().float().cpu().clamp(-1, 1) * 0.5 + 0.5
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def sample_grid(inp: torch.Tensor, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """One row per sample: input | output | target. A hint model's input shows its drawing alone
    (channel 0; the hint channels follow it)."""
    drawing = inp if inp.shape[1] in (1, 3) else inp[:, :1]
    rows = torch.stack([to_unit(drawing), to_unit(out), to_unit(target)], dim=1).flatten(0, 1)
    return make_grid(rows, nrow=3, padding=2, pad_value=1.0)


ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU)


def normalize_each(maps: torch.Tensor) -> torch.Tensor:
    """[N, H, W] -> [N, 1, H, W], each map stretched to [0, 1] (constant maps become mid-gray)."""
    flat = maps.detach().float().cpu().flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    span = hi - lo
    out = torch.where(span > 1e-12, (flat - lo) / span.clamp_min(1e-12), torch.full_like(flat, 0.5))
    return out.view(maps.shape[0], 1, *maps.shape[1:])


def tile_grid(tiles: torch.Tensor, nrow: int = 8, min_side: int = 48) -> torch.Tensor:
    """[N, C, h, w] in [0, 1] -> one grid image, tiles upscaled (nearest) to at least min_side."""
    scale = max(1, math.ceil(min_side / max(tiles.shape[-1], 1)))
    if scale > 1:
        tiles = F.interpolate(tiles, scale_factor=scale, mode="nearest")
    return make_grid(tiles, nrow=nrow, padding=2, pad_value=1.0)


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d] | None:
    for name, mod in unwrap(model).named_modules():
        if isinstance(mod, nn.Conv2d):
            return name, mod
    return None


def filter_grid(conv: nn.Conv2d) -> torch.Tensor:
    """One tile per output filter (input channels averaged), each stretched to [0, 1]."""
    w = conv.weight.detach().float().cpu().mean(1)  # [out, k, k]
    return tile_grid(normalize_each(w), nrow=8, min_side=32)


@torch.no_grad()
def feature_maps(model: nn.Module, inp: torch.Tensor, depths: int = 4) -> dict[str, torch.Tensor]:
    """Activation outputs of `depths` layers spread evenly through the forward pass: name -> [C, h, w]
    for the first sample."""
    model = unwrap(model)
    found: list[tuple[str, torch.Tensor]] = []
    handles = [m.register_forward_hook(lambda _m, _i, out, name=name: found.append((name, out[0].detach().float().cpu())))
               for name, m in model.named_modules() if isinstance(m, ACTIVATIONS)]
    was_training = model.training
    model.eval()
    try:
        model(inp[:1])
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    if not found:
        return {}
    picks = sorted({round(i * (len(found) - 1) / max(depths - 1, 1)) for i in range(depths)})
    return {found[i][0]: found[i][1] for i in picks}


def feature_grids(model: nn.Module, inp: torch.Tensor, channels: int = 16, depths: int = 4) -> dict[str, torch.Tensor]:
    """Image grids [3, H, W] in [0, 1] for TensorBoard's add_image: 'filters' (first conv) and one per
    depth ('features/<layer>'): the first `channels` feature maps of inp[0], each stretched to [0, 1]."""
    grids = {}
    conv = first_conv(model)
    if conv is not None:
        grids["filters"] = filter_grid(conv[1])
    for name, maps in feature_maps(model, inp, depths).items():
        grids[f"features/{name}"] = tile_grid(normalize_each(maps[:channels]), nrow=8, min_side=64)
    return grids


class TrainMonitor:
    def __init__(self, log_dir, purge_step: int | None = None):
        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def images(self, step: int, inp, out, target) -> None:
        self.writer.add_image("samples/input|output|target", sample_grid(inp, out, target), step)

    def features(self, step: int, grids: dict[str, torch.Tensor]) -> None:
        """First-layer filters and feature maps at a few depths (what the network extracts)."""
        for name, grid in grids.items():
            self.writer.add_image(f"features/{name}", grid, step)

    def network_health(
        self,
        step: int,
        prefix: str,
        model: nn.Module,
        activations: dict[str, torch.Tensor],
        ratios: dict[str, float],
    ) -> None:
        w = self.writer
        for name, p in layer_params(model):
            w.add_histogram(f"{prefix}/weights/{name}", p.detach().float().cpu(), step)
            if p.grad is not None:
                w.add_histogram(f"{prefix}/gradients/{name}", p.grad.detach().float().cpu(), step)
        for name, act in activations.items():
            w.add_histogram(f"{prefix}/preactivations/{name}", act.cpu(), step)
            if isinstance(dict(unwrap(model).named_modules())[name], nn.ReLU):
                w.add_scalar(f"{prefix}/dead_relu_fraction/{name}", dead_fraction(act), step)
        for name, ratio in ratios.items():
            w.add_scalar(f"{prefix}/update_ratio/{name}", ratio, step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
