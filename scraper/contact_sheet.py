"""One PNG per decision so a person can look at what was dropped, and why, before training:
a grid of thumbnails, each captioned with the post id and the detail, face boxes drawn in."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from colorize.images import ImageLoadError, load_rgb

TILE = 160
CAPTION = 28
COLUMNS = 10


def _caption(text: str, width_chars: int = 26) -> list[str]:
    return [text[i : i + width_chars] for i in range(0, min(len(text), 2 * width_chars), width_chars)]


def _tile(path: Path, faces: list | None) -> Image.Image:
    try:
        im = load_rgb(path)
    except ImageLoadError:
        tile = Image.new("RGB", (TILE, TILE), (90, 90, 90))
        ImageDraw.Draw(tile).text((8, TILE // 2 - 6), "unreadable", fill=(255, 255, 255))
        return tile
    scale = min(TILE / im.width, TILE / im.height)
    thumb = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                      Image.Resampling.BILINEAR)
    tile = Image.new("RGB", (TILE, TILE), (255, 255, 255))
    ox, oy = (TILE - thumb.width) // 2, (TILE - thumb.height) // 2
    tile.paste(thumb, (ox, oy))
    draw = ImageDraw.Draw(tile)
    for x, y, w, h, *_ in faces or []:
        draw.rectangle([ox + x * scale, oy + y * scale, ox + (x + w) * scale, oy + (y + h) * scale],
                       outline=(255, 0, 0), width=2)
    return tile


def write_sheet(out: Path, title: str, entries: list[tuple[Path, str, list | None]], total: int) -> None:
    """entries: (image path, caption, face boxes or None). `total` may exceed len(entries)."""
    rows = max(1, -(-len(entries) // COLUMNS))
    header = 24
    sheet = Image.new("RGB", (COLUMNS * TILE, header + rows * (TILE + CAPTION)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    shown = f"{len(entries)} of {total}" if total > len(entries) else f"{total}"
    draw.text((6, 6), f"{title}: {shown} images", fill=(0, 0, 0), font=font)
    for i, (path, caption, faces) in enumerate(entries):
        x, y = (i % COLUMNS) * TILE, header + (i // COLUMNS) * (TILE + CAPTION)
        sheet.paste(_tile(path, faces), (x, y))
        for j, line in enumerate(_caption(caption)):
            draw.text((x + 3, y + TILE + 2 + j * 12), line, fill=(0, 0, 0), font=font)
    with open(out, "wb") as f:
        sheet.save(f, format="PNG")
