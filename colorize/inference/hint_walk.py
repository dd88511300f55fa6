"""A user's hints carried over a gray or screentoned page by a random walk (Grady 2006) with a
brightness match: each pixel takes the colors of the hints it is both connected to and alike.

Three questions decide which hint a pixel follows, answered on a grid of about WALK_SIDE cells
on the long side (chroma is a low-frequency signal; twice as fine as the network's features):
  - connected: the probability that a random walk from the pixel, stepping between neighbours
    that look alike in brightness (Levin et al. 2004's affinities), reaches this hint first. That
    is one sparse linear solve per page, with one right-hand side per hint: global reach along
    even ground, stopped by lines and edges; a small leak (LEAK) makes it fade over long
    distances. A cell crossed by a thin line barely conducts (LINE_GAP): the grid sees a line
    as its cells' darkest pixels, and dark cells alike in darkness would otherwise join into
    roads along every outline, panel border and bubble of a manga page, carrying a stroke
    across them (at the features' own, coarser grid and without this, a green stroke on one
    panel's lizard colored the panel below: docs/hints-lineart.png shows that page);
  - alike: how close the pixel's brightness is to the page under the hint. On a gray page two
    objects meeting at a soft edge (hair and skin) differ most in brightness, and the walk alone
    would blend them;
  - and, with the generator's last features (Colorizer.predict_with_features), how much the pixel
    looks like the hint's own pixels to the network: its last features, the activations its
    color classes are read from, are its own sense of "this is hair, this is skin" (edit
    propagation in feature space, An and Pellacini 2008, with learned features).
The hints take a pixel in proportion to their weight against MODEL_WEIGHT, the model's own color's:
near a matching hint the hint's color, far from every hint the model's.

Chosen on the default model's 36 validation pictures (color/ and extra/full/ in its validation
split, gray input, hints from the truth as `colorize quality` makes them: CbCr error at 10 hints
6.60 at the features' grid, 6.67 with the finer grid and the line rule that a real manga page
needs; 7.53 with the edge-aware spreading before this), and by looking at the README's manga
page; the held-out pictures were measured once, afterwards (README).
Not worth it on those pictures (K=10): feature similarity as an absolute gate rather than
relative to the closest hint (6.82 at sigma 0.45, 7.34 at 0.3: the model's own color is worse than
the least-alike hint's); the features' steps as a second term in the walk's affinities (6.67-6.69
at sigma 0.15-0.6: no object edge the brightness steps miss).
Also not worth it (same pictures, K=10, 6.67 as shipped): sharper mixing (weights squared: 7.16);
the hint's correction of the model's own color carried instead of the hint's color (7.70; half
each 6.94: the model's variation inside an object is noise, not shading); a likelihood from the
model's class distribution, p(hint's color | pixel) relative to the best hint's (6.66-6.68: a
linear readout of the same features adds nothing), or agreement with its annealed color (6.66 at
32 levels, 7.39 at 8); features whitened by the page's own principal components (6.71-7.29); and
features from a second, hint-free pass (6.69). Where the error is: on the 29% of pixels that the
hints recolor by more than 10 levels, 10.7 per channel in the output, against 5.1 had each taken the closest of
the page's hint colors: which hint a pixel follows, decided by features a stronger model would
sharpen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage as ndi
from scipy import sparse
from scipy.sparse.linalg import splu
from torch.nn import functional as F

from colorize.inference.colorspace import resize_plane

GRID_PER_FEATURE = 2  # grid cells per feature cell along each side: about 4-5 px on a 1,000 px page
MAX_GRID_SIDE = 256  # cells on the grid's long side at the most
WALK_SIDE = 224  # without features, the grid's long side: as with them at the 448 px working size
SIGMA_LUMA = 0.06  # brightness 0..1: how far a pixel's brightness may be from the hint's
SIGMA_FLOOR = 0.01  # the affinities' least brightness spread (flat ground joins, any step parts)
SIGMA_CAP = 0.05  # and its most: Levin's spread alone would open a step as steep as an ink line
LINE_GAP = 0.3  # a cell whose darkest pixel is this far below its mean (a thin line) barely conducts
COND_MIN = 0.01  # the least a cell conducts
LEAK = 1e-4  # per step of the walk: how fast a hint's reach fades with distance
SIGMA_FEATURE = 0.45  # on unit-length feature vectors (distance 0..2)
MAX_DABS = 128  # more separate dabs than this (a user's speckled strokes): one hint per color
MODEL_WEIGHT = 0.003  # the model's own color's weight against the hints' (1 at a hint itself)
NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))  # 8-connected: each pair once


def walk_hints(chroma: np.ndarray, luma: np.ndarray, hint_cbcr: np.ndarray, mask: np.ndarray,
               features: np.ndarray | None = None) -> np.ndarray:
    """`chroma` (float32 h x w x 2, the model's Cb, Cr minus neutral) with the hints carried over
    it. `luma`: the page (uint8 h x w); `hint_cbcr` (h x w x 2, minus neutral) where `mask` is set;
    `features`: C x fh x fw (the walk then runs on their grid), or None (brightness and connection
    alone, on a grid of WALK_SIDE)."""
    h, w = luma.shape
    labels, n = dabs(mask, hint_cbcr)
    out = chroma.astype(np.float32, copy=True)
    if n == 0:
        return out
    dab = Dabs.of(labels, n, luma, hint_cbcr)
    if features is not None:
        features = finer(features, GRID_PER_FEATURE)
    gh, gw = features.shape[1:] if features is not None else grid_shape(h, w)
    even, barrier = guides(luma, (gh, gw))
    grid = dab.seeds((h, w), (gh, gw))
    weight = walk(barrier, grid, n, conductance(even, barrier))
    weight *= np.exp(-((even[..., None] - dab.luma) ** 2) / np.float32(2 * SIGMA_LUMA**2))
    if features is not None:
        weight *= feature_match(features, grid, n)
    total = weight.sum(-1)
    share = total / (total + np.float32(MODEL_WEIGHT))
    mix = (weight @ dab.colors) / np.maximum(total, np.float32(1e-12))[..., None]
    share = resize_plane(share, (w, h))
    for c in range(2):
        out[..., c] = out[..., c] * (1 - share) + resize_plane(mix[..., c], (w, h)) * share
    out[mask] = hint_cbcr[mask]
    return out


def dabs(mask: np.ndarray, hint_cbcr: np.ndarray) -> tuple[np.ndarray, int]:
    """(labels h x w, count): each connected dab its own hint, or, past MAX_DABS, each hint
    color one, colors closer than a step of Cb, Cr merged, the step doubled until there are at
    most MAX_DABS (each hint is a right-hand side of the walk's solve: a few hundred would cost
    seconds and hundreds of MB)."""
    labels, n = ndi.label(mask)
    if n <= MAX_DABS:
        return labels, n
    step = 4.0
    while True:
        quantized = np.round(hint_cbcr[mask] / step).astype(np.int32)
        _, color = np.unique(quantized, axis=0, return_inverse=True)
        if color.max() < MAX_DABS:
            break
        step *= 2
    labels = np.zeros(mask.shape, np.int32)
    labels[mask] = color.ravel() + 1
    return labels, int(color.max()) + 1


def finer(features: np.ndarray, factor: int) -> np.ndarray:
    """The features (C x fh x fw) resized bilinearly to the walk's grid: `factor` times finer,
    but at most MAX_GRID_SIDE on the long side (a larger working size would make the solve cost
    seconds: 3.8 s at 512 cells, 0.4 s at 224, on a 1024 x 1456 page)."""
    fh, fw = features.shape[1:]
    scale = min(float(factor), MAX_GRID_SIDE / max(fh, fw))
    size = (max(2, round(fh * scale)), max(2, round(fw * scale)))
    x = torch.from_numpy(np.ascontiguousarray(features, np.float32))[None]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)[0].numpy()


def grid_shape(h: int, w: int) -> tuple[int, int]:
    """The walk's grid for an h x w page: WALK_SIDE on the long side, never finer than the page."""
    scale = min(1.0, WALK_SIDE / max(h, w))
    return max(2, round(h * scale)), max(2, round(w * scale))


def guides(luma: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The page on the grid (0..1), twice: each cell's mean brightness (what a hint's brightness is
    matched against) and its darkest pixel (what the walk steps over: a line thinner than a cell
    still darkens the cells it crosses, so it still parts them)."""
    gh, gw = shape
    x = torch.from_numpy(np.ascontiguousarray(luma, np.float32) / 255)[None, None]
    even = F.adaptive_avg_pool2d(x, (gh, gw))[0, 0].numpy()
    darkest = -F.adaptive_max_pool2d(-x, (gh, gw))[0, 0].numpy()
    return even, darkest


@dataclass
class Dabs:
    """The hints, one per dab (`dabs`): their pixels, colors and brightness."""

    n: int
    ys: np.ndarray  # the dab pixels' rows and columns, and which dab each is
    xs: np.ndarray
    which: np.ndarray
    colors: np.ndarray  # float32 n x 2: mean Cb, Cr minus neutral
    luma: np.ndarray  # float32 n: mean brightness of the page under the dab (0..1)

    @classmethod
    def of(cls, labels: np.ndarray, n: int, luma: np.ndarray, hint_cbcr: np.ndarray) -> Dabs:
        ys, xs = np.nonzero(labels)  # the hint pixels alone: a page has millions
        which = labels[ys, xs] - 1
        count = np.maximum(np.bincount(which, minlength=n), 1).astype(np.float64)
        mean = lambda v: (np.bincount(which, weights=v, minlength=n) / count).astype(np.float32)  # noqa: E731
        colors = np.stack([mean(hint_cbcr[ys, xs, c]) for c in range(2)], 1)
        return cls(n, ys, xs, which, colors, mean(luma[ys, xs] / 255.0))

    def seeds(self, size: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
        """int32 gh x gw: the hint (1..n) each grid cell is held to, 0 for free cells. A cell goes
        to the dab covering a quarter of it or more (the most covering one); every dab holds at
        least the cell under its middle, so a dab thinner than a cell still counts."""
        (h, w), (gh, gw), n = size, shape, self.n
        cells = (self.ys * gh // h) * gw + self.xs * gw // w
        counts = np.bincount(cells * n + self.which, minlength=gh * gw * n).reshape(gh * gw, n)
        cover = counts.max(1) / (h * w / (gh * gw))
        grid = np.where(cover >= 0.25, counts.argmax(1) + 1, 0).astype(np.int32)
        count = np.maximum(np.bincount(self.which, minlength=n), 1)
        cy = np.bincount(self.which, weights=self.ys, minlength=n) / count
        cx = np.bincount(self.which, weights=self.xs, minlength=n) / count
        holds = np.bincount(grid, minlength=n + 1)[1:] > 0  # a dab's own cell never takes another's
        for k in np.flatnonzero(~holds):
            cell = min(gh - 1, int(cy[k] * gh / h)) * gw + min(gw - 1, int(cx[k] * gw / w))
            if grid[cell] == 0:
                grid[cell] = k + 1
        return grid.reshape(gh, gw)


def affinities(guide: np.ndarray, cond: np.ndarray) -> sparse.csr_matrix:
    """The graph Laplacian of the grid: neighbours joined by exp(-dY^2 / 2 s^2), s^2 the mean of
    the two cells' local brightness variance (Levin et al.), within SIGMA_FLOOR^2..SIGMA_CAP^2.
    The cap: next to a line the local variance is the line's own, and uncapped it let a lone
    hint through a 3 px ink line (tests/test_hint_walk.py); capped at 0.05 the validation
    pictures scored better too (CbCr 6.64 -> 6.60 at 10 hints; 0.03: 6.74, 0.1: 6.62)."""
    gh, gw = guide.shape
    idx = np.arange(gh * gw).reshape(gh, gw)
    mean = ndi.uniform_filter(guide, 3)
    var = np.clip(ndi.uniform_filter(guide * guide, 3) - mean * mean, SIGMA_FLOOR**2, SIGMA_CAP**2)
    rows, cols, vals = [], [], []
    for dy, dx in NEIGHBOURS:
        a = (slice(0, gh - dy), slice(max(0, -dx), gw - max(0, dx)))
        b = (slice(dy, gh), slice(max(0, dx), gw + min(0, dx)))
        step = guide[a] - guide[b]
        wgt = (np.exp(-step * step / (var[a] + var[b])) * np.minimum(cond[a], cond[b])).ravel()
        rows += [idx[a].ravel(), idx[b].ravel()]
        cols += [idx[b].ravel(), idx[a].ravel()]
        vals += [wgt, wgt]
    W = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(gh * gw, gh * gw))
    return (sparse.diags(np.asarray(W.sum(1)).ravel()) - W).tocsr()


def conductance(even: np.ndarray, darkest: np.ndarray) -> np.ndarray:
    """float gh x gw: how freely the walk passes a cell: 1 for a cell of one tone, less for a cell
    crossed by a thin line (its darkest pixel far below its mean)."""
    return np.clip(1 - (even - darkest) / np.float32(LINE_GAP), COND_MIN, 1)


def walk(guide: np.ndarray, grid: np.ndarray, n: int, cond: np.ndarray) -> np.ndarray:
    """float32 gh x gw x n: for each cell, the probability that the walk from it reaches hint k
    first (1 on the hint's own cells), fading by LEAK a step."""
    L = affinities(guide, cond)
    held = grid.ravel() > 0
    free = ~held
    onehot = np.zeros((held.sum(), n))
    onehot[np.arange(held.sum()), grid.ravel()[held] - 1] = 1
    reach = np.zeros((grid.size, n))
    reach[held] = onehot
    if free.any():
        rows = L[free]  # the free cells' rows, sliced once: both blocks below come from them
        A = (rows[:, free] + sparse.identity(free.sum(), format="csr") * LEAK).tocsc()
        reach[free] = splu(A).solve(np.asarray(-(rows[:, held] @ onehot)))
    return np.maximum(reach, 0).astype(np.float32).reshape(*grid.shape, n)


def feature_match(features: np.ndarray, grid: np.ndarray, n: int) -> np.ndarray:
    """float32 fh x fw x n: how much each cell looks like each hint's own cells to the network
    (unit feature vectors; 1 for the closest hint). `grid`: Dabs.seeds on the
    features' own grid."""
    feats = features.transpose(1, 2, 0).astype(np.float32)
    feats /= np.maximum(np.linalg.norm(feats, axis=-1, keepdims=True), np.float32(1e-6))
    flat, held = feats.reshape(-1, feats.shape[-1]), grid.ravel()
    own = np.zeros((n, flat.shape[1]), np.float32)
    np.add.at(own, held[held > 0] - 1, flat[held > 0])
    own /= np.maximum(np.linalg.norm(own, axis=1, keepdims=True), np.float32(1e-6))
    d2 = np.maximum(2 - 2 * feats @ own.T, 0)
    return np.exp(-(d2 - d2.min(-1, keepdims=True)) / np.float32(2 * SIGMA_FEATURE**2)).astype(np.float32)
