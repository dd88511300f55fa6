"""PatchGAN discriminator conditioned on the input: it judges (input, colors) pairs patch by
patch, which pushes the generator towards locally plausible color and texture."""

from __future__ import annotations

import torch
from torch import nn


def _norm(kind: str, channels: int) -> nn.Module:
    """"batch" lets D tell a batch of real pairs from a batch of fakes by their statistics alone
    when the two go through it separately; "instance" and "none" (with spectral norm) judge each
    sample on its own."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown discriminator norm {kind!r} (batch, instance, none)")


class PatchDiscriminator(nn.Module):
    def __init__(
        self,
        in_ch: int = 1,
        out_ch: int = 3,
        base: int = 64,
        layers: int = 3,
        spectral_norm: bool = False,
        norm: str = "batch",
    ):
        super().__init__()

        def conv(cin: int, cout: int, stride: int, bias: bool) -> nn.Module:
            c = nn.Conv2d(cin, cout, 4, stride=stride, padding=1, bias=bias)
            return nn.utils.parametrizations.spectral_norm(c) if spectral_norm else c

        mods: list[nn.Module] = [conv(in_ch + out_ch, base, 2, True), nn.LeakyReLU(0.2)]
        ch = base
        for i in range(1, layers + 1):
            nxt = min(base * 2**i, 512)
            stride = 2 if i < layers else 1
            mods += [conv(ch, nxt, stride, norm == "none"), _norm(norm, nxt), nn.LeakyReLU(0.2)]
            ch = nxt
        mods.append(conv(ch, 1, 1, True))
        self.net = nn.Sequential(*mods)

    def forward(self, inp: torch.Tensor, colors: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([inp, colors], dim=1))
