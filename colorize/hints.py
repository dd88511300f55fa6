"""Color hints: a few strokes of color that say "this is red", as in PaintsChainer.

One encoding for training and inference: HINT_CHANNELS planes beside the gray input, the hint's
Y, Cb and Cr on the model's [-1, 1] scale where a hint is and 0 elsewhere, and a mask (1 where a
hint is). A user's hint image is RGBA of any size: pixels with alpha >= 128 are hints in their RGB
color. Training makes hints from the true picture (`synthesize_hints`): dabs and short strokes,
each the true color under it, from none to dozens, most samples few.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from colorize.chroma import rgb_to_ycc

HINT_CHANNELS = 4  # Y, Cb, Cr (0 where no hint), mask
ALPHA_MIN = 128
MAX_HINTS = 40


class HintError(ValueError):
    """A hint image that cannot be used (one line, naming the file)."""


def encode(rgb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """RGB [N, 3, H, W] in [-1, 1] and mask [N, 1, H, W] in {0, 1} (or the share of a pixel that
    hints cover) -> [N, HINT_CHANNELS, H, W]."""
    return torch.cat([rgb_to_ycc(rgb) * mask, mask], dim=1)


def hint_mask(planes: torch.Tensor) -> torch.Tensor:
    """The mask plane of encoded hints [N, HINT_CHANNELS, H, W] -> [N, 1, H, W]."""
    return planes[:, -1:]


def from_rgba(image: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """A user's hint image (any mode and size; alpha >= 128 marks hints) -> encoded hints
    [1, HINT_CHANNELS, h, w] at `size` = (w, h). Reduced by area, so a thin stroke stays a hint at
    a smaller working size: a working pixel is a hint where any of its area is, in the mean color
    of the hint pixels in it."""
    rgba = np.asarray(image.convert("RGBA"))
    mask = torch.from_numpy((rgba[..., 3] >= ALPHA_MIN).astype(np.float32))[None, None]
    rgb = torch.from_numpy(rgba[..., :3].astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    w, h = size
    if (h, w) != tuple(mask.shape[-2:]):
        covered = F.interpolate(mask, size=(h, w), mode="area")
        rgb = F.interpolate(rgb * mask, size=(h, w), mode="area") / covered.clamp_min(1e-6)
        mask = (covered > 0).float()
    return encode(rgb * mask, mask)


def load_rgba(path) -> Image.Image:
    """A hint file, decoded now so a broken one fails here with its name, not mid-batch."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise HintError(f"{path}: not a readable hint image ({exc.__class__.__name__}: {exc})") from exc


def hint_count(rng: np.random.Generator, p_hints: float) -> int:
    """How many hints a training sample gets: none with probability 1 - p_hints, otherwise 1 to
    MAX_HINTS, log-uniformly (most samples a few). Always draws two values."""
    u_has, u_count = rng.random(2)
    if u_has >= p_hints:
        return 0
    return min(MAX_HINTS, int(np.exp(u_count * np.log(MAX_HINTS + 1))))


def synthesize_hints(target: np.ndarray, rng: np.random.Generator, count: int,
                     scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """`count` hints made from the true picture (uint8 h x w x 3): (RGB uint8 h x w x 3, mask
    bool h x w). Half round dabs and half short strokes, 1-6 px across at the training size (x
    `scale` for larger pictures), at random places, each in the median true color under it (a
    user paints one color a stroke)."""
    h, w = target.shape[:2]
    mask = np.zeros((h, w), bool)
    colors = np.zeros_like(target)
    for _ in range(count):
        radius = rng.uniform(0.8, 3.0) * scale
        points = _stroke(rng, h, w, scale) if rng.random() < 0.5 else rng.uniform((0, 0), (h, w))[None]
        # Only the stroke's bounding box is drawn in: dozens of hints cost a millisecond or two.
        y0, x0 = np.maximum(np.floor(points.min(axis=0) - radius), 0).astype(int)
        y1, x1 = np.minimum(np.ceil(points.max(axis=0) + radius) + 1, (h, w)).astype(int)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d2 = (yy[None] - points[:, :1, None]) ** 2 + (xx[None] - points[:, 1:, None]) ** 2
        dab = (d2 <= radius * radius).any(axis=0)
        if not dab.any():
            continue
        box = target[y0:y1, x0:x1]
        colors[y0:y1, x0:x1][dab] = np.median(box[dab], axis=0).astype(np.uint8)
        mask[y0:y1, x0:x1] |= dab
    return colors, mask


def encode_numpy(colors: np.ndarray, mask: np.ndarray) -> torch.Tensor:
    """synthesize_hints' output -> encoded hints [HINT_CHANNELS, h, w] (float32)."""
    rgb = torch.from_numpy(colors.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    return encode(rgb, torch.from_numpy(mask.astype(np.float32))[None, None])[0]


def _stroke(rng: np.random.Generator, h: int, w: int, scale: float = 1.0) -> np.ndarray:
    """Points along a short, slightly bent stroke (about 4-16 px at the training size)."""
    start = rng.uniform((0, 0), (h, w))
    angle, bend = rng.uniform(0, 2 * np.pi), rng.uniform(-0.5, 0.5)
    length = rng.uniform(4, 16) * scale
    t = np.linspace(0, 1, max(2, int(length / max(1.0, scale))))
    a = angle + bend * t
    return start + np.stack([np.sin(a), np.cos(a)], axis=1) * (t * length)[:, None]


def rotate_hue(rgb: np.ndarray, angle: float) -> np.ndarray:
    """uint8 RGB with its (Cb, Cr) turned by `angle` radians, brightness kept: the same picture
    in other colors, so a model trained on it follows hints of any color, not only likely ones."""
    ycc = np.asarray(Image.fromarray(rgb).convert("YCbCr"), np.float32)
    cb, cr = ycc[..., 1] - 128, ycc[..., 2] - 128
    c, s = np.cos(angle), np.sin(angle)
    ycc[..., 1], ycc[..., 2] = c * cb - s * cr + 128, s * cb + c * cr + 128
    planes = np.clip(ycc + 0.5, 0, 255).astype(np.uint8)
    return np.asarray(Image.merge("YCbCr", [Image.fromarray(planes[..., c]) for c in range(3)]).convert("RGB"))


def to_rgba(colors: np.ndarray, mask: np.ndarray) -> Image.Image:
    """synthesize_hints' output as a user's hint image: RGBA, opaque where hints are."""
    alpha = np.where(mask, 255, 0).astype(np.uint8)
    return Image.fromarray(np.dstack([colors, alpha]))  # h x w x 4 uint8: RGBA
