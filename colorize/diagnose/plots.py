"""The checks' PNG plots, drawn with matplotlib (Agg, no display needed) and returned as PIL
images: line plots with optional log axes and vertical markers, step histograms, grouped bars.
Image grids of tensors in [0, 1] come from colorize.training.monitor."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from colorize.training.monitor import normalize_each, tile_grid  # noqa: E402,F401  (re-exported for the checks)

DPI = 100


def _image(fig) -> Image.Image:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    buf.seek(0)
    with Image.open(buf) as im:
        return im.convert("RGB")


def _finite(xs: Sequence[float], ys: Sequence[float], xlog: bool, ylog: bool) -> tuple[list, list]:
    pts = [(x, y) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)
           and (x > 0 or not xlog) and (y > 0 or not ylog)]
    return [x for x, _ in pts], [y for _, y in pts]


def line_plot(series: dict[str, tuple[Sequence[float], Sequence[float]]], title: str, xlabel: str, ylabel: str,
              xlog: bool = False, ylog: bool = False, markers: dict[str, float] | None = None) -> Image.Image:
    """series: name -> (xs, ys). Non-finite points are skipped; markers: label -> x (vertical line)."""
    xlog = xlog and any(math.isfinite(x) and x > 0 for xs, _ in series.values() for x in xs)
    ylog = ylog and any(math.isfinite(y) and y > 0 for _, ys in series.values() for y in ys)
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    for name, (xs, ys) in series.items():
        fx, fy = _finite(xs, ys, xlog, ylog)
        ax.plot(fx, fy, marker="o" if len(fx) == 1 else None, label=name)
    for label, x in (markers or {}).items():
        if math.isfinite(x) and (x > 0 or not xlog):
            ax.axvline(x, color="gray", linewidth=1, linestyle="--", label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xscale="log" if xlog else "linear", yscale="log" if ylog else "linear")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _image(fig)


def histogram_plot(hists: dict[str, tuple[Sequence[float], Sequence[float]]], title: str) -> Image.Image:
    """hists: name -> (bin edges, counts), drawn as step outlines on a shared x axis, as fractions."""
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    for name, (edges, counts) in hists.items():
        total = max(sum(counts), 1)
        ax.stairs([c / total for c in counts], edges, label=name, linewidth=1.5)
    ax.set(title=title, xlabel="value", ylabel="fraction of values")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _image(fig)


def bar_plot(labels: Sequence[str], values: dict[str, Sequence[float]], title: str, ylog: bool = True) -> Image.Image:
    """Grouped bars per label (layer), one color per series; log y by default. Non-finite values
    (and non-positive ones on a log axis) are left out."""
    ylog = ylog and any(math.isfinite(v) and v > 0 for vs in values.values() for v in vs)  # else nothing to draw on a log axis
    n, k = max(len(labels), 1), max(len(values), 1)
    fig, ax = plt.subplots(figsize=(max(7.2, 0.14 * n * k + 1.5), 6.0))
    width = 0.8 / k
    for j, (name, vs) in enumerate(values.items()):
        xs = [i + (j - (k - 1) / 2) * width for i, v in enumerate(vs) if math.isfinite(v) and (v > 0 or not ylog)]
        ys = [v for v in vs if math.isfinite(v) and (v > 0 or not ylog)]
        ax.bar(xs, ys, width=width, label=name)
    ax.set_xticks(range(len(labels)), [label[-30:] for label in labels], rotation=90, fontsize=7)
    ax.set(title=title, yscale="log" if ylog else "linear")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _image(fig)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Model range [-1, 1] -> [0, 1] (de-normalized, clamped), 1 channel repeated to 3."""
    x = (x.detach().float().cpu() + 1) / 2
    x = x.clamp(0, 1)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
