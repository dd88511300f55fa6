"""Color hints: the encoding, the training hints made from the truth, the hint-taking generator,
and the Colorizer and batch following a user's strokes inside closed lines."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from infer_helpers import box_interiors, make_checkpoint, make_hint_checkpoint, two_boxes
from PIL import Image, ImageDraw

from colorize import hints
from colorize.inference.colorizer import Colorizer
from colorize.models import build_generator

RED = (220, 30, 40)


def cbcr(image) -> np.ndarray:
    return np.asarray(image.convert("RGB").convert("YCbCr"), np.float32)[..., 1:]


def stroke(size, box, color=RED, width=6) -> Image.Image:
    """An RGBA hint image with one horizontal stroke through the middle of `box` (rows, cols)."""
    rows, cols = box
    y = (rows.start + rows.stop) // 2
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(im).line([(cols.start + 5, y), (cols.stop - 5, y)], fill=(*color, 255), width=width)
    return im


@pytest.mark.parametrize("h,w", [(64, 128), (128, 64), (192, 64)])
def test_chroma_s2d_non_square_with_and_without_hint_channels(h, w):
    G = build_generator("chroma-s2d", {"hint_ch": 4, "base": 8, "depth": 2, "max_ch": 32}).eval()
    x = torch.rand(2, 1, h, w) * 2 - 1
    rgb, logits, luma = G(x, return_logits=True)
    assert rgb.shape == (2, 3, h, w) and logits.shape[-2:] == (h // 4, w // 4) and luma.shape[-2:] == (h // 4, w // 4)
    zeros = torch.cat([x, torch.zeros(2, 4, h, w)], dim=1)
    assert torch.equal(G(zeros), G(x))  # no hints and all-zero hint planes are the same input
    painted = zeros.clone()
    painted[:, 1:, : h // 2] = torch.tensor([0.0, -0.5, 0.5, 1.0]).view(1, 4, 1, 1)
    assert not torch.allclose(G(painted), G(x))  # the hint channels reach the output
    with pytest.raises(ValueError, match="channels"):
        G(torch.zeros(1, 3, h, w))


def test_chroma_s2d_lines_stay_sharp_at_full_size():
    """The output's luma is the input's own at full resolution plus a coarse correction."""
    G = build_generator("chroma-s2d", {"base": 8, "depth": 1, "max_ch": 16}).eval()
    x = torch.ones(1, 1, 32, 32)
    x[..., 16, :] = -1  # a one-pixel black line
    with torch.no_grad():
        y = G(x)
    luma = 0.299 * y[:, 0] + 0.587 * y[:, 1] + 0.114 * y[:, 2]
    assert float(luma[0, 16].mean()) < float(luma[0, 14].mean()) - 1.0


def test_training_hints_take_the_true_color_under_them():
    target = np.zeros((64, 64, 3), np.uint8)
    target[:, :32] = (200, 40, 40)
    target[:, 32:] = (30, 60, 210)
    rng = np.random.default_rng(0)
    colors, mask = hints.synthesize_hints(target, rng, 30)
    assert mask.any()
    pure = mask.copy()
    pure[:, 26:38] = False  # dabs that may straddle the border take the median of both sides
    assert np.array_equal(colors[pure], target[pure])
    assert not colors[~mask].any()
    again = hints.synthesize_hints(target, np.random.default_rng(0), 30)
    assert np.array_equal(again[1], mask)  # seeded: the same hints for the same rng


def test_hint_count_none_or_mostly_few():
    rng = np.random.default_rng(0)
    assert all(hints.hint_count(rng, 0.0) == 0 for _ in range(50))
    counts = [hints.hint_count(rng, 1.0) for _ in range(2000)]
    assert min(counts) >= 1 and max(counts) <= hints.MAX_HINTS
    assert np.median(counts) <= 8 and max(counts) >= 30  # most few, some dozens
    share = np.mean([hints.hint_count(rng, 0.5) > 0 for _ in range(2000)])
    assert 0.45 < share < 0.55


def test_turned_hues_keep_brightness_and_move_color():
    rgb = np.asarray(Image.new("RGB", (8, 8), (200, 60, 50)))
    turned = hints.rotate_hue(rgb, 2 * np.pi / 3)
    y = lambda a: np.asarray(Image.fromarray(a).convert("L"), np.float32)  # noqa: E731
    assert np.abs(y(turned) - y(rgb)).max() <= 3
    assert np.hypot(*(cbcr(Image.fromarray(turned)) - cbcr(Image.fromarray(rgb)))[0, 0]) > 40


def test_a_thin_stroke_survives_reduction_to_the_working_size():
    im = Image.new("RGBA", (1000, 800), (0, 0, 0, 0))
    ImageDraw.Draw(im).line([(100, 400), (900, 400)], fill=(*RED, 255), width=1)
    planes = hints.from_rgba(im, (250, 200))
    mask = hints.hint_mask(planes)[0, 0]
    assert mask.shape == (200, 250) and mask[100, 30:220].all() and mask.sum() < 3 * 250
    want = hints.encode(torch.tensor(RED, dtype=torch.float32).view(1, 3, 1, 1) / 127.5 - 1, torch.ones(1, 1, 1, 1))
    assert torch.allclose(planes[0, :, 100, 100], want[0, :, 0, 0], atol=1e-5)


def test_training_batches_carry_hint_channels_and_validation_does_not(color_dir, tmp_path):
    from colorize.config import load_config
    from colorize.data import build_splits

    cfg = load_config(None, ["data.size=32", "data.hints=1.0", "data.split=[0.6, 0.4, 0.0]"])
    splits = build_splits([str(color_dir)], cfg.data, tmp_path / "cache", 0)
    inp, target = splits.train[(0, 0)]
    assert inp.shape == (1 + hints.HINT_CHANNELS, 32, 32) and target.shape == (3, 32, 32)
    assert inp[-1].sum() > 0  # p = 1: every training sample has hints
    assert splits.val[0][0].shape == (1, 32, 32)  # validation measures hint-free coloring


def test_hints_need_a_generator_with_hint_channels(color_dir, tiny_config, tmp_path):
    from colorize.config import load_config
    from colorize.training.train import Trainer

    cfg = load_config(tiny_config, ["data.hints=0.5"])
    with pytest.raises(ValueError, match="hint channels"):
        Trainer(cfg, [str(color_dir)], tmp_path / "run")


@pytest.mark.slow
def test_a_hint_model_trains_and_its_checkpoint_takes_hints(color_dir, tiny_config, tmp_path):
    from colorize.config import load_config
    from colorize.training.train import Trainer

    cfg = load_config(tiny_config, ['model.generator=chroma-s2d', "loss.objective=chroma_classes",
                                    'model.generator_kwargs={"hint_ch": 4, "base": 8, "depth": 1, "max_ch": 16}',
                                    "data.hints=0.7", "data.hint_recolor=0.3", "train.steps=4"])
    summary = Trainer(cfg, [str(color_dir)], tmp_path / "run").run()
    assert summary["steps"] == 4
    colorizer = Colorizer(tmp_path / "run" / "checkpoints" / "best", device="cpu")
    assert colorizer.takes_hints
    page, box = two_boxes(), box_interiors()[0]
    out = colorizer.colorize(page, hints=stroke(page.size, box))
    assert np.hypot(*(cbcr(out)[box] - cbcr(Image.new("RGB", (1, 1), RED))[0, 0]).reshape(-1, 2).T).mean() < 8


@pytest.mark.parametrize("maker", [make_hint_checkpoint, make_checkpoint], ids=["hint-model", "hint-free model"])
def test_a_stroke_fills_its_closed_region_and_nothing_else(maker, tmp_path):
    colorizer = Colorizer(maker(tmp_path / "ckpt"), device="cpu")
    page = two_boxes()
    left, right = box_interiors()
    plain = cbcr(colorizer.colorize(page))
    hinted = cbcr(colorizer.colorize(page, hints=stroke(page.size, left)))
    red = cbcr(Image.new("RGB", (1, 1), RED))[0, 0]
    assert (np.hypot(*(hinted[left] - red).reshape(-1, 2).T) <= 8).mean() >= 0.95
    assert np.abs(hinted[right] - plain[right]).mean() < 3  # the neighbouring box is not touched


def test_two_colors_in_one_region_leave_it_to_the_model(tmp_path):
    colorizer = Colorizer(make_hint_checkpoint(tmp_path / "ckpt"), device="cpu")
    page = two_boxes()
    left, _ = box_interiors()
    im = stroke(page.size, left, RED)
    rows, cols = left
    ImageDraw.Draw(im).line([(cols.start + 5, rows.start + 5), (cols.stop - 5, rows.start + 5)], fill=(30, 60, 220, 255), width=6)
    out = cbcr(colorizer.colorize(page, hints=im))
    red = cbcr(Image.new("RGB", (1, 1), RED))[0, 0]
    y = (rows.start + rows.stop) // 2
    away = out[y + 20 : rows.stop, cols]  # neither stroke is here
    assert (np.hypot(*(away - red).reshape(-1, 2).T) <= 8).mean() < 0.5
    assert np.hypot(*(out[y, cols.start + 20] - red)) <= 8  # each stroke keeps its own color where painted


def test_a_broken_hint_file_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(hints.HintError, match=str(bad)) as err:
        hints.load_rgba(bad)
    assert "\n" not in str(err.value)


def test_batch_follows_hint_files_and_goes_on_past_a_broken_one(tmp_path, capsys):
    from colorize.cli import main

    ckpt = make_hint_checkpoint(tmp_path / "ckpt")
    src, hint_dir, out = tmp_path / "in", tmp_path / "hints", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (hint_dir / "sub").mkdir(parents=True)
    page = two_boxes()
    left, right = box_interiors()
    for name in ("a.jpg", "b.png", "sub/c.png"):
        page.save(src / name)
    stroke(page.size, left).resize((160, 100)).save(hint_dir / "a.png")  # any size: scaled to the page
    (hint_dir / "b.png").write_bytes(b"broken")
    stroke(page.size, right).save(hint_dir / "sub" / "c.png")
    code = main(["batch", str(src), str(out), "--checkpoint", str(ckpt), "--recursive", "--hints", str(hint_dir)])
    printed = capsys.readouterr()
    assert code == 1
    failed = [line for line in (printed.out + printed.err).splitlines() if "failed" in line and "b.png" in line]
    assert failed and str(hint_dir / "b.png") in failed[0]
    red = cbcr(Image.new("RGB", (1, 1), RED))[0, 0]
    a, c = cbcr(Image.open(out / "a.png")), cbcr(Image.open(out / "sub" / "c.png"))
    assert (np.hypot(*(a[left] - red).reshape(-1, 2).T) <= 8).mean() >= 0.9
    assert (np.hypot(*(c[right] - red).reshape(-1, 2).T) <= 8).mean() >= 0.9
    assert (np.hypot(*(c[left] - red).reshape(-1, 2).T) <= 8).mean() < 0.1
    assert not (out / "b.png").exists()
