import numpy as np
import pytest
from data_helpers import SHARED, corner_shape
from scipy import ndimage as ndi

from colorize.data.synth import (
    adaptive_threshold,
    choose_kind,
    luminance,
    morph_gradient,
    synthesize_input,
    xdog,
)


def test_luminance_is_bt601_in_unit_range():
    rgb = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0]]], np.uint8)
    g = luminance(rgb)
    assert g.dtype == np.float32 and g.shape == (1, 4)
    np.testing.assert_allclose(g[0], [1.0, 0.0, 0.299, 0.587], atol=1e-6)


def _line_band(rgb: np.ndarray, width: int = 3) -> np.ndarray:
    """Pixels within `width` of a place where the color image changes."""
    a = rgb.astype(np.float32)
    grad = (ndi.grey_dilation(a, size=(3, 3, 1)) - ndi.grey_erosion(a, size=(3, 3, 1))).max(axis=2)
    return ndi.binary_dilation(grad > 30, iterations=width)


@pytest.mark.parametrize("extractor", ["xdog", "adaptive", "morph"])
def test_line_art_is_white_paper_with_dark_lines_on_the_edges(extractor):
    rgb = corner_shape()
    band = _line_band(rgb)
    gray = luminance(rgb)
    extract = {"xdog": lambda rng: xdog(gray, rng), "adaptive": lambda rng: adaptive_threshold(gray, rng),
               "morph": lambda rng: morph_gradient(rgb, rng)}[extractor]
    for seed in range(10):
        out = extract(np.random.default_rng(seed))
        assert out.dtype == np.float32 and out.shape == gray.shape
        assert out.min() >= 0 and out.max() <= 1
        dark = out < 0.5
        assert (out > 0.9).mean() > 0.7, "mostly white paper"
        assert dark.sum() > 20, "some lines"
        assert (dark & ~band).sum() <= 0.05 * dark.sum(), "lines sit on the image's edges"
        # Blank paper away from the drawing stays clean white.
        paper = (rgb.min(axis=2) == 255) & ~band
        assert out[paper].min() > 0.9


def test_synthesize_input_is_reproducible_from_the_generator():
    rgb = corner_shape()
    a = synthesize_input(rgb, np.random.default_rng(5))
    b = synthesize_input(rgb, np.random.default_rng(5))
    assert a.dtype == np.float32 and a.shape == rgb.shape[:2]
    np.testing.assert_array_equal(a, b)
    outs = [synthesize_input(rgb, np.random.default_rng(s)) for s in range(12)]
    assert len({o.tobytes() for o in outs}) > 6, "different generators give different inputs"
    assert all(0 <= o.min() and o.max() <= 1 for o in outs)


def test_only_gray_without_mixing_is_plain_luminance():
    rgb = corner_shape()
    out = synthesize_input(rgb, np.random.default_rng(0), p_gray=1, p_xdog=0, p_edges=0, mix=False)
    np.testing.assert_allclose(out, luminance(rgb), atol=1e-6)


def test_kind_probabilities_are_normalized_and_checked():
    rng = np.random.default_rng(0)
    kinds = [choose_kind(rng, 0, 2, 2) for _ in range(400)]
    assert set(kinds) == {"xdog", "edges"}
    assert 150 < kinds.count("xdog") < 250
    with pytest.raises(ValueError, match="probabilities"):
        choose_kind(rng, 0, 0, 0)
    with pytest.raises(ValueError, match="probabilities"):
        choose_kind(rng, -1, 1, 1)


@pytest.mark.skipif(not (SHARED / "color").exists(), reason="needs ../shared/data/color")
def test_real_illustration_gives_mostly_white_line_art():
    from colorize.data.cache import resize_short_side
    from colorize.images import list_images, load_rgb

    path = list_images(SHARED / "color")[0]
    rgb = np.asarray(resize_short_side(load_rgb(path), 128))
    for seed in range(4):
        out = synthesize_input(rgb, np.random.default_rng(seed), p_gray=0, p_xdog=1, p_edges=1, mix=False)
        assert (out > 0.9).mean() > 0.5 and (out < 0.5).mean() > 0.005, path


def test_box_filters_match_scipy_for_odd_windows():
    from colorize.data.synth import box_max, box_min

    rng = np.random.default_rng(0)
    g = rng.random((37, 41), dtype=np.float32)
    rgb = rng.integers(0, 256, (23, 19, 3), dtype=np.uint8)
    np.testing.assert_array_equal(box_min(g, 3), ndi.grey_erosion(g, size=(3, 3)))
    np.testing.assert_array_equal(box_max(rgb, 3), ndi.grey_dilation(rgb, size=(3, 3, 1)))
    assert box_min(g, 2).shape == g.shape and (box_min(g, 2) <= g).all() and (box_max(g, 2) >= g).all()
