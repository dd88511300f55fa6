"""The character model's folder: the chosen checkpoint's weights, its card with the readout and the
`character` section, and sample.png for the app's picker. Built under a temporary name and renamed
into place, so a kill never leaves half a model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from colorize.character.names import check_out
from colorize.checkpoint import TRAINING_GENERATOR
from colorize.fileio import atomic_dir
from colorize.images import load_rgb, reduce_to_side

SAMPLE_SIDE = 192
# the card is rewritten; optimizer state and the optimizer's weights (beside a weight average) are for resuming only
SKIP = ("card.json", "train_state.pt", f"{TRAINING_GENERATOR}.safetensors")


def write_model(out: Path, checkpoint: Path, card: dict, sample_picture: Path, force: bool = False) -> Path:
    """Write (or, with force, replace) `out` from `checkpoint` with this `card`."""
    check_out(out, force)

    def fill(tmp: Path) -> None:
        for f in sorted(Path(checkpoint).iterdir()):
            if f.is_file() and f.name not in SKIP:
                shutil.copyfile(f, tmp / f.name)
        (tmp / "card.json").write_text(json.dumps(card, indent=2, default=str) + "\n")
        write_sample(tmp, sample_picture)

    return atomic_dir(out, fill)


def write_sample(model_dir: Path, picture: Path, side: int = SAMPLE_SIDE) -> Path:
    """One training picture, reduced to `side`, colored from gray by the model in `model_dir`."""
    from colorize.inference.colorizer import Colorizer

    gray = reduce_to_side(load_rgb(picture), side).convert("L")
    path = Path(model_dir) / "sample.png"
    Colorizer(model_dir, device="cpu").colorize(gray).save(path)
    return path
