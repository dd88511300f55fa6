"""A user's color hints laid over the Colorizer's color planes, at the region step's resolution.

The model sees the hints too (colorize.hints, at the working size) and carries them where lines
do not close regions (screentone, gradients, open shapes). Here they are made exact where the
drawing itself says how far a hint reaches:
  - a hint is followed where it is painted (its own pixels take its color);
  - a line-bounded region whose hints all have one color is filled with that color, under the
    page's shading and lines, and nothing crosses its closed lines;
  - a region holding hints of different colors keeps the model's colors (the model decides);
  - on a gray or screentoned page (not line art) the hints are also carried over the model's
    colors to the pixels connected to them and alike in brightness and look (hint_walk), under
    the region fills; there paper (the background reaching the border, bubbles) is not filled:
    on a gray picture such a region often joins several light objects, and filling it scored
    worse (default model's 36 validation pictures, gray input, 10 hints: CbCr 6.99 filling every
    one-color region, 6.64 leaving paper to the walk).
Works for checkpoints without hint channels too: then region fill and the walk are all a hint does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from colorize.hints import ALPHA_MIN
from colorize.inference.colorspace import K
from colorize.inference.hint_walk import walk_hints
from colorize.inference.paint import Drawing
from colorize.inference.regions import Regions

ONE_COLOR = 8.0  # hints in a region count as one color when their Cb/Cr spread is within this


@dataclass
class HintLayer:
    """Hints at the region step's resolution."""

    ycc: np.ndarray  # float32 h x w x 3: Y, Cb, Cr (0..255) of the hint pixels (0 elsewhere)
    mask: np.ndarray  # bool h x w: where hints are


def hint_layer(image: Image.Image, size: tuple[int, int]) -> HintLayer | None:
    """A user's hint image (RGBA, any size; alpha >= 128 marks hints) at `size` = (w, h), or None
    when it holds no hint. Nearest-neighbour scaling: a hint keeps its exact color."""
    rgba = image.convert("RGBA")
    if rgba.size != size:
        rgba = rgba.resize(size, Image.Resampling.NEAREST)
    mask = np.asarray(rgba.getchannel("A")) >= ALPHA_MIN
    if not mask.any():
        return None
    ycc = np.asarray(rgba.convert("RGB").convert("YCbCr"), np.float32) * mask[..., None]
    return HintLayer(ycc, mask)


def region_hints(regions: Regions, layer: HintLayer) -> tuple[np.ndarray, np.ndarray]:
    """(bool per region: its hints have one color, float (count + 1) x 3: their mean Y, Cb, Cr).
    Only hints inside a region proper count: a stroke that touches a line does not reach across."""
    where = np.flatnonzero(regions.core & layer.mask)  # the hint pixels alone: a page has millions
    labels = regions.labels.ravel()[where]
    n = regions.count + 1
    count = np.bincount(labels, minlength=n).astype(np.float64)
    count[0] = 0
    values = layer.ycc.reshape(-1, 3)[where].astype(np.float64)
    mean = np.stack([np.bincount(labels, weights=values[:, c], minlength=n) for c in range(3)], axis=1)
    mean = mean.astype(np.float64) / np.maximum(count, 1)[:, None]  # (bincount of no pixel is int)
    square = sum(np.bincount(labels, weights=values[:, c] ** 2, minlength=n) for c in (1, 2))
    spread = np.sqrt(np.maximum(square / np.maximum(count, 1) - (mean[:, 1:] ** 2).sum(axis=1), 0))
    return (count > 0) & (spread <= ONE_COLOR), mean


def apply_hints(chroma: np.ndarray, gain: np.ndarray, multiply: bool, drawing: Drawing,
                layer: HintLayer, features: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The planes (chroma h x w x 2 minus neutral, gain h x w, at the drawing's resolution) with
    the hints laid over them. `features`: the generator's last features for this page, or None
    (see hint_walk)."""
    regions, luma = drawing.regions, drawing.luma
    one, mean = region_hints(regions, layer)
    hint_cbcr = layer.ycc[..., 1:] - np.float32(128)
    chroma = chroma.copy() if multiply else walk_hints(chroma, luma, hint_cbcr, layer.mask, features)
    gain = gain.copy()
    if not multiply:
        one = one & ~drawing.paper  # on a gray page "paper" is often a light area across several objects
    filled = one[regions.labels]
    labels = regions.labels[filled]
    chroma[filled] = mean[labels, 1:] - np.float32(128)
    gain[filled] = _gain(mean[labels, 0], regions, labels, multiply)
    m = layer.mask
    chroma[m] = hint_cbcr[m]
    gain[m] = _dab_gain(layer.ycc[m, 0], luma[m], regions, regions.labels[m], multiply)
    return chroma, gain


def _gain(y: np.ndarray, regions: Regions, labels: np.ndarray, multiply: bool) -> np.ndarray:
    """The brightness gain that gives a hint's own brightness on a white region (a color layer
    multiplied over line art; or a white shape on a gray page). A toned region (gray hair on a
    manga page) keeps the page's shading and takes only the hint's color."""
    if multiply:
        return np.minimum(y / np.float32(regions.paper), 1).astype(np.float32)
    white = regions.white()[labels]
    luma = regions.luma[labels].astype(np.float32)
    return np.where(white, (y + np.float32(K)) / (luma + np.float32(K)), 1).astype(np.float32)


def _dab_gain(y: np.ndarray, luma: np.ndarray, regions: Regions, labels: np.ndarray,
              multiply: bool) -> np.ndarray:
    """The gain under the hint's own pixels. On a gray page a pixel there is darkened to the
    hint's brightness at most, never below its own: a dab over a dark line or a shadow of a white
    region keeps that darkness (and the color it can hold) instead of being scaled towards black
    as the region's bright pixels are."""
    if multiply:
        return _gain(y, regions, labels, multiply)
    white = regions.white()[labels]
    own = luma.astype(np.float32)
    darker = (y + np.float32(K)) / (np.maximum(own, y) + np.float32(K))
    return np.where(white, darker, 1).astype(np.float32)
