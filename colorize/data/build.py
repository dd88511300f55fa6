"""From a folder of color images to train / val / test datasets plus a JSON summary of which file
went where (and which were skipped), for the run to save beside its checkpoints."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
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
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def parse_sources(data: str | Path | Sequence[str | Path]) -> list[tuple[Path, int]]:
    """Folders to train on, each `DIR` or `DIR*N`: a training image of DIR is shown N times per
    epoch (to balance, say, 400 full figures against 3,500 face crops). Validation and test images
    count once."""
    items = [data] if isinstance(data, str | Path) else list(data)
    sources = []
    for item in items:
        text, repeat = str(item), 1
        head, sep, tail = text.rpartition("*")
        if sep and tail.isdigit():
            text, repeat = head, int(tail)
            if repeat < 1:
                raise DataError(f"{item}: the repeat count must be at least 1")
        folder = Path(text)
        if not folder.is_dir():
            raise DataError(f"{folder}: no such folder")
        sources.append((folder, repeat))
    if not sources:
        raise DataError("no data folder given")
    return sources


def build_splits(data_dir: str | Path | Sequence[str | Path], cfg, cache_dir: str | Path, seed: int) -> Splits:
    """Read one or more folders (see parse_sources) recursively, hash and cache every image once
    (unreadable ones are skipped with one warning each), split by content hash, and return the
    three datasets."""
    sources = parse_sources(data_dir)
    repeat_of = {}
    paths = []
    for folder, repeat in sources:
        for p in list_images(folder):
            repeat_of.setdefault(p, repeat)
            paths.append(p)
    data_dir = sources[0][0] if len(sources) == 1 else Path(os.path.commonpath([f.resolve() for f, _ in sources]))
    fractions = normalize_fractions(cfg.split)
    side = cache_side_for(cfg)
    t0 = time.perf_counter()
    report = cache_all(paths, cache_dir, side)
    usable, skipped = report.usable, report.skipped
    seconds = time.perf_counter() - t0
    if not usable:
        found = f"{len(paths)} image file(s), all unreadable" if paths else "no image files"
        raise DataError(f"{', '.join(str(f) for f, _ in sources)}: no usable training image ({found})")

    records = assign_splits(((e.source, e.sha256) for e in usable), fractions)
    entry_of = {e.source: e for e in usable}
    chosen: dict[str, list] = {s: [] for s in SPLITS}
    for r in records:
        if r.duplicate_of is None:
            times = repeat_of.get(r.file, 1) if r.split == "train" else 1
            chosen[r.split].extend([entry_of[r.file]] * times)

    datasets = {s: PairDataset(chosen[s], cfg, cache_dir, train=(s == "train"), seed=seed) for s in SPLITS}
    files = []
    for r in records:
        item = {"file": _rel(r.file, data_dir), "sha256": r.sha256, "split": r.split}
        if r.duplicate_of is not None:
            item["duplicate_of"] = _rel(r.duplicate_of, data_dir)
        files.append(item)
    summary = {
        "data_dir": str(data_dir),
        "sources": [{"folder": str(f), "repeat": n} for f, n in sources],
        "cache_dir": str(cache_dir),
        "cache_side": side,
        "size": int(cfg.size),
        "fractions": list(fractions),
        "counts": {**{s: len({e.sha256 for e in chosen[s]}) for s in SPLITS},
                   "train_samples": len(chosen["train"]),
                   "duplicates": sum(r.duplicate_of is not None for r in records),
                   "skipped": len(skipped)},
        # First-epoch cost made visible: how many images were decoded and resized, and how long it took.
        "cache_built": report.built,
        "index_seconds": round(seconds, 3),
        "files": files,
        "skipped": [{"file": _rel(p, data_dir), "reason": reason} for p, reason in skipped],
    }
    return Splits(datasets["train"], datasets["val"], datasets["test"], summary)
