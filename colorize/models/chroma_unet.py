"""Chroma U-Net: gray or line art in, the colored image out, spending its work on color.

It predicts, at half the input's resolution, a distribution over quantized (Cb, Cr) colors (see
colorize.chroma) and a coarse brightness (luma) for shading line art; both are upsampled and
turned into RGB. Half resolution is enough for color (the eye resolves chroma coarsely, and the
Colorizer fits colors to the full-resolution lines), and it drops the most expensive level of a
U-Net: two 3x3 convolutions on wide features at full resolution. The full-resolution stem is a
single narrow convolution for the same reason."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from colorize.chroma import NUM_CLASSES, ycc_to_rgb
from colorize.models.readout import ChromaReadout
from colorize.models.unet import Down, Up


class ChromaUNet(ChromaReadout, nn.Module):
    """`depth` downsamplings below the stem, widths `base * 2**level` capped at `max_ch`.
    forward(x) -> RGB in [-1, 1]; forward(x, return_logits=True) -> (RGB, class logits, luma),
    the logits and luma at half resolution, for the training losses."""

    def __init__(self, in_ch: int = 1, base: int = 32, depth: int = 5, max_ch: int = 384,
                 norm: str = "batch", temperature: float = 1.0, vividness: float = 0.0, palette: float = 0.0):
        super().__init__()
        if depth < 2:
            raise ValueError("depth must be >= 2")
        self.multiple = 2**depth
        self.temperature = float(temperature)
        self.vividness = float(vividness)  # used in eval mode, with the training color prior
        self.palette = float(palette)  # used in eval mode, with a character's palette bias
        self.color_prior = None  # set_color_prior: the card's chroma_prior
        widths = [min(base * 2**i, max_ch) for i in range(depth + 1)]
        stem_ch = max(8, widths[0] // 2)
        self.stem = nn.Sequential(nn.Conv2d(in_ch, stem_ch, 3, padding=1, bias=False), _norm(norm, stem_ch), nn.ReLU())
        self.encoder = nn.ModuleList(
            [Down(stem_ch, widths[1], norm)] + [Down(widths[i], widths[i + 1], norm) for i in range(1, depth)]
        )
        self.decoder = nn.ModuleList(Up(widths[i + 1], widths[i], widths[i], norm) for i in reversed(range(1, depth)))
        self.classes = nn.Conv2d(widths[1], NUM_CLASSES, 1)
        self.luma = nn.Conv2d(widths[1], 1, 1)
        self.luma.small_init = True

    def forward(self, x: torch.Tensor, return_logits: bool = False):
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"input {h}x{w} is not a multiple of {self.multiple}; pad it first")
        skips = [self.encoder[0](self.stem(x))]
        for down in self.encoder[1:]:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.decoder:
            y = up(y, skips.pop())
        logits = self.classes(y)
        # Luma as the input's own brightness plus a learned correction: gray input passes through,
        # line art learns where to darken (hair, clothes) from the correction alone.
        small_gray = F.avg_pool2d(x[:, :1], 2).float()
        luma = small_gray + self.luma(y).float()
        chroma = self.chroma_from(logits, small_gray)
        rgb = ycc_to_rgb(torch.cat([luma, chroma], dim=1))
        rgb = F.interpolate(rgb, size=(h, w), mode="bilinear", align_corners=False).clamp(-1, 1)
        return (rgb, logits, luma) if return_logits else rgb

    def encoder_modules(self) -> tuple[nn.Module, ...]:
        """The contracting path: what `--freeze encoder` keeps fixed when fine-tuning."""
        return (self.stem, self.encoder)


def _norm(kind: str, channels: int) -> nn.Module:
    from colorize.models.unet import _norm as make

    return make(kind, channels)
