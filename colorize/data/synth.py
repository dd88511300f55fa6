"""Synthesize the 1-channel model input (grayscale, line art, manga-like tones) from a color image.

Every function takes an RGB uint8 HxWx3 array (or a float gray image) and a numpy Generator, and
returns float32 HxW in [0, 1]: paper is 1.0, ink is 0.0. All randomness comes from the Generator,
so a sample is reproducible from its seed. Several extractors with random parameters keep the
model from learning one filter's quirks instead of real line art.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from colorize.chroma import LUMA

KINDS = ("gray", "xdog", "edges")
# ITU-R BT.601 luma weights.
_LUMA = np.array(LUMA, dtype=np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luminance, float32 HxW in [0, 1]."""
    return (rgb.astype(np.float32) @ _LUMA) * np.float32(1 / 255)


def xdog(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Extended difference of Gaussians (Winnemoeller et al. 2012), tau form: lines sit where the
    small blur is darker than tau times the large one; phi sets how hard the threshold is."""
    sigma = rng.uniform(0.4, 1.0)
    k = rng.uniform(1.4, 3.0)
    tau = rng.uniform(0.95, 0.99)
    eps = rng.uniform(-0.03, -0.005)
    phi = 10 ** rng.uniform(1.7, 3.0)
    d = ndi.gaussian_filter(gray, sigma) - tau * ndi.gaussian_filter(gray, sigma * k)
    out = np.where(d >= eps, np.float32(1), 1 + np.tanh(phi * (d - eps)))
    return line_weight(np.clip(out, 0, 1).astype(np.float32), rng)


def adaptive_threshold(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink where a pixel is darker than its neighbourhood mean by more than c (local contrast)."""
    block = int(rng.choice([5, 7, 9, 11, 15]))
    c = rng.uniform(0.02, 0.07)
    softness = rng.uniform(15, 60)
    g = ndi.gaussian_filter(gray, rng.uniform(0.3, 0.8))
    d = g - ndi.uniform_filter(g, block) + c
    return np.where(d < 0, np.clip(1 + d * softness, 0, 1), 1).astype(np.float32)


def morph_gradient(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink where any color channel changes strongly (morphological gradient): also finds edges
    between colors of equal brightness, which luminance-based extractors miss."""
    size = int(rng.choice([2, 3]))
    # In uint8 (max - min cannot overflow): several times faster than float32 here.
    d = box_max(rgb, size) - box_min(rgb, size)
    grad = np.maximum(np.maximum(d[..., 0], d[..., 1]), d[..., 2]).astype(np.float32) * np.float32(1 / 255)
    grad = ndi.gaussian_filter(grad, rng.uniform(0.3, 0.7))  # soften JPEG and halftone noise
    # Threshold relative to this image's own gradients (soft pastel art has weak edges), with a
    # floor so a flat image stays blank instead of turning its noise into ink, and a ceiling at
    # half the strongest edge so a sparse drawing (a few crisp shapes on paper) still gets its
    # lines. A quarter of the pixels estimate the quantile well enough, four times faster.
    sample = grad[::2, ::2]
    t = float(np.quantile(sample, rng.uniform(0.88, 0.96)))
    t = max(min(t, 0.5 * float(sample.max())), 0.05)
    width = t * rng.uniform(0.3, 0.8)
    out = np.clip(1 - (grad - t) / width, 0, 1)
    return line_weight(out.astype(np.float32), rng)


def sketch_look(lines: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make extracted lines look drawn: filled dark areas (shaded hair, black clothes) mostly
    become their outlines, and ink is often gray rather than black, as in real pencil and pen
    sketches, which have a few percent of ink pixels where raw extractors give 15-25%."""
    if rng.random() < 0.7:
        r = int(rng.choice([2, 3]))
        interior = box_max(lines, 2 * r + 1) < 0.5  # no paper within r pixels: a fill, not a line
        keep = rng.uniform(0.0, 0.3)
        lines = np.where(interior, 1 - keep * (1 - lines), lines)
    darkness = rng.uniform(0.5, 1.0)
    return (1 - darkness * (1 - lines)).astype(np.float32)


def line_weight(lines: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomly thicken (erode the white paper) or thin (dilate it) the lines."""
    r = rng.random()
    if r < 0.25:
        return box_min(lines, 2)
    if r < 0.35:
        return box_max(lines, 2)
    return lines


def _box(x: np.ndarray, size: int, op) -> np.ndarray:
    """op (np.minimum / np.maximum) over a size x size window on the first two axes, edges
    repeated. Shifted slices: for the 2-3 pixel windows used here, many times faster than
    scipy's general rank filters."""
    before = (size - 1) // 2
    pad = [(before, size - 1 - before)] * 2 + [(0, 0)] * (x.ndim - 2)
    xp = np.pad(x, pad, mode="edge")
    h, w = x.shape[:2]
    rows = xp[0:h]
    for k in range(1, size):
        rows = op(rows, xp[k:k + h])
    out = rows[:, 0:w]
    for k in range(1, size):
        out = op(out, rows[:, k:k + w])
    return out


def box_min(x: np.ndarray, size: int) -> np.ndarray:
    return _box(x, size, np.minimum)


def box_max(x: np.ndarray, size: int) -> np.ndarray:
    return _box(x, size, np.maximum)


def screentone(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Binary halftone dots of a random period and angle, as in printed manga."""
    h, w = gray.shape
    f = 2 * np.pi / rng.uniform(3.0, 6.0)
    angle = rng.uniform(0, np.pi / 2)
    c, s = np.cos(angle) * f, np.sin(angle) * f
    x = np.arange(w, dtype=np.float32)[None, :]
    y = np.arange(h, dtype=np.float32)[:, None]
    # cos(u) + cos(v) for the rotated coordinates u = c*x + s*y, v = -s*x + c*y, expanded with
    # cos(a + b) = cos a cos b - sin a sin b: outer products of 1-D tables, no 2-D cosines.
    cos_u = np.cos(c * x) * np.cos(s * y) - np.sin(c * x) * np.sin(s * y)
    cos_v = np.cos(s * x) * np.cos(c * y) + np.sin(s * x) * np.sin(c * y)
    pattern = 0.5 + 0.25 * (cos_u + cos_v)
    # Keep near-white paper clean and near-black fills solid; only midtones become dots.
    levels = np.clip((gray - 0.1) / 0.8, 0, 1)
    tone = (levels > pattern).astype(np.float32)
    return ndi.gaussian_filter(tone, rng.uniform(0.3, 0.7))


def manga(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A screentoned manga look: XDoG lines over halftone dots for the midtones."""
    return np.minimum(xdog(gray, rng), screentone(gray, rng))


def line_art(rgb: np.ndarray, gray: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "xdog":
        return sketch_look(xdog(gray, rng), rng)
    if rng.random() < 0.5:
        return sketch_look(adaptive_threshold(gray, rng), rng)
    return sketch_look(morph_gradient(rgb, rng), rng)


def choose_kind(rng: np.random.Generator, p_gray: float, p_xdog: float, p_edges: float) -> str:
    p = np.array([p_gray, p_xdog, p_edges], dtype=np.float64)
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"input-kind probabilities must be >= 0 with a positive sum, got {p.tolist()}")
    return KINDS[int(rng.choice(3, p=p / p.sum()))]


def synthesize_input(
    rgb: np.ndarray,
    rng: np.random.Generator,
    p_gray: float = 0.3,
    p_xdog: float = 0.4,
    p_edges: float = 0.3,
    mix: bool = True,
) -> np.ndarray:
    """The model input for one color image, float32 HxW in [0, 1]. With `mix`, some samples are
    manga-like (lines over screentone), some are lines over light shading, and some get a gray
    paper / faded ink, so the model also copes with real scans and screentoned pages."""
    gray = luminance(rgb)
    kind = choose_kind(rng, p_gray, p_xdog, p_edges)
    if kind == "gray":
        out = gray
        if mix and rng.random() < 0.35:
            out = manga(gray, rng)
    else:
        out = line_art(rgb, gray, kind, rng)
        if mix and rng.random() < 0.25:
            strength = rng.uniform(0.15, 0.5)
            out = out * (1 - strength * (1 - gray))
    if mix and kind != "gray" and rng.random() < 0.2:
        paper = rng.uniform(0.85, 1.0)
        ink = rng.uniform(0.0, 0.25)
        out = ink + (paper - ink) * out
    return np.clip(out, 0, 1).astype(np.float32, copy=False)
