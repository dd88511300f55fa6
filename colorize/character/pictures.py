"""A character's pictures: read from folders or files, checked (one line per problem), split into
the ones that train and the held-out ones (by content hash), and linked into the work folder, which
is all the trainer ever sees."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from colorize.character.errors import CharacterError
from colorize.data.cache import ensure_cached
from colorize.data.splits import held_out
from colorize.fileio import atomic_dir
from colorize.images import IMAGE_SUFFIXES, ImageLoadError, list_images

log = logging.getLogger(__name__)


@dataclass
class PictureSet:
    train: list[tuple[Path, str]] = field(default_factory=list)  # (file, SHA-256), one per content, by hash
    held_out: list[str] = field(default_factory=list)  # SHA-256, sorted
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it cannot be read)
    sources: list[str] = field(default_factory=list)


def check_holdout(holdout: float) -> float:
    if not 0 <= holdout < 0.9:
        raise CharacterError(f"holdout {holdout:g}: must be at least 0 and below 0.9")
    return float(holdout)


def list_sources(data: Sequence[str | Path]) -> list[tuple[Path, list[Path]]]:
    """(source, its picture files) for each folder (read recursively) or picture file."""
    if isinstance(data, str | Path):
        data = [data]
    if not data:
        raise CharacterError("no pictures given: name a folder with --data")
    out = []
    for item in data:
        p = Path(item)
        if p.is_dir():
            files = list_images(p)
            if not files:
                raise CharacterError(f"{p}: no pictures in this folder "
                                     f"({', '.join(sorted(s.lstrip('.') for s in IMAGE_SUFFIXES))})")
            out.append((p, files))
        elif p.is_file():
            out.append((p, [p]))
        else:
            raise CharacterError(f"{p}: no such folder or file")
    return out


def read_pictures(name: str, data: Sequence[str | Path], cache_dir: Path, side: int, holdout: float,
                  min_pictures: int, tick: Callable[[int, int], None] = lambda i, n: None) -> PictureSet:
    """Hash and decode every picture once (into the training cache, so training reads them
    there), skip unreadable ones with a warning, and hold out those whose hash position is at
    least 1 - holdout. CharacterError for a folder all broken or too few pictures to train."""
    sources = list_sources(data)
    total, done = sum(len(files) for _, files in sources), 0
    folders = dict.fromkeys(str(p if p.is_dir() else p.parent) for p, _ in sources)  # the app gives files
    result, seen = PictureSet(sources=list(folders)), set()
    for source, files in sources:
        broken = []
        for f in files:
            tick(done, total)
            done += 1
            try:
                entry = ensure_cached(f, cache_dir, side)
            except ImageLoadError as exc:
                log.warning("skipped: %s", exc)
                broken.append((f, str(exc)))
                continue
            if entry.sha256 in seen:
                continue
            seen.add(entry.sha256)
            if held_out(entry.sha256, holdout):
                result.held_out.append(entry.sha256)
            else:
                result.train.append((f, entry.sha256))
        if source.is_dir() and len(broken) == len(files):
            raise CharacterError(f"{source}: none of its {len(files)} pictures can be read ({broken[0][1]})")
        result.skipped += broken
    if not result.train and not result.held_out:
        raise CharacterError(f"{name}: none of the {total} given pictures can be read ({result.skipped[0][1]})")
    result.train.sort(key=lambda fs: fs[1])
    result.held_out.sort()
    if len(result.train) < min_pictures:
        held = f", {len(result.held_out)} more held out" if result.held_out else ""
        bad = f", {len(result.skipped)} unreadable" if result.skipped else ""
        raise CharacterError(f"{name}: {len(result.train)} usable pictures to train on{held}{bad}; "
                             f"a character needs at least {min_pictures}")
    return result


def link_pictures(pictures: PictureSet, folder: Path) -> Path:
    """The training pictures as one flat folder named by content (hard links where the file
    system allows, else copies), replaced as a whole: the sources may be temporary (the app's
    uploads), the folder stays for a re-run."""

    def fill(tmp: Path) -> None:
        for src, sha in pictures.train:
            dst = tmp / f"{sha[:16]}{src.suffix.lower()}"
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)

    return atomic_dir(folder, fill)
