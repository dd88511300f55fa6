"""`python -m colorize eval` on a tiny untrained checkpoint (the real Colorizer) and a folder of
small PNGs with one broken file: metrics.json, the error-analysis page, the card update; plus the
wiring checked with an oracle that returns the original colors."""

import json
import math

import numpy as np
import pytest
import torch
from diagnose_helpers import write_color_pngs
from PIL import Image

from colorize.checkpoint import read_card, save_checkpoint
from colorize.cli import main
from colorize.config import Config
from colorize.evaluation.evaluate import make_input, score_image
from colorize.models import build_generator

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    write_color_pngs(root / "images", n=5, side=64)
    (root / "images" / "broken.png").write_bytes(b"not a png at all")
    card = {"step": 0, "generator": {"name": "unet", "kwargs": {"base": 8, "depth": 2}},
            "discriminator": {"name": "patchgan", "kwargs": {"base": 8}}, "config": Config().to_dict(),
            "metrics": {}}
    save_checkpoint(root / "ckpt", card, build_generator("unet", {"base": 8, "depth": 2}))
    return root


def test_eval_writes_metrics_page_and_card(setup, capsys):
    out = setup / "out"
    rc = main(["eval", "--checkpoint", str(setup / "ckpt"), "--images", str(setup / "images"), "--out", str(out),
               "-k", "2", "--update-card", "--device", "cpu"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "gray baseline" in text and "deltaE" in text
    m = json.loads((out / "metrics.json").read_text())
    assert m["count"] == 5 and m["mode"] == "gray"
    assert set(m["model_beats_baseline"]) == {"deltaE", "cbcr_error", "psnr", "ssim", "colorfulness_gap"}
    assert m["model_beats_baseline_share"]["deltaE"] == m["model_beats_baseline"]["deltaE"] / 5
    assert all(0 <= v <= 5 for v in m["model_beats_baseline"].values())
    assert "model better than gray on deltaE" in text
    assert [s["file"] for s in m["skipped"]] == ["broken.png"] and "broken.png" in m["skipped"][0]["reason"]
    row = m["per_image"][0]
    assert set(row["model"]) == {"psnr", "ssim", "deltaE", "cbcr_error", "colorfulness", "colorfulness_target",
                                 "colorfulness_gap", "line_ssim"}
    # the passthrough's CbCr error is the target's own mean |Cb - 128| and |Cr - 128|
    target = np.asarray(Image.open(setup / "images" / row["file"]).convert("YCbCr")).astype(float)[..., 1:]
    assert row["baseline"]["cbcr_error"] == pytest.approx(np.abs(target - 128).mean(), abs=0.5)
    means = m["mean"]["model"]
    assert means["colorfulness_ratio"] == pytest.approx(means["colorfulness"] / means["colorfulness_target"])
    assert row["size"] == [64, 64]
    # the gray passthrough's luminance is its input: perfect line preservation, zero colorfulness
    assert m["mean"]["baseline"]["line_ssim"] == pytest.approx(1.0)
    assert m["mean"]["baseline"]["colorfulness"] == pytest.approx(0.0, abs=1e-9)
    assert m["mean"]["model"]["deltaE"] == pytest.approx(np.mean([r["model"]["deltaE"] for r in m["per_image"]]))
    page = (out / "index.html").read_text()
    assert "Worst 2 by CIEDE2000" in page and "Best 2 by CIEDE2000" in page
    thumbs = sorted((out / "thumbs").glob("*.png"))
    assert len(thumbs) == 4 and all(f"thumbs/{t.name}" in page for t in thumbs)
    with Image.open(thumbs[0]) as im:
        assert im.height == 192 and im.width > 3 * 192  # input | output | target
    card = read_card(setup / "ckpt")
    assert card["eval"]["gray"]["model"]["deltaE"] == pytest.approx(m["mean"]["model"]["deltaE"])
    assert card["eval"]["gray"]["count"] == 5
    assert card["eval"]["gray"]["model"]["cbcr_error"] == pytest.approx(m["mean"]["model"]["cbcr_error"])
    assert card["eval"]["gray"]["model_beats_baseline_share"] == m["model_beats_baseline_share"]


def test_eval_missing_folder_is_one_line_error(setup, capsys):
    assert main(["eval", "--checkpoint", str(setup / "ckpt"), "--images", str(setup / "nope")]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1


def test_lineart_inputs_are_reproducible_line_drawings(setup):
    rgb = np.asarray(Image.open(setup / "images" / "img00.png").convert("RGB"))
    a = make_input(rgb, "lineart", 0, "img00.png")
    assert np.array_equal(np.asarray(a), np.asarray(make_input(rgb, "lineart", 0, "img00.png")))
    assert a.mode == "L" and a.size == (64, 64)
    assert np.asarray(a).mean() > 170  # mostly white paper
    gray = make_input(rgb, "gray", 0, "img00.png")
    assert np.array_equal(np.asarray(gray), np.asarray(Image.fromarray(rgb).convert("L")))


class Oracle:
    """Returns the original colors of the image whose input it is given."""

    def __init__(self, originals):
        self.by_input = {make_input(rgb, "gray", 0, "").tobytes(): rgb for rgb in originals}

    def colorize(self, image):
        return Image.fromarray(self.by_input[image.tobytes()])


def test_scores_compare_output_with_its_own_target(setup):
    paths = sorted((setup / "images").glob("img*.png"))
    oracle = Oracle([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    row = score_image(oracle, paths[1], setup / "images", "gray", 512, 0)
    assert row["model"]["deltaE"] == 0 and math.isinf(row["model"]["psnr"])
    assert row["baseline"]["deltaE"] > 1 and row["file"] == "img01.png"
    assert row["model"]["cbcr_error"] == 0 and row["baseline"]["cbcr_error"] > 1
