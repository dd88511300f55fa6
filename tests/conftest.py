"""Shared fixtures: small color images the tests make, a tiny training config, and the optional
real images under ../shared/data (tests that need them skip when they are absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

TINY_TOML = """
[data]
size = 32
batch_size = 4
workers = 0
split = [0.6, 0.3, 0.1]

[model]
generator_kwargs = { base = 8, depth = 2 }
discriminator_kwargs = { base = 8, layers = 2, spectral_norm = true, norm = "none" }

[train]
steps = 12
seed = 0
threads = 1

[log]
log_every = 1
val_every = 4
val_images = 2
image_every = 4
hist_every = 4
ckpt_every = 4
keep_last = 2
"""


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Keep the tests' resized-image cache out of the user's ~/.cache."""
    os.environ["COLORIZE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


def make_color_image(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A flat-colored 'illustration': background, a few filled shapes with dark outlines."""
    bg = tuple(int(c) for c in rng.integers(150, 256, 3))
    im = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(im)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 8)), int(rng.integers(0, h - 8))
        x1, y1 = x0 + int(rng.integers(8, w // 2 + 9)), y0 + int(rng.integers(8, h // 2 + 9))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill, outline=(20, 20, 20), width=2)
    return im


@pytest.fixture(scope="session")
def color_dir(tmp_path_factory) -> Path:
    """Twelve small color images of different sizes and aspect ratios."""
    folder = tmp_path_factory.mktemp("color")
    rng = np.random.default_rng(1234)
    for i in range(12):
        w, h = [(64, 64), (96, 64), (64, 96), (80, 72)][i % 4]
        make_color_image(rng, w, h).save(folder / f"img_{i:02d}.png")
    return folder


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    return path
