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


def test_the_palette_readout_is_scored_on_pictures_the_palette_was_not_fit_to(tmp_path):
    """--steps 0 with every picture training: the palette is fit on one half and the readout
    scored on the other, both ways round, so every picture is scored once and never by a palette
    fit to it; the chosen setting comes from the averaged figures."""
    from character_helpers import make_base, picture_folder, write_recipe

    from colorize.character.readout import PALETTE, choose_palette_readout
    from colorize.checkpoint import load_generator
    from colorize.config import load_config
    from colorize.data import build_splits
    from colorize.training.validation import target_figures

    torch.set_num_threads(1)
    cfg = load_config(write_recipe(tmp_path))
    cfg.log.val_images = 8  # 4 of each half: every picture
    splits = build_splits([picture_folder(tmp_path / "pictures", 8)], cfg.data, tmp_path / "cache", 0)
    G, card = load_generator(make_base(tmp_path / "base"))
    fit_on = []

    def fit(entries):
        fit_on.append({e.sha256 for e in entries})
        return fit_brightness_palette(G, [e.source for e in entries])

    readout = choose_palette_readout(G, card, splits, cfg, fit)
    everything = {e.sha256 for e in splits.train.entries}
    assert len(everything) == 8 and len(fit_on) == 2
    assert not fit_on[0] & fit_on[1] and fit_on[0] | fit_on[1] == everything
    assert readout["on"] == "training (cross-fitted halves)" and readout["pictures"] == 8
    gray = np.mean([target_figures(e, splits.train.side)[1] for e in splits.train.entries])
    rows = readout["scores"]
    assert {r["palette"] for r in rows} == set(PALETTE)
    assert all(abs(r["val/gray_cbcr_error"] - gray) < 1e-6 for r in rows)  # each picture scored once
    assert readout["figures"] in [{k: round(v, 5) for k, v in r.items() if k.startswith("val/")} for r in rows]
    assert G.palette == 0 and G.palette_bias is None
