"""Near-duplicate images, defined once for the whole pipeline: the scraper's cleaner drops them
(`python -m scraper clean --dup-distance`; the larger image stays) and `diagnose data` reports the
ones that sit in two different splits (a copy in validation of a training image flatters the
figures). Both hash and compare with the functions here, so they cannot disagree on what a
near-duplicate is.

It lives at the top of colorize/, not in colorize/data/ (whose package imports torch), because the
scraper, upstream, imports it in every cleaner worker: code flows one way, scraper -> colorize.
Nothing heavy is imported until a function runs, so the cleaner's command line stays quick."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

# Two images are near-duplicates when their 64-bit pHashes differ in at most this many bits.
# Measured on ../shared/data: re-encoded (JPEG q75), half-size and lightly tinted copies of the 256
# full illustrations in color/ and holdout/ all stay within 2 bits; a 5% crop stays within 8 bits
# for 94% of them (within 4 bits: 52%), a caption box pasted on for 86% (within 4: 47%). Unrelated
# pictures: no two of those 256 come within 14 bits; among all 4,235 with extra/ (9 million pairs)
# 10 pairs are at 8 bits and none closer, 9 of them different ~160 px face crops of one framing
# (the 10th a real cropped copy). pHash sets 32 of its 64 bits, so distances are even and 8 is
# the step after 6. A distinct picture wrongly dropped costs the cleaner one image; a copy missed
# across splits leaks evaluation data into training. So 8 (4 would miss half the edited copies).
NEAR_DUPLICATE_BITS = 8


def perceptual_hash(image: Image.Image) -> str:
    """64-bit pHash (imagehash: DCT of a 32x32 gray thumbnail, the 8x8 lowest frequencies against
    their median) as 16 hex digits, the form stored in the cleaner's manifest."""
    import imagehash

    return str(imagehash.phash(image))


def file_hash(path: str | Path) -> str:
    """perceptual_hash of an image file, read as everywhere else (EXIF rotation applied,
    transparency on white). Raises colorize.images.ImageLoadError."""
    from colorize.images import load_rgb

    return perceptual_hash(load_rgb(path))


def _values(hashes: Sequence[str]) -> np.ndarray:
    import numpy as np

    return np.array([int(h, 16) for h in hashes], dtype=np.uint64)


def near_pairs(hashes: Sequence[str], bits: int = NEAR_DUPLICATE_BITS) -> list[tuple[int, int, int]]:
    """(i, j, distance) for every i < j whose hashes differ in at most `bits` bits. Vectorised one
    row at a time: fine for 100,000 images."""
    import numpy as np

    values = _values(hashes)
    found = []
    for i in range(len(values) - 1):
        dist = np.bitwise_count(values[i + 1:] ^ values[i])
        found += [(i, i + 1 + int(j), int(dist[j])) for j in np.flatnonzero(dist <= bits)]
    return found


def keep_largest(items: Sequence[tuple[str, str, int, int]], bits: int = NEAR_DUPLICATE_BITS
                 ) -> dict[str, tuple[str, int]]:
    """The cleaner's rule. items: (key, pHash hex, pixels, bytes). Returns {dropped key: (kept key,
    bit distance)}: greedy from the largest (more pixels, then more bytes) down, an image is dropped
    when within `bits` of one already kept. So no two kept images are near-duplicates, and every
    dropped one is a near-duplicate of a kept one."""
    import numpy as np

    order = sorted(items, key=lambda it: (-it[2], -it[3], it[0]))
    values = _values([it[1] for it in order])
    kept_hashes = np.zeros(len(order), dtype=np.uint64)
    kept_keys: list[str] = []
    dropped: dict[str, tuple[str, int]] = {}
    for (key, _, _, _), value in zip(order, values):
        if kept_keys:
            dist = np.bitwise_count(kept_hashes[: len(kept_keys)] ^ value)
            nearest = int(dist.argmin())
            if dist[nearest] <= bits:
                dropped[key] = (kept_keys[nearest], int(dist[nearest]))
                continue
        kept_hashes[len(kept_keys)] = value
        kept_keys.append(key)
    return dropped
