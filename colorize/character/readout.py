"""The readout of a character model: how vivid its colors are (temperature, vividness) and how
far they lean towards the character's own palette, chosen with `colorize temperature`'s scoring.
The one place to adjust what is tried."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

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
    rows = score_settings(G, pictures, cfg, *_settings(card, palette))
    return _choice(rows, on, min(len(pictures.entries), cfg.log.val_images))


def choose_palette_readout(G, card: dict, splits, cfg, fit: Callable[[Sequence], object]) -> dict:
    """choose_readout for a palette fit to the training pictures (`fit(entries)` returns the
    palette of those pictures): scored on the validation pictures when the run has any, else
    cross-fitted: the palette is fit on one half of the training pictures and every setting scored
    on the other half, then the other way round, and the two halves' figures averaged. Scored on
    its own pictures a palette looks better than it is, and the choice leaned to strong, vivid
    settings that raised the held-out error (Okabe: 6.11 CbCr against gray's 5.08). G is left with
    no palette set (strength 0)."""
    if len(splits.val):
        folds, on = [(splits.train.entries, splits.val.entries)], "validation"
    else:
        entries = sorted(splits.train.entries, key=lambda e: e.sha256)
        halves = [entries[0::2], entries[1::2]]
        if not all(halves):
            raise ValueError("cross-fitting the palette needs at least 2 pictures")
        folds, on = [tuple(halves), tuple(halves[::-1])], "training (cross-fitted halves)"
    scored = []
    each = max(1, cfg.log.val_images // len(folds))  # log.val_images in all, as choose_readout scores
    for fit_on, score_on in folds:
        G.palette = 0.0  # the fit reads the model's own logits
        G.set_palette(fit(fit_on))
        part = copy.copy(splits.train)
        part.entries = list(score_on)[:each]
        scored.append((score_settings(G, part, cfg, *_settings(card, True)), len(part.entries)))
    G.palette, G.palette_bias = 0.0, None
    total = sum(n for _, n in scored)
    rows = [{k: (sum(rs[i][k] * n for rs, n in scored) / total if k.startswith("val/") else v)
             for k, v in scored[0][0][i].items()} for i in range(len(scored[0][0]))]
    return _choice(rows, on, total)


def _settings(card: dict, palette: bool) -> tuple[list[float], list[float], list[float]]:
    vividness = VIVIDNESS if card.get("chroma_prior") else (0.0,)
    return list(TEMPERATURES), list(vividness), list(PALETTE if palette else (0.0,))


def _choice(rows: list[dict], on: str, pictures: int) -> dict:
    best = best_setting(rows, MARGIN)
    return {"temperature": best["temperature"], "vividness": best["vividness"], "palette": best["palette"],
            "on": on, "pictures": pictures,
            "figures": {k: round(v, 5) for k, v in best.items() if k.startswith("val/")}, "scores": rows}
