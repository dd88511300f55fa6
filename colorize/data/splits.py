"""Train / val / test split keyed on each image's content hash.

An image's split depends only on the SHA-256 of its bytes, so adding, removing or renaming other
files never moves it, and identical copies always land together (in one split, once)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitRecord:
    file: Path
    sha256: str
    split: str
    duplicate_of: Path | None = None  # same bytes as an earlier file: not used twice


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def normalize_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    f = tuple(float(x) for x in fractions)
    if len(f) != 3 or any(x < 0 for x in f) or f[0] <= 0:
        raise ValueError(f"data.split must be three fractions >= 0 (train > 0), got {list(fractions)}")
    total = sum(f)
    return (f[0] / total, f[1] / total, f[2] / total)


def hash_position(sha256: str) -> float:
    """The hash read as a number in [0, 1): uniform over images, fixed per content."""
    return int(sha256[:16], 16) / float(1 << 64)


def held_out(sha256: str, fraction: float) -> bool:
    """Whether a picture is in the top `fraction` by content hash: the pictures `colorize character
    --holdout` never trains on and `colorize quality --sets character` measures on (one rule)."""
    return fraction > 0 and hash_position(sha256) >= 1 - fraction


def split_of(sha256: str, fractions: Sequence[float]) -> str:
    train, val, _ = normalize_fractions(fractions)
    u = hash_position(sha256)
    if u < train:
        return "train"
    return "val" if u < train + val else "test"


def assign_splits(hashed: Iterable[tuple[Path, str]], fractions: Sequence[float]) -> list[SplitRecord]:
    """One record per (file, sha256), in the given order. A file whose content was already seen is
    marked duplicate_of the first one. If no image at all falls in train (only possible with a
    handful of images), the one closest to the train range is moved there so training can run."""
    records: list[SplitRecord] = []
    first: dict[str, Path] = {}
    for path, sha in hashed:
        dup = first.setdefault(sha, path)
        records.append(SplitRecord(Path(path), sha, split_of(sha, fractions), None if dup == path else dup))
    unique = [r for r in records if r.duplicate_of is None]
    if unique and not any(r.split == "train" for r in unique):
        moved = min(unique, key=lambda r: hash_position(r.sha256)).sha256
        log.warning("no image fell in the train split; moving %s there (too few images)",
                    next(r.file for r in unique if r.sha256 == moved))
        records = [SplitRecord(r.file, r.sha256, "train", r.duplicate_of) if r.sha256 == moved else r
                   for r in records]
    return records


def split_files(paths: Iterable[str | Path], fractions: Sequence[float]) -> dict[str, list[Path]]:
    """{'train': [...], 'val': [...], 'test': [...]} by content hash; duplicates appear once."""
    records = assign_splits(((Path(p), file_sha256(p)) for p in paths), fractions)
    out: dict[str, list[Path]] = {s: [] for s in SPLITS}
    for r in records:
        if r.duplicate_of is None:
            out[r.split].append(r.file)
    return out
