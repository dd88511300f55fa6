"""No-reference measures of a colored page, from the page's own input: what a reader sees.

The input's layout is found here, on purpose without any of the Colorizer's own code (so a
region-aware Colorizer cannot grade itself with its own segmentation):
- ink: input luma more than LINE_BELOW levels under the paper level (the 99th percentile of luma,
  so tinted paper works too), dilated by GAP_RADIUS px so a small gap in a line still closes;
- regions: connected components (4-connected) of the remaining pixels, at least MIN_REGION of the
  image; those touching the border are the outside, the others are closed regions;
- paper: outside pixels that are near-white (within WHITE_WITHIN levels of the paper level);
- speech bubbles: closed, rounded, near-white regions holding many small ink marks (text), see
  find_bubbles.
Measures (all shares in [0, 1]; "chroma" is sqrt((Cb-128)^2 + (Cr-128)^2), 0-255 units):
- paper_clean: share of paper pixels whose output chroma < CHROMA_CLEAN and whose output luma is
  at most DARKEN_LEVELS under the input's;
- bubble_clean: the same share over the bubbles' white area (None without bubbles);
- flat_fill: over closed-region pixels (bubbles excluded), between-region variance of the output's
  (Cb, Cr) over its total variance (1 = every region one flat color; None when the output there is
  gray, total variance under MIN_VARIANCE);
- colored_share: share of those pixels with output chroma >= CHROMA_CLEAN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import convex_hull_image

from colorize.metrics import CBCR, LUMA

CHROMA_CLEAN = 6.0  # below this a reader sees no tint on white paper
DARKEN_LEVELS = 8  # "brightness unchanged": a few levels of 255 either way are invisible
LINE_BELOW = 55  # ink: luma under paper - 55 (200 on white paper)
WHITE_WITHIN = 25  # near-white paper: luma at or above paper - 25 (230 on white paper)
GAP_RADIUS = 2  # px at the measuring size: closes gaps up to about 4 px
MIN_REGION = 1e-4  # share of the image: smaller components are screentone holes or line interiors
MIN_VARIANCE = 1.0  # (chroma levels)^2 per pixel: below, there is no color to explain
MEASURE_SIDE = 1024  # long side the measures work at (input and output scaled alike)

# speech bubbles
BUBBLE_MIN_AREA = 5e-4  # share of the image
BUBBLE_MIN_MARKS = 5  # text: many glyph strokes ("うわ!" is 5; a face has eyes, nose, mouth)
BUBBLE_MARK_MAX = 0.05  # the largest mark's ink, as a share of the filled bubble (eyes are larger)
BUBBLE_INK = (0.04, 0.35)  # all marks' ink, as a share of the filled bubble (text is dense; fold lines are not)
BUBBLE_GLYPH_SIZE = 0.25  # the median mark's longer side over sqrt(bubble area)
BUBBLE_SOLIDITY = 0.85  # filled area / convex hull area: bubbles are rounded
BUBBLE_WHITE = 0.9  # share of the region's own pixels that are near-white


@dataclass
class Layout:
    """The input's structure at the measuring size: boolean masks and a label image."""

    luma: np.ndarray  # uint8 H x W
    paper: np.ndarray  # border-connected near-white paper
    bubbles: np.ndarray  # speech bubbles' white area
    regions: np.ndarray  # int32 labels of closed regions without bubbles, 0 = none
    n_bubbles: int

    @property
    def closed(self) -> np.ndarray:
        return self.regions > 0


def disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius


def paper_level(luma: np.ndarray) -> float:
    return float(np.percentile(luma, 99))


def bubble_features(own: np.ndarray, ink: np.ndarray) -> dict[str, float]:
    """What tells a speech bubble from other closed white regions, for one region (`own`, cropped to
    its box) and the raw ink in the same box: its marks are the ink components it surrounds."""
    filled = ndimage.binary_fill_holes(own)
    marks, n = ndimage.label(filled & ~own & ink, structure=np.ones((3, 3)))
    total = float(filled.sum())
    if n == 0:
        return {"marks": 0, "largest": 0.0, "ink": 0.0, "glyph_size": 0.0, "solidity": 0.0}
    sizes = np.bincount(marks.ravel())[1:]
    boxes = ndimage.find_objects(marks)
    glyphs = sizes >= 4  # specks of noise are not glyphs
    # a glyph is short against the bubble in both directions; a fold line or a strand of hair is long
    long_side = np.array([max(b[0].stop - b[0].start, b[1].stop - b[1].start) for b in boxes])
    return {
        "marks": int(glyphs.sum()),
        "largest": float(sizes.max() / total),
        "ink": float(sizes.sum() / total),
        "glyph_size": float(np.median(long_side[glyphs]) / np.sqrt(total)) if glyphs.any() else 0.0,
        "solidity": float(total / convex_hull_image(filled).sum()),
    }


def is_bubble(f: dict[str, float]) -> bool:
    return (f["marks"] >= BUBBLE_MIN_MARKS and f["largest"] <= BUBBLE_MARK_MAX
            and BUBBLE_INK[0] <= f["ink"] <= BUBBLE_INK[1] and f["glyph_size"] <= BUBBLE_GLYPH_SIZE
            and f["solidity"] >= BUBBLE_SOLIDITY)


def find_bubbles(labels: np.ndarray, candidates: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Label ids (among candidates: closed, big enough, mostly near-white regions) of speech bubbles:
    a rounded region (solidity) that surrounds many small separate ink marks (glyphs), none large and
    all short against the region, a small share of it in all. A face holds a few large marks (eyes)
    and its outline is ragged with hair; a panel holds large drawings; a bubble holds lines of text."""
    slices = ndimage.find_objects(labels)
    found = [i for i in candidates
             if is_bubble(bubble_features(labels[slices[i - 1]] == i, ink[slices[i - 1]]))]
    return np.array(found, dtype=np.int64)


def analyse(luma: np.ndarray) -> Layout:
    """Paper, bubbles and closed regions of an input page (uint8 luma H x W)."""
    level = paper_level(luma)
    ink = luma < level - LINE_BELOW
    walls = ndimage.binary_dilation(ink, structure=disk(GAP_RADIUS))
    labels, n = ndimage.label(~walls)
    min_area = max(16, MIN_REGION * luma.size)
    area = np.bincount(labels.ravel(), minlength=n + 1)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.zeros(n + 1, bool)
    outside[border] = True
    outside[0] = False
    keep = area >= min_area
    keep[0] = False
    white = luma >= level - WHITE_WITHIN
    paper = outside[labels] & white
    closed_ids = np.flatnonzero(keep & ~outside)
    whiteness = np.bincount(labels.ravel(), white.ravel(), minlength=n + 1) / np.maximum(area, 1)
    candidates = closed_ids[(area[closed_ids] >= BUBBLE_MIN_AREA * luma.size)
                            & (whiteness[closed_ids] >= BUBBLE_WHITE)]
    bubble_ids = find_bubbles(labels, candidates, ink)
    is_bubble = np.zeros(n + 1, bool)
    is_bubble[bubble_ids] = True
    bubbles = is_bubble[labels] & white
    region_ids = np.setdiff1d(closed_ids, bubble_ids)
    relabel = np.zeros(n + 1, np.int32)
    relabel[region_ids] = np.arange(1, len(region_ids) + 1)
    return Layout(luma, paper, bubbles, relabel[labels], len(bubble_ids))


def chroma_of(rgb: np.ndarray) -> np.ndarray:
    """H x W x 2 (Cb - 128, Cr - 128), 0-255 units, of a uint8 RGB image."""
    return rgb.astype(np.float32) @ CBCR.T.astype(np.float32)


def _clean_share(mask: np.ndarray, chroma: np.ndarray, darkening: np.ndarray) -> float | None:
    if not mask.any():
        return None
    clean = (np.hypot(chroma[..., 0], chroma[..., 1]) < CHROMA_CLEAN) & (darkening <= DARKEN_LEVELS)
    return float(clean[mask].mean())


def flat_fill(labels: np.ndarray, chroma: np.ndarray) -> float | None:
    """Share of the (Cb, Cr) variance over labelled pixels explained by their label (eta squared)."""
    sel = labels > 0
    lab = labels[sel]
    c = chroma[sel].astype(np.float64)
    if len(c) == 0:
        return None
    total = ((c - c.mean(axis=0)) ** 2).sum()
    if total < MIN_VARIANCE * len(c):
        return None
    count = np.bincount(lab)
    within = 0.0
    for ch in range(2):
        s = np.bincount(lab, c[:, ch])
        sq = np.bincount(lab, c[:, ch] ** 2)
        nz = count > 0
        within += (sq[nz] - s[nz] ** 2 / count[nz]).sum()
    return float(np.clip(1 - within / total, 0.0, 1.0))


def measure(layout: Layout, out_rgb: np.ndarray) -> dict:
    """The four measures (plus paper tint and darkening) of an output for its input's layout."""
    if out_rgb.shape[:2] != layout.luma.shape:
        raise ValueError(f"output {out_rgb.shape[:2]} and input {layout.luma.shape} differ in size")
    chroma = chroma_of(out_rgb)
    out_luma = out_rgb.astype(np.float32) @ LUMA.astype(np.float32)
    darkening = layout.luma.astype(np.float32) - out_luma
    strength = np.hypot(chroma[..., 0], chroma[..., 1])
    closed = layout.closed
    return {
        "paper_clean": _clean_share(layout.paper, chroma, darkening),
        "bubble_clean": _clean_share(layout.bubbles, chroma, darkening),
        "flat_fill": flat_fill(layout.regions, chroma),
        "colored_share": float((strength[closed] >= CHROMA_CLEAN).mean()) if closed.any() else None,
        "paper_chroma": float(strength[layout.paper].mean()) if layout.paper.any() else None,
        "paper_darkening": float(darkening[layout.paper].mean()) if layout.paper.any() else None,
    }


def describe(layout: Layout) -> dict:
    size = layout.luma.size
    return {
        "paper_area": float(layout.paper.sum() / size),
        "bubble_area": float(layout.bubbles.sum() / size),
        "closed_area": float(layout.closed.sum() / size),
        "regions": int(layout.regions.max()),
        "bubbles": layout.n_bubbles,
    }


def to_measuring_size(image: Image.Image, side: int = MEASURE_SIDE) -> Image.Image:
    if side and max(image.size) > side:
        scale = side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def overlay(layout: Layout) -> Image.Image:
    """What was measured, over the faded input: paper light blue, bubbles green, closed regions in
    one random pastel each (outside and ink left gray)."""
    base = np.repeat((layout.luma.astype(np.float32) * 0.5 + 127)[..., None], 3, axis=2)
    rng = np.random.default_rng(0)
    palette = rng.integers(90, 255, (int(layout.regions.max()) + 1, 3)).astype(np.float32)
    closed = layout.closed
    base[closed] = 0.4 * base[closed] + 0.6 * palette[layout.regions[closed]]
    base[layout.paper] = (200, 225, 255)
    base[layout.bubbles] = (60, 200, 80)
    return Image.fromarray(base.clip(0, 255).astype(np.uint8))
