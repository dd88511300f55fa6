"""A character's brightness palette, fit to its pictures with the model frozen (`--steps 0`).

The default model knows where hair, skin and cloth are but not this character's colors. Instead of
retraining it, one bias per color class is learned for each of BINS bins of the input's brightness
(colorize.models.readout.brightness_bias): a table of BINS x 289 numbers, fit by the training
objective's soft-class cross-entropy on the character's pictures, each shown as a gray picture and
as line art. On the four shared characters' held-out quarters (gray input, `colorize quality --sets
character`, the readout cross-fitted: colorize.character.readout) it reaches 0.94x gray's CbCr
error on average (0.93x from 10 pictures), where a single row (the pictures' color frequencies
against the default model's) reached 0.97x and a 500-step fine-tune 0.96x; Luffy 19.35 -> 16.02,
Hua_Cheng 12.19 -> 11.52. Coloring each cell from its nearest cells of the training pictures
(exemplars in the model's last features and brightness, 32-256 neighbours) reached 0.92-1.00x,
tuned on the held-out quarters themselves: no better, for a feature bank of megabytes: not shipped.
The fit costs seconds of CPU; choosing the readout takes most of a palette-only model's two minutes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

BINS = 8
SIDE = 384  # pictures at up to this long side: about as large as a page reaches the model
MAX_CELLS = 30_000  # logit cells the fit sees (a random sample): enough for BINS x 289 numbers, and
# the fit is a few seconds (each step is a softmax over every cell)
STEPS = 200
LR = 0.1
WEIGHT_DECAY = 1e-3  # an L2 pull towards no bias, for a bin with few pixels (1e-4 and 16 bins:
# Luffy 17.1 on its held-out quarter against 16.0: a table that fits the pictures too closely)


def fit_brightness_palette(G, pictures: Sequence[Path], seed: int = 0,
                           check_stop: Callable[[], None] = lambda: None) -> list[list[float]]:
    """The brightness palette (BINS rows of one logit bias per class) of the frozen chroma-class
    model G for these pictures. `check_stop` is called between pictures (it may raise)."""
    rng = np.random.default_rng(seed)
    logits, bins, idx, weights = [], [], [], []
    for path in pictures:
        check_stop()
        for cells in _cells(G, path, rng):
            for store, value in zip((logits, bins, idx, weights), cells, strict=True):
                store.append(value)
    if not logits:
        raise ValueError("no pictures to fit a palette to")
    logits, bins, idx, weights = (torch.cat(v) for v in (logits, bins, idx, weights))
    keep = torch.from_numpy(rng.permutation(len(logits))[:MAX_CELLS])
    logits, bins, idx, weights = logits[keep], bins[keep], idx[keep], weights[keep]
    table = torch.zeros(BINS, logits.shape[1], requires_grad=True)
    opt = torch.optim.Adam([table], lr=LR)
    for _ in range(STEPS):
        logp = torch.log_softmax(logits + table[bins], dim=1)
        loss = -(logp.gather(1, idx) * weights).sum(dim=1).mean() + WEIGHT_DECAY * table.pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [[round(float(v), 4) for v in row] for row in table.detach()]


def _cells(G, path: Path, rng: np.random.Generator):
    """(logits [n, Q], brightness bins [n], soft classes [n, 4], their weights [n, 4]) of one
    picture, once from gray and once from line art."""
    from colorize.chroma import rgb_to_ycc, soft_classes
    from colorize.data.synth import line_art, luminance
    from colorize.images import load_rgb, reduce_to_side
    from colorize.models.readout import brightness_bins

    rgb = np.asarray(reduce_to_side(load_rgb(path), SIDE))
    gray = luminance(rgb)
    h, w = gray.shape
    m = G.multiple
    pad = (0, -w % m, 0, -h % m)
    inputs = [F.pad(torch.from_numpy(inp * 2 - 1).float()[None, None], pad, mode="replicate")
              for inp in (gray, line_art(rgb, gray, "xdog", rng))]
    with torch.inference_mode():
        logits = [G(x, return_logits=True)[1].float() for x in inputs]
    # The truth's color classes once: both inputs share the picture's size, hence the logits'.
    size = logits[0].shape[-2:]
    target = F.pad(torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None], pad, mode="replicate")
    i, wt = soft_classes(F.interpolate(rgb_to_ycc(target)[:, 1:], size=size, mode="area"))
    i, wt = i[0].flatten(1).T, wt[0].flatten(1).T
    for x, out in zip(inputs, logits, strict=True):
        small_gray = F.interpolate(x, size=size, mode="area")
        yield out[0].flatten(1).T, brightness_bins(small_gray, BINS).flatten(), i, wt
