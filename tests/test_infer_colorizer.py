"""The Colorizer on a tiny untrained checkpoint: every Pillow mode, odd sizes, alpha, EXIF,
determinism, line preservation, and clear errors for a checkpoint that does not fit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from infer_helpers import color_page, line_art, make_checkpoint, mean_chroma, tiny_card
from PIL import Image, ImageFilter

from colorize.checkpoint import CheckpointError, save_checkpoint
from colorize.images import ImageLoadError
from colorize.inference.colorizer import Colorizer, default_working_side, pick_device
from colorize.inference.colorspace import chroma_fraction, compose
from colorize.models import build_generator


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("infer") / "ckpt")


@pytest.fixture(scope="module")
def colorizer(ckpt):
    torch.set_num_threads(1)
    # The model may color the paper too, so every page here comes out colored (keeping the paper
    # white has tests of its own, in test_paint.py).
    return Colorizer(ckpt, device="cpu", size=128, background="color")


def as_mode(mode: str, size=(48, 36)) -> Image.Image:
    gray = line_art(*size)
    if mode == "I;16":  # 16-bit gray, the full 0..65535 range
        return Image.fromarray(np.asarray(gray, np.uint16) * 257)
    if mode.startswith("P"):  # a gray palette, index = gray level
        im = Image.frombytes("P", gray.size, gray.tobytes())
        im.putpalette([v for i in range(256) for v in (i, i, i)])
        if mode == "P_transparent":
            im.info["transparency"] = 255  # the paper is see-through
        return im
    if mode in ("LA", "RGBA"):
        im = gray.convert(mode)
        alpha = Image.new("L", size, 255)
        alpha.paste(0, (0, 0, size[0] // 2, size[1]))
        im.putalpha(alpha)
        return im
    return gray.convert(mode)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "P_transparent", "RGB", "RGBA", "CMYK", "I;16"])
def test_every_pillow_mode_gives_a_colored_image_of_the_same_size(colorizer, mode):
    image = as_mode(mode)
    out = colorizer.colorize(image)
    assert out.size == image.size
    transparent = mode in ("LA", "RGBA", "P_transparent")
    assert out.mode == ("RGBA" if transparent else "RGB")
    assert mean_chroma(image) == 0 and mean_chroma(out) > 2  # gray in, color out


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (1000, 7), (7, 1000), (300, 421)])
def test_odd_sizes_come_back_the_same_size(colorizer, size):
    image = line_art(*size) if min(size) > 20 else Image.new("L", size, 200)
    assert colorizer.colorize(image).size == size


def test_the_model_runs_at_the_working_size_and_never_upscales(colorizer):
    page = colorizer.prepare(line_art(300, 421))
    assert tuple(page.work.shape) == (1, 128, 91) and page.gray.size == (300, 421)
    assert colorizer.prepare(line_art(50, 30)).work.shape[-2:] == (30, 50)
    # The training scale: 1.5 x the cached short side (1.25 x the crop when not set).
    assert default_working_side({"config": {"data": {"size": 96, "cache_side": 128}}}) == 192
    assert default_working_side({"config": {"data": {"size": 128, "cache_side": 0}}}) == 240
    assert default_working_side({"config": {"data": {"size": 16}}}) == 128


def test_a_card_can_carry_its_own_working_size_shading_and_background(tmp_path):
    card = dict(tiny_card(), infer={"size": 100, "shading": 0.25, "background": "color"})
    save_checkpoint(tmp_path / "own", card, build_generator("unet", {"base": 8, "depth": 2}))
    own = Colorizer(tmp_path / "own", device="cpu")
    assert (own.size, own.shading, own.background) == (100, 0.25, "color")
    mine = Colorizer(tmp_path / "own", device="cpu", size=64, shading=1, background="keep")
    assert (mine.size, mine.background) == (64, "keep")
    with pytest.raises(ValueError, match="shading"):
        Colorizer(tmp_path / "own", device="cpu", shading=2)
    with pytest.raises(ValueError, match="background must be one of keep, color"):
        Colorizer(tmp_path / "own", device="cpu", background="sky")


def test_alpha_is_kept_exactly(colorizer):
    image = as_mode("RGBA", (64, 40))
    out = colorizer.colorize(image)
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out.getchannel("A")), np.asarray(image.getchannel("A")))


def test_a_fully_opaque_alpha_is_dropped(colorizer):
    image = line_art(40, 30).convert("RGBA")
    assert colorizer.colorize(image).mode == "RGB"


def test_exif_orientation_is_applied(colorizer, tmp_path):
    wide = line_art(60, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers rotate it 90 degrees to display it upright
    path = tmp_path / "sideways.jpg"
    wide.save(path, exif=exif)
    assert colorizer.colorize(path).size == (20, 60)
    with Image.open(path) as im:
        assert colorizer.colorize(im).size == (20, 60)


def test_color_input_is_recolored_from_its_luminance(colorizer):
    picture = color_page(80, 60)
    from_color = colorizer.colorize(picture)
    from_gray = colorizer.colorize(picture.convert("L"))
    assert np.array_equal(np.asarray(from_color), np.asarray(from_gray))


def test_same_image_and_checkpoint_give_the_same_output(ckpt):
    image = line_art(200, 150, seed=3)
    a = Colorizer(ckpt, device="cpu", size=128).colorize(image)
    b = Colorizer(ckpt, device="cpu", size=128).colorize(image)
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_a_batch_gives_the_same_colors_as_one_at_a_time(colorizer):
    pages = [colorizer.prepare(line_art(160, 120, seed=s)) for s in range(3)]
    together = colorizer.predict([p.work for p in pages])
    for page, rgb in zip(pages, together):
        alone = colorizer.predict([page.work])[0]
        assert np.abs(alone.astype(int) - rgb.astype(int)).max() <= 1


def _line_depth(image: Image.Image, where: np.ndarray) -> float:
    """How much darker than their surroundings the `where` pixels are, as a share of the
    surroundings' brightness (1: black lines; 0: no lines). Scale-free, so a line crossing an
    area the model shaded darker still counts as a full line."""
    luma = np.asarray(image.convert("L"), float)
    around = np.asarray(image.convert("L").filter(ImageFilter.GaussianBlur(3)), float)
    return float(((around - luma) / np.maximum(around, 1))[where].mean())


def test_lines_stay_crisp_at_full_resolution(colorizer):
    """1-pixel lines on an 800x600 page run through the model at 128 px: the output keeps them as
    deep as they were, where upscaling the model's own 128-px picture loses them."""
    image = line_art(800, 600, seed=1)
    ink = np.asarray(image) == 0
    out = colorizer.colorize(image)
    assert _line_depth(out, ink) > 0.9 * _line_depth(image, ink)
    assert np.asarray(out.convert("L"))[ink].mean() < 20  # ink stays ink
    page = colorizer.prepare(image)
    upscaled = Image.fromarray(colorizer.predict([page.work])[0]).resize(image.size, Image.BILINEAR)
    assert _line_depth(upscaled, ink) < 0.2 * _line_depth(image, ink)


def test_shading_zero_keeps_the_input_luminance(ckpt):
    image = line_art(400, 300, seed=2)
    out = Colorizer(ckpt, device="cpu", size=128, shading=0, background="color").colorize(image)
    gray, luma = np.asarray(image, int), np.asarray(out.convert("L"), int)
    assert mean_chroma(out) > 2
    # Only gamut clipping of strong colors moves the luminance (the untrained net's colors are strong).
    assert np.median(np.abs(luma - gray)) <= 40
    assert np.abs(luma - gray)[gray == 0].max() <= 2


def test_compose_gives_back_the_input_where_no_color_is_laid():
    gray = line_art(300, 200, seed=4)
    chroma, gain = np.zeros((50, 75, 2), np.float32), np.ones((50, 75), np.float32)
    for multiply in (False, True):
        out = compose(gray, chroma, gain, multiply)
        assert np.array_equal(np.asarray(out), np.asarray(gray.convert("RGB")))


def test_a_gain_darkens_paper_but_a_black_line_stays_black():
    """A gain painted at a quarter of the size: the paper right beside a 1-pixel line takes it too
    (no bright rim), and the line stays black."""
    gray = Image.new("L", (400, 400), 255)
    gray.paste(0, (200, 0, 201, 400))
    gain = np.full((100, 100), (128 + 16) / (255 + 16), np.float32)
    out = np.asarray(compose(gray, np.zeros((100, 100, 2), np.float32), gain).convert("L"), int)
    assert out[:, 200].max() <= 5
    assert np.abs(out[:, [197, 198, 199, 202, 203]] - 128).max() <= 3


def test_chroma_fraction_tells_color_pages_from_gray_and_tinted_scans():
    from colorize.inference.batch import COLORED_FRACTION

    gray = line_art(200, 280)
    sepia = Image.merge("RGB", [gray.point(lambda v, k=k: int(v * k)) for k in (1.0, 0.93, 0.8)])
    ink = gray.point(lambda v: 0 if v < 100 else 255)  # the lines alone, no gray fills
    brown = [ink.point(lambda v, k=k: int(k + (255 - k) * v / 255)) for k in (110, 60, 30)]
    brown_lines = Image.merge("RGB", brown)
    assert chroma_fraction(gray) == 0
    assert chroma_fraction(sepia) < 0.01
    assert chroma_fraction(brown_lines) < COLORED_FRACTION < chroma_fraction(color_page())


def test_a_checkpoint_that_does_not_match_its_card_is_a_clear_error(tmp_path):
    card = tiny_card({"base": 16, "depth": 2})
    save_checkpoint(tmp_path / "bad", card, build_generator("unet", {"base": 8, "depth": 2}))
    with pytest.raises(CheckpointError, match=r"bad.*(shape|match)"):
        Colorizer(tmp_path / "bad", device="cpu")
    with pytest.raises(CheckpointError, match="no card.json"):
        Colorizer(tmp_path, device="cpu")
    (tmp_path / "bad" / "card.json").write_text(json.dumps(dict(card, format=1, generator={"name": "vit"})))
    with pytest.raises(CheckpointError, match="vit"):
        Colorizer(tmp_path / "bad", device="cpu")


def test_an_unreadable_file_is_a_clear_error(colorizer, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    with pytest.raises(ImageLoadError, match="notes.png"):
        colorizer.colorize(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_says_so():
    with pytest.raises(ValueError, match="no CUDA"):
        pick_device("cuda")
    assert pick_device("auto").type == "cpu"
