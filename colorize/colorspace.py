"""The Colorizer's full-resolution composite, in YCbCr (JPEG's BT.601 luma/chroma; Pillow's "L" is
exactly this luma).

The color planes (colorize.paint) come at the region step's resolution; color (Cb, Cr) is
upsampled as is: the eye resolves color far more coarsely than brightness, the principle behind
JPEG's 4:2:0 chroma subsampling, and region edges lie inside the lines. Brightness comes from the
input at full resolution, scaled by the model's coarse brightness gain:

    luma = (input luma + K) * upsampled gain - K

so lines, screentone and hatching keep the input's full-resolution detail, a black line stays
black whatever the gain (the "multiply" layer artists color line art with), and where the gain is
1 (paper kept white) the output luma is the input's exactly. Color fades out near black (there
is no room for chroma there); over line art it is also multiplied by the ink (scaled by luma over
the paper's), so anti-aliased line edges stay ink-colored instead of taking the fill's color.
Pillow and numpy on uint8/float32 planes: an A4 page at 300 dpi costs about a tenth of a second.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

K = 16.0  # luma offset: keeps the gain finite over black and lets the model lift near-black a bit
INK = 48.0  # below this luma, color fades out: there is no room for chroma near black, and lines stay ink


def compose(
    gray: Image.Image, chroma: np.ndarray, gain: np.ndarray, paper: float | None = None
) -> Image.Image:
    """Full-size RGB from the input's luma `gray` ("L"), `chroma` (float h x w x 2: Cb, Cr minus
    neutral) and `gain` (float h x w), both at any size. `paper`: the paper's luma, to multiply the
    color by the ink; None keeps the color as painted (gray pages, whose tones are the model's)."""
    size = gray.size
    luma = np.asarray(gray, np.uint8)
    if not np.all(gain == 1):
        full = luma.astype(np.float32)
        full += np.float32(K)
        full *= _up(gain, size)
        full -= np.float32(K - 0.5)  # + 0.5: round, not truncate, below
        luma = np.clip(full, 0, 255).astype(np.uint8)
    fade = np.minimum(luma, np.uint8(INK)).astype(np.float32) * np.float32(1 / INK)
    if paper is not None:
        fade *= np.minimum(np.asarray(gray, np.float32) * np.float32(1 / paper), np.float32(1))
    planes = [Image.fromarray(luma)]
    for c in range(2):
        plane = _up(chroma[..., c], size)
        plane *= fade
        plane += np.float32(128.5)  # neutral back, + 0.5 to round
        planes.append(Image.fromarray(np.clip(plane, 0, 255).astype(np.uint8)))
    return Image.merge("YCbCr", planes).convert("RGB")


def _up(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float plane resized (bilinear) to `size` (w, h), as a writable float32 array."""
    plane = np.ascontiguousarray(plane, np.float32)
    if plane.shape[::-1] == tuple(size):
        return plane.copy()
    return np.array(Image.fromarray(plane).resize(size, Image.Resampling.BILINEAR))


def chroma_fraction(image: Image.Image, side: int = 256, threshold: float = 0.015, dark: int = 40) -> float:
    """Share of pixels whose chromaticity (r, g = R/(R+G+B), G/(R+G+B)) differs from the image's
    typical one (its median) by more than `threshold`, on a thumbnail. Chromaticity ignores
    brightness, so a yellowed or blue-tinted scan (a tint multiplies every pixel alike) scores 0
    like a gray page, and full-color pages score high. Pixels darker than `dark` (ink) have no
    reliable chromaticity and count as not colored."""
    thumb = image.convert("RGB")
    thumb.thumbnail((side, side), Image.Resampling.BILINEAR)
    rgb = np.asarray(thumb, np.float32).reshape(-1, 3)
    total = rgb.sum(axis=1)
    lit = total > 3 * dark
    if not lit.any():
        return 0.0
    rg = rgb[lit, :2] / total[lit, None]
    far = np.abs(rg - np.median(rg, axis=0)).max(axis=1) > threshold
    return float(far.sum() / len(rgb))
