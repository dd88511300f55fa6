"""Pre-resized copies of the training images, so only the first epoch decodes full-size files.

A cache entry is a lossless PNG named by the source's content hash and the short side it was
resized to: a changed file gets a new entry, a renamed one keeps its entry, and two runs at
different sizes do not overwrite each other. Entries are written atomically, so a killed run
leaves either a whole entry or none."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorize.data.splits import file_sha256
from colorize.fileio import atomic_write_bytes
from colorize.images import ImageLoadError, load_rgb, open_image

log = logging.getLogger(__name__)

# Where pre-resized images go unless --cache-dir says otherwise.
DEFAULT_CACHE = Path(os.environ.get("COLORIZE_CACHE_DIR", Path.home() / ".cache" / "colorize"))

# Bump when the resizing changes, so old entries are not mixed with new ones.
CACHE_VERSION = 1


@dataclass(frozen=True)
class CachedImage:
    """A usable source image: where it came from, its content hash, and its cache entry."""

    source: Path
    sha256: str
    cached: Path


def cache_side_for(cfg) -> int:
    """Short side of the cache: DataConfig.cache_side, or 1.25 x the crop size when 0, so random
    crops have room to move and scale."""
    side = int(getattr(cfg, "cache_side", 0) or 0)
    return side if side > 0 else round(int(cfg.size) * 1.25)


def cache_path(cache_dir: str | Path, sha256: str, side: int) -> Path:
    return Path(cache_dir) / f"v{CACHE_VERSION}-side{side}" / sha256[:2] / f"{sha256}.png"


def resize_short_side(im: Image.Image, side: int) -> Image.Image:
    w, h = im.size
    scale = side / min(w, h)
    size = (max(side, round(w * scale)), max(side, round(h * scale)))
    if size == im.size:
        return im
    if scale < 1:
        # reducing_gap first shrinks by an integer factor (cheap box filter), then Lanczos.
        return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return im.resize(size, Image.Resampling.BICUBIC)


def write_entry(source: Path, dest: Path, side: int) -> None:
    im = resize_short_side(load_rgb(source), side)  # any mode, EXIF-rotated, alpha on white
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=3)
    atomic_write_bytes(dest, buf.getvalue())


def ensure_cached(source: str | Path, cache_dir: str | Path, side: int, sha256: str | None = None) -> CachedImage:
    """Hash the source and make sure its cache entry exists. Raises ImageLoadError (one line,
    naming the file) when the source cannot be read or decoded."""
    return _ensure(Path(source), cache_dir, side, sha256)[0]


def _ensure(source: Path, cache_dir: str | Path, side: int, sha256: str | None = None) -> tuple[CachedImage, bool]:
    try:
        sha = sha256 or file_sha256(source)
    except OSError as exc:
        raise ImageLoadError(f"{source}: cannot read ({exc.strerror or exc})") from None
    dest = cache_path(cache_dir, sha, side)
    built = not dest.exists()
    if built:
        write_entry(source, dest, side)
    return CachedImage(source, sha, dest), built


def read_cached(entry: CachedImage, side: int) -> np.ndarray:
    """The cached image as uint8 HxWx3. A missing or damaged entry is rebuilt from the source."""
    try:
        with open_image(entry.cached) as im:
            return np.asarray(im.convert("RGB"))
    except ImageLoadError:
        if entry.cached.exists():
            log.warning("%s: damaged cache entry, rebuilding it from %s", entry.cached, entry.source)
        write_entry(entry.source, entry.cached, side)
        with open_image(entry.cached) as im:
            return np.asarray(im.convert("RGB"))


@dataclass
class CacheReport:
    usable: list[CachedImage]  # in input order
    skipped: list[tuple[Path, str]]  # (unreadable file, reason)
    built: int  # entries decoded and written by this call (the rest were already cached)


def cache_all(sources: Sequence[str | Path], cache_dir: str | Path, side: int,
              threads: int | None = None) -> CacheReport:
    """Hash and cache every source once, in parallel (Pillow and hashlib release the GIL). Each
    unreadable file gets one warning naming it."""
    threads = threads or min(4, os.cpu_count() or 1)

    def one(src: str | Path) -> tuple[CachedImage, bool] | tuple[Path, str]:
        try:
            return _ensure(Path(src), cache_dir, side)
        except ImageLoadError as exc:
            return Path(src), _reason(Path(src), str(exc))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(one, sources))
    report = CacheReport([], [], 0)
    built = set()  # by hash: two copies of one image may both have written the same entry
    for a, b in results:
        if isinstance(a, CachedImage):
            report.usable.append(a)
            if b:
                built.add(a.sha256)
        else:
            report.skipped.append((a, b))
            log.warning("skipping %s: %s", a, b)
    report.built = len(built)
    return report


def _reason(path: Path, message: str) -> str:
    """ImageLoadError messages start with the path; the summary lists the file separately."""
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message
