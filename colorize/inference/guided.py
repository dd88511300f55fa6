"""Edge-aware upsampling with the guided filter (He, Sun and Tang, "Guided Image Filtering", 2010;
the fast variant of He and Sun, 2015): in every small window the output is a linear function of
the guide, q = a * I + b, fitted to the source by least squares. a and b are fitted at the
model's working size and then upsampled smoothly, so the output follows the full-size guide: a
color that the model painted on one side of an edge stops at that edge.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage as ndi


def guided_upsample(
    guide_small: np.ndarray, source_small: np.ndarray, guide: np.ndarray, radius: int, eps: float
) -> np.ndarray:
    """`source_small` (h x w x c float) filtered and upsampled to the size of `guide` (H x W, float
    in 0..1), guided by `guide` and by its downscaled copy `guide_small` (h x w). `eps`: edges
    whose contrast (standard deviation in the window, 0..1 scale) is well below sqrt(eps) are
    smoothed over; stronger ones stop the color."""
    size = 2 * radius + 1

    def box(x: np.ndarray) -> np.ndarray:
        return ndi.uniform_filter(x, size=(size, size, 1)[: x.ndim], mode="reflect")

    i = guide_small.astype(np.float32)[..., None]
    p = source_small.astype(np.float32)
    mean_i, mean_p = box(i), box(p)
    cov = box(i * p) - mean_i * mean_p
    var = box(i * i) - mean_i * mean_i
    a = cov / (var + np.float32(eps))
    b = mean_p - a * mean_i
    a, b = box(a), box(b)
    out = np.empty((*guide.shape, p.shape[-1]), np.float32)
    for c in range(p.shape[-1]):
        out[..., c] = _resize(a[..., c], guide.shape) * guide + _resize(b[..., c], guide.shape)
    return out


def _resize(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if plane.shape == shape:
        return plane
    image = Image.fromarray(np.ascontiguousarray(plane, np.float32))
    return np.asarray(image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR))
