"""The kept images as one flat folder that `python -m colorize train --data EXPORT_DIR` reads:
hard links where the file system allows (no extra space), copies otherwise. Built beside the
target and renamed into place, so a training run never sees half an export."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from colorize.fileio import atomic_dir

MARKER = ".scraper-export"  # says the folder is ours to replace; not an image, so training skips it


class ExportError(Exception):
    pass


def export_kept(files: list[Path], export_dir: Path) -> tuple[int, int]:
    """Returns (hard links, copies). Refuses to replace a non-empty folder it did not make."""
    export_dir = Path(export_dir)
    if export_dir.exists() and any(export_dir.iterdir()) and not (export_dir / MARKER).exists():
        raise ExportError(f"{export_dir}: exists and was not made by `scraper clean --export`; "
                          "choose an empty or new folder")
    counts = [0, 0]

    def fill(tmp: Path) -> None:
        tmp.chmod(0o755)  # a temporary folder is private; the export is not
        (tmp / MARKER).write_text("made by python -m scraper clean --export; replaced on every run\n")
        for src in files:
            dst = tmp / src.name
            try:
                os.link(src, dst)
                counts[0] += 1
            except OSError:
                shutil.copy2(src, dst)
                counts[1] += 1

    atomic_dir(export_dir, fill)
    return counts[0], counts[1]
