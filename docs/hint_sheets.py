"""Make the README's hint sheets: input | strokes | hint-free | with the strokes, one row per real
page. The strokes are placed the way a user would: one short stroke of a palette color in each
of the largest closed regions that are not paper (the Colorizer's own regions). With --spec, the
strokes are a person's instead: a JSON file {"page name": [[[R, G, B], width, [x0, y0, x1, y1, ...]],
...]} in the page's own pixels (docs/hint_strokes.json, placed by looking at each page). The
stroke files are kept, so the same strokes can be given to `colorize batch --hints`:

    python docs/hint_sheets.py ../shared/data/lineart docs/hints-lineart.png --spec docs/hint_strokes.json \
        --strokes runs/strokes

The README's sheet has a manga page too: its input was a folder of links to the pages the spec
names (two of ../shared/data/lineart, one of ../shared/data/manga).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from colorize.evaluation.sheets import row_image, stack
from colorize.fileio import atomic_write_bytes
from colorize.images import list_images
from colorize.inference.colorizer import Colorizer
from colorize.paths import default_checkpoint

PALETTE = [(250, 214, 190), (200, 50, 70), (70, 110, 210), (240, 200, 80), (120, 80, 60), (90, 170, 110)]


def strokes_for(colorizer: Colorizer, path: Path, regions_wanted: int) -> Image.Image:
    page = colorizer.prepare(path)
    regions, paper = page.drawing.regions, page.drawing.paper
    order = sorted((r for r in range(1, regions.count + 1) if not paper[r]), key=lambda r: -regions.area[r])
    scale = page.gray.size[0] / regions.labels.shape[1]
    im = Image.new("RGBA", page.gray.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for i, r in enumerate(order[:regions_wanted]):
        depth = ndi.distance_transform_edt((regions.labels == r) & regions.core)
        y, x = np.unravel_index(depth.argmax(), depth.shape)
        half = min(depth.max() * 1.5, 20)
        width = max(2, round(min(depth.max(), 6) * scale))
        draw.line([((x - half) * scale, y * scale), ((x + half) * scale, y * scale)],
                  fill=(*PALETTE[i % len(PALETTE)], 255), width=width)
    return im


def strokes_from_spec(spec: list, size: tuple[int, int]) -> Image.Image:
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for color, width, points in spec:
        draw.line(list(zip(points[::2], points[1::2])), fill=(*color, 255), width=int(width), joint="curve")
    return im


def shown(strokes: Image.Image, page: Image.Image) -> Image.Image:
    """The strokes over a faded copy of the page, as the app's editor shows them."""
    base = Image.blend(page.convert("RGB"), Image.new("RGB", page.size, "white"), 0.6).convert("RGBA")
    return Image.alpha_composite(base, strokes).convert("RGB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("inputs", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--checkpoint", type=Path, default=default_checkpoint())
    p.add_argument("--limit", type=int, default=4)
    p.add_argument("--regions", type=int, default=4, help="strokes per page (one per region)")
    p.add_argument("--strokes", type=Path, help="also save each page's strokes here (NAME.png)")
    p.add_argument("--spec", type=Path, help="JSON of strokes per page name (only those pages are shown)")
    p.add_argument("--height", type=int, default=360)
    args = p.parse_args()
    colorizer = Colorizer(args.checkpoint)
    spec = json.loads(args.spec.read_text()) if args.spec else None
    paths = [q for q in list_images(args.inputs) if spec is None or q.name in spec][: args.limit]
    rows = []
    for path in paths:
        strokes = (strokes_from_spec(spec[path.name], Image.open(path).size) if spec
                   else strokes_for(colorizer, path, args.regions))
        if args.strokes:
            args.strokes.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            strokes.save(buf, "PNG")
            atomic_write_bytes(args.strokes / f"{path.stem}.png", buf.getvalue())
        page = Image.open(path)
        plain, hinted = colorizer.colorize(path), colorizer.colorize(path, hints=strokes)
        rows.append(row_image([page, shown(strokes, page), plain, hinted], path.name, args.height))
    sheet = stack(rows, f"{args.checkpoint.name}: input | strokes | hint-free | with the strokes")
    buf = io.BytesIO()
    sheet.save(buf, "PNG", optimize=True)
    atomic_write_bytes(args.out, buf.getvalue())
    print(args.out)


if __name__ == "__main__":
    main()
