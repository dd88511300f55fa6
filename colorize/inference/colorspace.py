"""The Colorizer's full-resolution composite, in YCbCr (JPEG's BT.601 luma/chroma; Pillow's "L" is
exactly this luma).

The color planes (colorize.inference.paint) come at the region step's resolution; color (Cb, Cr) is
upsampled as is: the eye resolves color far more coarsely than brightness, the principle behind
JPEG's 4:2:0 chroma subsampling, and region edges lie inside the lines. Brightness comes from the
input at full resolution, scaled by the model's coarse brightness gain:

    luma = (input luma + K) * upsampled gain - K

so lines, screentone and hatching keep the input's full-resolution detail, a black line stays
black whatever the gain, and where the gain is 1 (paper kept white) the output luma is the input's
exactly. Color fades out near black (there is no room for chroma there).

Line art is simpler still: the colors form a layer (brightness 255 x gain) that is multiplied over
the page, out = layer x page / 255, as artists color line art on a "multiply" layer: paper takes
the layer's color, ink stays ink, and an anti-aliased line edge stays a darker shade of its own
fill. Pillow does that in a few passes over uint8 (an A4 page at 300 dpi in well under 0.1 s).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops

K = 16.0  # luma offset: keeps the gain finite over black and lets the model lift near-black a bit
INK = 48.0  # below this luma, color fades out: there is no room for chroma near black, and lines stay ink


def compose(gray: Image.Image, chroma: np.ndarray, gain: np.ndarray, multiply: bool = False) -> Image.Image:
    """Full-size RGB from the input's luma `gray` ("L"), `chroma` (float h x w x 2: Cb, Cr minus
    neutral) and `gain` (float h x w), both at any size. `multiply` (line art): the colors are
    multiplied over the page; else laid over it in YCbCr (gray pages, whose tones the model saw)."""
    if multiply:
        return _multiply(gray, chroma, gain)
    size = gray.size
    luma = np.asarray(gray, np.uint8)
    if not np.all(gain == 1):
        full = luma.astype(np.float32)
        full += np.float32(K)
        full *= resize_plane(gain, size)
        full -= np.float32(K - 0.5)  # + 0.5: round, not truncate, below
        luma = np.clip(full, 0, 255).astype(np.uint8)
    # Chroma is upsampled as uint8 (a quarter of float32's memory traffic) and faded in int16.
    fade = np.minimum(luma, np.uint8(INK)).astype(np.int16)
    planes = [Image.fromarray(luma)]
    for c in range(2):
        small = Image.fromarray(np.clip(chroma[..., c] + np.float32(128.5), 0, 255).astype(np.uint8))
        plane = np.asarray(small.resize(size, Image.Resampling.BILINEAR) if small.size != size else small)
        centered = plane.astype(np.int16) - np.int16(128)
        centered *= fade
        centered //= np.int16(INK)
        centered += np.int16(128)
        planes.append(Image.fromarray(centered.astype(np.uint8)))
    return Image.merge("YCbCr", planes).convert("RGB")


def _multiply(gray: Image.Image, chroma: np.ndarray, gain: np.ndarray) -> Image.Image:
    """The color layer built at the planes' size, upsampled, and multiplied over the page."""
    y = np.clip(np.float32(255) * gain + np.float32(0.5), 0, 255).astype(np.uint8)
    cb, cr = (np.clip(chroma[..., c] + np.float32(128.5), 0, 255).astype(np.uint8) for c in range(2))
    layer = Image.merge("YCbCr", [Image.fromarray(p) for p in (y, cb, cr)]).convert("RGB")
    if layer.size != gray.size:
        layer = layer.resize(gray.size, Image.Resampling.BILINEAR)
    return ImageChops.multiply(layer, gray.convert("RGB"))


def resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
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
