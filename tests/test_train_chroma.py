"""The default model's recipe end to end on tiny real runs: a chroma-unet trained with the
chroma_classes objective, its card, choosing its temperature, and coloring with it."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from train_helpers import cli, run_inprocess

from colorize.checkpoint import load_generator

CHROMA = [
    "model.generator=chroma-unet", "model.generator_kwargs={'base': 8, 'depth': 2, 'max_ch': 16}",
    "loss.objective=chroma_classes", "loss.lambda_gan=0.1", "data.cache_side=48", "infer.size=64",
]


@pytest.fixture(scope="module")
def chroma_run(tmp_path_factory, color_dir):
    from conftest import TINY_TOML

    tmp = tmp_path_factory.mktemp("chroma")
    (tmp / "tiny.toml").write_text(TINY_TOML)
    out = tmp / "run"
    summary = run_inprocess(tmp / "tiny.toml", color_dir, out, CHROMA)
    assert summary["steps"] == 12
    return out


def test_card_records_the_objective_prior_and_colorizer_defaults(chroma_run):
    card = json.loads((chroma_run / "checkpoints" / "best" / "card.json").read_text())
    assert card["generator"]["name"] == "chroma-unet"
    assert card["config"]["loss"]["objective"] == "chroma_classes"
    assert card["infer"] == {"size": 64, "shading": 1.0, "background": "keep"}
    prior = np.array(card["chroma_prior"])
    assert prior.shape == (289,) and abs(prior.sum() - 1) < 1e-3
    assert {"val/color_score", "val/cbcr_error", "val/colorfulness_ratio", "val/gray_color_score"} <= set(card["metrics"])
    rows = [json.loads(line) for line in (chroma_run / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss/g_ce"]) and r["loss/g_ce"] >= 0 for r in rows if "loss/g_ce" in r)
    # Gray output scores twice its CbCr error: the selection figure cannot be won by gray.
    m = card["metrics"]
    assert m["val/gray_color_score"] == pytest.approx(2 * m["val/gray_cbcr_error"])


def test_temperature_command_writes_the_best_one_and_the_colorizer_uses_it(chroma_run, color_dir, tmp_path):
    import shutil

    ckpt = tmp_path / "ckpt"
    shutil.copytree(chroma_run / "checkpoints" / "best", ckpt)
    res = cli(["temperature", ckpt, "--data", color_dir, "--temps", "0.3", "1.0", "--vividness", "0", "1", "--write"])
    assert res.returncode == 0, res.stdout + res.stderr
    card = json.loads((ckpt / "card.json").read_text())
    rows = card["temperature_scores"]
    assert len(rows) == 4 and {(r["temperature"], r["vividness"]) for r in rows} == {(0.3, 0), (1, 0), (0.3, 1), (1, 1)}
    # the best: lowest color_score among settings 3% closer than gray (lowest CbCr error if none is)
    closer = [r for r in rows if r["val/cbcr_error"] < 0.97 * r["val/gray_cbcr_error"]]
    best = min(closer, key=lambda r: r["val/color_score"]) if closer else min(rows, key=lambda r: r["val/cbcr_error"])
    kwargs = card["generator"]["kwargs"]
    assert (kwargs["temperature"], kwargs["vividness"]) == (best["temperature"], best["vividness"])
    assert "<- best" in res.stdout and "gray" in res.stdout
    G, _ = load_generator(ckpt)
    assert (G.temperature, G.vividness) == (kwargs["temperature"], kwargs["vividness"])
    assert G.color_prior is not None and G.color_prior.tolist() == pytest.approx(card["chroma_prior"])

    from colorize.inference.colorizer import Colorizer

    page = Image.open(next(color_dir.iterdir())).convert("L")
    out = Colorizer(ckpt, size=64).colorize(page)
    assert out.size == page.size and out.mode == "RGB"
    # the user's vividness overrides the card's, and more of it gives stronger colors
    muted = Colorizer(ckpt, size=64, vividness=0.0, background="color")
    vivid = Colorizer(ckpt, size=64, vividness=3.0, background="color")
    assert muted.vividness == 0.0 and "vividness=3.0" in repr(vivid)
    raw = [np.asarray(c.predict([c.prepare(page).work])[0], np.float32) for c in (muted, vivid)]
    spread = [float(np.abs(r - r.mean(axis=2, keepdims=True)).mean()) for r in raw]  # distance from gray
    assert spread[1] > spread[0]
    with pytest.raises(ValueError, match="vividness must be 0 or more"):
        Colorizer(ckpt, size=64, vividness=-1)


def test_temperature_and_vividness_refuse_a_model_without_color_classes(tmp_path, color_dir):
    from conftest import TINY_TOML

    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    run_inprocess(tmp_path / "tiny.toml", color_dir, tmp_path / "run", ["train.steps=4"])
    res = cli(["temperature", tmp_path / "run" / "checkpoints" / "best", "--data", color_dir])
    assert res.returncode == 2 and "color-class models only" in res.stdout
    from colorize.inference.colorizer import Colorizer

    with pytest.raises(ValueError, match="color-class models only"):
        Colorizer(tmp_path / "run" / "checkpoints" / "best", vividness=0.5)


def test_fine_tuning_trains_and_validates_at_vividness_zero(chroma_run, color_dir, tmp_path):
    # the parent's vividness was chosen on the parent's validation pictures; a fine-tune on one
    # character would otherwise lean towards colors rare in *its* data, i.e. wrong for it
    import shutil

    from conftest import TINY_TOML

    parent = tmp_path / "parent"
    shutil.copytree(chroma_run / "checkpoints" / "best", parent)
    card = json.loads((parent / "card.json").read_text())
    card["generator"]["kwargs"]["vividness"] = 0.8
    (parent / "card.json").write_text(json.dumps(card))
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    run_inprocess(tmp_path / "tiny.toml", color_dir, tmp_path / "ft", [*CHROMA, "train.steps=2", "log.ckpt_every=2"],
                  init_from=parent)
    child = json.loads((tmp_path / "ft" / "checkpoints" / "step-00000002" / "card.json").read_text())
    assert child["generator"]["kwargs"]["vividness"] == 0.0
    G, _ = load_generator(tmp_path / "ft" / "checkpoints" / "step-00000002")
    assert G.vividness == 0.0


def test_sample_grid_shows_a_hint_models_drawing_beside_its_output():
    # A run without validation pictures logs training samples, whose input carries 4 hint channels.
    from colorize.training.monitor import sample_grid

    inp = torch.rand(2, 5, 16, 24) * 2 - 1
    grid = sample_grid(inp, torch.zeros(2, 3, 16, 24), torch.zeros(2, 3, 16, 24))
    assert grid.shape[0] == 3
    first = grid[:, 2:18, 2:26]  # the first cell: the drawing (channel 0) as gray, not the hints
    expected = (inp[0, 0].clamp(-1, 1) * 0.5 + 0.5).expand(3, -1, -1)
    assert torch.allclose(first, expected, atol=1e-6)
