"""Does a model keep a character's main colors the same from picture to picture (issue 19, item 4)?

Readers of a series want the same hair, eye and outfit colors on every page. Measured on a
character's held-out pictures, all in CbCr (0-255 levels, the brightness-blind plane the
held-out CbCr error uses; the Colorizer keeps the input's brightness, so chroma is what it paints):

- **Palette**: the character's K dominant chromatic colors, by weighted k-means over the pixels of
  all its held-out *truth* pictures pooled. Near-neutral pixels (|CbCr| < CHROMA_MIN: paper,
  white, black lines, gray, silver) and near-black ones are left out: they are not colors a model
  can get wrong in hue. Each picture weighs by its chromatic share, not its pixel count, so one
  large picture does not decide the palette; colors under MIN_WEIGHT of the pool are dropped, and
  so are colors found in fewer than RECUR of the pictures (at least 2): a character's hair, eyes
  and outfit come back from picture to picture, one picture's background does not.
- **Where each color is**: in each picture, mask_c = the chromatic pixels whose TRUE color is
  nearest palette color c and within MATCH of it. A mask smaller than MIN_SHARE of the picture (or
  MIN_PIXELS) does not count: the color is not really in that picture.
- **Rendering**: the output's mean CbCr over mask_c; the truth's mean over the same pixels is the
  color it should be.
- **closeness** (lower is better): per color, the mean over pictures of |rendering - truth's
  mean|; then the mean over colors.
- **spread** (lower is more consistent): per color, the RMS distance of its renderings to their
  across-picture mean (pictures weigh equally; colors found in fewer than 2 pictures are skipped);
  then the mean over colors.
- **neutral**, apart: silver or white hair, a white dress, gray cloth are a character's colors too
  but have no hue to cluster. The true-neutral pixels that are neither lines nor paper
  (LUMA_MIN <= luma <= NEUTRAL_MAX) are one more entry, last in the palette, with its own closeness
  (how much the model tints them) and spread (whether the tint changes from picture to picture).

The gray passthrough renders every color as (0, 0): perfectly consistent (spread 0) and far from
the truth (closeness = the palette colors' own chroma), so both figures are always reported, with
gray's and the truth's own spread (different artists and lighting: the natural variation) beside
them. A good character model is close and about as consistent as the truth, or more.
"""

from __future__ import annotations

import numpy as np

from colorize.metrics import CBCR, LUMA

K = 6
CHROMA_MIN = 12.0  # |CbCr| under this is neutral: paper, lines, white highlights, gray, silver hair
LUMA_MIN = 24.0  # near-black: line art and its JPEG fringe, whose chroma is noise
NEUTRAL_MAX = 235.0  # above this a neutral pixel is paper or a highlight, not silver hair or a white dress
MATCH = 16.0  # a true color within this of its nearest palette color counts as that color
MIN_SHARE, MIN_PIXELS = 0.002, 40  # eyes are small: about 0.2% of a full-figure picture
MIN_WEIGHT = 0.02  # palette colors under this share of the pooled chromatic weight are dropped
RECUR = 1 / 3  # a palette color must be in this share of the pictures: the character's, not a background
SAMPLE = 4000  # chromatic pixels drawn per picture for k-means
ITERATIONS = 40


def cbcr_luma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H x W x 2 CbCr - 128, H x W luma) of an H x W x 3 uint8 picture, float64, 0-255 levels."""
    x = rgb.astype(np.float64)
    return x @ CBCR.T, x @ LUMA


def chromatic(cbcr: np.ndarray, luma: np.ndarray) -> np.ndarray:
    return (np.hypot(cbcr[..., 0], cbcr[..., 1]) >= CHROMA_MIN) & (luma >= LUMA_MIN)


def weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(k x D centers, k weights) of weighted Lloyd k-means with k-means++ seeding; fewer centers
    when there are fewer distinct points."""
    rng = np.random.default_rng(seed)
    distinct = np.unique(points, axis=0)
    k = min(k, len(distinct))
    centers = [points[rng.choice(len(points), p=weights / weights.sum())]]
    for _ in range(k - 1):
        d2 = np.min(((points[:, None] - np.array(centers)[None]) ** 2).sum(-1), axis=1) * weights
        centers.append(points[rng.choice(len(points), p=d2 / d2.sum())] if d2.sum() > 0 else distinct[len(centers)])
    centers = np.array(centers, np.float64)
    for _ in range(ITERATIONS):
        label = np.argmin(((points[:, None] - centers[None]) ** 2).sum(-1), axis=1)
        mass = np.bincount(label, weights, minlength=k)
        sums = np.stack([np.bincount(label, weights * points[:, j], minlength=k) for j in range(points.shape[1])], 1)
        moved = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-12)[:, None], centers)
        if np.allclose(moved, centers, atol=1e-3):
            break
        centers = moved
    label = np.argmin(((points[:, None] - centers[None]) ** 2).sum(-1), axis=1)
    return centers, np.bincount(label, weights, minlength=k)


def palette(truths: list[np.ndarray], k: int = K, seed: int = 0) -> dict:
    """The dominant chromatic colors of the truth pictures: {"cbcr": k x 2, "share": k} (largest
    first; share of the pooled chromatic weight), empty when nothing is chromatic."""
    rng = np.random.default_rng(seed)
    points, weights = [], []
    for rgb in truths:
        cbcr, luma = cbcr_luma(rgb)
        pts = cbcr[chromatic(cbcr, luma)]
        if len(pts) == 0:
            continue
        pick = pts[rng.choice(len(pts), min(SAMPLE, len(pts)), replace=False)]
        points.append(pick)
        weights.append(np.full(len(pick), len(pts) / luma.size / len(pick)))
    if not points:
        return {"cbcr": np.zeros((0, 2)), "share": np.zeros(0)}
    centers, mass = weighted_kmeans(np.concatenate(points), np.concatenate(weights), k, seed)
    share = mass / mass.sum()
    keep = np.argsort(-share)
    keep = keep[share[keep] >= MIN_WEIGHT]
    return {"cbcr": centers[keep], "share": share[keep]}


def renderings(truth: np.ndarray, outputs: dict[str, np.ndarray], colors: np.ndarray) -> dict:
    """One picture: where each palette color is in the truth (the k chromatic colors, then the
    neutral one), and the mean CbCr each output (and the truth) gives it there. Returns
    {"pixels": k+1, "luma": k+1, "truth": k+1 x 2, <name>: k+1 x 2}; NaN rows for colors that do
    not count in this picture."""
    cbcr, luma = cbcr_luma(truth)
    k = len(colors)
    flat, lum = cbcr.reshape(-1, 2), luma.ravel()
    d = np.sqrt(((flat[:, None] - colors[None]) ** 2).sum(-1)) if k else np.full((len(flat), 1), np.inf)
    label = np.argmin(d, axis=1)
    colored = chromatic(cbcr, luma).ravel()
    neutral = ~colored & (lum >= LUMA_MIN) & (lum <= NEUTRAL_MAX)
    label = np.where(colored & (d[np.arange(len(flat)), label] <= MATCH), label, np.where(neutral, k, k + 1))
    pixels = np.bincount(label, minlength=k + 2)[:k + 1]
    counted = pixels >= max(MIN_PIXELS, MIN_SHARE * luma.size)

    def mean_over(values: np.ndarray) -> np.ndarray:
        sums = np.stack([np.bincount(label, values[:, j], minlength=k + 2)[:k + 1] for j in range(values.shape[1])], 1)
        return np.where(counted[:, None], sums / np.maximum(pixels, 1)[:, None], np.nan)

    out = {"pixels": np.where(counted, pixels, 0), "luma": mean_over(lum[:, None])[:, 0], "truth": mean_over(flat)}
    for name, rgb in outputs.items():
        if rgb.shape != truth.shape:
            raise ValueError(f"output {name!r} is {rgb.shape[:2]}, the truth {truth.shape[:2]}")
        out[name] = mean_over(cbcr_luma(rgb)[0].reshape(-1, 2))
    return out


def scores(rendered: np.ndarray, truth: np.ndarray) -> dict:
    """closeness and spread (see the module docstring) of P x (K+1) x 2 renderings against the
    truth's means of the same pixels (NaN where a color does not count): the mean over the K
    chromatic colors, the neutral one (last) apart, and per color."""
    present = ~np.isnan(truth[..., 0])
    colors = []
    for c in range(truth.shape[1]):
        here = present[:, c]
        r, t = rendered[here, c], truth[here, c]
        close = float(np.mean(np.hypot(*(r - t).T))) if here.any() else None
        spread = float(np.sqrt(np.mean(((r - r.mean(0)) ** 2).sum(-1)))) if here.sum() >= 2 else None
        colors.append({"pictures": int(here.sum()), "closeness": close, "spread": spread})
    close = [c["closeness"] for c in colors[:-1] if c["closeness"] is not None]
    spread = [c["spread"] for c in colors[:-1] if c["spread"] is not None]
    neutral = {k: colors[-1][k] for k in ("closeness", "spread")} if colors else {"closeness": None, "spread": None}
    return {"closeness": float(np.mean(close)) if close else None,
            "spread": float(np.mean(spread)) if spread else None, "neutral": neutral, "colors": colors}


def consistency(truths: list[np.ndarray], outputs: dict[str, list[np.ndarray]], k: int = K) -> dict:
    """The palette of the truth pictures, and closeness / spread for each named list of outputs
    (one output per truth picture), for the truth itself ("truth": closeness 0, the natural spread)
    and for the gray passthrough ("gray")."""
    pal = palette(truths, k)
    per_picture = []
    for i, truth in enumerate(truths):
        gray = np.repeat(cbcr_luma(truth)[1].round().clip(0, 255).astype(np.uint8)[..., None], 3, axis=2)
        per_picture.append(renderings(truth, {"gray": gray, **{n: o[i] for n, o in outputs.items()}}, pal["cbcr"]))
    truth = np.stack([p["truth"] for p in per_picture]) if per_picture else np.full((0, 1, 2), np.nan)
    found = (~np.isnan(truth[..., 0])).sum(0)
    keep = found >= max(min(2, len(truths)), np.ceil(RECUR * len(truths)))
    keep[-1] = True  # the neutral entry stays, so it is always last
    centers = [*pal["cbcr"], np.zeros(2)]
    entry = [{"cbcr": [round(float(v), 2) for v in c], "share": round(float(s), 4), "rgb": swatch(c, 150.0),
              "pictures": int(n)} for c, s, n in zip(centers, [*pal["share"], 0.0], found)]
    entry[-1] = {"neutral": True, "pictures": int(found[-1])}
    result = {"palette": [e for e, kept in zip(entry, keep) if kept],
              "not_recurring": [e for e, kept in zip(entry, keep) if not kept], "pictures": len(truths), "runs": {}}
    truth = truth[:, keep]
    for name in ("truth", "gray", *outputs):
        rendered = np.stack([p[name] for p in per_picture])[:, keep] if per_picture else truth
        result["runs"][name] = scores(rendered, truth)
        for c, color in enumerate(result["runs"][name]["colors"]):
            color["renderings"] = [None if np.isnan(r[c, 0]) else [round(float(v), 2) for v in r[c]] for r in rendered]
    result["luma"] = [[None if np.isnan(v) else round(float(v), 1) for v in p["luma"][keep]] for p in per_picture]
    return result


def swatch(cbcr, luma: float) -> list[int]:
    """The RGB of a CbCr color at a given luma (BT.601 full range, as Pillow's YCbCr), clipped."""
    cb, cr = float(cbcr[0]), float(cbcr[1])
    rgb = [luma + 1.402 * cr, luma - 0.344136 * cb - 0.714136 * cr, luma + 1.772 * cb]
    return [int(np.clip(round(v), 0, 255)) for v in rgb]
