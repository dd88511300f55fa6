"""How much synthetic training inputs look like real line art and manga at the working size: the
share of ink pixels and the mean stroke width. A model trained on thick blobs of ink and shown
thin anti-aliased lines learns from a different kind of picture than it is given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage.morphology import skeletonize

INK = 0.6  # a pixel darker than this (paper = 1) is ink


def ink_stats(gray: np.ndarray) -> tuple[float, float]:
    """(ink share, mean stroke width in pixels) of a float image in [0, 1]. Width is ink area over
    skeleton length: a 1-pixel line gives 1, a 3-pixel line about 3."""
    ink = gray < INK
    n = int(ink.sum())
    if n == 0:
        return 0.0, 0.0
    length = int(skeletonize(ink).sum())
    return n / ink.size, n / max(length, 1)


def page_at_working_size(path: Path, long_side: int) -> np.ndarray:
    """A real input as the Colorizer sees it: luma, long side reduced to `long_side`."""
    from colorize.images import load_rgb, reduce_to_side

    return np.asarray(reduce_to_side(load_rgb(path).convert("L"), long_side), np.float32) / 255


def median_stats(images) -> dict[str, float]:
    """Median ink share and stroke width over images (each a float [0, 1] array)."""
    stats = np.array([ink_stats(g) for g in images], dtype=np.float64)
    if not len(stats):
        return {"ink_share": 0.0, "line_width": 0.0, "count": 0}
    return {"ink_share": float(np.median(stats[:, 0])), "line_width": float(np.median(stats[:, 1])),
            "count": len(stats)}


def compare(synthetic: dict[str, float], real: dict[str, float], limit: float = 2.0) -> list[str]:
    """Problems, one line each, where synthetic and real differ by more than `limit` x."""
    problems = []
    for key, what in (("ink_share", "ink share"), ("line_width", "stroke width")):
        a, b = synthetic[key], real[key]
        if min(a, b) <= 0 or max(a, b) / min(a, b) > limit:
            problems.append(f"{what}: synthetic {a:.3g} vs real {b:.3g} (more than {limit:g}x apart)")
    return problems


def synthetic_inputs(dataset, kind: str, n: int = 48) -> list[np.ndarray]:
    """n training inputs of one kind ("lineart" or "manga"), made by the training pipeline's own
    crop, synthesis and reduction from images spread over the (training) dataset."""
    from colorize.data.dataset import reduce_pair
    from colorize.data.synth import line_art, luminance, manga

    out = []
    for k in range(min(n, len(dataset))):
        i = k * len(dataset) // min(n, len(dataset))
        rng = np.random.default_rng([dataset.seed, 0, i, 0x5EA1])
        patch = dataset.crop(dataset.load(i), rng)
        gray = luminance(patch)
        if kind == "lineart":
            x = line_art(patch, gray, "xdog" if rng.random() < 0.5 else "edges", rng)
        else:
            x = manga(gray, rng)
        out.append(reduce_pair(x, patch, dataset.size)[0])
    return out


def compare_with_real(dataset, real_dirs: dict[str, Path], working_side: int, n: int = 48
                      ) -> tuple[dict[str, dict], list[str]]:
    """Figures per kind ({"synthetic": ..., "real": ...}) and problems, for each real folder given."""
    from colorize.images import list_images

    figures, problems = {}, []
    for kind, folder in real_dirs.items():
        real = [page_at_working_size(p, working_side) for p in list_images(folder)]
        if not real:
            continue
        synth, real_stats = median_stats(synthetic_inputs(dataset, kind, n)), median_stats(real)
        figures[kind] = {"synthetic": synth, "real": real_stats, "working_side": working_side}
        problems += [f"{kind}: {p}" for p in compare(synth, real_stats)]
    return figures, problems
