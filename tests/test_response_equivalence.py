"""meal_responses' vectorised path against a straightforward per-meal reference (issue 14).

The reference below handles one meal at a time with plain Python loops and exact rational
arithmetic (:class:`fractions.Fraction`): it cuts the readings at the window edges by the rules
of :mod:`soleus_analysis.align` (a reading on an edge is used as it is; otherwise the edge is
interpolated between the readings either side when they are no further apart than the gap
limit), takes the pre-meal mean or the value at the meal as the baseline and sums the Wolever
trapezoids. Traces have gaps, meals overlap and readings fall exactly on window bounds.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.align import meal_responses
from soleus_analysis.response import measures_of_rows

T0 = pd.Timestamp("2025-05-05 08:00")
WINDOW = (0, 120)
GAP = 20  # the gap limit of 5-minute data, minutes
RULES = {
    "interval_min": 5.0,
    "max_gap_min": float(GAP),
    "merge_meals_within_min": None,  # every logged meal is its own row
    "insulin_proxy": False,
    "min_meal_carbs_g": 0.0,
}


def _edge(pts: list[tuple[Fraction, Fraction]], x: Fraction) -> Fraction | None:
    """Glucose at ``x`` minutes: a reading there, else interpolated across a spacing <= GAP."""
    for t, y in pts:
        if t == x:
            return y
    before = [(t, y) for t, y in pts if t < x]
    after = [(t, y) for t, y in pts if t > x]
    if not before or not after:
        return None
    (t0, y0), (t1, y1) = before[-1], after[0]
    if t1 - t0 > GAP:
        return None
    return y0 + (x - t0) / (t1 - t0) * (y1 - y0)


def _iauc(curve: list[tuple[Fraction, Fraction]], b: Fraction) -> Fraction:
    """Wolever's incremental area, segment by segment, exactly."""
    area = Fraction(0)
    for (t0, g0), (t1, g1) in zip(curve, curve[1:], strict=False):
        a, c, w = g0 - b, g1 - b, t1 - t0
        if a >= 0 and c >= 0:
            area += w * (a + c) / 2
        elif a > 0 > c:
            area += a * a * w / (2 * (a - c))
        elif c > 0 > a:
            area += c * c * w / (2 * (c - a))
    return area


def reference(minutes: list[Fraction], glucose: list[int], meal: Fraction, rule: str) -> dict:
    """One meal's window, baseline and measures, by hand (None = not defined)."""
    pts = [(t - meal, Fraction(y)) for t, y in zip(minutes, glucose, strict=True)]
    s, e = Fraction(WINDOW[0]), Fraction(WINDOW[1])
    out: dict = {
        "n_readings": sum(1 for t, _ in pts if s <= t <= e),
        "coverage": min(Fraction(sum(1 for t, _ in pts if s <= t < e)) / ((e - s) / 5), 1),
    }
    if rule == "premeal":
        pre = [y for t, y in pts if -30 <= t <= 0]
        base = sum(pre) / len(pre) if pre else None
    else:
        base = _edge(pts, Fraction(0))
    out["baseline_mgdl"] = base
    curve = [(t, y) for t, y in pts if s < t < e]
    y_s, y_e = _edge(pts, s), _edge(pts, e)
    if y_s is not None:
        curve.insert(0, (s, y_s))
    if y_e is not None:
        curve.append((e, y_e))
    if len(curve) >= 2:
        area = Fraction(0)
        for (t0, g0), (t1, g1) in zip(curve, curve[1:], strict=False):
            area += (t1 - t0) * (g0 + g1) / 2
        out["total_auc_mgdl_min"] = area
        out["iauc_mgdl_min"] = None if base is None else _iauc(curve, base)
        if base is not None:
            net = sum(
                ((t1 - t0) * (g0 + g1 - 2 * base) / 2)
                for (t0, g0), (t1, g1) in zip(curve, curve[1:], strict=False)
            )
            out["net_auc_mgdl_min"] = net
        else:
            out["net_auc_mgdl_min"] = None
    else:
        out["total_auc_mgdl_min"] = out["iauc_mgdl_min"] = out["net_auc_mgdl_min"] = None
    if curve:
        peak = max(y for _, y in curve)
        out["peak_mgdl"] = peak
        out["time_to_peak_min"] = next(t for t, y in curve if y == peak)
    else:
        out["peak_mgdl"] = out["time_to_peak_min"] = None
    return out


@st.composite
def traces(draw):
    """A 5-minute trace with holes, and meals on and off the grid, some overlapping."""
    n = draw(st.integers(30, 100))
    glucose = draw(st.lists(st.integers(40, 300), min_size=n, max_size=n))
    keep = draw(st.lists(st.booleans(), min_size=n, max_size=n).map(np.array))
    keep |= np.arange(n) % 3 == 0  # holes, but no trace emptier than a third
    hole_meals = []
    if draw(st.booleans()):  # a hole: 20 min (the gap limit), 25 min, ... 80 min
        a = draw(st.integers(1, n - 4))
        length = draw(st.integers(3, 15))
        keep[a : a + length] = False
        keep[a - 1] = True
        # a meal whose window starts, or ends, inside the hole
        inside = Fraction(5 * a) + Fraction(draw(st.integers(0, 10 * length - 5)), 2)
        hole_meals.append(inside - draw(st.sampled_from([0, 120])))
    minutes = [Fraction(5 * i) for i in range(n) if keep[i]]
    glucose = [g for g, k in zip(glucose, keep, strict=True) if k]
    span = 5 * (n - 1)
    meals = hole_meals
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):  # a reading exactly at the meal and at the window's end
            meals.append(Fraction(5 * draw(st.integers(0, n - 1))))
        else:
            meals.append(Fraction(draw(st.integers(-60, 2 * span)), 2))
        if draw(st.booleans()):  # a second meal inside this one's window
            meals.append(meals[-1] + draw(st.sampled_from([Fraction(5), Fraction(45, 2), 60])))
    return minutes, glucose, sorted(set(meals))


def _close(got: float, want) -> bool:
    if want is None:
        return bool(np.isnan(got))
    return got == pytest.approx(float(want), rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(traces(), st.sampled_from(["premeal", "t0"]))
def test_meal_responses_equal_a_per_meal_exact_reference(tr, rule):
    minutes, glucose, meals = tr
    readings = pd.DataFrame(
        {
            "subject": "a",
            "time": T0 + pd.to_timedelta([float(m) for m in minutes], unit="min"),
            "glucose_mgdl": np.asarray(glucose, dtype=float),
        }
    )
    events = pd.DataFrame(
        {
            "subject": "a",
            "time": T0 + pd.to_timedelta([float(m) for m in meals], unit="min"),
            "kind": "meal",
        }
    )
    out = meal_responses(readings, events, baseline=rule, **RULES)
    assert len(out) == len(meals)
    for row, meal in zip(out.itertuples(index=False), meals, strict=True):
        want = reference(minutes, glucose, meal, rule)
        assert row.n_readings == want["n_readings"]
        assert row.coverage == pytest.approx(float(want["coverage"]), rel=1e-15)
        assert _close(row.baseline_mgdl, want["baseline_mgdl"])
        if want["n_readings"] == 0:  # an empty window has no measures
            assert np.isnan(row.iauc_mgdl_min) and np.isnan(row.peak_mgdl)
            continue
        for col in (
            "iauc_mgdl_min",
            "net_auc_mgdl_min",
            "total_auc_mgdl_min",
            "peak_mgdl",
            "time_to_peak_min",
        ):
            assert _close(getattr(row, col), want[col]), (col, getattr(row, col), want[col])
        if want["iauc_mgdl_min"] is not None:
            assert row.iauc_mgdl_min >= 0


@st.composite
def sorted_rows(draw):
    """Rows sorted by time, valid samples first and NaN after, with ties and edge samples."""
    m = draw(st.integers(1, 6))
    w = draw(st.integers(1, 10))
    t = np.full((m, w), np.nan)
    y = np.full((m, w), np.nan)
    for i in range(m):
        k = draw(st.integers(0, w))
        ti = sorted(
            draw(
                st.lists(
                    st.sampled_from([-10, 0, 2.5, 5, 60, 117.5, 120, 130]), min_size=k, max_size=k
                )
            )
        )
        t[i, :k] = ti
        y[i, :k] = draw(st.lists(st.floats(40, 300), min_size=k, max_size=k))
    b = np.asarray(draw(st.lists(st.floats(60, 200), min_size=m, max_size=m)))
    return t, y, b


@settings(max_examples=100, deadline=None)
@given(sorted_rows(), st.sampled_from([(0.0, 120.0), (5.0, 5.0), (None, 60.0), (2.5, None)]))
def test_sorted_rows_path_is_bit_identical_to_the_general_one(rows, window):
    """``sorted_rows=True`` (meal_responses' path) skips the sort, never the values."""
    t, y, b = rows
    general = measures_of_rows(t, y, b, window=window)
    fast = measures_of_rows(t, y, b, window=window, sorted_rows=True)
    for k, v in general.items():
        np.testing.assert_array_equal(fast[k], v, err_msg=k)
