"""The rate limiter spaces acquisitions from several threads, never closer than its interval."""

from __future__ import annotations

import threading
import time

from scraper.ratelimit import MARGIN, RateLimiter


def test_threads_share_one_interval():
    rate = 50.0
    limiter = RateLimiter(rate)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert len(stamps) == 20
    interval = (1 + MARGIN) / rate
    # Stamps are taken just after acquire() returns, so scheduling jitter blurs single gaps; four
    # threads not sharing the interval would show gaps near 0.
    assert min(gaps) >= 0.5 * interval
    assert sum(gaps) >= 0.98 * len(gaps) * interval


def test_zero_rate_means_no_limit():
    limiter = RateLimiter(0)
    t0 = time.monotonic()
    for _ in range(1000):
        limiter.acquire()
    assert time.monotonic() - t0 < 0.5
