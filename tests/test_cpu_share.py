"""The trainer's CPU-share watch: it measures the CPU time the process really got, and warns once per
spell when other processes keep taking it (one low window is a validation, not a neighbour)."""

import time

from colorize.training.cpu_share import CpuShareWatch


def test_a_sleeping_process_measures_almost_no_share_and_is_warned_once_per_spell():
    watch = CpuShareWatch(threads=2)
    warnings = []
    for step in range(1, 5):
        time.sleep(0.15)  # no CPU used: the share a process gets when others hold the cores
        share = watch.sample()
        assert share is not None and share < 0.2
        warnings.append(watch.check(share, step))
    assert warnings[0] is None and warnings[2] is None and warnings[3] is None
    assert "step 2:" in warnings[1] and "of its 2 threads' CPU time" in warnings[1]
    # the share recovers, then falls again: a new spell, a new warning
    assert watch.check(0.9, 5) is None
    assert watch.check(0.3, 6) is None and "step 7:" in watch.check(0.3, 7)


def test_a_busy_thread_measures_more_share_than_a_sleeping_one():
    watch = CpuShareWatch(threads=1)
    time.sleep(0.2)
    asleep = watch.sample()
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        pass  # busy: about all of one thread's CPU on an idle machine, less where others hold the cores
    busy = watch.sample()
    assert asleep < 0.05 and asleep < busy <= 1.05
