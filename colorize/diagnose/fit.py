"""`diagnose fit --checkpoint DIR`: under- or overfitting? A trained generator colors pictures it
trained on and pictures it never saw (the config's validation split of --data, and --holdout if
given) from gray, with the same figure for each: CbCr error against the gray passthrough's.

Read at the plain readout (temperature 1, no vividness or palette: the colors the training losses
see), a model that is no closer than gray on its own training pictures has not learned them:
more capacity or steps, or a loss that fits color, come before more data. One much closer on
them than on new pictures has learned them rather than colors: more data or augmentation, or
fewer steps. The card's readout (sharper, more vivid: what users see) is measured beside it.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from colorize.diagnose.report import CheckResult
from colorize.diagnose.setup import Setup

COUNT = 40  # pictures per split: enough for a mean within a few percent, a minute on 2 CPU cores
UNDERFIT = 0.95  # training pictures' error at or above this share of gray's: not learned
OVERFIT = 0.15  # training ratio this far below the new pictures' ratio: learned by heart


def _ratios(model, paths: list[Path], side: int, device) -> dict:
    from colorize.evaluation.evaluate import make_input
    from colorize.images import load_rgb
    from colorize.metrics import cbcr_error, colorfulness
    from colorize.training.validation import colorize_gray

    model_err, gray_err, vivid, truth = [], [], [], []
    for path in paths:
        target = np.asarray(load_rgb(path))
        gray = make_input(target, "gray", 0, path.name)
        out = colorize_gray(model, gray, side, device, torch.channels_last)
        model_err.append(cbcr_error(out, target))
        gray_err.append(cbcr_error(np.repeat(np.asarray(gray)[..., None], 3, axis=2), target))
        vivid.append(colorfulness(out[None]))
        truth.append(colorfulness(target[None]))
    return {"pictures": len(paths), "cbcr_error": float(np.mean(model_err)), "gray_cbcr_error": float(np.mean(gray_err)),
            "ratio_to_gray": float(np.mean(model_err) / max(np.mean(gray_err), 1e-9)),
            "colorfulness_ratio": float(np.mean(vivid) / max(np.mean(truth), 1e-9))}


def _readouts(model) -> dict[str, dict]:
    """The card's readout and the plain one, for models that have a readout to set."""
    card = {k: getattr(model, k) for k in ("temperature", "vividness", "palette") if hasattr(model, k)}
    if not card:
        return {"model": {}}
    plain = {"temperature": 1.0, "vividness": 0.0, "palette": 0.0}
    return {"plain": {k: plain[k] for k in card}, "card": card}


def check_fit(model, splits: dict[str, list[Path]], side: int, device=torch.device("cpu")) -> CheckResult:
    """`splits`: name -> pictures; "train" is required, every other one is new to the model."""
    r = CheckResult("fit")
    if not splits.get("train"):
        r.fail("no training pictures to measure")
        r.summary = "nothing measured"
        return r
    readouts = _readouts(model)
    saved = readouts.get("card", {})
    model.eval()
    try:
        for readout, values in readouts.items():
            for k, v in values.items():
                setattr(model, k, v)
            r.figures[readout] = {name: _ratios(model, paths, side, device) for name, paths in splits.items() if paths}
    finally:
        for k, v in saved.items():
            setattr(model, k, v)
    fit = r.figures["plain" if "plain" in r.figures else "model"]
    train = fit["train"]["ratio_to_gray"]
    new = {name: f["ratio_to_gray"] for name, f in fit.items() if name != "train"}
    if train >= UNDERFIT:
        r.warn(f"underfitting: on {fit['train']['pictures']} of its training pictures the model is {train:.2f}x gray's "
               f"CbCr error: it has not learned them; more capacity or steps, or a loss that fits color, come "
               f"before more data")
    for name, ratio in new.items():
        if ratio - train > OVERFIT:
            r.warn(f"overfitting: {train:.2f}x gray's error on training pictures against {ratio:.2f}x on {name}: "
                   f"more data or augmentation, or fewer steps")
    parts = [f"{name} {f['cbcr_error']:.2f} vs gray {f['gray_cbcr_error']:.2f} ({f['ratio_to_gray']:.2f}x)"
             for name, f in fit.items()]
    r.summary = ("CbCr error at the plain readout, " if "plain" in r.figures else "CbCr error, ") + ", ".join(parts)
    if "card" in r.figures:
        r.summary += "; card readout " + ", ".join(
            f"{name} {f['ratio_to_gray']:.2f}x, colorfulness {f['colorfulness_ratio']:.2f}" for name, f in r.figures["card"].items())
    return r


def run(setup: Setup, checkpoint: str | None = None, holdout: str | None = None, count: int = COUNT) -> CheckResult:
    if not checkpoint:
        r = CheckResult("fit", summary="nothing measured")
        r.fail("fit measures a trained model: give it --checkpoint DIR")
        return r
    from colorize.checkpoint import load_generator
    from colorize.images import list_images

    model, card = load_generator(checkpoint, setup.device)
    model = model.to(memory_format=torch.channels_last)
    side = int(card.get("infer", {}).get("size") or setup.cfg.infer.size or 448)
    rng = random.Random(setup.cfg.train.seed)

    def sample(paths) -> list[Path]:
        paths = sorted(Path(p) for p in paths)
        return sorted(rng.sample(paths, count)) if len(paths) > count else paths

    splits = {"train": sample(setup.split_images.get("train", [])), "val": sample(setup.split_images.get("val", []))}
    if holdout:
        splits["holdout"] = sample(list_images(Path(holdout)))
    result = check_fit(model, splits, side, setup.device)
    result.figures["checkpoint"] = str(checkpoint)
    result.figures["working_side"] = side
    return result
