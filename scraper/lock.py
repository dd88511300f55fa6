"""One fetch or clean at a time per DATA_DIR. An OS file lock: released by the kernel when the
process dies, even by SIGKILL, so there is never a stale lock to delete by hand."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DataDirBusy(Exception):
    pass


class DataDirLock:
    def __init__(self, data_dir: str | Path):
        self.path = Path(data_dir) / ".lock"
        self.fd: int | None = None

    def __enter__(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise DataDirBusy(f"{self.path.parent}: another scraper process is using this folder") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
