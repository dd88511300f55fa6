"""Regions between lines (gap closing included), paper that reaches the border, speech bubbles,
and the guided filter, on drawings made here with known answers."""

from __future__ import annotations

import numpy as np
from drawing_helpers import AREAS, drawing, mask
from PIL import Image, ImageDraw

from colorize.inference.guided import guided_upsample
from colorize.inference.paint import analyse
from colorize.inference.paper import border_paper, bubbles
from colorize.inference.regions import find_regions, region_mean


def labels_of(regions, name: str) -> set[int]:
    return set(np.unique(regions.labels[mask(name)]).tolist())


def test_each_closed_area_is_one_region_and_a_2px_gap_does_not_join_two():
    regions = find_regions(np.asarray(drawing()))
    found = {name: labels_of(regions, name) for name in AREAS}
    assert all(len(labels) == 1 for labels in found.values()), found
    assert len(set.union(*found.values())) == len(AREAS)  # all different: nothing leaks
    # Every pixel, ink included, belongs to a region.
    assert regions.labels.min() >= 1 and regions.labels.max() == regions.count


def test_a_gap_wider_than_the_ball_lets_the_areas_join():
    im = drawing()
    ImageDraw.Draw(im).rectangle((386, 100, 394, 140), fill=255)  # a 40-pixel gap
    regions = find_regions(np.asarray(im))
    assert labels_of(regions, "left") == labels_of(regions, "right")


def test_paper_reaching_the_border_and_the_bubble_are_found_and_nothing_else():
    regions = find_regions(np.asarray(drawing()))
    paper, bubble = border_paper(regions), bubbles(regions)
    assert np.flatnonzero(paper).tolist() == sorted(labels_of(regions, "paper"))
    # The bubble holds 21 letters; the face (two eyes and a mouth) is no bubble.
    assert np.flatnonzero(bubble).tolist() == sorted(labels_of(regions, "bubble"))


def test_region_mean_ignores_a_minority_of_another_color():
    regions = find_regions(np.asarray(drawing()))
    values = np.zeros((*regions.labels.shape, 2))
    values[..., 0] = 40.0
    inner = mask("inner", inset=0)
    rows = np.flatnonzero(inner.any(axis=1))
    bleed = inner & (np.arange(inner.shape[0])[:, None] < rows[0] + len(rows) // 6)  # its top sixth
    values[bleed, 0] = -40.0
    (label,) = labels_of(regions, "inner")
    core = np.where(regions.core, regions.labels, 0)
    assert region_mean(core, values, regions.count)[label, 0] > 35  # a plain mean gives about 27


def test_line_art_and_screentone_take_different_paths():
    assert analyse(drawing(), 160).line_art
    rng = np.random.default_rng(0)
    tone = np.asarray(drawing(), np.float32)
    dots = np.logical_and.outer(np.arange(360) % 3 < 2, np.arange(480) % 3 < 2) & (
        rng.random((360, 480)) < 0.9
    )
    tone[:, :300][dots[:, :300]] = 0  # a dot screen over most of the page
    assert not analyse(Image.fromarray(tone.astype(np.uint8)), 160).line_art


def test_guided_upsampling_stops_color_at_the_guides_edge():
    """The model's color changes over several of its pixels; the page's edge is sharp. Guided
    upsampling puts the change at the edge, where plain upsampling smears it across."""
    guide = np.full((400, 400), 0.2, np.float32)
    guide[:, 200:] = 0.9
    guide_small = np.asarray(Image.fromarray(guide).resize((50, 50), Image.Resampling.BOX))
    ramp = np.clip((np.arange(50) - 24.5) / 2, -1, 1) * -30  # +30 left, -30 right, a soft step
    source = np.repeat(ramp[None, :, None], 50, axis=0).astype(np.float32)
    out = guided_upsample(guide_small, source, guide, radius=2, eps=1e-2)[..., 0]
    assert out[:, 198].min() > 10 and out[:, 202].max() < -10  # a jump of over 20 within 4 px
    plain = np.asarray(Image.fromarray(source[..., 0]).resize((400, 400), Image.Resampling.BILINEAR))
    assert np.abs(plain[:, 198] - plain[:, 202]).max() < 10
