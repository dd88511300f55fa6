"""Make the README's before/after sheets: input | an older model (with the Colorizer of its own
commit) | the current one, one row per real input. Outputs are made by `colorize batch`, run once
from a checkout of the older commit and once from this one:

    git worktree add /tmp/old <commit>
    (cd /tmp/old && python -m colorize batch IN OUT_OLD --checkpoint checkpoints/default)
    python -m colorize batch IN OUT_NEW
    python docs/before_after.py IN OUT_OLD OUT_NEW docs/before-after-lineart.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from colorize.evaluation.sheets import row_image, stack
from colorize.fileio import atomic_write_bytes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("inputs", type=Path)
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--title", default="input | before | after")
    p.add_argument("--height", type=int, default=360)
    args = p.parse_args()
    rows = []
    for src in sorted(args.inputs.iterdir()):
        found = [next(iter(sorted(d.glob(src.stem + ".*"))), None) for d in (args.before, args.after)]
        if None in found:
            continue
        rows.append(row_image([Image.open(src), *(Image.open(f) for f in found)], src.name, args.height))
    import io

    buf = io.BytesIO()
    sheet = stack(rows, args.title)
    sheet.thumbnail((2400, 100_000), Image.Resampling.LANCZOS)
    sheet.save(buf, format="PNG", optimize=True)
    atomic_write_bytes(args.out, buf.getvalue())
    print(f"{args.out}: {len(rows)} rows, {sheet.width}x{sheet.height}")


if __name__ == "__main__":
    main()
