"""What every upload goes through, pages and character pictures alike: a message for the page
instead of a traceback, the file behind an unprocessed upload, and the pixel limit checked from
the header before anything is decoded."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
from PIL import Image

from colorize.images import ImageLoadError, open_image

log = logging.getLogger("app.ui")


def refuse(message: str) -> gr.Error:
    """A message for the page (and the API caller); the server log gets one line, not a traceback."""
    log.info("refused: %s", message)
    return gr.Error(message, print_exception=False)


def upload_path(upload) -> tuple[Path, str]:
    """The file behind an image input left unprocessed (preprocess=False), and its name."""
    if not upload:
        raise refuse("Upload an image first (drop a file, paste one, or pick an example).")
    if isinstance(upload, dict):
        path, name = upload.get("path"), upload.get("orig_name")
    else:
        path, name = upload, None
    if not path:
        raise refuse("The upload did not arrive; try again.")
    return Path(path), name or Path(path).name


def check_pixels(path: Path, name: str, max_pixels: int) -> None:
    """Reject oversized images from their header alone, before anything is decoded."""
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Image.DecompressionBombError:
        raise refuse(
            f"{name}: far too many pixels (a decompression bomb?); the limit is "
            f"{max_pixels / 1e6:.0f} megapixels"
        ) from None
    except Exception:
        return  # not an image at all: open_image names the problem
    if w * h > max_pixels:
        raise refuse(f"{name}: {w}x{h} is {w * h / 1e6:.1f} megapixels; the limit is {max_pixels / 1e6:.0f}")


def check_picture(upload, max_pixels: int) -> tuple[Path, str]:
    """An uploaded picture checked as a page is (type, pixel count, decodable): (file, its name)."""
    path, name = upload_path(upload)
    check_pixels(path, name, max_pixels)
    try:
        open_image(path, label=name)
    except ImageLoadError as exc:
        raise refuse(str(exc)) from None
    return path, name
