"""Synthetic training inputs against real line art and manga (../shared/data): ink share and
stroke width at the working size must be within 2x, and the check must catch the thick blobs of
lines drawn at training size."""

import numpy as np
import pytest
from data_helpers import SHARED
from PIL import Image

from colorize.config import DataConfig
from colorize.data import build_splits
from colorize.data.realism import compare, compare_with_real, ink_stats, median_stats
from colorize.diagnose.data import check_realism
from colorize.diagnose.report import CheckResult

needs_shared = pytest.mark.skipif(not (SHARED / "lineart").is_dir(), reason="../shared/data not present")


def test_ink_stats_measure_share_and_stroke_width():
    paper = np.ones((100, 100), np.float32)
    thin, thick = paper.copy(), paper.copy()
    thin[20:80, 50] = 0
    thick[20:80, 48:53] = 0
    share, width = ink_stats(thin)
    assert share == pytest.approx(60 / 10_000) and width == pytest.approx(1, abs=0.1)
    assert ink_stats(thick)[1] == pytest.approx(5, rel=0.25)
    assert ink_stats(paper) == (0.0, 0.0)


def test_compare_flags_figures_more_than_2x_apart():
    real = {"ink_share": 0.04, "line_width": 1.4}
    assert compare({"ink_share": 0.07, "line_width": 1.3}, real) == []
    problems = compare({"ink_share": 0.2, "line_width": 3.5}, real)
    assert len(problems) == 2 and "ink share" in problems[0] and "stroke width" in problems[1]


@needs_shared
def test_training_inputs_look_like_real_ones_at_the_working_size(tmp_path):
    files = sorted((SHARED / "color").iterdir())[::5]  # about 40 pictures of all kinds
    src = tmp_path / "src"
    src.mkdir()
    for f in files:
        (src / f.name).write_bytes(f.read_bytes())
    cfg = DataConfig(size=128, cache_side=384, scale_min=0.1, split=(1.0, 0.0, 0.0))
    train = build_splits(src, cfg, tmp_path / "cache", 0).train
    figures, problems = compare_with_real(train, {"lineart": SHARED / "lineart"}, 448, n=32)
    assert problems == [], figures
    synth, real = figures["lineart"]["synthetic"], figures["lineart"]["real"]
    assert 0.01 < real["ink_share"] < 0.1 and synth["ink_share"] < 2 * real["ink_share"]

    # The old way, lines drawn on a small crop and thickened, must fail the check.
    blobs = [np.asarray(Image.fromarray((x * 255).astype(np.uint8)).filter(
        __import__("PIL.ImageFilter", fromlist=["MinFilter"]).MinFilter(3)), np.float32) / 255
             for x in _synthetic(train)]
    assert compare(median_stats(blobs), real), "thick lines must be told apart from real ones"
    r = CheckResult("data")
    check_realism(r, train, 448, SHARED)
    assert r.status == "PASS" and "lineart ink" in r.summary and "manga ink" in r.summary


def _synthetic(train):
    from colorize.data.realism import synthetic_inputs

    return synthetic_inputs(train, "lineart", 32)
