"""U-Net generator: 1-channel gray / line art in, RGB in [-1, 1] out, with skip connections so
that line positions survive the bottleneck."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r} (batch, instance, group, none)")


class ConvBlock(nn.Sequential):
    """Two 3x3 conv -> norm -> ReLU. ReLU modules (not functional calls) so monitors can hook them."""

    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=norm == "none"),
            _norm(norm, cout),
            nn.ReLU(inplace=False),
            nn.Conv2d(cout, cout, 3, padding=1, bias=norm == "none"),
            _norm(norm, cout),
            nn.ReLU(inplace=False),
        )


class Down(nn.Module):
    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.block = ConvBlock(cin, cout, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.pool(x))


class Up(nn.Module):
    """Bilinear upsampling then convolution: avoids the checkerboard of transposed convolutions."""

    def __init__(self, cin: int, cskip: int, cout: int, norm: str):
        super().__init__()
        self.block = ConvBlock(cin + cskip, cout, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.block(torch.cat([x, skip], dim=1))


class UNetGenerator(nn.Module):
    """`depth` downsamplings, channel width `base * 2**level` capped at `max_ch`.
    Input height and width must be multiples of `self.multiple` (the Colorizer pads)."""

    def __init__(
        self,
        in_ch: int = 1,
        out_ch: int = 3,
        base: int = 32,
        depth: int = 4,
        max_ch: int = 512,
        norm: str = "batch",
    ):
        super().__init__()
        if depth < 1:
            raise ValueError("depth must be >= 1")
        self.multiple = 2**depth
        widths = [min(base * 2**i, max_ch) for i in range(depth + 1)]
        self.stem = ConvBlock(in_ch, widths[0], norm)
        self.encoder = nn.ModuleList(Down(widths[i], widths[i + 1], norm) for i in range(depth))
        self.decoder = nn.ModuleList(
            Up(widths[i + 1], widths[i], widths[i], norm) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], out_ch, 1)
        self.head.small_init = True  # init_weights scales it down: training starts near mid-gray

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"input {h}x{w} is not a multiple of {self.multiple}; pad it first")
        skips = [self.stem(x)]
        for down in self.encoder:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.decoder:
            y = up(y, skips.pop())
        return torch.tanh(self.head(y))

    def encoder_modules(self) -> tuple[nn.Module, ...]:
        """The contracting path: what `--freeze encoder` keeps fixed when fine-tuning."""
        return (self.stem, self.encoder)

    def encoder_parameters(self):
        for module in self.encoder_modules():
            yield from module.parameters()
