"""The held-out CbCr-error-versus-colorfulness frontier: one checkpoint's readout settings
(vividness at its own temperature) on held-out gray pictures, several checkpoints on one plot
(`colorize quality --frontier`). A better model moves the curve down (closer colors) and right
(more of the originals' colorfulness) at once; a readout only slides along its own curve."""

from __future__ import annotations

from pathlib import Path

VIVIDNESS = (0.0, 0.4, 0.8, 1.2)


def frontier(colorizer, checkpoint, folder: Path, args, vividness=VIVIDNESS) -> dict:
    """Held-out gray figures at each vividness (a model without that setting: its one point)."""
    from colorize.evaluation.evaluate import evaluate

    settings = vividness if colorizer.vividness is not None else (None,)
    own = colorizer.vividness
    points = []
    try:
        for v in settings:
            if v is not None:
                colorizer.vividness = colorizer.model.vividness = v
            result, _ = evaluate(checkpoint, folder, "gray", args.max_side, seed=args.seed, colorizer=colorizer,
                                 limit=args.limit)
            m, b = result["mean"]["model"], result["mean"]["baseline"]
            points.append({"vividness": v, "temperature": getattr(colorizer.model, "temperature", None),
                           "cbcr_error": m["cbcr_error"], "colorfulness_ratio": m["colorfulness_ratio"],
                           "deltaE": m["deltaE"], "gray_cbcr_error": b["cbcr_error"], "count": result["count"]})
    finally:
        if own is not None:
            colorizer.vividness = colorizer.model.vividness = own
    return {"kind": "frontier", "images": str(folder), "own_vividness": own, "points": points}


def plot_frontiers(frontiers: dict[str, dict], path: Path) -> Path:
    """Every run's frontier on one matplotlib plot, with the gray passthrough's error as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from colorize.fileio import save_figure

    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=120)
    gray = None
    for label, f in frontiers.items():
        pts = f["points"]
        x, y = [p["colorfulness_ratio"] for p in pts], [p["cbcr_error"] for p in pts]
        ax.plot(x, y, "o-", label=label)
        for p in pts:
            if p["vividness"] is not None:
                ax.annotate(f"v{p['vividness']:g}", (p["colorfulness_ratio"], p["cbcr_error"]), fontsize=7,
                            textcoords="offset points", xytext=(3, 3))
        gray = pts[0]["gray_cbcr_error"]
    if gray is not None:
        ax.axhline(gray, color="gray", linestyle=":", label="gray passthrough")
    ax.set_xlabel("colorfulness / originals' (held-out gray input)")
    ax.set_ylabel("CbCr error (0-255 levels)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
