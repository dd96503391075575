"""Tests of soleus_analysis.align: meal windows, baselines, merging, exclusions, SPU condition.

Expected values are worked by hand in the comments (triangle areas, means, percentiles by
numpy's linear rule computed in closed form, overlap minutes), never copied from the code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis import response
from soleus_analysis.align import (
    REASON_NO_READINGS,
    meal_curves,
    meal_responses,
    merge_meals,
    prepare_meals,
)
from soleus_analysis.core.errors import InputError

T0 = pd.Timestamp("2025-03-03 12:00")
MEASURES = list(response.MEASURE_COLUMNS)


def trace(minutes, values, subject="a", t0=T0, censored=None) -> pd.DataFrame:
    """Readings at ``minutes`` after ``t0`` with the given values (mg/dL)."""
    minutes = np.asarray(minutes, dtype=float)
    df = pd.DataFrame(
        {
            "subject": subject,
            "time": t0 + pd.to_timedelta(minutes, unit="min"),
            "glucose_mgdl": np.asarray(values, dtype=float),
        }
    )
    if censored is not None:
        df["censored"] = censored
    return df


def triangle_trace(step=5, start=-60, stop=240, height=60.0, base=100.0) -> pd.DataFrame:
    """Flat ``base``, rising linearly from 0 to ``height`` at 60 min, back to base at 120."""
    m = np.arange(start, stop + 1, step, dtype=float)
    g = base + height * np.clip(1 - np.abs(m - 60) / 60, 0, None)
    return trace(m, g)


def meals_at(*minutes, subject="a", **cols) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "subject": subject,
            "time": [T0 + pd.Timedelta(minutes=float(x)) for x in minutes],
            "kind": "meal",
        }
    )
    for k, v in cols.items():
        df[k] = v
    return df


# --------------------------------------------------------------------------- hand-worked windows


def test_triangle_on_5min_grid():
    out = meal_responses(triangle_trace(), meals_at(0))
    row = out.iloc[0]
    # triangle of base 120 min and height 60 mg/dL above the flat premeal baseline of 100
    assert row["baseline_mgdl"] == pytest.approx(100.0)
    assert row["iauc_mgdl_min"] == pytest.approx(0.5 * 120 * 60)
    assert row["net_auc_mgdl_min"] == pytest.approx(3600.0)
    assert row["total_auc_mgdl_min"] == pytest.approx(100 * 120 + 3600)
    assert row["peak_mgdl"] == pytest.approx(160.0)
    assert row["delta_peak_mgdl"] == pytest.approx(60.0)
    assert row["time_to_peak_min"] == pytest.approx(60.0)
    assert row["glucose_120_mgdl"] == pytest.approx(100.0)
    assert row["n_readings"] == 25  # 0, 5, ..., 120 inclusive
    assert row["coverage"] == pytest.approx(1.0)
    assert row["condition"] == "control"
    assert row["spu_minutes"] == 0.0
    assert pd.isna(row["excluded_reason"]) and bool(row["included"])
    assert row["time_of_day_h"] == pytest.approx(12.0)


def test_off_grid_meal_uses_window_edges_interpolated():
    # readings every 5 min on the hour grid; meal at 12:02; glucose linear after 11:00 so that
    # g(m) = 100 + 0.5 * m with m minutes after the meal (exact under linear interpolation)
    grid = np.arange(-60, 241, 5, dtype=float)  # minutes after 12:00
    m = grid - 2.0
    readings = trace(grid, 100 + 0.5 * m)
    out = meal_responses(readings, meals_at(2), baseline="t0").iloc[0]
    assert out["baseline_mgdl"] == pytest.approx(100.0)
    # area of 0.5*m over 0..120 = 0.5 * 120 * 60
    assert out["iauc_mgdl_min"] == pytest.approx(3600.0)
    assert out["glucose_120_mgdl"] == pytest.approx(160.0)
    assert out["peak_mgdl"] == pytest.approx(160.0)  # interpolated window end
    assert out["coverage"] == pytest.approx(1.0)  # [12:02, 14:02) holds 24 readings
    assert out["n_readings"] == 24


def test_baseline_rules_on_known_trace():
    # premeal readings -30..0 rise 90, 92, ..., 102 -> mean 96, value at 0 is 102
    pre = np.arange(-30, 1, 5, dtype=float)
    pre_g = 90 + (pre + 30) / 5 * 2
    # the 24 h before -30 min: 282 readings with values 0..281 + 50 in a scrambled order
    day = np.arange(-1440, -30, 5, dtype=float)  # 282 readings in [-1440, -35]
    day_g = 50.0 + np.random.default_rng(1).permutation(len(day))
    post = np.arange(5, 181, 5, dtype=float)
    post_g = np.full(len(post), 150.0)
    readings = trace(np.r_[day, pre, post], np.r_[day_g, pre_g, post_g])
    ev = meals_at(0)
    assert meal_responses(readings, ev, baseline="premeal").iloc[0]["baseline_mgdl"] == (
        pytest.approx(96.0)
    )
    assert meal_responses(readings, ev, baseline="t0").iloc[0]["baseline_mgdl"] == (
        pytest.approx(102.0)
    )
    assert meal_responses(readings, ev, baseline=110).iloc[0]["baseline_mgdl"] == 110.0
    # previous 24 h = [-1440, 0): the 282 scrambled values (50..331) and the premeal readings
    # -30..-5 (90..100). numpy 'linear' 40th percentile of n=288 sorted values: position
    # 0.4 * 287 = 114.8 -> values at sorted index 114 and 115. Sorted: 50..89 (40 values,
    # idx 0..39), then 90, 90, 91, 92, 92, 93, 94, 94, 95, 96, 96, 97, 98, 98, 99, 100, 100 ...
    vals = np.sort(np.r_[day_g, pre_g[:-1]])
    expect = vals[114] + 0.8 * (vals[115] - vals[114])
    # closed form check of the two order statistics: 40 values below 90, then the merged run
    # 90..101 (12 day values + 6 premeal values = 18), so index 114 lies among day values
    # 102.. : index 58 -> 102 + (114 - 58) = 158, index 115 -> 159
    assert vals[114] == 158 and vals[115] == 159
    assert expect == pytest.approx(158.8)
    out = meal_responses(readings, ev, baseline="p40_24h").iloc[0]
    assert out["baseline_mgdl"] == pytest.approx(158.8)
    # a premeal span option
    out = meal_responses(readings, ev, premeal_span=(-10, 0)).iloc[0]
    assert out["baseline_mgdl"] == pytest.approx((98 + 100 + 102) / 3)


def test_p40_needs_half_a_day_of_readings():
    m = np.arange(-600, 181, 5, dtype=float)  # only 10 h before the meal: 120 < 144 readings
    out = meal_responses(trace(m, np.full(len(m), 100.0)), meals_at(0), baseline="p40_24h")
    assert out.iloc[0]["excluded_reason"] == (
        "less than 50% of the 24 h before this meal has CGM readings (no baseline)"
    )
    out = meal_responses(
        trace(m, np.full(len(m), 100.0)), meals_at(0), baseline="p40_24h", p40_min_coverage=0.4
    )
    assert out.iloc[0]["baseline_mgdl"] == pytest.approx(100.0)


def test_percentile_baseline_matches_numpy_nanpercentile():
    import warnings

    rng = np.random.default_rng(3)
    vals = rng.normal(100, 20, (7, 40))
    vals[2, 10:] = np.nan
    vals[5, :] = np.nan
    got = response.baseline_percentile(vals, 40.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN row
        want = np.nanpercentile(vals, 40.0, axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


# --------------------------------------------------------------------------- merging, second meal


def test_merging_chains_and_sums_carbs():
    ev = meals_at(0, 20, 45, 200, carbs_g=[30.0, 20.0, 10.0, np.nan], label=["a", "b", "a", "d"])
    out = meal_responses(triangle_trace(stop=400), ev)
    assert len(out) == 2
    first, second = out.iloc[0], out.iloc[1]
    # 0 -> 20 (20 min) and 20 -> 45 (25 min) are each < 30: one meal at 0 with 60 g
    assert first["meal_time"] == T0
    assert first["merged_meals"] == 3
    assert first["carbs_g"] == pytest.approx(60.0)
    assert first["meal_label"] == "a + b"
    assert second["merged_meals"] == 1 and np.isnan(second["carbs_g"])
    assert first["minutes_to_next_meal"] == pytest.approx(200.0)
    assert not first["second_meal_in_window"]


def test_merge_threshold_is_strict_and_can_be_disabled():
    ev = meals_at(0, 30)
    m = merge_meals(prepare_meals(ev), 30)  # exactly 30 min apart: not "closer than 30"
    assert len(m) == 2
    assert len(merge_meals(prepare_meals(meals_at(0, 29.5)), 30)) == 1
    assert len(merge_meals(prepare_meals(meals_at(0, 0, 5)), None)) == 3


def test_second_meal_flag_and_option():
    ev = meals_at(0, 90, 300)
    out = meal_responses(triangle_trace(stop=500), ev)
    assert out["second_meal_in_window"].tolist() == [True, False, False]
    assert out["previous_meal_in_window"].tolist() == [False, True, False]
    # both meals of an overlapping pair are excluded by default, each saying why
    assert out["excluded_reason"].tolist()[:2] == [
        "another meal starts 90 min after this one",
        "it starts 90 min after another meal",
    ]
    assert pd.isna(out.iloc[2]["excluded_reason"])
    out = meal_responses(triangle_trace(stop=500), ev, exclude_overlapping_meals=False)
    assert out["excluded_reason"].isna().all()  # the rule is a parameter: flagged only
    # a meal exactly at the window end (120 min) is inside the window
    out = meal_responses(triangle_trace(stop=500), meals_at(0, 120))
    assert bool(out.iloc[0]["second_meal_in_window"])


# --------------------------------------------------------------------------- exclusions


def full_5min(start=-60, stop=240):
    m = np.arange(start, stop + 1, 5, dtype=float)
    return m, np.full(len(m), 100.0)


def test_exclusion_coverage():
    m, g = full_5min()
    keep = (m <= 0) | (m > 120) | (m % 10 == 0)  # every other reading gone in the window
    out = meal_responses(trace(m[keep], g[keep]), meals_at(0)).iloc[0]
    # [0, 120) now holds 0, 10, ..., 110 = 12 of the expected 24 readings; spacing 10 <= 20
    assert out["coverage"] == pytest.approx(0.5)
    assert out["excluded_reason"] == (
        "only 50% of the expected CGM readings in the window (70% needed)"
    )
    out = meal_responses(trace(m[keep], g[keep]), meals_at(0), min_coverage=0.5).iloc[0]
    assert pd.isna(out["excluded_reason"])


def test_exclusion_gap():
    m, g = full_5min()
    keep = ~((m >= 30) & (m <= 65))  # readings at 25 then 70: a 45-min gap
    out = meal_responses(trace(m[keep], g[keep]), meals_at(0), min_coverage=0.5).iloc[0]
    assert out["max_gap_in_window_min"] == pytest.approx(45.0)
    assert out["excluded_reason"] == "the CGM data pause for 45 min (25 to 70 min after this meal)"
    # 8 of 24 readings are missing, so with the default coverage rule both reasons are given
    out = meal_responses(trace(m[keep], g[keep]), meals_at(0)).iloc[0]
    assert out["excluded_reason"] == (
        "only 66% of the expected CGM readings in the window (70% needed); "
        "the CGM data pause for 45 min (25 to 70 min after this meal)"
    )
    out = meal_responses(
        trace(m[keep], g[keep]), meals_at(0), min_coverage=0.5, max_gap_min=45
    ).iloc[0]
    assert pd.isna(out["excluded_reason"])


def test_gap_at_the_end_of_the_data_counts():
    m, g = full_5min(stop=90)  # data stop at 90 min: 30 min of the window uncovered
    out = meal_responses(trace(m, g), meals_at(0), min_coverage=0.0).iloc[0]
    assert out["max_gap_in_window_min"] == pytest.approx(30.0)
    assert out["excluded_reason"] == "the CGM data stop 90 min after this meal"


def test_exclusion_censored():
    m, g = full_5min()
    cens = np.where(m == 50, "high", None).astype(object)
    out = meal_responses(trace(m, g, censored=cens), meals_at(0)).iloc[0]
    assert out["n_censored"] == 1
    assert out["excluded_reason"] == "a sensor Low/High reading in the window"
    out = meal_responses(trace(m, g, censored=cens), meals_at(0), exclude_censored=False)
    assert pd.isna(out.iloc[0]["excluded_reason"])
    # a censored reading outside the window does not matter
    cens = np.where(m == 150, "low", None).astype(object)
    assert pd.isna(
        meal_responses(trace(m, g, censored=cens), meals_at(0)).iloc[0]["excluded_reason"]
    )


def test_exclusion_no_readings_and_no_baseline():
    m, g = full_5min(start=0, stop=400)
    ev = meals_at(0, 3000)  # first: no premeal readings (only the one at 0 min ... see below)
    out = meal_responses(trace(m, g), ev, premeal_span=(-30, -5))
    assert len(out) == 2  # every meal gets a row
    assert out.iloc[0]["excluded_reason"] == (
        "no CGM readings in the -30 to -5 min around this meal (no baseline)"
    )
    assert np.isnan(out.iloc[0]["baseline_mgdl"])
    assert out.iloc[0]["coverage"] == pytest.approx(1.0)
    assert out.iloc[1]["excluded_reason"] == "no CGM readings during this meal's window"
    assert out.iloc[1]["n_readings"] == 0
    assert np.isnan(out.iloc[1]["iauc_mgdl_min"])


def test_meal_of_a_subject_without_readings():
    r = triangle_trace()
    ev = pd.concat([meals_at(0), meals_at(0, subject="b")], ignore_index=True)
    out = meal_responses(r, ev)
    assert out.set_index("subject").loc["b", "excluded_reason"] == (
        "no CGM readings during this meal's window"
    )
    assert pd.isna(out.set_index("subject").loc["a", "excluded_reason"])


# --------------------------------------------------------------------------- SPU and exercise


def bouts(*spans, kind="spu") -> pd.DataFrame:
    rows = []
    for a, b in spans:
        rows.append(
            {
                "subject": "a",
                "time": T0 + pd.Timedelta(minutes=a),
                "end": pd.NaT if b is None else T0 + pd.Timedelta(minutes=b),
                "kind": kind,
            }
        )
    return pd.DataFrame(rows)


def test_spu_minutes_by_hand():
    r = triangle_trace()
    # span [0, 120]: bouts 0..10 and 5..20 overlap each other, union 0..20 = 20 min; a bout
    # without end at 30 counts 1 min -> 21 min; the bout -30..-5 is before the meal: 10 of its
    # minutes fall in the 15 min before it, the pre-meal dose, which never sets the condition
    ev = pd.concat([meals_at(0), bouts((-30, -5), (0, 10), (5, 20), (30, None))], ignore_index=True)
    out = meal_responses(r, ev).iloc[0]
    assert out["spu_minutes"] == pytest.approx(20 + 1)
    assert out["spu_premeal_minutes"] == pytest.approx(10)
    assert out["spu_bouts_no_end"] == 1
    assert out["condition"] == "spu"
    out = meal_responses(r, ev, spu_default_min=5).iloc[0]
    assert out["spu_minutes"] == pytest.approx(20 + 5)
    # a narrower span (0..15): 0..15 of the union = 15 min
    assert meal_responses(r, ev, spu_span=(0, 15)).iloc[0]["spu_minutes"] == pytest.approx(15)


def test_spu_threshold_and_bouts_outside_span():
    r = triangle_trace()
    ev = pd.concat([meals_at(0), bouts((-60, -14.5), (125, 200))], ignore_index=True)
    out = meal_responses(r, ev).iloc[0]
    assert out["spu_minutes"] == 0.0  # nothing after the meal's start; 125.. is after the window
    assert out["spu_premeal_minutes"] == pytest.approx(0.5)  # -15..-14.5
    assert out["condition"] == "control"
    # minutes before the meal never make it an SPU meal, whatever the threshold
    assert meal_responses(r, ev, min_spu_minutes=0.5).iloc[0]["condition"] == "control"


def test_other_exercise_flag():
    r = triangle_trace(stop=400)
    ev = pd.concat(
        [
            meals_at(0, 300),
            bouts((60, 90), kind="exercise"),  # inside the first window
            bouts((430, None), kind="exercise"),  # an instant at 430 = 300 + 130: outside
        ],
        ignore_index=True,
    )
    out = meal_responses(r, ev)
    assert out["other_exercise"].tolist() == [True, False]
    ev2 = pd.concat([meals_at(0), bouts((120, None), kind="exercise")], ignore_index=True)
    assert bool(meal_responses(r, ev2).iloc[0]["other_exercise"])  # instant at the window end


# --------------------------------------------------------------------------- inputs


def test_bare_meal_time_table():
    r = triangle_trace().drop(columns="subject")
    ev = pd.DataFrame({"time": [T0]})
    out = meal_responses(r, ev)
    assert len(out) == 1
    assert out.iloc[0]["iauc_mgdl_min"] == pytest.approx(3600.0)
    assert np.isnan(out.iloc[0]["carbs_g"])
    # events without subject are given the readings' only subject
    out = meal_responses(triangle_trace(), pd.DataFrame({"time": [T0]}))
    assert out.iloc[0]["subject"] == "a"


def test_events_kinds_are_filtered_and_ambiguous_subject_raises():
    r = pd.concat([triangle_trace(), triangle_trace().assign(subject="b")], ignore_index=True)
    ev = pd.DataFrame({"time": [T0]})
    with pytest.raises(InputError, match="subject"):
        meal_responses(r, ev)
    ev = pd.concat([meals_at(0), bouts((0, 10)), meals_at(0, subject="b")], ignore_index=True)
    out = meal_responses(r, ev)
    assert out["subject"].tolist() == ["a", "b"]
    assert out["condition"].tolist() == ["spu", "control"]


def test_bad_arguments():
    with pytest.raises(InputError):
        meal_responses(triangle_trace(), meals_at(0), baseline="median")
    with pytest.raises(InputError):
        meal_responses(triangle_trace(), meals_at(0), window=(120, 0))
    with pytest.raises(InputError):
        meal_responses(triangle_trace(), pd.DataFrame({"when": [T0]}))


def test_duplicate_readings_do_not_inflate_coverage():
    r = triangle_trace()
    out = meal_responses(pd.concat([r, r], ignore_index=True), meals_at(0)).iloc[0]
    assert out["n_readings"] == 25
    assert out["iauc_mgdl_min"] == pytest.approx(3600.0)


def test_15min_data_coverage_and_gaps():
    m = np.arange(-60, 301, 15, dtype=float)
    g = np.full(len(m), 100.0)
    ev = meals_at(7)  # off grid: [7, 127) holds 15, 30, ..., 120 = 8 readings = 120 / 15
    out = meal_responses(trace(m, g), ev).iloc[0]
    assert out["coverage"] == pytest.approx(1.0)
    # two consecutive readings missing: spacing 45 min, not more than the 45-min default
    keep = ~np.isin(m, [45, 60])
    out = meal_responses(trace(m[keep], g[keep]), ev).iloc[0]
    assert out["coverage"] == pytest.approx(6 / 8)
    assert pd.isna(out["excluded_reason"])
    # three missing: 60 min spacing, and 5/8 coverage
    keep = ~np.isin(m, [45, 60, 75])
    out = meal_responses(trace(m[keep], g[keep]), ev).iloc[0]
    assert out["excluded_reason"] == (
        "only 62% of the expected CGM readings in the window (70% needed); "
        "the CGM data pause for 60 min (23 to 83 min after this meal)"
    )


def test_recording_input():
    from soleus_analysis.core.recording import Recording

    rec = Recording(readings=triangle_trace(), events=meals_at(0))
    out = meal_responses(rec)
    assert out.iloc[0]["iauc_mgdl_min"] == pytest.approx(3600.0)


def test_insulin_proxy_option_adds_named_proxy_columns():
    out = meal_responses(triangle_trace(), meals_at(0), insulin_proxy=True)
    cols = [c for c in out.columns if "insulin" in c]
    assert cols and all(c.startswith("insulin_proxy_") for c in cols)
    assert (out["insulin_proxy_iauc_pmol_l_min"] > 0).all()
    off = meal_responses(triangle_trace(), meals_at(0), insulin_proxy=False)
    assert "insulin_proxy_iauc_pmol_l_min" not in off
    # one set of defaults (Rules): the proxy is on unless switched off
    assert "insulin_proxy_iauc_pmol_l_min" in meal_responses(triangle_trace(), meals_at(0))


# --------------------------------------------------------------------------- curves


def test_meal_curves_linear_trace_and_gaps():
    grid = np.arange(-60, 241, 5, dtype=float)
    readings = trace(grid, 100 + 0.5 * grid)
    meals = meal_responses(readings, meals_at(0, 200), baseline="t0")
    curves = meal_curves(readings, meals, grid=np.array([-30.0, 0.0, 7.5, 60.0]))
    assert list(curves.columns) == [
        "subject",
        "meal_time",
        "condition",
        "minute",
        "glucose_mgdl",
        "delta_mgdl",
    ]
    first = curves[curves["meal_time"] == T0]
    np.testing.assert_allclose(first["glucose_mgdl"], [85.0, 100.0, 103.75, 130.0])
    np.testing.assert_allclose(first["delta_mgdl"], [-15.0, 0.0, 3.75, 30.0])
    second = curves[curves["meal_time"] == T0 + pd.Timedelta(minutes=200)]
    assert np.isnan(second["glucose_mgdl"].iloc[-1])  # 260 min: beyond the data (240)
    assert second["glucose_mgdl"].iloc[0] == pytest.approx(185.0)  # 170 min
    # across a gap there is no interpolation
    keep = ~((grid > 0) & (grid < 60))
    c = meal_curves(trace(grid[keep], 100 + 0.5 * grid[keep]), meals_at(0), grid=[30.0])
    assert np.isnan(c["glucose_mgdl"].iloc[0])
    # a bare meal table: delta from the premeal baseline (mean of 85..100 = 92.5)
    c = meal_curves(readings, pd.DataFrame({"time": [T0]}), grid=[0.0])
    assert c["delta_mgdl"].iloc[0] == pytest.approx(100 - 92.5)


# --------------------------------------------------------------------------- realistic fixture


def libre_like_day() -> pd.DataFrame:
    """Two days of Libre-style 15-min historic glucose with a sensor gap (11:00-13:00, day 2)."""
    times = pd.date_range("2026-01-03 00:02", "2026-01-04 23:47", freq="15min")
    hours = (times - times[0]) / pd.Timedelta(hours=1)
    g = 92 + 6 * np.sin(2 * np.pi * hours / 24)
    # meal bumps: breakfast 8:33 day 1 (+50 at 45 min), lunch 12:40 day 1 (+35)
    for meal, amp in (
        (pd.Timestamp("2026-01-03 08:33"), 50),
        (pd.Timestamp("2026-01-03 12:40"), 35),
    ):
        rel = (times - meal) / pd.Timedelta(minutes=1)
        g = g + np.where(rel > 0, amp * (rel / 45) * np.exp(1 - rel / 45), 0)
    df = pd.DataFrame({"subject": "me", "time": times, "glucose_mgdl": np.round(g)})
    gap = (df["time"] > "2026-01-04 11:00") & (df["time"] < "2026-01-04 13:00")
    return df.loc[~gap].reset_index(drop=True)


def cronometer_like_log() -> pd.DataFrame:
    """Cronometer servings rows (one per food item) turned into meal events, plus SPU bouts."""
    log = pd.DataFrame(
        {
            "Day": ["2026-01-03"] * 5 + ["2026-01-04"] * 3,
            "Time": ["8:33 AM", "8:33 AM", "8:41 AM", "12:40 PM", "7:15 PM",
                     "8:05 AM", "12:10 PM", "12:10 PM"],
            "Group": ["Breakfast", "Breakfast", "Breakfast", "Lunch", "Dinner",
                      "Breakfast", "Lunch", "Lunch"],
            "Food Name": ["Oats", "Milk", "Banana", "Sandwich", "Pasta",
                          "Toast", "Rice", "Beans"],
            "Carbs (g)": [27.0, 12.0, 23.0, 45.0, 70.0, 30.0, 50.0, 20.0],
        }
    )  # fmt: skip
    time = pd.to_datetime(log["Day"] + " " + log["Time"], format="%Y-%m-%d %I:%M %p")
    meals = pd.DataFrame(
        {
            "subject": "me",
            "time": time,
            "end": pd.NaT,
            "kind": "meal",
            "carbs_g": log["Carbs (g)"],
            "label": log["Group"],
        }
    )
    spu = pd.DataFrame(
        {
            "subject": "me",
            "time": pd.to_datetime(["2026-01-03 12:35", "2026-01-04 08:00"]),
            "end": pd.to_datetime(["2026-01-03 13:35", "2026-01-04 08:04"]),
            "kind": "spu",
        }
    )
    return pd.concat([meals, spu], ignore_index=True)


def test_realistic_libre_and_cronometer():
    out = meal_responses(libre_like_day(), cronometer_like_log())
    # 8 food rows -> 5 meals: breakfast (3 items, 8:33-8:41), lunch, dinner on day 1;
    # breakfast and lunch (2 items at 12:10) on day 2
    assert len(out) == 5
    assert out["meal_time"].dt.strftime("%m-%d %H:%M").tolist() == [
        "01-03 08:33",
        "01-03 12:40",
        "01-03 19:15",
        "01-04 08:05",
        "01-04 12:10",
    ]
    assert out["carbs_g"].tolist() == [62.0, 45.0, 70.0, 30.0, 70.0]
    assert out["merged_meals"].tolist() == [3, 1, 1, 1, 2]
    assert out["meal_label"].tolist() == ["Breakfast", "Lunch", "Dinner", "Breakfast", "Lunch"]
    # SPU: 12:35-13:35 runs 55 min after lunch's start at 12:40 (its 5 earlier minutes are the
    # pre-meal dose); 8:00-8:04 on day 2 ends before breakfast at 8:05: a pre-meal dose only
    assert out["spu_minutes"].tolist() == [0.0, 55.0, 0.0, 0.0, 0.0]
    assert out["spu_premeal_minutes"].tolist() == [0.0, 5.0, 0.0, 4.0, 0.0]
    assert out["condition"].tolist() == ["control", "spu", "control", "control", "control"]
    # lunch on day 2 falls in the sensor gap (readings at 10:47 then 13:02): excluded
    reason = out.iloc[4]["excluded_reason"]
    assert "the CGM data start only 52 min after this meal" in reason
    assert "no CGM readings in the 30 min before this meal (no baseline)" in reason
    assert out.iloc[:4]["excluded_reason"].isna().all()
    # the breakfast bump (50 mg/dL above the daily rhythm) clearly beats the flat dinner
    assert out.iloc[0]["delta_peak_mgdl"] > 35
    assert out.iloc[0]["iauc_mgdl_min"] > 3 * out.iloc[2]["iauc_mgdl_min"]
    assert (out.iloc[:4]["coverage"] == 1.0).all()


# --------------------------------------------------------------------------- properties


@st.composite
def scenario(draw):
    n = draw(st.integers(20, 60))
    values = draw(
        st.lists(st.floats(60, 250, allow_nan=False), min_size=n, max_size=n).map(np.array)
    )
    step = draw(st.sampled_from([5.0, 15.0]))
    minutes = np.arange(n) * step
    meal_idx = sorted(draw(st.sets(st.integers(2, n - 3), min_size=1, max_size=3)))
    offsets = [float(minutes[i]) + draw(st.sampled_from([0.0, 1.0, 2.5])) for i in meal_idx]
    return minutes, values, offsets


@settings(max_examples=25, deadline=None)
@given(scenario(), st.integers(-5000, 5000), st.sampled_from(["premeal", "t0", "p40_24h"]))
def test_shifting_all_times_leaves_results_unchanged(sc, shift_min, rule):
    minutes, values, offsets = sc
    kw = {"baseline": rule, "p40_min_coverage": 0.0}
    a = meal_responses(trace(minutes, values), meals_at(*offsets), **kw)
    shift = pd.Timedelta(minutes=shift_min)
    b = meal_responses(
        trace(minutes, values, t0=T0 + shift),
        meals_at(*offsets).assign(time=lambda d: d["time"] + shift),
        **kw,
    )
    cols = [*MEASURES, "baseline_mgdl", "coverage", "n_readings", "merged_meals"]
    pd.testing.assert_frame_equal(a[cols], b[cols], rtol=1e-9)
    assert a["excluded_reason"].tolist() == b["excluded_reason"].tolist()


@settings(max_examples=25, deadline=None)
@given(scenario(), st.sampled_from(["premeal", "t0"]))
def test_adding_a_far_away_meal_changes_nothing_else(sc, rule):
    minutes, values, offsets = sc
    r = trace(minutes, values)
    a = meal_responses(r, meals_at(*offsets), baseline=rule)
    far = float(minutes[-1]) + 1000.0
    b = meal_responses(r, meals_at(*offsets, far), baseline=rule)
    assert len(b) == len(a) + 1
    assert b.iloc[-1]["excluded_reason"] == "no CGM readings during this meal's window"
    cols = [*MEASURES, "baseline_mgdl", "coverage", "excluded_reason", "second_meal_in_window"]
    pd.testing.assert_frame_equal(a[cols], b.iloc[:-1][cols])


@settings(max_examples=40, deadline=None)
@given(
    n_readings=st.integers(0, 40),
    kinds=st.lists(st.sampled_from(["meal", "insulin", "spu", "exercise", "note"]), max_size=6),
    offsets_h=st.lists(st.floats(-48, 48), min_size=6, max_size=6),
    proxy=st.booleans(),
)
def test_meal_responses_never_fails_on_any_mix_of_events(n_readings, kinds, offsets_h, proxy):
    """No meals, insulin only, meals outside the readings, no readings at all: one row per
    (merged) meal and a reason for every excluded one, never an exception."""
    t0 = pd.Timestamp("2025-01-01 12:00")
    readings = pd.DataFrame(
        {
            "subject": "p",
            "time": t0 + pd.to_timedelta(np.arange(n_readings) * 5, unit="min"),
            "glucose_mgdl": 100.0 + np.arange(n_readings) % 7,
        }
    )
    events = pd.DataFrame(
        {
            "subject": "p",
            "time": [t0 + pd.Timedelta(hours=h) for h in offsets_h[: len(kinds)]],
            "end": [t0 + pd.Timedelta(hours=h, minutes=20) for h in offsets_h[: len(kinds)]],
            "kind": kinds,
        }
    )
    out = meal_responses(readings, events, insulin_proxy=proxy)
    n_meals = kinds.count("meal")
    assert len(out) <= n_meals and (n_meals == 0) == (len(out) == 0)
    assert (out["excluded_reason"].isna() == out["included"]).all()
    if n_readings == 0:
        assert (out["excluded_reason"] == REASON_NO_READINGS).all()


# --------------------------------------------------------------------------- issue 11: the edges


def clock_meals(*hhmm: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"subject": "a", "time": pd.to_datetime([f"2025-03-03 {t}" for t in hhmm]), "kind": "meal"}
    )


def clock_bout(start: str, end: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": "a",
            "time": [pd.Timestamp(f"2025-03-03 {start}")],
            "end": [pd.Timestamp(f"2025-03-03 {end}")],
            "kind": "spu",
        }
    )


@pytest.mark.parametrize("bout, premeal", [(("11:45", "12:00"), 15.0), (("11:00", "11:50"), 5.0)])
def test_spu_before_the_meal_never_makes_an_spu_meal(bout, premeal):
    """A bout ending at (or before) the meal's start: a control meal with a pre-meal dose."""
    ev = pd.concat([clock_meals("12:00"), clock_bout(*bout)], ignore_index=True)
    out = meal_responses(triangle_trace(), ev).iloc[0]
    assert out["condition"] == "control"
    assert out["spu_minutes"] == 0.0
    assert out["spu_premeal_minutes"] == pytest.approx(premeal)


def test_spu_rule_cannot_reach_before_the_meal():
    with pytest.raises(InputError, match="pre-meal dose"):
        meal_responses(triangle_trace(), clock_meals("12:00"), spu_span=(-15, None))


def test_meals_whose_windows_overlap_are_both_flagged_and_excluded():
    """Meals at 12:00 and 12:45: the second's baseline is the first's rise."""
    r = triangle_trace(stop=400)
    out = meal_responses(r, clock_meals("12:00", "12:45"))
    assert out["second_meal_in_window"].tolist() == [True, False]
    assert out["previous_meal_in_window"].tolist() == [False, True]
    assert out["included"].tolist() == [False, False]
    assert out["excluded_reason"].tolist() == [
        "another meal starts 45 min after this one",
        "it starts 45 min after another meal",
    ]


def test_a_reading_on_the_window_edge_closes_the_window_there():
    """A complete window with a reading exactly at its end, then a long break: no gap."""
    m = np.arange(-60, 121, 5, dtype=float)  # the last reading exactly at 120 min ...
    m = np.concatenate([m, [600.0]])  # ... and the next one 8 h later
    out = meal_responses(trace(m, np.full(len(m), 100.0)), meals_at(0)).iloc[0]
    assert out["max_gap_in_window_min"] == pytest.approx(5.0)
    assert pd.isna(out["excluded_reason"])
    # the same at the window's start: a reading exactly at 0, nothing in the 8 h before
    m = np.concatenate([[-480.0], np.arange(0, 181, 5, dtype=float)])
    out = meal_responses(trace(m, np.full(len(m), 100.0)), meals_at(0), baseline="t0").iloc[0]
    assert out["max_gap_in_window_min"] == pytest.approx(5.0)
    assert pd.isna(out["excluded_reason"])


def test_a_long_hole_before_the_window_counts_only_inside_it():
    """An 11-day hole ending 25 min after the meal: a 25-min gap, said in words."""
    m = np.concatenate([[-11 * 1440.0], np.arange(25, 181, 5, dtype=float)])
    out = meal_responses(trace(m, np.full(len(m), 100.0)), meals_at(0)).iloc[0]
    assert out["max_gap_in_window_min"] == pytest.approx(25.0)
    assert "the CGM data start only 25 min after this meal" in out["excluded_reason"]
    assert "16" not in out["excluded_reason"]  # never the hole's 16 thousand minutes
