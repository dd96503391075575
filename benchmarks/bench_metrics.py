"""Time :func:`soleus_analysis.glycemic_metrics` on generated 5-minute CGM data (not a test).

Datasets (seeded): one person x 365 days, and 200 people x 14 days. Prints the median of 5 runs
of ``glycemic_metrics`` (all columns) and, when ``iglu-python`` is installed, one run of iglu's
equivalent functions on the smaller dataset (1 x 365 days, ~100,000 readings) for comparison.

Run: ``python benchmarks/bench_metrics.py [--no-iglu]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd
from tables import record

from soleus_analysis.metrics import glycemic_metrics


def make_cohort(n_people: int, n_days: int, seed: int = 0, step_min: float = 5.0) -> pd.DataFrame:
    """Synthetic 5-minute CGM readings (mg/dL) with meals, noise and ~3 % missed readings."""
    rng = np.random.default_rng(seed)
    n = int(n_days * 1440 / step_min)
    minutes = np.arange(n) * step_min
    tod = minutes % 1440
    frames = []
    for p in range(n_people):
        meals = np.zeros(n)
        for centre in (7.5 * 60, 12.5 * 60, 19 * 60):
            lag = (tod - centre - rng.normal(0, 20)) % 1440
            meals += rng.uniform(30, 90) * (lag / 45) * np.exp(1 - lag / 45) * (lag < 360)
        g = 100 + 10 * p % 40 + meals + np.cumsum(rng.normal(0, 1, n)) * 0.3 + rng.normal(0, 4, n)
        keep = rng.random(n) > 0.03
        start = pd.Timestamp("2025-01-01") + pd.Timedelta(minutes=int(rng.integers(0, 1440)))
        frames.append(
            pd.DataFrame(
                {
                    "subject": f"P{p:03d}",
                    "time": start + pd.to_timedelta(minutes[keep], unit="min"),
                    "glucose_mgdl": np.clip(np.round(g[keep]), 40, 400),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def median_time(fn, repeats: int = 5) -> float:
    """Median wall time (s) of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def iglu_all(df: pd.DataFrame) -> None:
    """The iglu-python functions matching glycemic_metrics' columns."""
    import iglu_python as iglu

    d = df.rename(columns={"subject": "id", "glucose_mgdl": "gl"})[["id", "time", "gl"]]
    for fn in (iglu.mean_glu, iglu.sd_glu, iglu.cv_glu, iglu.gmi, iglu.j_index, iglu.lbgi):
        fn(d)
    iglu.hbgi(d)
    iglu.gri(d)
    iglu.in_range_percent(d, target_ranges=[[70, 180], [70, 140]])
    iglu.below_percent(d)
    iglu.above_percent(d)
    iglu.active_percent(d)
    iglu.conga(d, n=1)
    iglu.modd(d)
    iglu.mage(d)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-iglu", action="store_true", help="skip the iglu-python comparison")
    args = parser.parse_args()
    rows = []
    small = None
    for people, days, target in ((1, 365, 0.02), (200, 14, 0.4)):
        df = make_cohort(people, days, seed=people)
        if people == 1:
            small = df
        t = median_time(lambda df=df: glycemic_metrics(df))
        rows.append(("glycemic_metrics", f"{people} x {days} d", len(df), t, target))
    if not args.no_iglu and small is not None:
        try:
            import iglu_python  # noqa: F401
        except ImportError:
            pass
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                iglu_all(small)
                rows.append(
                    ("iglu-python 0.4.3", "1 x 365 d", len(small), time.perf_counter() - t0, None)
                )
    peer = {data: t for name, data, _, t, _ in rows if name.startswith("iglu")}
    for name, data, n, t, _target in rows:
        if name != "glycemic_metrics" or data not in peer:
            continue
        ratio = t / peer[data]
        record(
            "bench_metrics.py",
            f"glycemic_metrics, all columns, {data} ({n:,} readings)",
            f"{t:.3f} s",
            f"iglu-python {peer[data]:.1f} s",
            ratio,
            "<= 0.02x (a 50x lead)",
            ratio <= 0.02,
        )
    print(f"{'function':<20} {'data':<12} {'readings':>9} {'seconds':>9} {'target':>8}")
    for name, data, n, t, target in rows:
        tgt = f"{target:.2f}" if target else "-"
        print(f"{name:<20} {data:<12} {n:>9} {t:>9.4f} {tgt:>8}")


if __name__ == "__main__":
    main()
