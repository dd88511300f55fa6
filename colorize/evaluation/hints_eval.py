"""How well a checkpoint follows color hints, measured through the Colorizer (`colorize quality`).

- The hints curve: on held-out pictures (gray or line-art input, as `eval` makes them), CbCr error
  and CIEDE2000 for K hints made from the truth at random places (dabs and short strokes, each in
  the median true color under it), against two baselines from the same hints: the gray
  passthrough, and nearest-hint chroma (each pixel takes the color of its nearest hint pixel,
  brightness from the input).
- Hints kept: the share of dabs under which the output's mean color is within KEPT_CBCR of the
  hint's, for hints in the true colors and in implausible ones (the truth's hues turned by 120
  degrees: green skin, purple hair). Counted over the dab's pixels off the input's lines (the
  Colorizer's own ink test): a line under a stroke stays ink, which has no room for color; the
  same figure over every pixel of the dab is reported beside it.
- No spill: on real line art, one stroke in one color inside the largest closed region that is
  not paper; how much of that region comes back in the stroke's color, and how far the colors of
  the regions around it move compared with the hint-free coloring. Regions are the Colorizer's
  own (line-bounded, see colorize.inference.regions).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from colorize.hints import rotate_hue, synthesize_hints, to_rgba

KS = (0, 1, 3, 10, 30)
KEPT_CBCR = 8.0
TURN = 2 * np.pi / 3
SPILL_COLOR = (40, 170, 80)  # a green no default coloring gives a closed region


def cbcr(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("YCbCr"), np.float32)[..., 1:]


def nearest_hint(inp: Image.Image, colors: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The nearest-hint baseline: every pixel the chroma of its nearest hint pixel, luma from the
    input; the gray input where there is no hint."""
    ycc = np.asarray(inp.convert("RGB").convert("YCbCr")).copy()
    if mask.any():
        _, (iy, ix) = ndi.distance_transform_edt(~mask, return_indices=True)
        ycc[..., 1:] = np.asarray(Image.fromarray(colors).convert("YCbCr"))[iy, ix, 1:]
    return np.asarray(Image.merge("YCbCr", [Image.fromarray(ycc[..., c]) for c in range(3)]).convert("RGB"))


def off_the_lines(inp: Image.Image) -> np.ndarray:
    """bool h x w: the input's pixels that are not ink, by the Colorizer's own test."""
    from colorize.inference.regions import LINE_SHARE, paper_level

    luma = np.asarray(inp.convert("L"))
    return luma >= LINE_SHARE * paper_level(luma)


def kept_share(output: np.ndarray, colors: np.ndarray, mask: np.ndarray,
               room: np.ndarray | None = None) -> tuple[int, int]:
    """(dabs whose output mean CbCr is within KEPT_CBCR of the hint's, dabs), over the dabs'
    pixels where `room` is set (every pixel when None; a dab with no such pixel is not counted)."""
    if room is not None:
        mask = mask & room
    labels, n = ndi.label(mask)
    if n == 0:
        return 0, 0
    out, want = cbcr(output), cbcr(colors)
    index = np.arange(1, n + 1)
    got = np.stack([ndi.mean(out[..., c], labels, index) for c in range(2)], axis=1)
    asked = np.stack([ndi.mean(want[..., c], labels, index) for c in range(2)], axis=1)
    return int((np.hypot(*(got - asked).T) <= KEPT_CBCR).sum()), n


def hint_curve(colorizer, folder: Path, mode: str, max_side: int, seed: int, limit: int | None,
               ks=KS) -> dict:
    """Mean CbCr error and CIEDE2000 per K for the model, gray and nearest-hint; hints kept."""
    from colorize.evaluation.evaluate import make_input, shrink
    from colorize.images import list_images, load_rgb
    from colorize.metrics import cbcr_error, ciede2000

    paths = list_images(folder)[:limit]
    if not paths:
        raise FileNotFoundError(f"{folder}: no images")
    per_k = {k: {"model": [], "nearest_hint": [], "gray": []} for k in ks}
    per_k_de = {k: {"model": [], "nearest_hint": [], "gray": []} for k in ks}
    kept = {"true": [0, 0], "turned": [0, 0]}
    kept_all = {"true": [0, 0], "turned": [0, 0]}
    for path in paths:
        name = path.relative_to(folder).as_posix()
        target = np.asarray(shrink(load_rgb(path), max_side))
        inp = make_input(target, mode, seed, name)
        gray = np.repeat(np.asarray(inp)[..., None], 3, axis=2)
        scale = max(target.shape[:2]) / 128
        page = colorizer.prepare(inp)  # regions once; each K only changes the hints

        def colored(hints, page=page):
            hinted = colorizer.with_hints(page, hints)
            [(rgb, features)] = colorizer.predict_with_features([hinted.work], features=hints is not None)
            return np.asarray(colorizer.finish(hinted, rgb, features=features).convert("RGB"))

        for k in ks:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), k])
            colors, mask = synthesize_hints(target, rng, k, scale)
            out = colored(to_rgba(colors, mask) if k else None)
            near = nearest_hint(inp, colors, mask)
            for who, image in (("model", out), ("nearest_hint", near), ("gray", gray)):
                per_k[k][who].append(cbcr_error(image, target))
                per_k_de[k][who].append(ciede2000(image, target))
            if k == 10:
                turned = rotate_hue(target, TURN)  # the same places, implausible colors
                colors_t, mask_t = synthesize_hints(turned, np.random.default_rng([seed, zlib.crc32(name.encode()), k]), k, scale)
                out_t = colored(to_rgba(colors_t, mask_t))
                room = off_the_lines(inp)
                for who, (o, c, m) in (("true", (out, colors, mask)), ("turned", (out_t, colors_t, mask_t))):
                    kept[who] = list(np.add(kept[who], kept_share(o, c, m, room)))
                    kept_all[who] = list(np.add(kept_all[who], kept_share(o, c, m)))
    curve = {str(k): {who: {"cbcr_error": float(np.mean(v)), "deltaE": float(np.mean(per_k_de[k][who]))}
                      for who, v in per_k[k].items()} for k in ks}
    return {"kind": "hints", "images": str(folder), "mode": mode, "count": len(paths), "curve": curve,
            "kept": _shares(kept), "kept_all_pixels": _shares(kept_all)}


def _shares(counts: dict) -> dict:
    return {w: {"kept": int(a), "dabs": int(b), "share": (a / b if b else None)} for w, (a, b) in counts.items()}


def spill_one(colorizer, path: Path) -> dict | None:
    """One stroke in the largest closed non-paper region of a real line-art page."""
    page = colorizer.prepare(path)
    regions, drawing = page.drawing.regions, page.drawing
    candidates = [r for r in range(1, regions.count + 1)
                  if not drawing.paper[r] and regions.white()[r] and not regions.border[r]]
    if not candidates:
        return None
    r = max(candidates, key=lambda r: regions.area[r])
    core = (regions.labels == r) & regions.core
    depth = ndi.distance_transform_edt(core)
    y, x = np.unravel_index(depth.argmax(), depth.shape)
    scale = page.gray.size[0] / regions.labels.shape[1]
    width = max(2.0, min(depth.max() * 0.6, 8.0)) * scale
    hint = Image.new("RGBA", page.gray.size, (0, 0, 0, 0))
    ImageDraw.Draw(hint).line([((x - 2) * scale, y * scale), ((x + 2) * scale, y * scale)],
                              fill=(*SPILL_COLOR, 255), width=max(1, round(width)))
    plain = colorizer.finish(page, colorizer.predict([page.work])[0])
    with_hint = colorizer.with_hints(page, hint)
    [(rgb, features)] = colorizer.predict_with_features([with_hint.work])
    hinted = colorizer.finish(with_hint, rgb, features=features)
    small = regions.labels.shape[::-1]
    a0 = cbcr(np.asarray(plain.convert("RGB").resize(small)))
    a1 = cbcr(np.asarray(hinted.convert("RGB").resize(small)))
    want = cbcr(np.array([[SPILL_COLOR]], np.uint8))[0, 0]
    covered = float((np.hypot(*(a1[core] - want).T) <= KEPT_CBCR).mean())
    ring = ndi.binary_dilation(regions.labels == r, iterations=4)
    changes = []
    for n in set(np.unique(regions.labels[ring]).tolist()) - {r}:
        inside = (regions.labels == n) & regions.core
        if inside.sum() >= 50:
            changes.append(float(np.hypot(*(a1[inside] - a0[inside]).T).mean()))
    return {"file": path.name, "region_px": int(core.sum()), "covered": covered,
            "neighbours": len(changes), "neighbour_change": float(np.mean(changes)) if changes else 0.0}


def no_spill(colorizer, folder: Path, limit: int | None) -> dict:
    from colorize.images import list_images

    rows = [row for p in list_images(folder)[:limit] if (row := spill_one(colorizer, p)) is not None]
    if not rows:
        raise FileNotFoundError(f"{folder}: no line art with a closed region")
    return {"kind": "spill", "images": str(folder), "count": len(rows), "per_image": rows,
            "mean": {"covered": float(np.mean([r["covered"] for r in rows])),
                     "neighbour_change": float(np.mean([r["neighbour_change"] for r in rows])),
                     "covered_90_share": float(np.mean([r["covered"] >= 0.9 for r in rows]))}}


def plot_curve(result: dict, path: Path) -> Path:
    """CbCr error against the number of hints, model and both baselines (matplotlib PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from colorize.fileio import save_figure

    ks = [int(k) for k in result["curve"]]
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    for who, style in (("model", "o-"), ("nearest_hint", "s--"), ("gray", ":")):
        ax.plot(ks, [result["curve"][str(k)][who]["cbcr_error"] for k in ks], style, label=who.replace("_", " "))
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("hints from the truth (K)")
    ax.set_ylabel("CbCr error (0-255 levels)")
    ax.set_title(f"held-out {result['mode']} input, {result['count']} images", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
