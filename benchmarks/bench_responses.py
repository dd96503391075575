"""Time ``meal_responses`` on a person-year of 5-minute CGM data with 1,000 meals.

A benchmark, not a test: ``python benchmarks/bench_responses.py [--seed 0] [--repeats 5]``.
Prints the median (and min/max) wall time of each call for several baseline rules. The data
are synthetic (a smooth daily rhythm, meal bumps, noise), generated from the given seed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from soleus_analysis.align import meal_curves, meal_responses
from soleus_analysis.core.rules import Rules


def person_year(
    seed: int = 0, n_meals: int = 1000, days: int = 365
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic readings (5-min, ``days`` days) and events (meals, SPU bouts, exercise)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-01-01T00:00:00", "ns")
    n = days * 288
    minutes = np.arange(n) * 5.0
    meal_min = np.sort(rng.uniform(60, days * 1440 - 240, n_meals))
    glucose = 95 + 8 * np.sin(2 * np.pi * minutes / 1440) + rng.normal(0, 3, n)
    # add a gamma-shaped bump after each meal (vectorised over a 4-hour horizon)
    idx = np.searchsorted(minutes, meal_min)
    offs = np.arange(48)
    rows = np.clip(idx[:, None] + offs[None, :], 0, n - 1)
    rel = minutes[rows] - meal_min[:, None]
    bump = 50 * (rel / 45.0) * np.exp(1 - rel / 45.0)
    np.add.at(glucose, rows.ravel(), np.where(rel > 0, bump, 0).ravel())
    keep = rng.random(n) > 0.02  # 2% missing readings
    readings = pd.DataFrame(
        {
            "subject": "p01",
            "time": start + (minutes[keep] * 60e9).astype("timedelta64[ns]"),
            "glucose_mgdl": glucose[keep],
        }
    )
    meal_t = start + (meal_min * 60e9).astype("timedelta64[ns]")
    spu_pick = rng.random(n_meals) < 0.5
    spu_t = meal_t[spu_pick] - np.timedelta64(10, "m")
    ex_t = meal_t[rng.random(n_meals) < 0.1] + np.timedelta64(30, "m")
    events = pd.concat(
        [
            pd.DataFrame(
                {
                    "subject": "p01",
                    "time": meal_t,
                    "kind": "meal",
                    "carbs_g": rng.uniform(20, 90, n_meals),
                }
            ),
            pd.DataFrame(
                {
                    "subject": "p01",
                    "time": spu_t,
                    "end": spu_t + np.timedelta64(60, "m"),
                    "kind": "spu",
                }
            ),
            pd.DataFrame(
                {
                    "subject": "p01",
                    "time": ex_t,
                    "end": ex_t + np.timedelta64(20, "m"),
                    "kind": "exercise",
                }
            ),
        ],
        ignore_index=True,
    )
    return readings, events


def floor_iauc(
    readings: pd.DataFrame, meal_times: np.ndarray, window_min: float = 120.0
) -> np.ndarray:
    """The floor: numpy iAUC (trapezoids of the rise above the pre-meal mean, -30..0 min) on the
    same windows, every meal at once from padded index arrays (no cleaning, no exclusions)."""
    t = readings["time"].to_numpy("datetime64[ns]").astype(np.int64)
    g = readings["glucose_mgdl"].to_numpy(float)
    m = meal_times.astype("datetime64[ns]").astype(np.int64)
    minute = 60_000_000_000
    lo = np.searchsorted(t, m - 30 * minute)
    start = np.searchsorted(t, m)
    end = np.searchsorted(t, m + int(window_min) * minute, side="right")
    width = int(max((end - lo).max(), 1))
    idx = np.minimum(lo[:, None] + np.arange(width)[None, :], len(t) - 1)
    tt = (t[idx] - m[:, None]) / minute
    gg = g[idx]
    pre = (idx < start[:, None]) & (idx >= lo[:, None])
    base = np.where(pre, gg, 0).sum(1) / np.maximum(pre.sum(1), 1)
    inwin = (idx >= start[:, None]) & (idx < end[:, None])
    rise = np.where(inwin, np.maximum(gg - base[:, None], 0), 0)
    seg = inwin[:, 1:] & inwin[:, :-1]
    return np.where(seg, 0.5 * (rise[:, 1:] + rise[:, :-1]) * np.diff(tt, axis=1), 0).sum(1)


def _time(fn, repeats: int) -> tuple[float, float, float]:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), min(times), max(times)


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--meals", type=int, default=1000)
    args = ap.parse_args()
    readings, events = person_year(args.seed, args.meals)
    n_meals = int((events["kind"] == "meal").sum())
    print(f"synthetic person-year: {len(readings):,} readings (5-min), {n_meals:,} meals")
    print(f"{'call':<44}{'median s':>10}{'min s':>9}{'max s':>9}")
    glucose_only = Rules(insulin_proxy=False)
    meals = meal_responses(readings, events, glucose_only)
    cases = {
        "meal_responses baseline='premeal'": lambda: meal_responses(readings, events, glucose_only),
        "meal_responses baseline='t0'": lambda: meal_responses(
            readings, events, glucose_only, baseline="t0"
        ),
        "meal_responses baseline='p40_24h'": lambda: meal_responses(
            readings, events, glucose_only, baseline="p40_24h"
        ),
        "meal_responses, default rules (+ proxy)": lambda: meal_responses(readings, events),
        "meal_curves (-30..120 every 5 min)": lambda: meal_curves(readings, meals),
    }
    meal_t = events.loc[events["kind"] == "meal", "time"].to_numpy("datetime64[ns]")
    results = {}
    for name, fn in {
        **cases,
        "floor: numpy iAUC on the same windows": lambda: floor_iauc(readings, meal_t),
    }.items():
        med, lo, hi = _time(fn, args.repeats)
        results[name] = med
        print(f"{name:<44}{med:>10.3f}{lo:>9.3f}{hi:>9.3f}")
    ratio = (
        results["meal_responses baseline='premeal'"]
        / results["floor: numpy iAUC on the same windows"]
    )
    print(f"meal_responses / floor: {ratio:.1f}x (target at most 5x)")
    print(
        f"included meals: {int(meals['included'].sum())} of {len(meals)}; "
        f"spu {int((meals['condition'] == 'spu').sum())}"
    )


if __name__ == "__main__":
    main()
