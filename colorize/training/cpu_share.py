"""Is another process taking this training run's CPU?

On a 2-core machine one busy job in another terminal halves the CPU time the run gets, and the
run's threads, which meet at a barrier after every operation, then wait on each other: measured
here, the default recipe went from 80 to 20 steps in 40 s. Its loss curve looks the same, only
later, so the run says so. The share is this process's CPU seconds (all its threads) over the
wall seconds times its torch threads (the data worker, a separate process, is not counted):
idle, the default recipe measures about 0.75 with sleeping OpenMP waits (what `colorize train`
sets) and 0.86 spinning; beside one busy process 0.48-0.49 either way (bench/train_shared.py).
"""

from __future__ import annotations

import os
import time

LOW = 0.6  # below this share for WINDOWS log windows in a row: warn
WINDOWS = 2  # one low window is a validation or a checkpoint write, not a neighbour


class CpuShareWatch:
    def __init__(self, threads: int, low: float = LOW, windows: int = WINDOWS,
                 clock=time.perf_counter, cpu_clock=time.process_time):
        self.threads = max(int(threads), 1)
        self.low, self.windows = low, windows
        self.clock, self.cpu_clock = clock, cpu_clock
        self.streak = 0
        self.wall0, self.cpu0 = clock(), cpu_clock()

    def sample(self) -> float | None:
        """The share of the run's threads' CPU time since the last sample, or None for an empty window."""
        wall, cpu = self.clock(), self.cpu_clock()
        dwall, dcpu = wall - self.wall0, cpu - self.cpu0
        self.wall0, self.cpu0 = wall, cpu
        if dwall <= 0:
            return None
        return dcpu / (dwall * self.threads)

    def check(self, share: float | None, step: int) -> str | None:
        """A one-line warning when the share stayed low for `windows` windows in a row; once per low spell."""
        if share is None:
            return None
        self.streak = self.streak + 1 if share < self.low else 0
        if self.streak != self.windows:
            return None
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        return (f"step {step}: this run got {share:.0%} of its {self.threads} threads' CPU time (load average "
                f"{load:.1f} on {os.cpu_count()} CPUs): other processes share the cores and slow it many times "
                f"over; finish them, lower their priority, or train with --set train.threads=1 "
                f"(README, Train: give the run the CPU)")
