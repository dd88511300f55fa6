"""Hints matched by look (hint_walk with features): where several hints reach a pixel, it takes the color of
the ones whose features and brightness are like its own, not the spatial blend of them all."""

from __future__ import annotations

import numpy as np
import pytest
from infer_helpers import make_checkpoint, make_hint_checkpoint
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage as ndi

from colorize.inference.colorizer import Colorizer
from colorize.inference.hint_walk import MAX_DABS, dabs, walk_hints

RED, BLUE = (-20.0, 50.0), (45.0, -15.0)  # Cb, Cr minus neutral


def stripes(h: int, w: int, period: int) -> np.ndarray:
    """bool h x w: True on every other horizontal band of `period` rows (one "object" kind)."""
    return (np.arange(h) // period % 2 == 1)[:, None].repeat(w, axis=1)


def striped_features(kind: np.ndarray, channels: int = 8, seed: int = 0) -> np.ndarray:
    """C x h/4 x w/4 features: one random vector on the bands, another off them, as a network
    that tells two materials apart would give."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2, channels)).astype(np.float32)
    small = kind[2::4, 2::4]
    return np.where(small[None], a[:, None, None], b[:, None, None]).astype(np.float32)


@pytest.mark.parametrize("h,w", [(160, 256), (256, 96), (200, 200)])
def test_each_band_takes_the_color_of_the_hint_that_looks_like_it(h, w):
    """Even ground (one brightness), two materials in 16 px bands; a red dab on a band and a blue
    one off the bands, side by side. With features every band comes back red and every gap blue,
    also far from the dabs; by reach alone both come back the same blend."""
    kind = stripes(h, w, 16)
    luma = np.full((h, w), 200, np.uint8)
    mask = np.zeros((h, w), bool)
    hint = np.zeros((h, w, 2), np.float32)
    band_row = int(np.flatnonzero(kind[:, 0])[4]) + 8  # the middle of the third band
    gap_row = band_row + 16
    for row, color in ((band_row, RED), (gap_row, BLUE)):
        mask[row - 2 : row + 3, w // 2 - 2 : w // 2 + 3] = True
        hint[row - 2 : row + 3, w // 2 - 2 : w // 2 + 3] = color
    chroma = np.zeros((h, w, 2), np.float32)
    matched = walk_hints(chroma, luma, hint, mask, striped_features(kind))
    blended = walk_hints(chroma, luma, hint, mask)
    inner = np.zeros((h, w), bool)  # band interiors, away from the bilinear seams between them
    inner[np.arange(h) % 16 >= 5] = True
    inner &= np.arange(h)[:, None] % 16 <= 10
    for where, color in ((kind & inner, RED), (~kind & inner, BLUE)):
        error = np.hypot(*(matched[where] - color).T)
        assert np.median(error) < 6, (color, np.median(error))
        assert np.median(np.hypot(*(blended[where] - color).T)) > 15  # reach alone cannot tell them apart
    assert np.array_equal(matched[mask], hint[mask])


def test_brightness_decides_between_hints_the_features_cannot_tell_apart():
    """Uniform features, two brightness levels in halves joined by soft ground: each half takes the
    dab painted on its own brightness."""
    h, w = 120, 200
    luma = np.where(np.arange(w)[None] < w // 2, 90, 200).astype(np.uint8).repeat(h, axis=0)
    luma = np.asarray(Image.fromarray(luma).filter(ImageFilter.BoxBlur(20)))
    mask = np.zeros((h, w), bool)
    hint = np.zeros((h, w, 2), np.float32)
    for x, color in ((20, RED), (w - 20, BLUE)):
        mask[58:63, x - 2 : x + 3] = True
        hint[58:63, x - 2 : x + 3] = color
    features = np.ones((4, h // 4, w // 4), np.float32)
    out = walk_hints(np.zeros((h, w, 2), np.float32), luma, hint, mask, features)
    assert np.hypot(*(out[:, 5:40].reshape(-1, 2) - RED).T).mean() < 8
    assert np.hypot(*(out[:, -40:-5].reshape(-1, 2) - BLUE).T).mean() < 8


def test_a_line_still_stops_matched_hints():
    """Two dabs left of a 3 px ink line on even ground: nothing crosses it, whatever the features."""
    h, w = 150, 300
    luma = np.full((h, w), 215, np.uint8)
    luma[:, w // 2 - 1 : w // 2 + 2] = 20
    mask = np.zeros((h, w), bool)
    hint = np.zeros((h, w, 2), np.float32)
    for row, color in ((40, RED), (110, BLUE)):
        mask[row - 3 : row + 3, 5:40] = True
        hint[row - 3 : row + 3, 5:40] = color
    features = np.random.default_rng(1).normal(size=(16, -(-h // 4), -(-w // 4))).astype(np.float32)
    out = walk_hints(np.zeros((h, w, 2), np.float32), luma, hint, mask, features)
    assert np.hypot(*out[:, w // 2 + 20 :].reshape(-1, 2).T).mean() < 3
    assert np.hypot(*out[:, 10 : w // 2 - 20].reshape(-1, 2).T).mean() > 20  # the left side is colored


def test_many_speckles_count_as_one_hint_per_color():
    mask = np.zeros((100, 100), bool)
    mask[::3, ::3] = True  # 1,156 separate dots
    cbcr = np.zeros((100, 100, 2), np.float32)
    cbcr[:50] = RED
    cbcr[50:] = BLUE
    labels, n = dabs(mask, cbcr)
    assert mask.sum() > MAX_DABS and n == 2
    assert set(np.unique(labels[mask])) == {1, 2} and not labels[~mask].any()
    out = walk_hints(np.zeros((100, 100, 2), np.float32), np.full((100, 100), 200, np.uint8), cbcr, mask,
                       np.ones((4, 25, 25), np.float32))
    assert out.shape == (100, 100, 2) and np.isfinite(out).all()


def test_the_colorizer_hands_the_network_features_to_the_hints(tmp_path):
    """A chroma model gives its last features over the image's part of the padded input (1/4 of
    the working size); a model without color classes gives none and still takes hints."""
    colorizer = Colorizer(make_hint_checkpoint(tmp_path / "hint"), device="cpu", size=200)
    page = colorizer.prepare(Image.new("L", (200, 130), 200))
    [(rgb, features)] = colorizer.predict_with_features([page.work])
    assert rgb.shape == (130, 200, 3)
    assert features.ndim == 3 and features.shape[1:] == (-(-130 // 4), 200 // 4)
    [(_, none)] = colorizer.predict_with_features([page.work], features=False)
    assert none is None
    hint = Image.new("RGBA", (200, 130), (0, 0, 0, 0))
    ImageDraw.Draw(hint).ellipse((20, 20, 30, 30), fill=(200, 30, 40, 255))
    ImageDraw.Draw(hint).ellipse((160, 90, 170, 100), fill=(30, 60, 200, 255))
    assert colorizer.colorize(Image.new("L", (200, 130), 200), hints=hint).size == (200, 130)

    plain = Colorizer(make_checkpoint(tmp_path / "unet"), device="cpu", size=128)
    [(_, features)] = plain.predict_with_features([plain.prepare(Image.new("L", (128, 96), 200)).work])
    assert features is None
    assert plain.colorize(Image.new("L", (128, 96), 200), hints=hint).size == (128, 96)


def test_speckles_in_many_colors_make_at_most_max_dabs_hints():
    """Noise for hints (every speckle its own random color): near colors merge until the walk's
    solve has at most MAX_DABS right-hand sides, and each speckle keeps its own color."""
    rng = np.random.default_rng(0)
    mask = rng.random((300, 200)) < 0.05
    cbcr = rng.uniform(-60, 60, (300, 200, 2)).astype(np.float32)
    labels, n = dabs(mask, cbcr)
    assert ndi.label(mask)[1] > MAX_DABS and 1 < n <= MAX_DABS
    assert labels[mask].min() == 1 and labels[mask].max() == n and not labels[~mask].any()
    out = walk_hints(np.zeros((300, 200, 2), np.float32), rng.integers(100, 255, (300, 200)).astype(np.uint8),
                     cbcr, mask, np.ones((8, 75, 50), np.float32))
    assert np.array_equal(out[mask], cbcr[mask])


@pytest.mark.parametrize("fh,fw,want", [(112, 79, (224, 158)), (79, 112, (158, 224)), (256, 180, (256, 180)),
                                        (400, 100, (256, 64))])
def test_the_grid_is_twice_the_features_but_never_past_its_cap(fh, fw, want):
    """The default working size gives a grid twice as fine as the features; a larger one (a user's
    --size 1024) stays at MAX_GRID_SIDE on the long side, so the solve stays under a second."""
    from colorize.inference.hint_walk import MAX_GRID_SIDE, finer

    grid = finer(np.random.default_rng(0).normal(size=(3, fh, fw)).astype(np.float32), 2)
    assert grid.shape == (3, *want) and max(want) <= MAX_GRID_SIDE
