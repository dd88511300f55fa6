"""A drawing with known regions, and a made-up model picture of it, for the region tests: a closed
shape inside another, two areas split by a line with a 2-pixel gap, a speech bubble with letters,
and paper reaching the border all around."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SIZE = (480, 360)
# What each known area is, as (name, a point inside it, the color the fake model paints it).
AREAS = {
    "paper": ((10, 10), (235, 140, 60)),  # orange, strongly: "keep" must leave it white anyway
    "outer": ((60, 60), (215, 60, 60)),  # red
    "inner": ((170, 150), (60, 90, 220)),  # blue
    "left": ((340, 100), (60, 190, 80)),  # green
    "right": ((440, 100), (230, 210, 40)),  # yellow
    "bubble": ((335, 280), (240, 120, 200)),  # pink
}


def drawing() -> Image.Image:
    """Black lines on white, mode "L"."""
    im = Image.new("L", SIZE, 255)
    d = ImageDraw.Draw(im)
    d.rectangle((40, 40, 300, 320), outline=0, width=3)  # "outer"
    d.ellipse((110, 120, 230, 240), outline=0, width=3)  # "inner", a face: two eyes and a mouth
    for box in ((145, 160, 151, 168), (189, 160, 195, 168), (160, 205, 180, 208)):
        d.rectangle(box, fill=0)
    d.rectangle((320, 40, 460, 200), outline=0, width=3)  # split into "left" and "right" ...
    d.line((390, 40, 390, 117), fill=0, width=2)  # ... by a line with a 2-pixel gap at y 118-119
    d.line((390, 120, 390, 200), fill=0, width=2)
    d.ellipse((315, 225, 465, 340), outline=0, width=2)  # "bubble", with three lines of letters
    for row in range(3):
        for col in range(7):
            x, y = 345 + 13 * col, 255 + 18 * row
            d.line((x, y, x + 7, y), fill=0, width=2)
            d.line((x + 3, y, x + 3, y + 9), fill=0, width=2)
    return im


def truth() -> np.ndarray:
    """h x w area names (an index into AREAS), by flood-filling each area from its point."""
    im = drawing().convert("RGB")
    for i, (point, _) in enumerate(AREAS.values()):
        ImageDraw.floodfill(im, point, (i, i, i), thresh=100)
    index = np.asarray(im)[..., 0].astype(int)
    # Flood fill runs through the 2-pixel gap; the line there is the truth.
    left, right = list(AREAS).index("left"), list(AREAS).index("right")
    index[(index == left) & (np.arange(SIZE[0]) > 390)] = right
    index[np.asarray(drawing()) < 128] = -1  # ink
    return index


def mask(name: str, inset: int = 4) -> np.ndarray:
    """The area's pixels at least `inset` pixels from any other area or line."""
    from scipy import ndimage as ndi

    area = truth() == list(AREAS).index(name)
    return ndi.binary_erosion(area, iterations=inset) if inset else area


def model_picture(width: int, height: int, seed: int = 0) -> np.ndarray:
    """What a blurry model paints at its working size: each area's color, averaged down (so it
    bleeds across lines) with noise, lines dark."""
    index = truth()
    colors = np.array([c for _, c in AREAS.values()] + [(20, 20, 20)], np.uint8)
    full = Image.fromarray(colors[index])  # index -1 (ink) takes the last row
    small = np.asarray(full.resize((width, height), Image.Resampling.BOX), np.float32)
    noise = np.random.default_rng(seed).normal(0, 6, small.shape)
    return np.clip(small + noise, 0, 255).astype(np.uint8)
