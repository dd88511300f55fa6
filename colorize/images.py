"""Reading images with Pillow whatever their mode, size or orientation. The one place that knows
about EXIF, palettes, 16-bit and CMYK files, and transparent backgrounds."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
# Refuse decompression bombs loudly instead of Pillow's warning: 80 megapixels is far past any page.
MAX_PIXELS = 80_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageLoadError(Exception):
    """One-line, user-facing: names the file and the problem."""


def open_image(path: str | Path | bytes, label: str | None = None) -> Image.Image:
    """Open and fully decode an image (a file, or its bytes, e.g. an archive member), applying
    EXIF orientation. Raises ImageLoadError naming `label` (default: the path)."""
    if isinstance(path, bytes):
        if not path:
            raise ImageLoadError(f"{label}: empty file")
        source, path = io.BytesIO(path), label
    else:
        source = path = Path(path)
    path = label or path
    try:
        with Image.open(source) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{path}: not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{path}: too many pixels ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"{path}: broken image ({exc})") from None
    if im.width < 1 or im.height < 1:
        raise ImageLoadError(f"{path}: empty image")
    return im


def split_alpha(im: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Return (RGB image, alpha or None). Transparent pixels are composited onto white, because
    the color stored under them is arbitrary (often black)."""
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit gray: scale to 8 bits instead of clipping.
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    alpha = None
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        alpha = im.getchannel("A")
        if alpha.getextrema()[0] == 255:
            alpha = None  # fully opaque: no alpha worth keeping
        white = Image.new("RGB", im.size, (255, 255, 255))
        white.paste(im, mask=im.getchannel("A"))
        return white, alpha
    return im.convert("RGB"), alpha


def load_rgb(path: str | Path) -> Image.Image:
    """Any readable image as RGB, transparent areas on white."""
    return split_alpha(open_image(path))[0]


def list_images(folder: str | Path, recursive: bool = True) -> list[Path]:
    folder = Path(folder)
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def reduce_to_side(image: Image.Image, side: int) -> Image.Image:
    """The image with its long side reduced to `side` (Lanczos, as the Colorizer reduces a page for
    the network); a smaller image is returned as it is, never upscaled."""
    w, h = image.size
    scale = side / max(w, h)
    if scale >= 1:
        return image
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS,
                        reducing_gap=2.0)
