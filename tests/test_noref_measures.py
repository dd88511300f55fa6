"""The no-reference measures on synthetic drawings whose answers are known: clean vs tinted vs
darkened paper, a speech bubble with text-like marks (and a face-like region that is not one),
flat fills vs a gradient across a closed line."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from colorize.evaluation import noref


def drawing(w=400, h=300):
    """White paper, a closed ellipse split by a vertical line into two closed regions."""
    im = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(im)
    d.ellipse((60, 40, 340, 260), outline=0, width=3)
    d.line((200, 40, 200, 260), fill=0, width=3)
    return np.asarray(im)


def gray_rgb(luma):
    return np.repeat(luma[..., None], 3, axis=2)


def fill(luma, mask, color):
    out = gray_rgb(luma).copy()
    out[mask] = color
    return out


def test_layout_of_a_simple_drawing():
    luma = drawing()
    layout = noref.analyse(luma)
    assert layout.regions.max() == 2 and layout.n_bubbles == 0
    assert layout.paper[0, 0] and layout.paper[5, 390] and not layout.paper[150, 130]
    assert layout.regions[150, 130] != layout.regions[150, 270] and layout.regions[150, 130] > 0
    assert not layout.closed[150, 200]  # the line itself is measured nowhere


def test_paper_clean_tinted_and_darkened_paper_fail():
    luma = drawing()
    layout = noref.analyse(luma)
    clean = noref.measure(layout, fill(luma, layout.closed, (230, 180, 150)))
    assert clean["paper_clean"] == 1.0 and clean["paper_chroma"] < 0.5
    tinted = noref.measure(layout, fill(luma, layout.paper, (255, 244, 228)))  # a cream wash
    assert tinted["paper_clean"] == 0.0 and tinted["paper_chroma"] > 6
    darker = noref.measure(layout, fill(luma, layout.paper, (230, 230, 230)))  # gray, but 25 levels darker
    assert darker["paper_clean"] == 0.0 and darker["paper_darkening"] == pytest.approx(25, abs=0.5)
    slight = noref.measure(layout, fill(luma, layout.paper, (252, 251, 250)))  # invisible
    assert slight["paper_clean"] == 1.0
    half = gray_rgb(luma).copy()
    half[:, :200][layout.paper[:, :200]] = (255, 200, 200)
    assert noref.measure(layout, half)["paper_clean"] == pytest.approx(0.5, abs=0.05)


def test_flat_fill_and_colored_share():
    luma = drawing()
    layout = noref.analyse(luma)
    left, right = layout.regions == layout.regions[150, 130], layout.regions == layout.regions[150, 270]
    flat = fill(luma, left, (240, 200, 60))
    flat[right] = (90, 140, 230)
    m = noref.measure(layout, flat)
    assert m["flat_fill"] == pytest.approx(1.0, abs=1e-6) and m["colored_share"] == 1.0
    # one horizontal gradient from orange to blue running straight across the dividing line
    t = np.linspace(0, 1, luma.shape[1])[None, :, None]
    ramp = ((1 - t) * np.array([240, 160, 60]) + t * np.array([60, 120, 240])).round().astype(np.uint8)
    grad = gray_rgb(luma).copy()
    grad[layout.closed] = np.broadcast_to(ramp, grad.shape)[layout.closed]
    g = noref.measure(layout, grad)
    assert 0.3 < g["flat_fill"] < 0.9  # the halves differ on average, but each half is not flat
    # coloring only one of two equal halves: half the closed area is colored
    assert noref.measure(layout, fill(luma, left, (240, 200, 60)))["colored_share"] == pytest.approx(0.5, abs=0.05)
    # a gray output has no color to explain
    passthrough = noref.measure(layout, gray_rgb(luma))
    assert passthrough["flat_fill"] is None and passthrough["colored_share"] == 0.0


def page_with_bubble():
    """Paper, a panel frame, inside it a bubble holding three lines of glyph-like marks, and a
    'face': a closed white circle with two large eyes and a mouth."""
    im = Image.new("L", (600, 400), 255)
    d = ImageDraw.Draw(im)
    d.rectangle((20, 20, 580, 380), outline=0, width=4)
    d.ellipse((60, 60, 300, 220), outline=0, width=3)
    for row in range(3):
        for col in range(6):
            x, y = 110 + col * 24, 100 + row * 30
            d.line((x, y, x + 12, y), fill=0, width=2)  # a glyph: a cross and a dot
            d.line((x + 6, y - 7, x + 6, y + 8), fill=0, width=2)
            d.rectangle((x + 10, y + 5, x + 12, y + 7), fill=0)
    d.ellipse((360, 120, 540, 300), outline=0, width=3)
    d.ellipse((400, 170, 430, 215), fill=0)
    d.ellipse((470, 170, 500, 215), fill=0)
    d.line((430, 260, 470, 260), fill=0, width=3)
    return np.asarray(im)


def test_bubble_found_and_scored():
    luma = page_with_bubble()
    layout = noref.analyse(luma)
    assert layout.n_bubbles == 1
    assert layout.bubbles[80, 180] and not layout.bubbles[200, 450]  # the bubble, not the face
    assert layout.regions[200, 450] > 0  # the face stays a region to color
    clean = noref.measure(layout, fill(luma, layout.closed, (250, 200, 170)))
    assert clean["bubble_clean"] == 1.0 and clean["colored_share"] > 0.9
    pink = fill(luma, layout.bubbles, (255, 215, 225))
    assert noref.measure(layout, pink)["bubble_clean"] == 0.0
    none = noref.measure(noref.analyse(drawing()), gray_rgb(drawing()))
    assert none["bubble_clean"] is None


def test_bubble_features_tell_text_from_fold_lines():
    own = np.ones((60, 100), bool)
    own[[0, -1], :] = own[:, [0, -1]] = False
    ink = np.zeros_like(own)
    ink[30, 10:90] = True  # one long fold line
    ink[10:50, 50] = True
    own[ink] = False
    assert not noref.is_bubble(noref.bubble_features(own, ink))


def test_tinted_paper_scan_uses_its_own_paper_level():
    luma = (drawing().astype(np.int16) * 210 // 255).astype(np.uint8)  # paper at 210, not 255
    layout = noref.analyse(luma)
    assert layout.regions.max() == 2 and layout.paper.mean() > 0.4


def test_measure_rejects_a_size_mismatch():
    layout = noref.analyse(drawing())
    with pytest.raises(ValueError, match="differ in size"):
        noref.measure(layout, np.zeros((10, 10, 3), np.uint8))
