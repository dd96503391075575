"""Time ``meal_responses`` on a person-year of 5-minute CGM data with 1,000 meals.

A benchmark, not a test: ``python benchmarks/bench_responses.py [--seed 0] [--rounds 21]``.
Every case and the floor (numpy iAUC of every meal at once on the same windows with the same
arithmetic, :func:`floor_iauc`) run in interleaved rounds; the table prints the median, min and
max wall time and each median's ratio to the floor's, all from the same run. The data are
synthetic (a smooth daily rhythm, meal bumps, noise, 2 % missed readings), from the given seed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from tables import record

from soleus_analysis.align import meal_curves, meal_responses
from soleus_analysis.clean import clean
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
    readings: pd.DataFrame,
    meal_times: np.ndarray,
    window: tuple[float, float] = (0.0, 120.0),
    premeal: tuple[float, float] = (-30.0, 0.0),
) -> np.ndarray:
    """The floor: numpy iAUC of every meal at once, on the same windows with the same arithmetic.

    The readings' sorted times are searched once for every window bound; the baseline is the
    mean of the readings with ``premeal[0] <= t <= premeal[1]`` minutes; the curve is cut at the
    window edges by linear interpolation with the neighbouring readings; each segment counts its
    trapezoid above the baseline, a segment crossing the baseline only its triangle above it
    (Wolever / ISO 26642). No cleaning, no gap or coverage rules, no other measure, no table.

    Parameters
    ----------
    readings : pandas.DataFrame
        ``time`` (sorted) and ``glucose_mgdl`` (mg/dL), one subject.
    meal_times : numpy.ndarray of datetime64
        Meal times.
    window, premeal : (float, float)
        Window and pre-meal span, minutes after the meal.

    Returns
    -------
    numpy.ndarray
        iAUC per meal, mg/dL x min.
    """
    t = readings["time"].to_numpy("datetime64[ns]").view(np.int64)
    g = readings["glucose_mgdl"].to_numpy(float)
    m = meal_times.astype("datetime64[ns]").view(np.int64)
    minute = 60_000_000_000
    n = len(t)
    # pre-meal mean: readings in [m + premeal[0], m + premeal[1]]
    p0 = np.searchsorted(t, m + int(premeal[0] * minute), side="left")
    p1 = np.searchsorted(t, m + int(premeal[1] * minute), side="right")
    cg = np.concatenate([[0.0], np.cumsum(g)])
    base = (cg[p1] - cg[p0]) / np.maximum(p1 - p0, 1)
    # the window's readings plus one neighbour on each side, as minutes after the meal
    s, e = m + int(window[0] * minute), m + int(window[1] * minute)
    lo = np.maximum(np.searchsorted(t, s, side="left") - 1, 0)
    hi = np.minimum(np.searchsorted(t, e, side="right") + 1, n)
    width = int(max((hi - lo).max(), 2))
    idx = lo[:, None] + np.arange(width)[None, :]
    inside = idx < hi[:, None]
    idx = np.minimum(idx, n - 1)
    tt = (t[idx] - m[:, None]) / minute
    # clip every point to the window: a point outside takes the edge's interpolated value
    ta = np.clip(tt, window[0], window[1])
    dtt = np.diff(tt, axis=1)
    gg = g[idx]
    slope = np.diff(gg, axis=1) / np.where(dtt > 0, dtt, 1.0)
    y = gg.copy()
    y[:, :-1] = np.where(
        tt[:, :-1] < window[0], gg[:, :-1] + slope * (ta[:, :-1] - tt[:, :-1]), y[:, :-1]
    )
    y[:, 1:] = np.where(
        tt[:, 1:] > window[1], gg[:, 1:] + slope * (ta[:, 1:] - tt[:, 1:]), y[:, 1:]
    )
    d = y - base[:, None]
    d0, d1 = d[:, :-1], d[:, 1:]
    w = np.where(inside[:, 1:], np.diff(ta, axis=1), 0.0)
    up = (d0 >= 0) & (d1 >= 0)
    tri = w * np.maximum(d0, d1) ** 2 / (2.0 * (np.abs(d0) + np.abs(d1)) + (d0 == d1))
    area = np.where(up, w * (d0 + d1) / 2.0, np.where((d0 > 0) != (d1 > 0), tri, 0.0))
    return area.sum(axis=1)


def _rounds(cases: dict, rounds: int) -> dict[str, list[float]]:
    """Wall times (s) of every case, the cases interleaved round by round (after a warm-up)."""
    for fn in cases.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--meals", type=int, default=1000)
    args = ap.parse_args()
    readings, events = person_year(args.seed, args.meals)
    glucose_only = Rules(insulin_proxy=False)
    cleaned = clean(readings, glucose_only)
    n_meals = int((events["kind"] == "meal").sum())
    meals = meal_responses(cleaned, events, glucose_only)
    meal_t = events.loc[events["kind"] == "meal", "time"].to_numpy("datetime64[ns]")
    floor = floor_iauc(readings, meal_t)
    # the floor is the same iAUC: check it on the meals that are not merged
    single = (meals["merged_meals"] == 1).to_numpy()
    t_single = meals["meal_time"].to_numpy("datetime64[ns]")[single]
    both = np.isin(meal_t, t_single)
    gap = np.nanmax(
        np.abs(floor[both] - meals["iauc_mgdl_min"].to_numpy()[single])
        / np.maximum(np.abs(floor[both]), 1.0)
    )
    print(f"synthetic person-year: {len(readings):,} readings (5-min), {n_meals:,} meals")
    cases = {
        "floor: numpy iAUC on the same windows": lambda: floor_iauc(readings, meal_t),
        "meal_responses baseline='premeal'": lambda: meal_responses(cleaned, events, glucose_only),
        "meal_responses baseline='t0'": lambda: meal_responses(
            cleaned, events, glucose_only, baseline="t0"
        ),
        "meal_responses baseline='p40_24h'": lambda: meal_responses(
            cleaned, events, glucose_only, baseline="p40_24h"
        ),
        "meal_responses, default rules (+ proxy)": lambda: meal_responses(cleaned, events),
        "meal_responses on raw readings (+ clean)": lambda: meal_responses(
            readings, events, glucose_only
        ),
        "clean (the stage before, for reference)": lambda: clean(readings, glucose_only),
        "meal_curves (-30..120 every 5 min)": lambda: meal_curves(cleaned, meals),
    }
    times = _rounds(cases, args.rounds)
    print(f"{args.rounds} interleaved rounds, medians")
    print(f"{'call':<44}{'median ms':>10}{'min ms':>9}{'max ms':>9}{'/ floor':>9}")
    floor_med = float(np.median(times["floor: numpy iAUC on the same windows"]))
    for name, ts in times.items():
        med = float(np.median(ts))
        print(
            f"{name:<44}{1e3 * med:>10.2f}{1e3 * min(ts):>9.2f}{1e3 * max(ts):>9.2f}"
            f"{med / floor_med:>8.1f}x"
        )
    ratio = float(np.median(times["meal_responses baseline='premeal'"])) / floor_med
    record("bench_responses.py", f"meal_responses, {n_meals:,} meals in a person-year",
           f"{1e3 * ratio * floor_med:.1f} ms", f"numpy iAUC on the same windows "
           f"{1e3 * floor_med:.1f} ms", ratio, "<= 5x", ratio <= 5)  # fmt: skip
    print(
        f"meal_responses (clean stage given, as the pipeline calls it) / floor: {ratio:.1f}x "
        "(target at most 5x)"
    )
    print(
        f"floor iAUC vs meal_responses on the {int(single.sum())} unmerged meals: "
        f"largest relative difference {gap:.1e}"
    )
    print(
        f"included meals: {int(meals['included'].sum())} of {len(meals)}; "
        f"spu {int((meals['condition'] == 'spu').sum())}"
    )


if __name__ == "__main__":
    main()
