"""What the cleaner measures on one image, once: readable or not, size, colorfulness, perceptual
hash, and (only when the cheaper checks pass) the anime faces. Runs in worker processes; the
results are stored in the manifest so a re-run only looks at new or changed files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from colorize.images import ImageLoadError, open_image, split_alpha
from colorize.near_duplicates import perceptual_hash
from scraper.clean_options import Screen
from scraper.faces import detect_faces

COLOR_SIDE = 256  # colorfulness is measured on a thumbnail: speed, and JPEG chroma noise averages out
LUMA_BINS = 16


def chroma_spread(rgb: Image.Image) -> float:
    """How much color varies at a given brightness: RMS of (Cb, Cr) after removing the mean
    chroma of each of 16 luma bands. Gray is 0; sepia, duotone and tinted paper are near 0 too,
    because their chroma is a function of brightness alone; real color illustrations are not.
    Measured on ../shared/data: color/ 3.2 to 40 (1st percentile 3.8), gray manga <= 0.9, line art
    (some tinted paper or colored lines) <= 2.1, sepia-toned versions of the color images <= 1.6."""
    thumb = rgb.copy()
    thumb.thumbnail((COLOR_SIDE, COLOR_SIDE), Image.Resampling.BILINEAR)
    ycc = np.asarray(thumb.convert("YCbCr"), dtype=np.float64).reshape(-1, 3)
    band = np.minimum((ycc[:, 0] * LUMA_BINS / 256).astype(np.int64), LUMA_BINS - 1)
    counts = np.bincount(band, minlength=LUMA_BINS).astype(np.float64)
    residual = 0.0
    for channel in (1, 2):
        values = ycc[:, channel]
        sums = np.bincount(band, weights=values, minlength=LUMA_BINS)
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        residual += float(((values - means[band]) ** 2).sum())
    return float(np.sqrt(residual / max(1, len(ycc))))


def cheap_reason(features: dict, mono_tag: str | None, screen: Screen) -> tuple[str, str] | None:
    """(reason, detail) for the first cheap check an image fails, or None."""
    if features.get("error"):
        return "unreadable", features["error"]
    w, h = features["width"], features["height"]
    if min(w, h) < screen.min_side:
        return "too_small", f"{w}x{h}, shorter side below {screen.min_side} px"
    aspect = max(w, h) / min(w, h)
    if aspect > screen.max_aspect:
        return "extreme_aspect", f"{w}x{h}, aspect ratio {aspect:.2f} > {screen.max_aspect:g}"
    if mono_tag:
        return "monochrome_tag", f"tagged {mono_tag}"
    if features["colorfulness"] < screen.min_colorfulness:
        return ("low_colorfulness",
                f"chroma spread {features['colorfulness']:.2f} < {screen.min_colorfulness:g} (gray or sepia)")
    return None


def analyse(path: str, rel: str, mono_tag: str | None, screen: Screen) -> tuple[str, int, int, dict]:
    """(relative path, size, mtime_ns, features) for one file. Never raises for a bad image."""
    stat = os.stat(path)
    features: dict = {"error": None, "width": 0, "height": 0, "colorfulness": None, "phash": None,
                      "faces": None}
    try:
        rgb = split_alpha(open_image(Path(path)))[0]
    except ImageLoadError as exc:
        features["error"] = str(exc)
        return rel, stat.st_size, stat.st_mtime_ns, features
    features["width"], features["height"] = rgb.size
    features["colorfulness"] = round(chroma_spread(rgb), 4)
    features["phash"] = perceptual_hash(rgb)
    if cheap_reason(features, mono_tag, screen) is None:
        features["faces"] = detect_faces(rgb)
    return rel, stat.st_size, stat.st_mtime_ns, features


def analyse_job(job: tuple) -> tuple[str, int, int, dict]:
    return analyse(*job)
