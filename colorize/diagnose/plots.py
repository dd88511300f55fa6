"""Small PNG plots drawn with Pillow (matplotlib is not a dependency): line plots with optional
log axes and vertical markers, bar charts, and image grids in [0, 1]."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont
from torch.nn import functional as F
from torchvision.utils import make_grid

COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)]
W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 440, 70, 20, 56, 50


def _font(size: int = 12):
    return ImageFont.load_default(size=size)


def _fmt(v: float) -> str:
    return f"{v:.0e}" if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e4) else f"{v:.3g}"


def _legend(d: ImageDraw.ImageDraw, k: int, name: str, color: tuple[int, int, int]) -> None:
    """Legend entries in a row above the plot area, so they never hide data."""
    x = LEFT + 150 * k
    d.rectangle([x, TOP - 18, x + 10, TOP - 8], fill=color)
    d.text((x + 14, TOP - 19), name[:22], fill=color, font=_font())


def _axis(values: list[float], log: bool) -> tuple[float, float]:
    vals = [math.log10(v) if log else v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.04 * (hi - lo)
    return lo - pad, hi + pad


def line_plot(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    xlog: bool = False,
    ylog: bool = False,
    markers: dict[str, float] | None = None,
) -> Image.Image:
    """series: name -> (xs, ys). Non-finite points are skipped; markers: label -> x (vertical line)."""
    im = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(im)
    xs_all = [x for xs, _ in series.values() for x in xs] + list((markers or {}).values())
    ys_all = [y for _, ys in series.values() for y in ys]
    x0, x1 = _axis(xs_all, xlog)
    y0, y1 = _axis(ys_all, ylog)

    def px(x: float) -> float:
        v = math.log10(x) if xlog else x
        return LEFT + (v - x0) / (x1 - x0) * (W - LEFT - RIGHT)

    def py(y: float) -> float:
        v = math.log10(y) if ylog else y
        return H - BOTTOM - (v - y0) / (y1 - y0) * (H - TOP - BOTTOM)

    d.rectangle([LEFT, TOP, W - RIGHT, H - BOTTOM], outline=(0, 0, 0))
    for i in range(5):  # ticks
        fx, fy = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        tx, ty = (10**fx if xlog else fx), (10**fy if ylog else fy)
        gx = LEFT + i / 4 * (W - LEFT - RIGHT)
        gy = H - BOTTOM - i / 4 * (H - TOP - BOTTOM)
        d.line([gx, TOP, gx, H - BOTTOM], fill=(230, 230, 230))
        d.line([LEFT, gy, W - RIGHT, gy], fill=(230, 230, 230))
        d.text((gx, H - BOTTOM + 4), _fmt(tx), fill=(0, 0, 0), font=_font(), anchor="ma")
        d.text((LEFT - 4, gy), _fmt(ty), fill=(0, 0, 0), font=_font(), anchor="rm")
    for k, (label, x) in enumerate((markers or {}).items()):
        if math.isfinite(x) and (x > 0 or not xlog):
            gx = px(x)
            d.line([gx, TOP, gx, H - BOTTOM], fill=(120, 120, 120), width=1)
            d.text((gx + 3, TOP + 4 + 14 * k), label, fill=(80, 80, 80), font=_font(11))
    for k, (name, (xs, ys)) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        pts = [(px(x), py(y)) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)
               and (x > 0 or not xlog) and (y > 0 or not ylog)]
        if len(pts) > 1:
            d.line(pts, fill=color, width=2)
        elif pts:
            d.ellipse([pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 2, pts[0][1] + 2], fill=color)
        _legend(d, k, name, color)
    d.text((W / 2, 10), title, fill=(0, 0, 0), font=_font(14), anchor="ma")
    d.text((W / 2, H - 18), xlabel + (" (log)" if xlog else ""), fill=(0, 0, 0), font=_font(), anchor="ma")
    d.text((6, 24), ylabel + (" (log)" if ylog else ""), fill=(0, 0, 0), font=_font())
    return im


def histogram_plot(hists: dict[str, tuple[Sequence[float], Sequence[float]]], title: str) -> Image.Image:
    """hists: name -> (bin edges, counts), drawn as step lines on a shared x axis."""
    series = {}
    for name, (edges, counts) in hists.items():
        total = max(sum(counts), 1)
        xs, ys = [], []
        for i, c in enumerate(counts):
            xs += [edges[i], edges[i + 1]]
            ys += [c / total, c / total]
        series[name] = (xs, ys)
    return line_plot(series, title, "value", "fraction of values")


def bar_plot(labels: Sequence[str], values: dict[str, Sequence[float]], title: str, ylog: bool = True) -> Image.Image:
    """Grouped bars per label (layer), one color per series; log y by default."""
    n = max(len(labels), 1)
    width = max(W, LEFT + RIGHT + 14 * n * max(len(values), 1))
    im = Image.new("RGB", (width, H + 160), "white")
    d = ImageDraw.Draw(im)
    all_vals = [v for vs in values.values() for v in vs if math.isfinite(v) and (v > 0 or not ylog)]
    y0, y1 = _axis(all_vals or [1.0], ylog)
    plot_w = width - LEFT - RIGHT
    slot = plot_w / n

    def py(y: float) -> float:
        v = math.log10(y) if ylog else y
        return H - BOTTOM - (v - y0) / (y1 - y0) * (H - TOP - BOTTOM)

    d.rectangle([LEFT, TOP, width - RIGHT, H - BOTTOM], outline=(0, 0, 0))
    for i in range(5):
        fy = y0 + (y1 - y0) * i / 4
        gy = H - BOTTOM - i / 4 * (H - TOP - BOTTOM)
        d.line([LEFT, gy, width - RIGHT, gy], fill=(230, 230, 230))
        d.text((LEFT - 4, gy), _fmt(10**fy if ylog else fy), fill=(0, 0, 0), font=_font(), anchor="rm")
    k_series = max(len(values), 1)
    for k, (name, vs) in enumerate(values.items()):
        color = COLORS[k % len(COLORS)]
        for i, v in enumerate(vs):
            if not (math.isfinite(v) and (v > 0 or not ylog)):
                continue
            xl = LEFT + i * slot + k * slot / k_series
            d.rectangle([xl, py(v), xl + max(slot / k_series - 1, 1), H - BOTTOM], fill=color)
        _legend(d, k, name, color)
    for i, label in enumerate(labels):  # vertical layer names under the axis
        txt = Image.new("RGBA", (160, 12), (255, 255, 255, 0))
        # right-aligned, so after the rotation the label ends at the axis
        ImageDraw.Draw(txt).text((159, 0), label[-30:], fill=(0, 0, 0), font=_font(10), anchor="ra")
        rot = txt.rotate(90, expand=True)
        im.paste(rot, (int(LEFT + i * slot + slot / 2 - 6), H - BOTTOM + 4), rot)
    d.text((width / 2, 10), title, fill=(0, 0, 0), font=_font(14), anchor="ma")
    return im


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Model range [-1, 1] -> [0, 1] (de-normalized, clamped), 1 channel repeated to 3."""
    x = (x.detach().float().cpu() + 1) / 2
    x = x.clamp(0, 1)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def normalize_each(maps: torch.Tensor) -> torch.Tensor:
    """[N, H, W] -> [N, 1, H, W], each map stretched to [0, 1] (constant maps become mid-gray)."""
    flat = maps.detach().float().cpu().flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    span = hi - lo
    out = torch.where(span > 1e-12, (flat - lo) / span.clamp_min(1e-12), torch.full_like(flat, 0.5))
    return out.view(maps.shape[0], 1, *maps.shape[1:])


def tile_grid(tiles: torch.Tensor, nrow: int = 8, min_side: int = 48) -> torch.Tensor:
    """[N, C, h, w] in [0, 1] -> one grid image, tiles upscaled (nearest) to at least min_side."""
    scale = max(1, math.ceil(min_side / max(tiles.shape[-1], 1)))
    if scale > 1:
        tiles = F.interpolate(tiles, scale_factor=scale, mode="nearest")
    return make_grid(tiles, nrow=nrow, padding=2, pad_value=1.0)
