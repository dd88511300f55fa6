import logging

import numpy as np
import pytest
from data_helpers import SHARED, noise_image
from PIL import Image

import colorize.data.cache as cache_mod
from colorize.config import DataConfig
from colorize.data.cache import cache_all, cache_path, cache_side_for, ensure_cached, read_cached

SIDE = 20


def _two_tone(mode_left, mode_right, mode, size=(40, 30)):
    """Left half one value, right half another, in the given Pillow mode."""
    im = Image.new(mode, size, mode_right)
    im.paste(Image.new(mode, (size[0] // 2, size[1]), mode_left), (0, 0))
    return im


def _left_right(arr):
    h, w = arr.shape[:2]
    return arr[h // 2, w // 6].tolist(), arr[h // 2, w - 1 - w // 6].tolist()


def _p_with_transparency():
    im = Image.new("P", (40, 30), 1)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.paste(0, (0, 0, 20, 30))
    im.info["transparency"] = 1  # the blue right half is transparent
    return im


CASES = {
    "L": (_two_tone(0, 200, "L"), [0, 0, 0], [200, 200, 200]),
    "LA": (_two_tone((50, 255), (0, 0), "LA"), [50, 50, 50], [255, 255, 255]),
    "P-transparent": (_p_with_transparency(), [255, 0, 0], [255, 255, 255]),
    "RGB": (_two_tone((10, 120, 250), (250, 200, 0), "RGB"), [10, 120, 250], [250, 200, 0]),
    "RGBA": (_two_tone((0, 128, 0, 255), (0, 0, 0, 0), "RGBA"), [0, 128, 0], [255, 255, 255]),
    "CMYK": (_two_tone((0, 255, 255, 0), (0, 0, 0, 255), "CMYK"), [255, 0, 0], [0, 0, 0]),
    "I;16": (Image.fromarray(np.concatenate([np.full((30, 20), 65535, np.uint16),
                                             np.full((30, 20), 0, np.uint16)], 1)), [255] * 3, [0] * 3),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_pillow_mode_is_cached_as_rgb(tmp_path, name):
    im, left, right = CASES[name]
    fmt = "TIFF" if name in ("CMYK", "I;16") else "PNG"
    src = tmp_path / f"img.{fmt.lower()}"
    im.save(src, format=fmt)
    entry = ensure_cached(src, tmp_path / "cache", SIDE)
    arr = read_cached(entry, SIDE)
    assert arr.dtype == np.uint8 and arr.shape == (20, 27, 3), "short side resized to SIDE"
    got_left, got_right = _left_right(arr)
    np.testing.assert_allclose(got_left, left, atol=3)
    np.testing.assert_allclose(got_right, right, atol=3)
    assert entry.cached == cache_path(tmp_path / "cache", entry.sha256, SIDE)
    with Image.open(entry.cached) as cached:
        assert cached.format == "PNG" and cached.mode == "RGB"


def test_exif_rotated_jpeg_is_cached_upright(tmp_path):
    im = _two_tone((255, 0, 0), (0, 0, 255), "RGB", size=(40, 20))  # stored landscape, red left
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    src = tmp_path / "rotated.jpg"
    im.save(src, format="JPEG", exif=exif, quality=95)
    arr = read_cached(ensure_cached(src, tmp_path / "cache", SIDE), SIDE)
    assert arr.shape == (40, 20, 3), "portrait after the EXIF rotation"
    top, bottom = arr[6, 10].astype(int), arr[-7, 10].astype(int)
    assert top[0] > 200 and top[2] < 60, "red, stored on the left, is on top"
    assert bottom[2] > 200 and bottom[0] < 60


def test_small_images_are_upscaled_and_large_ones_shrunk(tmp_path):
    small = noise_image(tmp_path / "small.png", 1, (12, 9))
    large = noise_image(tmp_path / "large.png", 2, (300, 100))
    report = cache_all([small, large], tmp_path / "cache", SIDE)
    usable = report.usable
    assert not report.skipped and report.built == 2
    assert cache_all([small, large], tmp_path / "cache", SIDE).built == 0, "second time: all cached"
    assert read_cached(usable[0], SIDE).shape == (20, 27, 3)
    assert read_cached(usable[1], SIDE).shape == (20, 60, 3)


def test_cache_side_defaults_to_one_and_a_quarter_crop():
    assert cache_side_for(DataConfig(size=128)) == 160
    assert cache_side_for(DataConfig(size=256, cache_side=300)) == 300


def test_unreadable_files_are_skipped_with_one_warning_each(tmp_path, caplog):
    good = noise_image(tmp_path / "good.png", 0)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    with caplog.at_level(logging.WARNING):
        report = cache_all([good, truncated, text], tmp_path / "cache", SIDE)
    usable, skipped = report.usable, report.skipped
    assert [e.source for e in usable] == [good]
    assert [p for p, _ in skipped] == [truncated, text]
    assert all(reason for _, reason in skipped)
    for path in (truncated, text):
        assert sum(str(path) in r.getMessage() for r in caplog.records) == 1, path
    assert not any(str(good) in r.getMessage() for r in caplog.records)


def test_cached_entry_is_reused_without_decoding_the_source(tmp_path, monkeypatch):
    src = noise_image(tmp_path / "a.png", 3, (60, 40))
    entry = ensure_cached(src, tmp_path / "cache", SIDE)
    first = read_cached(entry, SIDE)
    decodes = []
    real_load = cache_mod.load_rgb
    monkeypatch.setattr(cache_mod, "load_rgb", lambda p: decodes.append(p) or real_load(p))
    assert ensure_cached(src, tmp_path / "cache", SIDE) == entry
    src.unlink()  # the original is gone: the cache still serves it
    np.testing.assert_array_equal(read_cached(entry, SIDE), first)
    assert decodes == []


def test_damaged_cache_entry_is_rebuilt_from_the_source(tmp_path, caplog):
    src = noise_image(tmp_path / "a.png", 4, (60, 40))
    entry = ensure_cached(src, tmp_path / "cache", SIDE)
    good = read_cached(entry, SIDE)
    entry.cached.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        np.testing.assert_array_equal(read_cached(entry, SIDE), good)
    assert "damaged cache entry" in caplog.text


@pytest.mark.skipif(not (SHARED / "color").exists(), reason="needs ../shared/data/color")
def test_real_transparent_sprite_is_composited_on_white(tmp_path):
    sprites = sorted((SHARED / "color").glob("renpy_*.png"))
    if not sprites:
        pytest.skip("no renpy sprite in ../shared/data/color")
    entry = ensure_cached(sprites[0], tmp_path / "cache", 64)
    arr = read_cached(entry, 64)
    assert min(arr.shape[:2]) == 64
    assert (arr[0, 0] > 245).all() and (arr[0, -1] > 245).all(), "top corners were transparent"
