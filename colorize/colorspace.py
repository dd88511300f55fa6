"""The Colorizer's full-resolution merge, in YCbCr (JPEG's BT.601 luma/chroma; Pillow's "L" is
exactly this luma).

The network runs small. Its color (Cb, Cr) is upsampled as is: the eye resolves color far more
coarsely than brightness, the principle behind JPEG's 4:2:0 chroma subsampling. Brightness comes
from the input at full resolution, scaled by the model's coarse brightness gain:

    gain = (model luma + K) / (small input luma + K)        at the working size, thin lines removed
    luma = (input luma + K) * upsampled gain - K            at full size

Flat areas take the model's brightness (white areas of line art can become dark hair or a blue
sky); lines, screentone and hatching keep the input's full-resolution detail, and a black line
stays black whatever the gain (the "multiply" layer artists color line art with). Where the model
keeps the input's brightness the gain is 1 and the output luma is the input's exactly. `shading`
(0..1) raises the gain to that power: 0 keeps the input's brightness everywhere, only adding color.
Pillow and numpy on uint8/float32 planes: the merge of an A4 page at 300 dpi costs about a tenth of
a second (a float Lab merge measured about 10x slower here).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

K = 16.0  # luma offset: keeps the gain finite over black and lets the model lift near-black a bit
INK = 48.0  # below this luma, color fades out: there is no room for chroma near black, and lines stay ink


def merge(gray: Image.Image, small: Image.Image, rgb: np.ndarray, shading: float = 1.0) -> Image.Image:
    """Full-size RGB from the input's full-size luma `gray` ("L"), the model's input `small` (the
    same image downscaled, "L") and the model's output `rgb` (uint8 h x w x 3, any size)."""
    size = gray.size
    model = Image.fromarray(rgb)
    _, cb, cr = model.convert("YCbCr").split()
    y_model = model.convert(
        "L"
    )  # the same luma as the input's gray, exactly (YCbCr's Y is off by 1 at times)
    cb, cr = _up(cb, size), _up(cr, size)
    if shading == 0:
        luma = np.asarray(gray, np.uint8)
    else:
        if small.size != y_model.size:  # the model ran smaller (CUDA out-of-memory retry)
            small = small.resize(y_model.size, Image.Resampling.BOX)
        # Thin lines are dropped from both sides of the ratio (a 3x3 max keeps the paper around
        # them): the model's picture of a line is not shading, and would light a halo around it.
        y_model, small = y_model.filter(ImageFilter.MaxFilter(3)), small.filter(ImageFilter.MaxFilter(3))
        gain = (np.asarray(y_model, np.float32) + K) / (np.asarray(small, np.float32) + K)
        if shading != 1:
            gain **= np.float32(shading)
        gain = np.asarray(_up(Image.fromarray(gain), size), np.float32)
        full = np.asarray(gray, np.float32) + np.float32(K)
        full *= gain
        full -= np.float32(K - 0.5)  # + 0.5: round, not truncate, below
        luma = np.clip(full, 0, 255).astype(np.uint8)
    fade = np.minimum(luma, np.uint8(INK)).astype(np.float32) * np.float32(1 / INK)
    planes = [Image.fromarray(luma)]
    for plane in (cb, cr):
        c = np.asarray(plane, np.float32) - np.float32(127.5)
        c *= fade
        c += np.float32(128.0)  # 127.5 back, + 0.5 to round
        planes.append(Image.fromarray(c.astype(np.uint8)))
    return Image.merge("YCbCr", planes).convert("RGB")


def _up(plane: Image.Image, size: tuple[int, int]) -> Image.Image:
    return plane if plane.size == size else plane.resize(size, Image.Resampling.BILINEAR)


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
