"""Image-quality metrics shared by validation during training, `eval` and the sweep.

Every function takes images in any of these forms and returns a float, averaged over the batch:
- torch tensors [N, C, H, W] (or [C, H, W]) in [-1, 1], as the model and the data pipeline use;
- numpy uint8 arrays H x W x C, H x W, or N x H x W x C (0-255);
- PIL images.
Internally everything becomes float64 in [0, 1], so a tensor batch and the same images saved as
8-bit files score the same up to quantization. The formulas come from scikit-image (SSIM, CIELAB,
CIEDE2000), so validation and `eval` cannot drift apart.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

from colorize.chroma import CBCR_ROWS
from colorize.chroma import LUMA as BT601_LUMA

# ITU-R BT.601 luma, the same weights colorize.data.synth uses to make gray inputs.
LUMA = np.array(BT601_LUMA)

# BT.601 full-range chroma rows (JPEG/JFIF), as Pillow's "YCbCr" mode: Cb, Cr = rows @ RGB + 128.
CBCR = np.array(CBCR_ROWS)

# Direction of every metric name that validation, eval or a sweep may report.
HIGHER_IS_BETTER = {
    "psnr": True,
    "ssim": True,
    "line_ssim": True,
    "deltaE": False,
    "colorfulness_gap": False,
    "cbcr_error": False,
    "color_score": False,
}


def to_unit_images(x: Any) -> np.ndarray:
    """float64 N x H x W x C in [0, 1] from a tensor in [-1, 1], a uint8 array or a PIL image."""
    if isinstance(x, Image.Image):
        x = np.asarray(x.convert("L" if x.mode in ("L", "1", "I;16", "I", "F") else "RGB"))
    if isinstance(x, torch.Tensor):
        t = x.detach().to("cpu", torch.float64)
        if t.dim() == 3:
            t = t.unsqueeze(0)
        if t.dim() != 4:
            raise ValueError(f"expected a tensor [N, C, H, W], got shape {tuple(x.shape)}")
        return ((t.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
    if isinstance(x, np.ndarray):
        if x.dtype != np.uint8:
            raise TypeError(f"numpy images must be uint8 (0-255), got {x.dtype}; pass tensors for [-1, 1]")
        a = x.astype(np.float64) / 255.0
        if a.ndim == 2:
            a = a[None, :, :, None]
        elif a.ndim == 3:
            a = a[None]
        if a.ndim != 4:
            raise ValueError(f"expected an image H x W [x C] or a batch N x H x W x C, got shape {x.shape}")
        return a
    raise TypeError(f"unsupported image type {type(x).__name__}")


def _pair(output: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = to_unit_images(output), to_unit_images(target)
    if a.shape != b.shape:
        raise ValueError(f"output {a.shape[1:3]} x{a.shape[0]} and target {b.shape[1:3]} x{b.shape[0]} differ in shape")
    return a, b


def luminance(images: np.ndarray) -> np.ndarray:
    """N x H x W x 1 luminance of N x H x W x 3 (1-channel images pass through)."""
    return images if images.shape[-1] == 1 else (images @ LUMA)[..., None]


def psnr(output: Any, target: Any) -> float:
    """Peak signal-to-noise ratio in dB (peak = full range), mean over images; inf when identical."""
    a, b = _pair(output, target)
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return float(np.mean(-10.0 * np.log10(mse)))


def _ssim_one(a: np.ndarray, b: np.ndarray) -> float:
    # Wang et al. 2004 settings: 11x11 Gaussian window (sigma 1.5), population covariance.
    side = min(a.shape[0], a.shape[1])
    kwargs: dict[str, Any] = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
    if side < 11:  # tiny images: the largest odd window that fits
        kwargs["win_size"] = max(3, side - (1 - side % 2))
    return float(structural_similarity(a, b, data_range=1.0, channel_axis=-1, **kwargs))


def ssim(output: Any, target: Any) -> float:
    """Structural similarity over all channels (RGB), mean over images; 1 when identical."""
    a, b = _pair(output, target)
    return float(np.mean([_ssim_one(x, y) for x, y in zip(a, b)]))


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 color difference between CIELAB colors (last axis L, a, b); kL = kC = kH = 1."""
    return deltaE_ciede2000(np.asarray(lab1, np.float64), np.asarray(lab2, np.float64))


def ciede2000(output: Any, target: Any) -> float:
    """Mean CIEDE2000 difference per pixel (sRGB, D65), mean over images; 0 when identical.
    About 1 is a just-noticeable difference, above 10 a different color."""
    a, b = _pair(output, target)
    if a.shape[-1] != 3:
        raise ValueError("CIEDE2000 needs RGB images")
    return float(delta_e_2000(rgb2lab(a, channel_axis=-1), rgb2lab(b, channel_axis=-1)).mean())


def chroma_planes(images: Any) -> np.ndarray:
    """... x 2 (Cb - 128, Cr - 128) on the 0-255 scale of RGB images in any accepted form; 0 for gray.
    Float arithmetic, so it matches Pillow's integer YCbCr conversion up to rounding."""
    return _chroma(to_unit_images(images))


def _chroma(unit: np.ndarray) -> np.ndarray:
    if unit.shape[-1] != 3:
        return np.zeros((*unit.shape[:-1], 2))
    return (unit * 255.0) @ CBCR.T


def cbcr_error(out_rgb_uint8: Any, target_rgb_uint8: Any) -> float:
    """Mean absolute difference of Cb and Cr (YCbCr, BT.601 as Pillow's), 0-255 units, averaged over
    pixels and both channels, then over images: a color error blind to brightness, so it measures
    only what a colorizer adds (the gray passthrough scores the target's own mean |chroma|)."""
    a, b = _pair(out_rgb_uint8, target_rgb_uint8)
    return float(np.mean(np.abs(_chroma(a) - _chroma(b)).reshape(len(a), -1).mean(axis=1)))


def colorfulness(images: Any) -> float:
    """Hasler & Suesstrunk (2003) colorfulness M on the 0-255 scale: 0 for gray, about 15 'slightly',
    33 'moderately', 59 'quite', 82 'highly', 109 'extremely colorful'; mean over images."""
    a = to_unit_images(images) * 255.0
    if a.shape[-1] != 3:
        return 0.0
    rg = a[..., 0] - a[..., 1]
    yb = 0.5 * (a[..., 0] + a[..., 1]) - a[..., 2]
    values = []
    for r, y in zip(rg, yb):
        values.append(math.hypot(r.std(), y.std()) + 0.3 * math.hypot(r.mean(), y.mean()))
    return float(np.mean(values))


def line_preservation(output: Any, inp: Any) -> float:
    """SSIM between the output's luminance and the 1-channel input: how well the drawing's lines and
    shading survive colorization (1 = the output's brightness is exactly the input)."""
    a, b = to_unit_images(output), to_unit_images(inp)
    a, b = luminance(a), luminance(b)
    if a.shape != b.shape:
        raise ValueError(f"output {a.shape[1:3]} and input {b.shape[1:3]} differ in size")
    return float(np.mean([_ssim_one(x, y) for x, y in zip(a, b)]))


def compute_metrics(output: Any, target: Any, inp: Any = None) -> dict[str, float]:
    """All metrics for one batch (validation) or one image (eval). Keys: psnr, ssim, deltaE,
    colorfulness, colorfulness_target, colorfulness_gap (|output - target|), line_ssim (with inp)."""
    out = {
        "psnr": psnr(output, target),
        "ssim": ssim(output, target),
        "deltaE": ciede2000(output, target),
        "colorfulness": colorfulness(output),
        "colorfulness_target": colorfulness(target),
    }
    out["colorfulness_gap"] = abs(out["colorfulness"] - out["colorfulness_target"])
    if inp is not None:
        out["line_ssim"] = line_preservation(output, inp)
    return out


def higher_is_better(name: str) -> bool:
    """Direction of a metric, e.g. 'val/psnr' -> True, 'val/deltaE' or 'val/g_mse' -> False.
    Losses (any name with 'loss', 'mse' or 'l1') are lower-is-better."""
    base = name.rsplit("/", 1)[-1]
    if base in HIGHER_IS_BETTER:
        return HIGHER_IS_BETTER[base]
    if any(word in base.lower() for word in ("loss", "mse", "l1", "total")):
        return False
    raise ValueError(f"unknown metric {name!r}: use one of {sorted(HIGHER_IS_BETTER)} or a loss name")


def is_better(name: str, value: float, best: float | None) -> bool:
    """True when `value` improves on `best` (None = nothing yet) for metric `name`; NaN never wins."""
    if value is None or math.isnan(value):
        return False
    if best is None or math.isnan(best):
        return True
    return value > best if higher_is_better(name) else value < best
