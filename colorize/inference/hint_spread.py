"""A user's hints carried across a gray or screentoned page, where lines do not close regions.

On line art the closed regions say how far a hint reaches (hint_fill). On a gray page they often
do not: shading, screentone and soft edges cut a hair or a sky into many small regions, and the
model alone follows a dab only a little way. Here each hint's color spreads over the page as far
as the page's own brightness stays even, the way scribble colorization does (Levin et al. 2004),
with an edge-aware filter in place of a linear solve: a domain-transform recursive filter (Gastal
and Oliveira 2011) run over the hint colors and the hint mask alike (normalized convolution). A
pixel the hints reach takes their mix; one they barely reach keeps the model's color. With the
generator's features (Colorizer.predict_with_features) and two or more hints, the mix is by look
instead (hint_match: each pixel takes the hints whose features and brightness are like its own),
and how far the hints reach stays as above. (Measuring the reach at the features' coarser
resolution scored better on the validation pictures, but only by coloring more: on a manga page
it carried a skin stroke across panel borders onto the white margin.)

It runs at up to SPREAD_SIDE pixels on the long side: chroma is a low-frequency signal, and the
filter's loops over rows and columns cost time in proportion to the page's side.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from colorize.inference.colorspace import resize_plane
from colorize.inference.hint_match import matched_colors

SPREAD_SIDE = 384
# Chosen on the default model's 36 validation pictures (gray input, 10 hints from the truth: CbCr
# 8.03 -> 7.84 against sigma_s 0.4, sigma_r 0.1, reach 1e-4; 30 hints 7.20 -> 7.05): a shorter
# spatial reach keeps each hint's color its own instead of a blend of far hints, and the lower
# weight floor still carries it across even ground. A floor of 1e-8 scored 7.80 but let a hint
# through a 3 px ink line (tests/test_hint_spread.py); 1e-5 stops it.
SIGMA_SPACE = 0.1  # how far a hint reaches on even ground, as a share of the page's long side
SIGMA_RANGE = 0.2  # how much a change of brightness (0..1) stops it
REACH = 1e-5  # the hints' filtered weight at which a pixel takes their color in full
ITERATIONS = 3


def spread_hints(chroma: np.ndarray, luma: np.ndarray, hint_cbcr: np.ndarray, mask: np.ndarray,
                 features: np.ndarray | None = None) -> np.ndarray:
    """`chroma` (float32 h x w x 2, the model's Cb, Cr minus neutral) with the hints spread over it.
    `luma`: the page (uint8 h x w); `hint_cbcr` (h x w x 2, minus neutral) where `mask` is set.
    `features` (C x fh x fw, the generator's last features; see hint_match): where hints reach,
    a pixel takes the colors of the hints that look like it; None: the hints' mix by reach alone."""
    h, w = luma.shape
    factor = max(1, int(np.ceil(max(h, w) / SPREAD_SIDE)))
    guide = _reduce(luma, factor) / np.float32(255)
    weight = _reduce(mask.astype(np.float32), factor)
    colors = [_reduce(np.where(mask, hint_cbcr[..., c], np.float32(0)), factor) for c in range(2)]
    filtered = _filter_at_scale(np.stack([*colors, weight], axis=-1), guide)
    reach = np.maximum(filtered[..., 2], 0)
    share = np.minimum(reach / np.float32(REACH), 1)
    # The hints' mean color times the share they take: what is added to the model's (1 - share).
    scale = share / np.maximum(reach, np.float32(1e-12))
    planes = [filtered[..., c] * scale for c in range(2)] + [share]
    matched = None if features is None else matched_colors(features, luma, hint_cbcr, mask, _filter_at_scale)
    if matched is not None:  # the same share, of the colors matched by look
        planes[:2] = (resize_plane(matched[..., c], share.shape[::-1]) * share for c in range(2))
    added_cb, added_cr, share = (resize_plane(p, (w, h)) for p in planes)
    keep = 1 - share
    out = np.stack([chroma[..., 0] * keep + added_cb, chroma[..., 1] * keep + added_cr], axis=-1)
    out[mask] = hint_cbcr[mask]
    return out


def _filter_at_scale(values: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """The spreading filter at the reach and edge stop above, for a plane of any size."""
    return _recursive_filter(values, guide, SIGMA_SPACE * max(guide.shape), SIGMA_RANGE)


def _recursive_filter(values: np.ndarray, guide: np.ndarray, sigma_s: float, sigma_r: float) -> np.ndarray:
    """Edge-aware smoothing of `values` (h x w x c) along `guide` (h x w, 0..1): the domain
    transform's recursive filter, ITERATIONS rounds of a horizontal and a vertical pass."""
    across = np.ones_like(guide)
    across[:, 1:] += sigma_s / sigma_r * np.abs(np.diff(guide, axis=1))
    down = np.ones_like(guide)
    down[1:, :] += sigma_s / sigma_r * np.abs(np.diff(guide, axis=0))
    rows = np.ascontiguousarray(values.transpose(1, 0, 2), np.float32)  # w x h x c: a column a step
    across_t = np.ascontiguousarray(across.T)
    for i in range(ITERATIONS):
        sigma_i = sigma_s * np.sqrt(3) * 2 ** (ITERATIONS - i - 1) / np.sqrt(4**ITERATIONS - 1)
        a = np.float32(np.exp(-np.sqrt(2) / sigma_i))
        _pass(rows, a**across_t)
        cols = np.ascontiguousarray(rows.transpose(1, 0, 2))  # h x w x c: a row a step
        _pass(cols, a**down)
        rows = np.ascontiguousarray(cols.transpose(1, 0, 2))
    return rows.transpose(1, 0, 2)


def _pass(J: np.ndarray, feedback: np.ndarray) -> None:
    """One causal and one anti-causal sweep along the first axis, in place."""
    f = feedback[..., None]
    for n in range(1, len(J)):
        J[n] += f[n] * (J[n - 1] - J[n])
    for n in range(len(J) - 2, -1, -1):
        J[n] += f[n + 1] * (J[n + 1] - J[n])


def _reduce(plane: np.ndarray, factor: int) -> np.ndarray:
    """A plane (uint8 or float32) as float32, each factor x factor block averaged."""
    image = Image.fromarray(plane if plane.dtype == np.uint8 else plane.astype(np.float32))
    if factor > 1:
        image = image.reduce(factor)
    return np.asarray(image, np.float32)

