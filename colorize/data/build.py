"""From a folder of color images to train / val / test datasets plus a JSON summary of which file
went where (and which were skipped), for the run to save beside its checkpoints."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorize.data.cache import cache_all, cache_side_for
from colorize.data.dataset import PairDataset
from colorize.data.splits import SPLITS, assign_splits, normalize_fractions
from colorize.fileio import atomic_write_text
from colorize.images import list_images


class DataError(ValueError):
    """One-line, user-facing: names the folder and the problem."""


@dataclass
class Splits:
    train: PairDataset
    val: PairDataset  # may be empty with very few images: the trainer then skips validation
    test: PairDataset  # may be empty too
    summary: dict[str, Any] = field(default_factory=dict)

    def save_summary(self, path: str | Path) -> None:
        atomic_write_text(path, json.dumps(self.summary, indent=2) + "\n")


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def build_splits(data_dir: str | Path, cfg, cache_dir: str | Path, seed: int) -> Splits:
    """Read `data_dir` recursively, hash and cache every image once (unreadable ones are skipped
    with one warning each), split by content hash, and return the three datasets."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: no such folder")
    fractions = normalize_fractions(getattr(cfg, "split", (0.7, 0.2, 0.1)))
    side = cache_side_for(cfg)
    paths = list_images(data_dir)
    t0 = time.perf_counter()
    report = cache_all(paths, cache_dir, side)
    usable, skipped = report.usable, report.skipped
    seconds = time.perf_counter() - t0
    if not usable:
        found = f"{len(paths)} image file(s), all unreadable" if paths else "no image files"
        raise DataError(f"{data_dir}: no usable training image ({found})")

    records = assign_splits(((e.source, e.sha256) for e in usable), fractions)
    entry_of = {e.source: e for e in usable}
    chosen: dict[str, list] = {s: [] for s in SPLITS}
    for r in records:
        if r.duplicate_of is None:
            chosen[r.split].append(entry_of[r.file])

    datasets = {s: PairDataset(chosen[s], cfg, cache_dir, train=(s == "train"), seed=seed) for s in SPLITS}
    files = []
    for r in records:
        item = {"file": _rel(r.file, data_dir), "sha256": r.sha256, "split": r.split}
        if r.duplicate_of is not None:
            item["duplicate_of"] = _rel(r.duplicate_of, data_dir)
        files.append(item)
    summary = {
        "data_dir": str(data_dir),
        "cache_dir": str(cache_dir),
        "cache_side": side,
        "size": int(cfg.size),
        "fractions": list(fractions),
        "counts": {**{s: len(chosen[s]) for s in SPLITS},
                   "duplicates": sum(r.duplicate_of is not None for r in records),
                   "skipped": len(skipped)},
        # First-epoch cost made visible: how many images were decoded and resized, and how long it took.
        "cache_built": report.built,
        "index_seconds": round(seconds, 3),
        "files": files,
        "skipped": [{"file": _rel(p, data_dir), "reason": reason} for p, reason in skipped],
    }
    return Splits(datasets["train"], datasets["val"], datasets["test"], summary)
