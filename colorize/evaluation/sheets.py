"""Side-by-side sheets: one row per image (input | output | ...), all at one readable height, the
file name and its figures printed above the row; long sets are split over several PNGs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from colorize.fileio import atomic_write_bytes

ROW_HEIGHT = 320
CAPTION = 22  # px of caption band above each row
GAP = 6
PER_SHEET = 8


def row_image(images: list[Image.Image], caption: str, height: int = ROW_HEIGHT) -> Image.Image:
    scaled = [im.convert("RGB").resize((max(1, round(im.width * height / im.height)), height),
                                       Image.Resampling.LANCZOS, reducing_gap=3.0) for im in images]
    font = ImageFont.load_default(size=15)
    text_width = 4 + int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(caption, font=font))
    width = max(text_width, sum(im.width for im in scaled) + GAP * (len(scaled) - 1))
    out = Image.new("RGB", (width, height + CAPTION), "white")
    ImageDraw.Draw(out).text((2, 3), caption, fill="black", font=font)
    x = 0
    for im in scaled:
        out.paste(im, (x, CAPTION))
        x += im.width + GAP
    return out


def stack(rows: list[Image.Image], title: str) -> Image.Image:
    width = max(r.width for r in rows)
    height = CAPTION + sum(r.height + GAP for r in rows)
    out = Image.new("RGB", (width, height), (235, 235, 235))
    ImageDraw.Draw(out).text((2, 3), title, fill="black", font=ImageFont.load_default(size=15))
    y = CAPTION
    for r in rows:
        out.paste(r, (0, y))
        y += r.height + GAP
    return out


def write_sheets(out_dir: Path, stem: str, rows: list[Image.Image], title: str,
                 per_sheet: int = PER_SHEET) -> list[Path]:
    """rows: one row_image per input image. Writes out_dir/<stem>-01.png, -02.png, ..."""
    paths = []
    chunks = [rows[i:i + per_sheet] for i in range(0, len(rows), per_sheet)]
    for n, chunk in enumerate(chunks, 1):
        buf = io.BytesIO()
        stack(chunk, f"{title} ({n}/{len(chunks)})").save(buf, format="PNG")
        path = out_dir / f"{stem}-{n:02d}.png"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths
