"""Near-duplicates by perceptual hash: within `distance` of the 64 pHash bits, keep the larger
image (more pixels, then more bytes) and drop the others."""

from __future__ import annotations

import numpy as np


def near_duplicates(items: list[tuple[str, str, int, int]], distance: int) -> dict[str, tuple[str, int]]:
    """items: (key, phash hex, pixels, bytes). Returns {dropped key: (kept key, bit distance)}.

    Greedy from the largest down: an image is dropped when it is within `distance` of an image
    already kept. Vectorised against all kept hashes at once: fine for 100,000 images."""
    order = sorted(items, key=lambda it: (-it[2], -it[3], it[0]))
    kept_hashes = np.zeros(len(order), dtype=np.uint64)
    kept_keys: list[str] = []
    dropped: dict[str, tuple[str, int]] = {}
    for key, phash, _, _ in order:
        value = np.uint64(int(phash, 16))
        if kept_keys:
            dist = np.bitwise_count(kept_hashes[: len(kept_keys)] ^ value)
            nearest = int(dist.argmin())
            if dist[nearest] <= distance:
                dropped[key] = (kept_keys[nearest], int(dist[nearest]))
                continue
        kept_hashes[len(kept_keys)] = value
        kept_keys.append(key)
    return dropped
