"""A minimum interval between API requests, shared by every thread that asks."""

from __future__ import annotations

import threading
import time

# Requests reach the server with a few milliseconds of jitter; spacing them 1% wider than 1/rate
# keeps the rate the server sees below --rate even then, at no practical cost.
MARGIN = 0.01


class RateLimiter:
    """At most `rate` acquisitions per second: never two closer than (1 + MARGIN) / rate seconds.

    The next slot is counted from the moment the previous caller actually went, not from when it
    was scheduled, so a late wake-up never lets the following request in early: the achieved rate
    can only fall short of `rate`, never pass it. rate <= 0 means no limit."""

    def __init__(self, rate: float):
        self.interval = (1.0 + MARGIN) / rate if rate > 0 else 0.0
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
