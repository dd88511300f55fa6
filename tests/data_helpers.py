"""Small images made with Pillow for the data-pipeline tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from colorize.config import DataConfig

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def small_cfg(**kw) -> DataConfig:
    base = {"size": 32, "cache_side": 40}
    base.update(kw)
    return DataConfig(**base)


def noise_image(path: Path, seed: int, size: tuple[int, int] = (48, 40)) -> Path:
    """A distinct image per seed (distinct content hash), saved as PNG."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def corner_shape(w: int = 96, h: int = 64, color=(200, 30, 30)) -> np.ndarray:
    """White paper with a thick, colored, dark-outlined L shape in the top-left quadrant: asymmetric,
    so a flipped or shifted input would not line up with its target."""
    a = np.full((h, w, 3), 255, np.uint8)
    y0, y1, x0, x1 = h // 6, h // 2, w // 6, w // 2
    a[y0:y1, x0:x0 + 8] = color
    a[y1 - 8:y1, x0:x1] = color
    # Dark outline around the L, as real illustrations have.
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x0 + 8] = True
    mask[y1 - 8:y1, x0:x1] = True
    from scipy import ndimage as ndi

    ring = ndi.binary_dilation(mask, iterations=2) & ~mask
    a[ring] = 20
    return a


def save_rgb(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path
