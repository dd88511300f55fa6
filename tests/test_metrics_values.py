"""Metrics against known values: identical images, hand-computed PSNR and colorfulness, and the
CIEDE2000 test pairs published by Sharma, Wu and Dalal (2005)."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from colorize import metrics

# (L1, a1, b1), (L2, a2, b2), dE00: Table 1 of G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000
# color-difference formula: implementation notes, supplementary test data, and mathematical
# observations", Color Research & Application 30(1), 2005.
SHARMA_PAIRS = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_matches_sharma_pairs():
    lab1 = np.array([p[0] for p in SHARMA_PAIRS])
    lab2 = np.array([p[1] for p in SHARMA_PAIRS])
    expected = np.array([p[2] for p in SHARMA_PAIRS])
    got = metrics.delta_e_2000(lab1, lab2)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # The formula is symmetric in its arguments.
    np.testing.assert_allclose(metrics.delta_e_2000(lab2, lab1), expected, atol=1e-4)


def _rng_image(seed, h=24, w=20):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_identical_images():
    img = _rng_image(0)
    assert metrics.psnr(img, img) == math.inf
    assert metrics.ssim(img, img) == pytest.approx(1.0)
    assert metrics.ciede2000(img, img) == 0.0
    t = torch.rand(2, 3, 16, 16) * 2 - 1
    assert metrics.psnr(t, t) == math.inf
    assert metrics.ssim(t, t) == pytest.approx(1.0)
    assert metrics.ciede2000(t, t) == pytest.approx(0.0, abs=1e-9)


def test_psnr_known_value_uint8_and_tensor():
    target = np.full((8, 8, 3), 100, np.uint8)
    output = np.full((8, 8, 3), 110, np.uint8)
    assert metrics.psnr(output, target) == pytest.approx(20 * math.log10(255 / 10))
    # 0.1 on the [-1, 1] scale is 0.05 of the full range.
    t = torch.zeros(2, 3, 8, 8)
    assert metrics.psnr(t + 0.1, t) == pytest.approx(20 * math.log10(1 / 0.05), rel=1e-6)


def test_tensor_and_uint8_forms_agree():
    a, b = _rng_image(1), _rng_image(2)
    ta = torch.from_numpy(a).permute(2, 0, 1).float() / 127.5 - 1
    tb = torch.from_numpy(b).permute(2, 0, 1).float() / 127.5 - 1
    for fn in (metrics.psnr, metrics.ssim, metrics.ciede2000):
        assert fn(ta[None], tb[None]) == pytest.approx(fn(a, b), rel=1e-6)
    assert metrics.ciede2000(Image.fromarray(a), Image.fromarray(b)) == pytest.approx(metrics.ciede2000(a, b))


def test_batch_value_is_mean_of_images():
    a = torch.rand(3, 3, 16, 16) * 2 - 1
    b = torch.rand(3, 3, 16, 16) * 2 - 1
    for fn in (metrics.psnr, metrics.ssim, metrics.ciede2000):
        singles = [fn(a[i : i + 1], b[i : i + 1]) for i in range(3)]
        assert fn(a, b) == pytest.approx(np.mean(singles))


def test_ciede2000_rgb_path_uses_lab():
    black = np.zeros((4, 4, 3), np.uint8)
    white = np.full((4, 4, 3), 255, np.uint8)
    assert metrics.ciede2000(black, white) == pytest.approx(100.0, abs=0.01)  # L* 0 vs 100, no chroma


def test_colorfulness_known_values():
    assert metrics.colorfulness(np.full((4, 4, 3), 77, np.uint8)) == 0.0
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, :, 0] = 255  # red row: rg = 255, yb = 127.5
    img[1, :, 1] = 255  # green row: rg = -255, yb = 127.5
    assert metrics.colorfulness(img) == pytest.approx(255 + 0.3 * 127.5)
    t = torch.from_numpy(img).permute(2, 0, 1).float()[None] / 127.5 - 1
    assert metrics.colorfulness(t) == pytest.approx(293.25, rel=1e-6)


def test_line_preservation():
    rgb = _rng_image(3)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    assert metrics.line_preservation(rgb, gray) == pytest.approx(1.0, abs=0.01)
    assert metrics.line_preservation(rgb, 255 - gray) < 0
    # tensors: 1-channel input, 3-channel output
    t = torch.rand(2, 1, 16, 16) * 2 - 1
    assert metrics.line_preservation(t.repeat(1, 3, 1, 1), t) == pytest.approx(1.0, abs=1e-6)


def test_compute_metrics_keys_and_errors():
    t = torch.rand(2, 3, 16, 16) * 2 - 1
    m = metrics.compute_metrics(t, t.flip(0), t[:, :1])
    assert set(m) == {"psnr", "ssim", "deltaE", "colorfulness", "colorfulness_target", "colorfulness_gap", "line_ssim"}
    assert all(math.isfinite(v) for v in m.values())
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(t, t[:, :, :8])
    with pytest.raises(TypeError, match="uint8"):
        metrics.psnr(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))


def test_direction_for_best_checkpoint():
    assert metrics.higher_is_better("val/psnr") and metrics.higher_is_better("ssim")
    assert not metrics.higher_is_better("val/deltaE") and not metrics.higher_is_better("val/g_mse")
    assert metrics.is_better("val/psnr", 20.0, 19.0) and not metrics.is_better("val/psnr", 18.0, 19.0)
    assert metrics.is_better("val/deltaE", 5.0, 6.0) and not metrics.is_better("val/deltaE", 7.0, 6.0)
    assert metrics.is_better("val/psnr", 1.0, None) and not metrics.is_better("val/psnr", float("nan"), 1.0)
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.higher_is_better("val/banana")


def test_cbcr_error_known_pair_and_pillow_agreement():
    # pure red vs gray: Cb = 128 - 0.168736*255, Cr = 128 + 0.5*255; gray has Cb = Cr = 128
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    gray = np.full((4, 4, 3), 90, np.uint8)
    expected = (0.168736 * 255 + 0.5 * 255) / 2
    assert metrics.cbcr_error(red, gray) == pytest.approx(expected)
    assert metrics.cbcr_error(gray, np.full((4, 4, 3), 200, np.uint8)) == pytest.approx(0.0, abs=1e-9)
    # the same figure as Pillow's own YCbCr conversion, up to its integer rounding
    a, b = _rng_image(4), _rng_image(5)
    ya = np.asarray(Image.fromarray(a).convert("YCbCr")).astype(float)[..., 1:]
    yb = np.asarray(Image.fromarray(b).convert("YCbCr")).astype(float)[..., 1:]
    assert metrics.cbcr_error(a, b) == pytest.approx(np.abs(ya - yb).mean(), abs=0.5)
    t = torch.from_numpy(a).permute(2, 0, 1).float()[None] / 127.5 - 1
    assert metrics.cbcr_error(t, b) == pytest.approx(metrics.cbcr_error(a, b), rel=1e-6)
    assert not metrics.higher_is_better("val/cbcr_error")
