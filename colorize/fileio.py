"""Atomic writes: a temporary file in the same folder, then rename, so a killed process never
leaves a half-written file under the final name."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

# What atomic_path's temporary files are called: ".NAME." + mkstemp's 8 random characters + ".part".
PART_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.part$")


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _read_umask()  # read once at import (os.umask is process-wide; threads must not race on it)


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes it private (0600); give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_dir(final: str | Path, fill: Callable[[Path], None]) -> Path:
    """Build a folder under a temporary name with `fill(tmp_dir)`, then rename it into place.
    An existing folder of the same name is replaced."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    tmp.chmod(0o777 & ~UMASK)  # mkdtemp makes it private (0700); the final folder should not be
    try:
        fill(tmp)
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def remove_stale_parts(folder: str | Path, older_than: float) -> list[Path]:
    """Delete atomic_path's temporary files (`.NAME.XXXXXXXX.part`) under `folder` last modified
    before `older_than` (a time.time()): what a process killed while writing left behind. Files of
    writers started since then are newer and stay."""
    removed = []
    for p in Path(folder).rglob(".*.part") if Path(folder).is_dir() else []:
        try:
            if p.is_file() and PART_FILE.match(p.name) and p.stat().st_mtime < older_than:
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


def save_figure(fig, path: str | Path) -> Path:
    """A matplotlib figure as a PNG, written atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
