"""The readout of a character model: how vivid its colors are (temperature, vividness) and how
far they lean towards the character's own palette, chosen with `colorize temperature`'s scoring.
The one place to adjust what is tried."""

from __future__ import annotations

from colorize.training.temperature import MARGIN, best_setting, score_settings

TEMPERATURES = (0.4, 0.55, 0.7, 1.0)
VIVIDNESS = (0.0, 0.5, 1.0)  # tried only when the card has the training colors' prior
# The strengths of a palette-only model's brightness palette (--steps 0, palette_fit) tried: fit at
# the plain readout, it is sharpened by the chosen temperature, and 2 measured best on the shared
# characters.
PALETTE = (0.0, 1.0, 2.0)


def choose_readout(G, card: dict, splits, cfg, palette: bool = False) -> dict:
    """The best (temperature, vividness, palette) by val/color_score among those clearly closer to
    the truth than gray (see temperature.best_setting), on the validation pictures when the run has
    any, else on the training pictures (a user's pictures all train: nothing else to go by).
    Returns the choice, what it was measured on, its figures and every setting's scores."""
    pictures, on = (splits.val, "validation") if len(splits.val) else (splits.train, "training")
    vividness = VIVIDNESS if card.get("chroma_prior") else (0.0,)
    palettes = PALETTE if palette else (0.0,)  # palette: G has the character's palette bias
    rows = score_settings(G, pictures, cfg, list(TEMPERATURES), list(vividness), list(palettes))
    best = best_setting(rows, MARGIN)
    return {"temperature": best["temperature"], "vividness": best["vividness"], "palette": best["palette"],
            "on": on, "pictures": min(len(pictures.entries), cfg.log.val_images),
            "figures": {k: round(v, 5) for k, v in best.items() if k.startswith("val/")}, "scores": rows}
