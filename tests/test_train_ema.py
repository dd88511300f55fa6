"""train.ema: the generator that validates, ships and checkpoints is an average of the optimizer's
weights; keeping it changes nothing the optimizer does, and a resumed run continues it exactly."""

import json

import torch
from safetensors.torch import load_file
from train_helpers import run_inprocess

from colorize.checkpoint import load_generator


def weights(run, step: int, name: str) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoints" / f"step-{step:08d}" / f"{name}.safetensors"))


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_average_ships_and_a_resume_continues_it(tiny_config, color_dir, tmp_path):
    ema = ["train.steps=8", "train.ema=0.9"]
    run_inprocess(tiny_config, color_dir, tmp_path / "plain", ["train.steps=8"])
    run_inprocess(tiny_config, color_dir, tmp_path / "full", ema)
    run_inprocess(tiny_config, color_dir, tmp_path / "half", ["train.steps=4", "train.ema=0.9"])
    run_inprocess(tiny_config, color_dir, tmp_path / "half", ema, resume=True)

    plain, full, half = (tmp_path / n for n in ("plain", "full", "half"))
    average, trained = weights(full, 8, "generator"), weights(full, 8, "generator_training")
    assert same(trained, weights(plain, 8, "generator"))  # the average does not steer training
    assert not same(average, trained) and not same(average, weights(full, 4, "generator"))
    assert same(average, weights(half, 8, "generator")) and same(trained, weights(half, 8, "generator_training"))

    G, card = load_generator(full / "checkpoints" / "step-00000008")  # what batch and the app load
    assert card["config"]["train"]["ema"] == 0.9
    assert all(torch.equal(v, average[k]) for k, v in G.state_dict().items())
    rows = [json.loads(line) for line in (full / "metrics.jsonl").read_text().splitlines()]
    validated = [r for r in rows if "val/color_score" in r]
    assert validated and all("val_training/color_score" in r for r in validated)
    assert any(r["val/color_score"] != r["val_training/color_score"] for r in validated)
