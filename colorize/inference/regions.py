"""Line-bounded regions of a drawing: where the ink is, and the areas the lines enclose.

Lines are the pixels clearly darker than the paper. Regions are found as in trapped-ball filling
(a ball too big for a gap in a line cannot roll through it): a small ball closes gaps up to about
4 px, so a sketchy line still separates two areas, and a big ball splits those areas further at
gaps up to about 12 px where it fits (a face behind a gappy outline is not the background; thin
hair strands, where it does not fit, stay with the small ball's areas). Areas too small to get
their own color from the model (slivers between close lines, the holes in letters, specks) and
the lines themselves then join the nearest region, so every pixel belongs to one. All of it is
whole-image numpy/scipy work (chamfer distances, labelling): about 0.1 s for a 1024x1456 page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

LINE_SHARE = 0.78  # a pixel darker than this share of the paper's brightness is ink (199 on white)
# Ball radii in pixels (at the region step's resolution, about 1000-1600 px on the long side):
# the small ball closes gaps in lines up to about 4 px, the big one up to about 12 px.
RADII = (6, 2)
PAPER_QUANTILE = 0.95  # the paper's brightness: the 95th percentile of the page's luma


@dataclass
class Regions:
    """Every pixel's region, and a few facts per region (arrays indexed by label; label 0 unused)."""

    labels: np.ndarray  # int32 h x w: region of every pixel, lines included (1..count)
    core: np.ndarray  # bool h x w: inside a region proper (not ink, the gap band, or a sliver)
    line: np.ndarray  # bool h x w: ink
    count: int
    area: np.ndarray  # core pixels per region
    luma: np.ndarray  # mean brightness of the core per region, 0..255
    border: np.ndarray  # bool: the region's core touches the image border
    paper: float  # the page's paper brightness
    group: np.ndarray  # the small-ball area each region is part of (the big ball may split one)

    def white(self, margin: float = 24.0) -> np.ndarray:
        """Regions about as bright as the paper (blank paper, a bubble, an uncolored shape)."""
        return self.luma >= self.paper - margin


def paper_level(luma: np.ndarray) -> float:
    """The paper's brightness: a high quantile of the luma (uint8), at least mid-gray so a dark
    page still has a line threshold below its tones."""
    hist = np.bincount(luma.ravel(), minlength=256)
    level = int(np.searchsorted(np.cumsum(hist), PAPER_QUANTILE * luma.size))
    return float(max(128, min(255, level)))


def find_regions(luma: np.ndarray, min_area: int = 16, radii: tuple[int, int] = RADII) -> Regions:
    """Regions of a drawing given as uint8 luma (h x w). `min_area`: smaller areas take the color
    of the nearest region instead of getting their own. `radii`: the big and the small ball."""
    paper = paper_level(luma)
    line = luma < LINE_SHARE * paper
    labels, count, group = _trapped_balls(line, min_area, *radii)
    core = labels > 0
    if count == 0:  # all ink (or a blank speck): one region holds everything
        return _one_region(luma, line, paper)
    # Every other pixel joins its nearest region. A chamfer distance is a few times faster than
    # the exact Euclidean one and ties only move a boundary by a pixel, inside a line.
    if not core.all():
        _, (iy, ix) = ndi.distance_transform_cdt(~core, metric="chessboard", return_indices=True)
        labels = labels[iy, ix]
    core_labels = np.where(core, labels, 0).ravel()
    area = np.bincount(core_labels, minlength=count + 1)
    total = np.bincount(core_labels, weights=luma.ravel(), minlength=count + 1)
    mean = np.divide(total, area, out=np.full(count + 1, paper), where=area > 0)
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    edge_core = np.concatenate([core[0], core[-1], core[:, 0], core[:, -1]])
    border = np.zeros(count + 1, bool)
    border[edge[edge_core]] = True
    return Regions(labels, core, line, count, area, mean, border, paper, group)


def _trapped_balls(
    line: np.ndarray, min_area: int, big: int, small: int
) -> tuple[np.ndarray, int, np.ndarray]:
    """Region seeds (int32, 0 = none), their count, and each one's small-ball area. The small ball finds areas closed up to
    gaps of about 2 x `small`; the big ball splits them further at gaps up to 2 x `big` (a sketchy
    outline does not let the background into a face), where it fits at all (not in thin hair)."""
    # Where a ball fits: no ink within its radius in either of two metrics (square and diamond,
    # together about an octagon; slightly stricter than a disk, so it closes a little more).
    chess = ndi.distance_transform_cdt(~line, metric="chessboard")
    taxi = ndi.distance_transform_cdt(~line, metric="taxicab")
    fine, n_fine = ndi.label((chess > small) | (taxi > round(1.4 * small)))
    fine[line] = 0
    coarse, n_coarse = ndi.label((chess > big) | (taxi > round(1.4 * big)))
    big_area = np.bincount(coarse.ravel(), minlength=n_coarse + 1)
    coarse_ok = big_area >= max(min_area, (2 * big) ** 2)
    coarse_ok[0] = False
    # Fine regions holding no big-ball region keep their own seed; the others are split into
    # their big-ball regions (what the big ball missed of them joins the nearest one later).
    split = np.zeros(n_fine + 1, bool)
    split[fine[coarse_ok[coarse]]] = True
    seeds = np.where(coarse_ok[coarse], coarse, 0).astype(np.int64)
    own = (fine > 0) & ~split[fine]
    seeds[own] = fine[own] + n_coarse
    area = np.bincount(seeds.ravel(), minlength=n_coarse + n_fine + 1)
    keep = area >= min_area
    keep[0] = False
    lut = np.zeros(len(keep), np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    seeds = lut[seeds]
    group = np.zeros(int(keep.sum()) + 1, np.int64)
    group[seeds] = fine  # each seed lies inside one small-ball area
    return seeds, int(keep.sum()), group


def _one_region(luma: np.ndarray, line: np.ndarray, paper: float) -> Regions:
    labels = np.ones(luma.shape, np.int32)
    mean = np.array([0.0, float(luma.mean())])
    return Regions(
        labels,
        np.zeros(luma.shape, bool),
        line,
        1,
        np.zeros(2, np.int64),
        mean,
        np.array([False, True]),
        paper,
        np.array([0, 1]),
    )


def region_mean(labels: np.ndarray, values: np.ndarray, count: int, spread: float = 8.0) -> np.ndarray:
    """A robust mean of `values` (h x w x c float) over each region of `labels` (h x w, 0 = not
    counted): the plain mean, then once more with Cauchy weights 1 / (1 + (distance / spread)^2),
    so a minority of pixels with another color (the model's blur of a neighbour across the line)
    barely moves it. Returns (count + 1) x c; regions without pixels get 0."""
    flat_labels = labels.ravel()
    flat = values.reshape(flat_labels.size, -1).astype(np.float64)
    w = (flat_labels > 0).astype(np.float64)
    mean = _weighted(flat_labels, flat, w, count)
    d2 = ((flat - mean[flat_labels]) ** 2).sum(axis=1) / spread**2
    return _weighted(flat_labels, flat, w / (1.0 + d2), count)


def _weighted(labels: np.ndarray, flat: np.ndarray, w: np.ndarray, count: int) -> np.ndarray:
    norm = np.bincount(labels, weights=w, minlength=count + 1)
    out = np.zeros((count + 1, flat.shape[1]))
    for c in range(flat.shape[1]):
        total = np.bincount(labels, weights=w * flat[:, c], minlength=count + 1)
        np.divide(total, norm, out=out[:, c], where=norm > 0)
    return out
