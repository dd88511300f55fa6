"""The model's colors laid over a drawing with known regions: one color per region, nothing across a
closed line (or a line with a small gap), paper and speech bubbles left white unless asked, lines
left ink. A made-up model picture stands in for the network: blurry, bleeding across lines, noisy."""

from __future__ import annotations

import numpy as np
import pytest
from drawing_helpers import AREAS, SIZE, drawing, mask, model_picture
from PIL import Image, ImageDraw

from colorize.inference.colorspace import compose
from colorize.inference.paint import analyse, paint

WORK = (160, 120)  # the fake model's working size


def colorize(background: str = "keep", shading: float = 1.0, picture: np.ndarray | None = None) -> np.ndarray:
    gray = drawing()
    small = gray.resize(WORK, Image.Resampling.LANCZOS)
    found = analyse(gray, max(WORK))
    rgb = model_picture(*WORK) if picture is None else picture
    planes = paint(found, small, rgb, shading, background)
    return np.asarray(compose(gray, planes.chroma, planes.gain, planes.multiply).convert("YCbCr"), np.float32)


@pytest.fixture(scope="module")
def kept():
    return colorize("keep")


def chroma(ycc: np.ndarray, name: str) -> np.ndarray:
    """Cb, Cr minus neutral over an area's pixels (n x 2)."""
    return ycc[mask(name)][:, 1:] - 128


def test_each_region_gets_one_color(kept):
    for name in ("outer", "inner", "left", "right"):
        c = chroma(kept, name)
        assert c.std(axis=0).max() <= 1.0, name  # flat: the model's noise and bleed are gone
        assert np.hypot(*c.mean(axis=0)) > 10, name  # and colored


def test_no_color_crosses_a_closed_line_or_a_small_gap(kept):
    def hue(name):
        cb, cr = chroma(kept, name).mean(axis=0)
        return np.degrees(np.arctan2(cr, cb))

    def expected(name):
        r, g, b = AREAS[name][1]
        cb = -0.1687 * r - 0.3313 * g + 0.5 * b
        cr = 0.5 * r - 0.4187 * g - 0.0813 * b
        return np.degrees(np.arctan2(cr, cb))

    for name in ("outer", "inner", "left", "right"):  # each keeps its own hue, not its neighbour's
        assert abs((hue(name) - expected(name) + 180) % 360 - 180) < 20, name


def test_paper_and_bubble_stay_clean_white(kept):
    gray = np.asarray(drawing(), np.float32)
    for name in ("paper", "bubble"):
        area = mask(name, inset=0)
        assert np.hypot(*chroma(kept, name).T).max() < 6, name
        assert np.abs(kept[area, 0] - gray[area]).max() <= 1, name  # brightness unchanged


def test_lines_stay_ink(kept):
    ink = np.asarray(drawing()) == 0
    assert kept[ink, 0].max() <= 2
    assert np.abs(kept[ink][:, 1:] - 128).max() <= 1


def test_background_color_lets_the_model_color_the_paper():
    colored = colorize("color")
    c = chroma(colored, "paper")
    assert np.hypot(*c.mean(axis=0)) > 20 and c.std(axis=0).max() <= 1.0
    assert np.hypot(*chroma(colored, "bubble").mean(axis=0)) > 10


def test_a_region_the_model_leaves_gray_stays_white():
    """Where the model paints only a faint, varying tint, the region is left as paper."""
    picture = model_picture(*WORK).astype(np.float32)
    rng = np.random.default_rng(1)
    faint = 235 + rng.normal(0, 4, picture.shape)  # near-white, no consistent hue
    inner = np.asarray(
        Image.fromarray(mask("inner", inset=0).astype(np.uint8) * 255).resize(WORK, Image.Resampling.BOX)
    )
    picture[inner > 128] = faint[inner > 128]
    out = colorize("keep", picture=np.clip(picture, 0, 255).astype(np.uint8))
    assert np.hypot(*chroma(out, "inner").T).max() < 6


def test_shading_zero_only_adds_color():
    """With shading 0 brightness moves only where a strong color on white paper leaves the RGB
    gamut (a saturated yellow cannot be as bright as white); shading 1 lets the model darken."""
    gray = np.asarray(drawing(), np.float32)
    flat, shaded = colorize("keep", shading=0), colorize("keep", shading=1)
    for name in ("outer", "inner", "left", "right"):
        area = mask(name)
        assert np.abs(flat[area, 0] - gray[area]).mean() < 35, name
        assert shaded[area, 0].mean() <= flat[area, 0].mean() + 1, name
    assert flat.shape[1::-1] == SIZE


def test_background_behind_a_narrow_gap_stays_paper_unless_painted_apart():
    """Two outlines each open by an 8-pixel gap: the big ball cannot enter, so each inside is a
    region of its own, yet it is the same paper as the border's. Painted like the paper, the first
    stays white; painted clearly apart (a face behind a gappy outline), the second is colored."""
    gray = Image.new("L", (320, 200), 255)
    draw = ImageDraw.Draw(gray)
    for left in (30, 180):
        draw.rectangle((left, 40, left + 110, 160), outline=0, width=3)
        draw.rectangle((left + 51, 158, left + 58, 162), fill=255)  # the 8-pixel gap at the bottom
    paint_rgb = np.full((200, 320, 3), (235, 140, 60), np.uint8)  # the paper, strongly orange
    paint_rgb[45:155, 185:285] = (60, 90, 220)  # the second inside: blue
    work = (160, 100)
    small = gray.resize(work, Image.Resampling.LANCZOS)
    rgb = np.asarray(Image.fromarray(paint_rgb).resize(work, Image.Resampling.BOX))
    found = analyse(gray, max(work))
    inside = [found.regions.labels[100, left + 55] for left in (30, 180)]
    assert len({*inside, found.regions.labels[5, 5]}) == 3  # the big ball kept them apart
    planes = paint(found, small, rgb, 1.0, "keep")
    out = np.asarray(compose(gray, planes.chroma, planes.gain, planes.multiply).convert("YCbCr"), np.float32)
    first, second = out[60:140, 50:120, 1:] - 128, out[60:140, 200:270, 1:] - 128
    assert np.hypot(*first.reshape(-1, 2).T).max() < 6
    assert np.hypot(*second.reshape(-1, 2).mean(axis=0)) > 20
