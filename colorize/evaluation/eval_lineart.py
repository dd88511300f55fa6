"""The fixed line-art input of `eval --mode lineart`: XDoG as the training pipeline drew it when
the held-out figures were first recorded (commit 21392e0). Training's own synthesis
(colorize.data.synth) keeps changing to look more like real line art; this copy does not, so
line-art figures stay comparable across model versions."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from colorize.chroma import LUMA as BT601_LUMA

LUMA = np.array(BT601_LUMA, dtype=np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """float32 H x W in [0, 1]."""
    return (rgb.astype(np.float32) @ LUMA) * np.float32(1 / 255)


def _window2(x: np.ndarray, op) -> np.ndarray:
    # a 2 x 2 window over (i, i+1) x (j, j+1), edges repeated
    return op(x, size=2, mode="nearest", origin=-1)


def xdog(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Extended difference of Gaussians (Winnemoeller et al. 2012), tau form, with the parameter
    ranges and random line weight of the original recipe; float32 H x W, paper 1, ink 0."""
    sigma = rng.uniform(0.4, 1.0)
    k = rng.uniform(1.4, 3.0)
    tau = rng.uniform(0.97, 0.995)
    eps = rng.uniform(-0.02, 0.0)
    phi = 10 ** rng.uniform(1.7, 3.0)
    d = ndi.gaussian_filter(gray, sigma) - tau * ndi.gaussian_filter(gray, sigma * k)
    out = np.clip(np.where(d >= eps, np.float32(1), 1 + np.tanh(phi * (d - eps))), 0, 1).astype(np.float32)
    r = rng.random()
    if r < 0.25:  # thicker lines: paper eroded
        return _window2(out, ndi.minimum_filter)
    if r < 0.35:  # thinner lines: paper dilated
        return _window2(out, ndi.maximum_filter)
    return out
