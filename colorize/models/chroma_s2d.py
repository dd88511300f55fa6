"""Space-to-depth chroma network: gray or line art (and optional color hints) in, colors out, with
its compute where chroma is decided.

Chroma is a low-frequency signal that the page's own lines refine at full size (the Colorizer's
regions and guided filter), so this network never convolves at full or half resolution: a
space-to-depth stem folds each `stem` x `stem` block of pixels into channels, and every layer
works from 1/`stem` of the input's resolution down, where context (what is hair, what is skin)
is learned. Width and residual depth sit at the low-resolution levels; the full-resolution output
takes its luma from the input itself plus a learned coarse correction (darkened hair and clothes
in line art), so lines stay sharp at no cost.

Hints: `hint_ch` extra input channels (see colorize.hints: the hint's Y, Cb, Cr and a mask of
where hints are) go into the same stem. A 1-channel input means "no hints" (zeros), so every
caller that knows nothing of hints keeps working.

forward(x) -> RGB in [-1, 1] at the input's size; forward(x, return_logits=True) -> (RGB, class
logits, luma), the logits and luma at 1/`stem` resolution, for the training losses."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from colorize.chroma import NUM_CLASSES, ycc_to_rgb
from colorize.models.readout import ChromaReadout
from colorize.models.unet import _norm


def conv_bn_relu(cin: int, cout: int, norm: str, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=norm == "none"),
                         _norm(norm, cout), nn.ReLU())


class ResBlock(nn.Module):
    """Two 3x3 convolutions with an identity shortcut (ReLU modules so monitors can hook them)."""

    def __init__(self, ch: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, padding=1, bias=norm == "none"), _norm(norm, ch), nn.ReLU(),
            nn.Conv2d(ch, ch, 3, padding=1, bias=norm == "none"), _norm(norm, ch),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class ChromaS2D(ChromaReadout, nn.Module):
    """`depth` stride-2 levels below the stem's 1/`stem` resolution, widths `base * 2**level`
    capped at `max_ch`, `blocks[level]` residual blocks at each level (the last value repeats)."""

    def __init__(self, in_ch: int = 1, hint_ch: int = 0, base: int = 64, depth: int = 4, max_ch: int = 384,
                 stem: int = 4, blocks: tuple[int, ...] | list[int] = (1, 1, 2, 2, 2), norm: str = "batch",
                 temperature: float = 1.0, vividness: float = 0.0, palette: float = 0.0):
        super().__init__()
        if depth < 1 or stem < 1:
            raise ValueError("depth and stem must be >= 1")
        blocks = list(blocks) or [1]
        self.in_ch, self.hint_ch, self.stem_factor = int(in_ch), int(hint_ch), int(stem)
        self.multiple = stem * 2**depth
        self.temperature = float(temperature)
        self.vividness = float(vividness)  # used in eval mode, with the training color prior
        self.palette = float(palette)  # used in eval mode, with a character's palette bias
        self.color_prior = None  # set_color_prior: the card's chroma_prior
        widths = [min(base * 2**i, max_ch) for i in range(depth + 1)]
        per_level = [blocks[min(i, len(blocks) - 1)] for i in range(depth + 1)]
        self.unshuffle = nn.PixelUnshuffle(stem)
        self.stem = conv_bn_relu((in_ch + hint_ch) * stem * stem, widths[0], norm)
        self.levels = nn.ModuleList()
        for i in range(depth + 1):
            down = [] if i == 0 else [conv_bn_relu(widths[i - 1], widths[i], norm, stride=2)]
            self.levels.append(nn.Sequential(*down, *(ResBlock(widths[i], norm) for _ in range(per_level[i]))))
        self.decoder = nn.ModuleList(conv_bn_relu(widths[i + 1] + widths[i], widths[i], norm)
                                     for i in reversed(range(depth)))
        self.classes = nn.Conv2d(widths[0], NUM_CLASSES, 1)
        self.luma = nn.Conv2d(widths[0], 1, 1)
        self.luma.small_init = True

    @property
    def takes_hints(self) -> bool:
        return self.hint_ch > 0

    def _with_hints(self, x: torch.Tensor) -> torch.Tensor:
        want = self.in_ch + self.hint_ch
        if x.shape[1] == want:
            return x
        if x.shape[1] == self.in_ch:  # no hints given: the "no hints" encoding is all zeros
            return torch.cat([x, x.new_zeros(x.shape[0], self.hint_ch, *x.shape[2:])], dim=1)
        raise ValueError(f"input has {x.shape[1]} channels; this model takes {self.in_ch} (+{self.hint_ch} hint)")

    def forward(self, x: torch.Tensor, return_logits: bool = False):
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"input {h}x{w} is not a multiple of {self.multiple}; pad it first")
        x = self._with_hints(x)
        gray = x[:, : self.in_ch].mean(dim=1, keepdim=True)
        skips = []
        y = self.stem(self.unshuffle(x))
        for level in self.levels:
            y = level(y)
            skips.append(y)
        y = skips.pop()
        for up in self.decoder:
            skip = skips.pop()
            y = up(torch.cat([F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1))
        logits = self.classes(y)
        correction = self.luma(y).float()
        # Luma: the input's own brightness plus a learned coarse correction; the loss sees it at
        # the logits' resolution, the output at full size (sharp lines from the input itself).
        small_gray = F.avg_pool2d(gray.float(), self.stem_factor)
        luma = small_gray + correction
        chroma = self.chroma_from(logits, small_gray)
        up = dict(size=(h, w), mode="bilinear", align_corners=False)
        full_luma = gray.float() + F.interpolate(correction, **up)
        rgb = ycc_to_rgb(torch.cat([full_luma, F.interpolate(chroma, **up)], dim=1)).clamp(-1, 1)
        return (rgb, logits, luma) if return_logits else rgb

    def encoder_modules(self) -> tuple[nn.Module, ...]:
        """The contracting path: what `--freeze encoder` keeps fixed when fine-tuning."""
        return (self.stem, self.levels)
