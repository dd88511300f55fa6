"""Shared by the benchmark scripts: one JSON line per measurement, with the context needed to
compare figures across machines."""

from __future__ import annotations

import json
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable

import torch


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_context() -> dict:
    """The CPU as torch uses it: model name, torch's capability (AVX2, AVX512, ...: honours
    ATEN_CPU_CAPABILITY), its bf16 features and whether training's "auto" counts bf16 as native
    (colorize.device); a figure means little without them (bf16 is 6x faster or slower by CPU)."""
    from colorize.device import cpu_facts

    return cpu_facts().summary()


def context(device: torch.device) -> dict:
    ctx = {"device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
           "machine": platform.machine(), **cpu_context()}
    if device.type == "cuda":
        ctx["gpu"] = torch.cuda.get_device_name(device)
    return ctx


def timed(fn: Callable[[], None], repeats: int, warmup: int, sync: Callable[[], None] = lambda: None) -> dict:
    """Median, min and max seconds of `fn` over `repeats` runs after `warmup` untimed ones; and the
    median CPU seconds of this process (all its threads), the fairer figure on a machine that other
    work keeps busy (run with OMP_WAIT_POLICY=PASSIVE there, so waiting threads do not spin)."""
    for _ in range(warmup):
        fn()
    sync()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "cpu_median_s": statistics.median(cpu), "repeats": repeats}


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)
    sys.stdout.flush()
