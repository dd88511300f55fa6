"""colorize.character.palette_fit: a brightness palette fit to pictures with the model frozen
moves a model's colors towards the pictures' own, per brightness."""

import numpy as np
import torch
from PIL import Image

from colorize.character.palette_fit import BINS, fit_brightness_palette
from colorize.chroma import NUM_CLASSES, rgb_to_ycc
from colorize.models import build_generator

DARK_RED, LIGHT_BLUE = (150, 20, 30), (150, 200, 250)


def picture(path, flip: bool):
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32], rgb[:, 32:] = (LIGHT_BLUE, DARK_RED) if flip else (DARK_RED, LIGHT_BLUE)
    Image.fromarray(rgb).save(path)
    return path, rgb


def cbcr_error(G, rgb):
    gray = np.asarray(Image.fromarray(rgb).convert("L"), np.float32) / 127.5 - 1
    with torch.inference_mode():
        out = G(torch.from_numpy(gray)[None, None])
    truth = rgb_to_ycc(torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None])
    return float((rgb_to_ycc(out)[:, 1:] - truth[:, 1:]).abs().mean() * 127.5)


def test_the_fit_palette_colors_a_new_picture_of_the_same_colors_closer_to_the_truth(tmp_path):
    torch.manual_seed(0)
    G = build_generator("chroma-s2d", {"base": 8, "depth": 2, "blocks": [1], "temperature": 0.5}).eval()
    paths = [picture(tmp_path / f"{i}.png", flip=bool(i % 2))[0] for i in range(4)]
    weights = {k: v.clone() for k, v in G.state_dict().items()}
    table = fit_brightness_palette(G, paths)
    assert len(table) == BINS and all(len(row) == NUM_CLASSES for row in table)
    assert all(torch.equal(v, weights[k]) for k, v in G.state_dict().items())  # the model stays frozen
    _, new = picture(tmp_path / "new.png", flip=False)
    plain = cbcr_error(G, new)
    G.set_palette(table)
    G.palette = 1.0
    leaned = cbcr_error(G, new)
    assert leaned < 0.5 * plain, (plain, leaned)
