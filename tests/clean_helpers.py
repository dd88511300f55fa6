"""Images made by the cleaner tests, and a DATA_DIR laid out the way `fetch` leaves it."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from scraper.manifest import Manifest
from scraper.posts import Post


def colorful(seed: int, size=(400, 300)) -> Image.Image:
    """Colored shapes on a colored background: a plausible illustration without a face."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        x0, y0 = rng.integers(0, size[0]), rng.integers(0, size[1])
        x1, y1 = x0 + rng.integers(20, size[0] // 2), y0 + rng.integers(20, size[1] // 2)
        draw.ellipse([int(x0), int(y0), int(x1), int(y1)], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return im


def sepia(im: Image.Image) -> Image.Image:
    g = np.asarray(im.convert("L"), dtype=np.float32)
    arr = np.stack([g * 0.95 + 20, g * 0.8 + 12, g * 0.55 + 5], -1)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def jpeg_bytes(im: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def add_download(db: Manifest, data_dir: Path, post_id: int, data: bytes, ext: str = "jpg",
                 tags: tuple[str, ...] = ("1girl", "solo")) -> str:
    """Put a file into DATA_DIR/images and the manifest as a verified download; returns its path."""
    md5 = hashlib.md5(data).hexdigest()
    post = Post(id=post_id, md5=md5, file_url=f"http://x.test/images/0/{md5}.{ext}", width=1, height=1,
                tags=list(tags))
    (data_dir / "images").mkdir(parents=True, exist_ok=True)
    (data_dir / "images" / post.file_name).write_bytes(data)
    db.record_listing("test", [(post, "pending", None)], None)
    rel = f"images/{post.file_name}"
    db.record_download(post, rel, len(data))
    return rel
