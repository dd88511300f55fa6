"""A minimum interval between API requests, shared by every thread that asks."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """At most `rate` acquisitions per second, and never two closer than 1/rate seconds.

    The next slot is counted from the moment the previous caller actually went, not from when it
    was scheduled, so a late wake-up never lets the following request in early: the achieved rate
    can only fall short of `rate`, never pass it. rate <= 0 means no limit."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        if self.interval <= 0:
            return
        # Holding the lock while sleeping queues the threads: each waits its own turn.
        with self._lock:
            delay = self._next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next = time.monotonic() + self.interval
