"""Make the README's character sheet: for each character, a few of its held-out pictures (the top
quarter by content hash, never trained on) as held-out input | default model | character model |
truth, from gray input, with each picture's CbCr error in the caption:

    python docs/character_sheets.py docs/characters.jpg \
        --character Emilia checkpoints/characters/Emilia ../shared/data/extra/characters/Emilia ...
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from colorize.evaluation.character_eval import held_out
from colorize.evaluation.evaluate import make_input, shrink
from colorize.evaluation.sheets import row_image, stack
from colorize.fileio import atomic_write_bytes
from colorize.images import load_rgb
from colorize.inference.colorizer import Colorizer
from colorize.metrics import cbcr_error
from colorize.paths import default_checkpoint


def rows_for(name: str, model: Colorizer, default: Colorizer, folder: Path, per: int, height: int) -> list:
    rows = []
    for path, _ in held_out(folder)[:per]:
        truth = shrink(load_rgb(path), 512)
        inp = make_input(np.asarray(truth), "gray", 0, path.name)
        outs = [default.colorize(inp).convert("RGB"), model.colorize(inp).convert("RGB")]
        errs = [cbcr_error(np.asarray(o), np.asarray(truth)) for o in outs]
        gray = cbcr_error(np.repeat(np.asarray(inp)[..., None], 3, axis=2), np.asarray(truth))
        caption = (f"{name}: {path.name}   CbCr error default {errs[0]:.1f}, {name} model {errs[1]:.1f}"
                   f" (gray {gray:.1f})")
        rows.append(row_image([inp, *outs, truth], caption, height))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--character", nargs=3, action="append", required=True, metavar=("NAME", "MODEL", "DATA"))
    p.add_argument("--default", type=Path, default=default_checkpoint())
    p.add_argument("--per", type=int, default=2, help="held-out pictures per character")
    p.add_argument("--row-height", type=int, default=200)
    args = p.parse_args()
    default = Colorizer(args.default)
    rows = []
    for name, model, data in args.character:
        rows += rows_for(name, Colorizer(model), default, Path(data), args.per, args.row_height)
    sheet = stack(rows, "held-out picture, gray input | default model | character model | truth")
    buf = io.BytesIO()
    if args.out.suffix.lower() in (".jpg", ".jpeg"):  # photos of pictures: a fifth of the PNG's size
        sheet.save(buf, format="JPEG", quality=85, optimize=True)
    else:
        sheet.save(buf, format="PNG", optimize=True)
    atomic_write_bytes(args.out, buf.getvalue())
    print(f"{args.out}: {len(rows)} rows, {len(buf.getvalue()) // 1024} KB")


if __name__ == "__main__":
    main()
