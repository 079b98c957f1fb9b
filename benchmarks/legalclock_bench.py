"""Benchmark: deadlines of 20 working days from random acceptance instants.

    python -m benchmarks.legalclock_bench [COUNT]

Prints the time for COUNT (default 100,000) deadlines through the public API
(`add_working_days`, which builds and validates a `Clock`), and through the bare working-time
core (`add_working_minutes`) for comparison.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta

from legalclock.clock import add_working_days
from legalclock.common import CST
from legalclock.official import default_calendar
from legalclock.workingtime import OfficeHours, add_working_minutes


def main(argv: list[str]) -> int:
    """Run the benchmark and print the figures."""
    count = int(argv[0]) if argv else 100_000
    rng = random.Random(20260920)  # fixed seed: the same starts on every run
    origin = datetime(2004, 1, 1, tzinfo=CST)
    span = int((datetime(2026, 11, 1, tzinfo=CST) - origin).total_seconds())
    starts = [origin + timedelta(seconds=rng.randrange(span)) for _ in range(count)]
    calendar, hours = default_calendar(), OfficeHours()
    _ = calendar.day_index  # built once per calendar; not part of the figure

    began = time.perf_counter()
    for start in starts:
        add_working_days(calendar, hours, start, 20)
    api = time.perf_counter() - began

    minutes = 20 * hours.day_minutes
    began = time.perf_counter()
    for start in starts:
        add_working_minutes(calendar, hours, start, minutes)
    core = time.perf_counter() - began

    print(
        f"{count:,} deadlines of 20 working days: {api:.2f} s via add_working_days "
        f"({api / count * 1e6:.1f} us each), {core:.2f} s via add_working_minutes "
        f"({core / count * 1e6:.1f} us each)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
