"""bench.load's own arithmetic (the run itself is `make load`, not part of `make test`)."""

import os

from bench.load import busy, cpu_ticks, percentile


def test_how_busy_each_cpu_was_is_the_share_of_its_ticks_that_were_not_idle():
    before = {0: (1000, 500), 1: (1000, 900)}
    after = {0: (1200, 520), 1: (1200, 1080), 2: (50, 50)}  # a CPU that came online: left out
    assert busy(before, after) == {0: 90.0, 1: 10.0}


def test_cpu_ticks_are_read_for_every_cpu_this_process_may_use():
    ticks = cpu_ticks()
    assert set(os.sched_getaffinity(0)) <= set(ticks)  # the ones bench.load pins to
    assert all(total >= idle >= 0 for total, idle in ticks.values())


def test_the_p95_is_a_measured_value_by_nearest_rank():
    values = [float(v) for v in range(1, 21)]  # 1 … 20
    assert percentile(values, 95) == 19.0
    assert percentile(values, 50) == 10.0
    assert percentile([], 95) == 0.0
