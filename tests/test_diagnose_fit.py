"""`diagnose fit`: a model that learned its training pictures by heart is told it overfits, one that
learned nothing that it underfits; the card's readout is measured beside the plain one and left as
it was; the command refuses to run without a trained model."""

import json
from pathlib import Path

import numpy as np
import torch
from diagnose_helpers import LUMA, color_images, tiny_unet, write_color_pngs
from PIL import Image

from colorize.cli import main
from colorize.diagnose.fit import check_fit
from colorize.models import build_generator

torch.set_num_threads(1)
SIDE = 48
DEFAULT = Path(__file__).resolve().parents[1] / "checkpoints" / "default"


def save_pictures(folder, targets) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, t in enumerate(targets):
        path = folder / f"p{i}.png"
        Image.fromarray(((t.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def memorize(model, targets, steps=300):
    """Plain MSE from luma to color on these pictures alone, until the model knows them."""
    gray = (targets * LUMA).sum(1, keepdim=True)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(gray), targets).backward()
        opt.step()
    return model.eval()


def test_a_model_that_learned_its_pictures_by_heart_is_told_it_overfits(tmp_path):
    seen, unseen = color_images(2, SIDE, seed=1), color_images(4, SIDE, seed=2)
    model = memorize(tiny_unet(), seen)
    splits = {"train": save_pictures(tmp_path / "train", seen), "holdout": save_pictures(tmp_path / "new", unseen)}
    result = check_fit(model, splits, SIDE)
    fit = result.figures["model"]  # a model without a readout is measured as it is
    assert fit["train"]["ratio_to_gray"] < 0.5 < fit["holdout"]["ratio_to_gray"]
    assert result.status == "WARN"
    assert any(m.startswith("overfitting") and "holdout" in m for m in result.messages("WARN"))
    assert not any(m.startswith("underfitting") for m in result.messages())
    assert result.summary.startswith("CbCr error, train")  # no readout to name


def test_an_untrained_model_is_told_it_underfits_and_keeps_its_readout(tmp_path):
    torch.manual_seed(0)
    model = build_generator("chroma-s2d", {"base": 8, "depth": 2, "max_ch": 16, "blocks": [1], "temperature": 0.4})
    model.eval()
    pictures = save_pictures(tmp_path / "pics", color_images(3, SIDE, seed=3))
    result = check_fit(model, {"train": pictures, "val": pictures[:1]}, SIDE)
    assert set(result.figures) == {"plain", "card"}
    assert result.figures["card"]["train"]["pictures"] == 3
    assert result.figures["plain"]["train"]["ratio_to_gray"] >= 0.95
    assert any(m.startswith("underfitting") for m in result.messages("WARN"))
    assert model.temperature == 0.4  # the plain readout was only borrowed


def test_the_command_needs_a_checkpoint_and_measures_the_shipped_model(tmp_path, capsys):
    write_color_pngs(tmp_path / "images", n=12)
    base = ["diagnose", "fit", "--data", str(tmp_path / "images"), "--cache-dir", str(tmp_path / "cache")]
    assert main([*base, "--out", str(tmp_path / "none")]) == 1
    assert "FAIL fit" in capsys.readouterr().out
    code = main([*base, "--checkpoint", str(DEFAULT), "--count", "2", "--out", str(tmp_path / "out")])
    assert code == 0
    out = capsys.readouterr().out
    assert "fit: CbCr error at the plain readout, train" in out
    figures = json.loads((tmp_path / "out" / "result.json").read_text())["figures"]
    assert figures["plain"]["train"]["pictures"] == 2 and figures["card"]["train"]["pictures"] == 2
