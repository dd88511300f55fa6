"""Hints on gray pages: carried to the pixels connected to them and alike in brightness
(hint_walk), stopped by lines, and kept where they are painted even over dark pixels."""

from __future__ import annotations

import numpy as np
import pytest
from infer_helpers import make_hint_checkpoint
from PIL import Image, ImageDraw

from colorize.inference.colorizer import Colorizer
from colorize.inference.hint_walk import walk_hints


def cbcr(image) -> np.ndarray:
    return np.asarray(image.convert("RGB").convert("YCbCr"), np.float32)[..., 1:]


@pytest.mark.parametrize("h,w", [(90, 300), (300, 90), (700, 500)])
def test_a_dab_spreads_over_even_ground_and_stops_at_a_line(h, w):
    """Left of the middle a soft gradient, then a 3 px ink line, then an even light gray; one red
    dab at the far left. The left side takes the dab's color, the right keeps the model's (zero)."""
    luma = np.empty((h, w), np.uint8)
    luma[:, : w // 2] = np.linspace(230, 200, w // 2, dtype=np.float32)[None]
    luma[:, w // 2 :] = 215
    luma[:, w // 2 - 1 : w // 2 + 2] = 20
    mask = np.zeros((h, w), bool)
    mask[h // 2 - 3 : h // 2 + 3, 5 : 5 + w // 8] = True  # a short stroke
    hint = np.zeros((h, w, 2), np.float32)
    hint[mask] = (-20.0, 50.0)
    out = walk_hints(np.zeros((h, w, 2), np.float32), luma, hint, mask)
    assert out.shape == (h, w, 2)
    left, right = out[:, w // 8 : w // 2 - w // 16], out[:, w // 2 + w // 16 :]
    assert np.hypot(left[..., 0] + 20, left[..., 1] - 50).mean() < 8  # the dab's color across its side
    assert np.hypot(*right.reshape(-1, 2).T).mean() < 3  # nothing across the step
    assert np.array_equal(out[mask], hint[mask])  # the dab itself is exact


def test_no_hint_changes_nothing():
    luma = np.full((40, 60), 200, np.uint8)
    chroma = np.random.default_rng(0).normal(0, 10, (40, 60, 2)).astype(np.float32)
    out = walk_hints(chroma, luma, np.zeros_like(chroma), np.zeros((40, 60), bool))
    assert np.allclose(out, chroma)


def gray_page() -> Image.Image:
    """A gray page (more ink than line art has): a dark-gray block over the left 40%, white on the
    right with a 10 px dark band across it."""
    im = Image.new("L", (320, 200), 250)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 127, 199), fill=90)
    draw.rectangle((128, 95, 319, 104), fill=60)
    return im


def test_a_dab_over_a_dark_band_in_a_white_region_keeps_its_color(tmp_path):
    """The dab's own brightness is the band's, so its color must show: the white region's
    brightness gain once scaled such a dab down to black, which has no color."""
    colorizer = Colorizer(make_hint_checkpoint(tmp_path / "ckpt"), device="cpu")
    page = gray_page()
    assert not colorizer.prepare(page).drawing.line_art
    dark_red = (140, 20, 30)  # luma 60, like the band
    hint = Image.new("RGBA", page.size, (0, 0, 0, 0))
    ImageDraw.Draw(hint).ellipse((210, 94, 222, 105), fill=(*dark_red, 255))
    out = colorizer.colorize(page, hints=hint)
    under = np.asarray(hint)[..., 3] >= 128
    want = cbcr(Image.new("RGB", (1, 1), dark_red))[0, 0]
    assert np.hypot(*(cbcr(out)[under].mean(axis=0) - want)) <= 8
    assert abs(float(np.asarray(out.convert("L"))[under].mean()) - 60) < 12  # not darkened to black


@pytest.mark.parametrize("h,w", [(120, 320), (320, 120)])
def test_a_dab_stays_on_its_own_brightness_across_a_soft_edge(h, w):
    """No line anywhere: a light half and a darker half joined by a soft ramp, as skin meets hair
    on a gray page. One dab on the light half colors that half; the darker half, though connected,
    keeps the model's color (zero), so one hint does not take the whole page."""
    across = np.arange(max(h, w))
    ramp = np.clip(230 - (across - max(h, w) // 2 + 10) * 6, 110, 230).astype(np.uint8)
    luma = np.broadcast_to(ramp[None, :w] if w > h else ramp[:h, None], (h, w)).copy()
    mask = np.zeros((h, w), bool)
    if w > h:
        mask[h // 2 - 3 : h // 2 + 3, 10:30] = True
    else:
        mask[10:30, w // 2 - 3 : w // 2 + 3] = True
    hint = np.zeros((h, w, 2), np.float32)
    hint[mask] = (-20.0, 50.0)
    out = walk_hints(np.zeros((h, w, 2), np.float32), luma, hint, mask)
    light, dark = luma >= 225, luma <= 115
    assert np.hypot(*(out[light] - (-20.0, 50.0)).T).mean() < 8
    assert np.hypot(*out[dark].T).mean() < 3


def test_the_model_keeps_its_color_far_from_every_hint_behind_lines():
    """A page of closed boxes (ink lines all round) and one dab in the first: every other box
    keeps the model's own color exactly as it was."""
    h, w = 200, 300
    luma = np.full((h, w), 220, np.uint8)
    luma[::50, :] = 20
    luma[:, ::60] = 20
    chroma = np.random.default_rng(3).normal(0, 6, (h, w, 2)).astype(np.float32)
    mask = np.zeros((h, w), bool)
    mask[20:30, 20:40] = True
    hint = np.zeros((h, w, 2), np.float32)
    hint[mask] = (45.0, -15.0)
    out = walk_hints(chroma, luma, hint, mask)
    first = np.zeros((h, w), bool)
    first[5:46, 5:56] = True
    assert np.hypot(*(out[first] - (45.0, -15.0)).T).mean() < 8
    others = np.zeros((h, w), bool)
    others[:, 65:] = True
    others[55:, :] = True
    assert np.abs(out[others] - chroma[others]).max() < 1


def hatched_panels(h: int = 400, w: int = 300) -> np.ndarray:
    """Two manga panels (2 px borders) one above the other, 5 px of white gutter between them,
    each hatched all over with thin diagonal lines: every coarse cell holds some ink."""
    luma = np.full((h, w), 235, np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for top, bottom in ((10, 196), (203, 390)):
        inside = (yy > top) & (yy < bottom) & (xx > 10) & (xx < w - 10)
        luma[inside & ((xx + yy) % 8 == 0)] = 40
        luma[top : bottom + 1, 10:12] = luma[top : bottom + 1, w - 12 : w - 10] = 20
        luma[top : top + 2, 10 : w - 10] = luma[bottom - 1 : bottom + 1, 10 : w - 10] = 20
    return luma


@pytest.mark.parametrize("with_features", [False, True])
def test_a_stroke_stays_in_its_panel_across_a_narrow_gutter(with_features):
    """On a grid as coarse as the network's features (a cell about the gutter's width) the
    gutter vanished and a stroke in the top panel colored the bottom one in full."""
    luma = hatched_panels()
    mask = np.zeros(luma.shape, bool)
    mask[90:100, 100:160] = True
    hint = np.zeros((*luma.shape, 2), np.float32)
    hint[mask] = (-35.0, -23.0)
    features = np.ones((4, 100, 75), np.float32) if with_features else None
    out = walk_hints(np.zeros((*luma.shape, 2), np.float32), luma, hint, mask, features)
    top, bottom = out[20:180, 20:-20], out[220:380, 20:-20]
    assert np.hypot(*top.reshape(-1, 2).T).mean() > 5  # the stroke's own panel takes its color
    assert np.hypot(*bottom.reshape(-1, 2).T).mean() < 1
