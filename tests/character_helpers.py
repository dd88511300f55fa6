"""Shared by the character tests: a tiny fine-tuning recipe, a tiny chroma-s2d base model with hint
channels, and small color pictures (real ones from ../shared when present, else drawn here)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from infer_helpers import S2D_TINY, tiny_card
from PIL import Image

from colorize.checkpoint import save_checkpoint
from colorize.models import build_discriminator, build_generator

CHARACTERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "extra" / "characters"

# The real recipe's shape (chroma classes, hints, cosine decay), at 32 px and a few steps.
TINY_RECIPE = """
[data]
size = 32
cache_side = 40
batch_size = 4
workers = 0
split = {split}
scale_min = 0.5
hints = 0.5
hint_recolor = 0.2

[model]
generator = "chroma-s2d"
discriminator = "patchgan"
discriminator_kwargs = {{ base = 8, layers = 2, spectral_norm = true, norm = "none" }}

[loss]
objective = "chroma_classes"
lambda_mse = 10.0
lambda_luma = 2.0
gan = "lsgan"
lambda_gan = 0.1

[train]
steps = {steps}
seed = 0
lr_g = 1e-4
lr_d = 5e-5
warmup_steps = 1
cosine = true
threads = 1
precision = "auto"

[log]
log_every = 1
val_every = 2
val_images = 3
image_every = 1000
hist_every = 1000
ckpt_every = 2
keep_last = 1

[infer]
size = 64
"""


def write_recipe(folder: Path, steps: int = 4, split=(1.0, 0.0, 0.0)) -> Path:
    path = Path(folder) / "recipe.toml"
    path.write_text(TINY_RECIPE.format(steps=steps, split=list(split)))
    return path


def make_base(folder: Path, seed: int = 0) -> Path:
    """An untrained tiny chroma-s2d with hint channels and a discriminator, like checkpoints/default."""
    import torch

    torch.manual_seed(seed)
    d_kwargs = {"base": 8, "layers": 2, "spectral_norm": True, "norm": "none"}
    from colorize.chroma import GRAY_CLASS, NUM_CLASSES

    prior = torch.full((NUM_CLASSES,), 0.5 / (NUM_CLASSES - 1))
    prior[GRAY_CLASS] = 0.5  # the training colors' prior a real base carries: half uncolored
    card = {**tiny_card(S2D_TINY), "generator": {"name": "chroma-s2d", "kwargs": dict(S2D_TINY)},
            "discriminator": {"name": "patchgan", "kwargs": d_kwargs}, "chroma_prior": prior.tolist()}
    return save_checkpoint(Path(folder), card, build_generator("chroma-s2d", S2D_TINY),
                           build_discriminator("patchgan", d_kwargs))


def real_pictures(n: int, side: int = 64, character: str = "Emilia") -> list[Image.Image]:
    """n of a real character's pictures, short side reduced to `side`; [] without ../shared."""
    folder = CHARACTERS / character
    files = sorted(folder.glob("*.jpg"))[:n] if folder.is_dir() else []
    out = []
    for f in files:
        with Image.open(f) as im:
            im = im.convert("RGB")
            scale = side / min(im.size)
            out.append(im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS))
    return out


def drawn_pictures(n: int, side: int = 64, seed: int = 7) -> list[Image.Image]:
    from conftest import make_color_image

    rng = np.random.default_rng(seed)
    return [make_color_image(rng, side + 16 * (i % 3), side) for i in range(n)]


def picture_folder(folder: Path, n: int = 12, side: int = 64) -> Path:
    """n small color pictures of one character (drawn ones without ../shared)."""
    folder.mkdir(parents=True, exist_ok=True)
    pictures = real_pictures(n, side) or drawn_pictures(n, side)
    for i, im in enumerate(pictures):
        im.save(folder / f"picture_{i:02d}.png")
    return folder


def jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return buf.getvalue()
