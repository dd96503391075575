"""Time the simulator: ``python benchmarks/bench_simulate.py`` (a benchmark, not a test).

The methods validation simulates hundreds of trials, so one trial must be fast: 20 people x 2
conditions x 180 min of the hamilton2022 protocol (with and without the CGM sensor), and a
14-day free-living self-tracker.
"""

from __future__ import annotations

import statistics
import time

from soleus_analysis.simulate import simulate_study


def _median(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    rows = [
        (
            "hamilton2022, 20 people x 2, no CGM",
            lambda: simulate_study("hamilton2022", n=20, seed=1, cgm=None),
        ),
        (
            "hamilton2022, 20 people x 2, with CGM",
            lambda: simulate_study("hamilton2022", n=20, seed=1),
        ),
        ("freeliving, 14 days, 42 meals", lambda: simulate_study("freeliving", seed=1)),
    ]
    print(f"{'simulation':<42}{'median s':>10}")
    for name, fn in rows:
        print(f"{name:<42}{_median(fn, 3):>10.2f}")


if __name__ == "__main__":
    main()
