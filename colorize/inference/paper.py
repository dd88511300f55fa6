"""Which regions of a drawing are paper that a reader expects to stay white: the background that
reaches the image border (margins, the gutters between panels, the blank around a character) and
speech bubbles (closed white regions holding text).

A speech bubble is told from a white face or sleeve by what it holds: many small separate marks
(letters) that lie wholly inside it and cover a fair share of it. A face holds a few marks (nose,
mouth), a bubble a dozen or more, packed in lines; and a bubble is nearly convex, where the white
around figures in a panel, which can hold as much hatching, is not.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import convex_hull_image

from colorize.inference.regions import Regions

TEXT_MAX = 0.05  # a letter's box is at most this share of the image's long side
TEXT_MIN_PX = 2  # ... and at least this many pixels on its longer side (not a speck of noise)
MIN_MARKS = 5  # a bubble holds at least this many letters ...
MIN_COVER = 0.05  # ... whose boxes cover at least this share of its area
MAX_BUBBLE = 0.25  # a bubble is at most this share of the image
MIN_SOLIDITY = 0.9  # ... and nearly convex (an oval or a box, maybe a tail): its share of its hull


def border_paper(regions: Regions) -> np.ndarray:
    """bool per region: white and touching the image border."""
    return regions.border & regions.white()


def text_marks(line: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ink marks of letter size that lie wholly inside one area of `labels`: (the area of each
    mark, the size of its bounding box)."""
    marks, n = ndi.label(line, np.ones((3, 3), bool))
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    boxes = ndi.find_objects(marks)
    h = np.array([s[0].stop - s[0].start for s in boxes])
    w = np.array([s[1].stop - s[1].start for s in boxes])
    side = max(labels.shape)
    letter = (np.maximum(h, w) >= TEXT_MIN_PX) & (np.maximum(h, w) <= TEXT_MAX * side)
    # A mark lies inside one area when the areas of its pixels do not vary: their label's
    # mean square equals its squared mean (exact in float64 for any page's label counts).
    ids = marks.ravel()
    inked = ids > 0
    ids, lab = ids[inked], labels.ravel()[inked].astype(np.float64)
    size = np.bincount(ids, minlength=n + 1)[1:]
    s1 = np.bincount(ids, weights=lab, minlength=n + 1)[1:]
    s2 = np.bincount(ids, weights=lab * lab, minlength=n + 1)[1:]
    inside = s2 * size == s1 * s1
    area = np.rint(s1 / np.maximum(size, 1)).astype(np.int64)
    pick = letter & inside
    return area[pick], (h * w)[pick].astype(np.float64)


def bubbles(regions: Regions) -> np.ndarray:
    """bool per region: part of a white closed area holding text. Judged on the small ball's
    areas: the big ball cannot pass between lines of text, so it cuts a bubble into pieces."""
    groups = regions.group[regions.labels]
    count = int(regions.group.max())
    # An area's brightness: its regions' core brightness, weighted by their core size.
    weight = np.bincount(regions.group, weights=regions.area, minlength=count + 1)
    light = np.bincount(regions.group, weights=regions.area * regions.luma, minlength=count + 1)
    white = light >= (regions.paper - 24.0) * np.maximum(weight, 1)
    area, box = text_marks(regions.line, groups)
    marks = np.bincount(area, minlength=count + 1)
    cover = np.bincount(area, weights=box, minlength=count + 1)
    # The area's own size, letters included (the ink belongs to the area it lies in).
    whole = np.bincount(groups.ravel(), minlength=count + 1)
    found = (
        white
        & (weight > 0)
        & (marks >= MIN_MARKS)
        & (cover >= MIN_COVER * np.maximum(whole, 1))
        & (whole <= MAX_BUBBLE * groups.size)
    )
    found[0] = False
    boxes = ndi.find_objects(groups)
    for g in np.flatnonzero(found):
        shape = groups[boxes[g - 1]] == g
        found[g] = shape.sum() >= MIN_SOLIDITY * convex_hull_image(shape).sum()
    return found[regions.group]
