"""Where the model's colors go: from its small picture to color planes over the drawing's regions.

Before the model runs, `analyse` looks at the page at up to ANALYSIS_SIDE pixels on its long side:
its line-bounded regions (regions.py), which of them are paper that stays white (paper.py), and
which of two ways suits the page:
  - line art (ink covers less than LINE_ART_INK of the page: every line-art input in
    ../shared/data scored at most 0.15, every manga page but one at least 0.21): each region gets
    one flat color, a robust mean of what the model painted inside it; lines are multiplied over.
  - gray or screentoned pages (more ink, where lines do not close regions): the model's colors are
    upsampled with a guided filter, so they stop at the page's own edges; white regions (faces,
    shirts, bubbles, margins) are filled flat as in line art.
`paint` then turns the model's output into chroma and brightness-gain planes at that resolution.
A white region is colored only when the model colors it with confidence (a clear, consistent
color, or a clear darkening); otherwise it stays the page's paper, as does, with
background="keep", paper that reaches the border and speech bubbles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from colorize.inference.colorspace import K
from colorize.inference.guided import guided_upsample
from colorize.inference.paper import border_paper, bubbles
from colorize.inference.regions import Regions, find_regions, region_mean

ANALYSIS_SIDE = 1600  # the region step works at up to this long side (a whole reduction of the page)
LINE_ART_INK = 0.18
BACKGROUNDS = ("keep", "color")
# A region counts as colored by the model when its mean color is at least MIN_CHROMA from gray
# (Cb/Cr levels) and the model agrees with itself across it (|mean| / mean |color| at least
# MIN_AGREEMENT), or when the model darkens it by at least MIN_DARKEN (dark hair is colorless).
MIN_CHROMA = 6.0
MIN_AGREEMENT = 0.5
MIN_DARKEN = 0.3
APART_CHROMA = 6.0  # a piece of the background needs a color this far from the paper's to be colored


@dataclass
class Drawing:
    """What the page itself tells, found before the model runs."""

    luma: np.ndarray  # uint8, the page at the region step's resolution
    regions: Regions
    paper: np.ndarray  # bool per region: margins, background reaching the border, bubbles
    line_art: bool  # flat regions (True) or guided upsampling with flat white regions (False)


@dataclass
class Planes:
    """Color to lay over the page, at the region step's resolution."""

    chroma: np.ndarray  # float32 h x w x 2: Cb, Cr minus neutral
    gain: np.ndarray  # float32 h x w: brightness gain (1 keeps the page's)
    multiply: bool  # a color layer multiplied over the page (line art), or laid over it in YCbCr


def analyse(gray: Image.Image, working_side: int) -> Drawing:
    factor = math.ceil(max(gray.size) / ANALYSIS_SIDE)
    page = gray.reduce(factor) if factor > 1 else gray
    luma = np.asarray(page, np.uint8)
    # A region should span a few of the model's pixels to get a color of its own.
    ratio = max(page.size) / max(1, min(working_side, max(gray.size)))
    regions = find_regions(luma, min_area=max(16, round(2 * ratio * ratio)))
    paper = border_paper(regions) | bubbles(regions)
    return Drawing(luma, regions, paper, bool(regions.line.mean() < LINE_ART_INK))


def paint(drawing: Drawing, small: Image.Image, rgb: np.ndarray, shading: float, background: str) -> Planes:
    """Color planes from the model's output `rgb` (uint8 h x w x 3) for its input `small` ("L")."""
    regions = drawing.regions
    model = Image.fromarray(rgb)
    if small.size != model.size:  # the model ran smaller (CUDA out-of-memory retry)
        small = small.resize(model.size, Image.Resampling.BOX)
    ycc = np.asarray(model.convert("YCbCr"), np.float32)
    chroma_small = ycc[..., 1:] - np.float32(128.0)
    gain_small = _gain(model.convert("L"), small)
    colors, gains, agreement = _region_colors(regions, chroma_small, gain_small)
    # The model tints and darkens blank paper too (about 20% on line art): when the paper is kept,
    # what the model does to it is its bias, not shading, so gains count relative to the paper's.
    white = _paper_gain(regions, drawing.paper, gains) if background == "keep" else 1.0
    gains = gains / white
    if drawing.line_art:  # nothing in line art is brighter than its paper
        gains = np.minimum(gains, 1.0)
    colored = (np.hypot(colors[:, 0], colors[:, 1]) >= MIN_CHROMA) & (agreement >= MIN_AGREEMENT)
    colored |= gains <= 1 - MIN_DARKEN
    colored[0] = False
    if background == "keep":
        colored &= ~drawing.paper & ~(_like_paper(drawing, colors) & (gains > 1 - MIN_DARKEN))
    colors = np.where(colored[:, None], colors, 0.0).astype(np.float32)
    gains = np.where(colored, gains ** np.float32(shading), 1.0).astype(np.float32)
    if drawing.line_art:
        return Planes(colors[regions.labels], gains[regions.labels], multiply=True)
    guide_small = np.asarray(small, np.float32) / 255
    guide = drawing.luma.astype(np.float32) / 255
    radius = max(1, round(max(small.size) / 96))
    source = np.concatenate([chroma_small, np.log(gain_small / np.float32(white))[..., None]], axis=-1)
    guided = guided_upsample(guide_small, source, guide, radius, eps=1e-2)
    guided[..., 2] = np.exp(guided[..., 2] * np.float32(shading))
    # White regions are filled flat; ink, tones and gray fills keep the guided colors.
    table = np.concatenate([colors, gains[:, None]], axis=1)
    flat = (~regions.line & regions.white()[regions.labels])[..., None]
    out = np.where(flat, table[regions.labels], guided)
    return Planes(out[..., :2], out[..., 2], multiply=False)


def _region_colors(
    regions: Regions, chroma_small: np.ndarray, gain_small: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per region: the model's robust mean color (Cb, Cr), gain, and how well the model agrees
    with itself there (|mean color| / mean |color|: 1 when every pixel has the same hue, near 0
    for a random tint). Sampled on a grid of about two points per model pixel: the model has no
    finer detail to give, and a page's 1.5 million region pixels would cost ten times more."""
    h, w = regions.labels.shape
    step = max(1, int(max(h, w) / max(chroma_small.shape[:2]) / 2))
    labels = np.where(regions.core, regions.labels, 0)[step // 2 :: step, step // 2 :: step]
    grid = labels.shape
    values = np.stack(
        [_resize(chroma_small[..., 0], grid), _resize(chroma_small[..., 1], grid), _resize(gain_small, grid)],
        axis=-1,
    )
    mean = region_mean(labels, values, regions.count)
    flat = labels.ravel()
    samples = np.bincount(flat, minlength=regions.count + 1)
    magnitude = np.hypot(values[..., 0], values[..., 1]).ravel()
    mean_magnitude = np.bincount(flat, weights=magnitude, minlength=regions.count + 1) / np.maximum(
        samples, 1
    )
    agreement = np.hypot(mean[:, 0], mean[:, 1]) / np.maximum(mean_magnitude, 1e-6)
    gains = np.where(samples > 0, mean[:, 2], 1.0)  # a region too thin for the grid: no change
    return mean[:, :2], gains, agreement


def _gain(model_luma: Image.Image, small: Image.Image) -> np.ndarray:
    """The model's brightness over its input's, at the working size. Thin lines are dropped from
    both sides of the ratio (a 3x3 max keeps the paper around them): the model's picture of a
    line is not shading, and would light a halo around it."""
    y = np.asarray(model_luma.filter(ImageFilter.MaxFilter(3)), np.float32)
    x = np.asarray(small.filter(ImageFilter.MaxFilter(3)), np.float32)
    return (y + np.float32(K)) / (x + np.float32(K))


def _like_paper(drawing: Drawing, colors: np.ndarray) -> np.ndarray:
    """bool per region: a piece of the background that the big ball cut off (it lies in the same
    small-ball area as paper reaching the border: behind hair strands, inside a gappy outline)
    and that the model did not paint clearly apart from that paper (within APART_CHROMA levels
    of the paper's color). Such pieces stay paper unless clearly darkened (black stockings); a
    face behind a gap, painted skin, does not."""
    regions = drawing.regions
    border = drawing.paper & regions.border
    background = np.zeros(int(regions.group.max()) + 1, bool)
    background[regions.group[border]] = True
    weight = regions.area * border
    if weight.sum() == 0:
        return np.zeros(regions.count + 1, bool)
    paper_color = (colors * weight[:, None]).sum(axis=0) / weight.sum()
    apart = np.hypot(*(colors - paper_color).T) >= APART_CHROMA
    return background[regions.group] & regions.white() & ~apart


def _paper_gain(regions: Regions, paper: np.ndarray, gains: np.ndarray) -> float:
    """The model's mean gain over the paper regions (1 when the page has none), by area."""
    area = regions.area * paper
    if area.sum() < 0.01 * regions.labels.size:
        return 1.0
    return float(np.clip((gains * area).sum() / area.sum(), 0.5, 1.5))


def _resize(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if plane.shape == shape:
        return plane.astype(np.float32)
    image = Image.fromarray(np.ascontiguousarray(plane, np.float32))
    return np.asarray(image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR))
