"""Tests of soleus_analysis.validation.nof1: N-of-1 validation, the true estimand, what was recognised,
the planner round trip and the tolerant SPU logging rules of the readers."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soleus_analysis import io
from soleus_analysis.align import meal_responses, recognised_events, recognition_summary
from soleus_analysis.app.plan import make_schedule
from soleus_analysis.core.recording import Recording
from soleus_analysis.validation.nof1 import (
    VALIDATION_COLUMNS,
    nof1_acceptance,
    nof1_truth,
    summarise_nof1,
    validate_nof1,
)
from soleus_analysis.validation.trials import binomial_ci

FIX = Path(__file__).parent / "fixtures" / "nof1"


# ------------------------------------------------------------------ the true estimand


def _truth_frame(factor: float, carbs: np.ndarray, spu: np.ndarray) -> pd.DataFrame:
    """Noise-free responses exactly log-linear in carbs, times ``factor`` on SPU meals."""
    n = len(carbs)
    times = pd.Timestamp("2025-06-02 08:00") + pd.to_timedelta(np.arange(n) * 24, unit="h")
    value = 1000.0 * np.exp(0.01 * carbs) * np.where(spu, factor, 1.0)
    return pd.DataFrame(
        {
            "subject": "p01",
            "condition": np.where(spu, "spu", "control"),
            "meal_time": times,
            "carbs_g": carbs,
            "glucose_iauc_mgdl_min": value,
        }
    )


def test_nof1_truth_recovers_the_factor_with_imbalanced_carbs():
    # SPU meals get more carbs: the adjusted ratio is exactly the factor (0.6 -> 40%), while the
    # ratio of arithmetic means is not (computed here by hand).
    carbs = np.array([40, 50, 60, 70, 80, 90, 100, 110], dtype=float)
    spu = np.array([0, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    t = _truth_frame(0.6, carbs, spu)
    out = nof1_truth(t).iloc[0]
    assert out["true_pct"] == pytest.approx(40.0, abs=1e-8)
    v = t["glucose_iauc_mgdl_min"].to_numpy()
    expected_ratio = 100 * (1 - v[spu].mean() / v[~spu].mean())
    assert out["true_ratio_of_means_pct"] == pytest.approx(expected_ratio)
    assert expected_ratio < 40 - 1  # the two estimands differ here
    assert out["n_meals"] == 8


def test_nof1_truth_restricted_to_given_meals():
    carbs = np.full(8, 60.0)
    spu = np.array([0, 1] * 4, dtype=bool)
    t = _truth_frame(0.5, carbs, spu)
    # spoil two meals; excluding them restores the exact 50%
    t.loc[[0, 1], "glucose_iauc_mgdl_min"] = [10.0, 5000.0]
    keep = t["meal_time"].iloc[2:]
    assert nof1_truth(t, keep).iloc[0]["true_pct"] == pytest.approx(50.0, abs=1e-8)
    assert nof1_truth(t, keep).iloc[0]["n_meals"] == 6


# ------------------------------------------------------------------ validation (small)


@pytest.fixture(scope="module")
def small_validation() -> pd.DataFrame:
    return validate_nof1(8, effect=True, seed=11, n_perm=300, days=6)


def test_validate_nof1_small_effect(small_validation):
    df = small_validation
    assert list(df.columns) == list(VALIDATION_COLUMNS)
    assert len(df) == 8
    # 6 days x 3 meals = 18 meals per person, half with SPU
    assert (df["n_meals"] <= 18).all() and (df["n_meals"] >= 15).all()
    assert (df["n_spu"] + df["n_control"] == df["n_meals"]).all()
    assert ((df["n_spu"] - 9).abs() <= 2).all()
    # the CIs cover each person's own truth for most people
    assert df["covered"].sum() >= 6
    assert (df["ci95_low"] <= df["estimate_pct"]).all()
    assert (df["estimate_pct"] <= df["ci95_high"]).all()
    # calibrated SPU lowers the noise-free response of every person
    assert (df["true_pct"] > 5).all()
    assert ((df["p_permutation"] > 0) & (df["p_permutation"] <= 1)).all()


def test_summarise_nof1_counts(small_validation):
    df = small_validation
    fake_null = df.assign(effect=False, p_permutation=[0.01, 0.2, 0.5, 0.9, 0.04, 0.3, 0.6, 0.7])
    s = summarise_nof1(pd.concat([df, fake_null], ignore_index=True)).set_index("effect")
    assert s.loc[True, "coverage_pct"] == pytest.approx(100 * df["covered"].sum() / 8)
    assert s.loc[False, "false_positive_pct"] == pytest.approx(100 * 2 / 8)
    assert np.isnan(s.loc[True, "false_positive_pct"])
    assert s.loc[True, "n_people"] == 8
    # the rates carry the one interval of a rate (Wilson) and their counts
    k = int(df["covered"].sum())
    assert s.loc[True, "n_covered"] == k
    assert (s.loc[True, "coverage_ci95_low"], s.loc[True, "coverage_ci95_high"]) == binomial_ci(
        k, 8
    )
    assert s.loc[False, "n_positive"] == 2 and s.loc[False, "positive_pct"] == 25.0
    assert (s.loc[False, "positive_ci95_low"], s.loc[False, "positive_ci95_high"]) == binomial_ci(
        2, 8
    )
    assert s.loc[True, "mean_bias_pp"] == pytest.approx(
        (df["estimate_pct"] - df["true_pct"]).mean()
    )
    width = (df["ci95_high"] - df["ci95_low"]).median()
    assert s.loc[True, "median_ci_width_pp"] == pytest.approx(width)


def _summary(coverage: float, false_positive: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "effect": [False, True],
            "coverage_pct": [95.0, coverage],
            "false_positive_pct": [false_positive, np.nan],
        }
    )


def test_nof1_acceptance_targets():
    assert nof1_acceptance(_summary(90.0, 5.0))  # both targets met on the edge
    assert not nof1_acceptance(_summary(89.0, 5.0))
    assert not nof1_acceptance(_summary(95.0, 6.0))
    with pytest.raises(ValueError, match="with and without"):
        nof1_acceptance(_summary(95.0, 1.0).iloc[[1]])


def test_validate_nof1_no_effect_truth_near_zero():
    df = validate_nof1(2, effect=False, seed=5, n_perm=100, days=4)
    # without an SPU effect the noise-free responses do not depend on the condition, apart from
    # the (small) imperfection of the carbs/meal-period adjustment
    assert (df["true_pct"].abs() < 10).all()


# ------------------------------------------------------------------ what was recognised


def _built_recording() -> Recording:
    t = pd.Timestamp("2025-06-02 08:00")
    m = pd.Timedelta(1, "min")
    events = pd.DataFrame(
        {
            "subject": "p01",
            "time": [t, t + 5 * m, t + 60 * m, t + 70 * m, t + 90 * m, t + 240 * m],
            "end": [pd.NaT, t + 35 * m, pd.NaT, pd.NaT, t + 110 * m, pd.NaT],
            "kind": ["meal", "spu", "insulin", "note", "exercise", "spu"],
            "carbs_g": [60.0, np.nan, np.nan, np.nan, np.nan, np.nan],
            "label": ["oats", "SPU 30", None, "felt fine", "walk", "soleus"],
            "source": ["a", "b", "a", "a", "c", "b"],
        }
    )
    return Recording(events=events)


def test_recognised_events_table():
    tab = recognised_events(_built_recording())
    assert list(tab["recognised_as"]) == ["meal", "spu", "exercise", "spu"]
    np.testing.assert_allclose(tab["duration_min"].to_numpy(), [np.nan, 30, 20, np.nan])
    assert list(tab["label"]) == ["oats", "SPU 30", "walk", "soleus"]
    assert list(tab["source"]) == ["a", "b", "c", "b"]
    assert tab["carbs_g"].iloc[0] == 60.0
    summ = recognition_summary(tab).set_index(["recognised_as", "source"])
    assert summ.loc[("spu", "b"), "n"] == 2
    assert summ.loc[("spu", "b"), "total_min"] == pytest.approx(30.0)


def test_recognised_events_empty():
    tab = recognised_events(Recording())
    assert tab.empty and "recognised_as" in tab.columns
    assert recognition_summary(tab).empty


# ------------------------------------------------------------------ readers in the wild


def _kinds(path: Path) -> list[tuple[str, str, float]]:
    rec = io.read_events(path)
    tab = recognised_events(rec)
    return [
        (t.strftime("%H:%M"), k, d)
        for t, k, d in zip(tab["time"], tab["recognised_as"], tab["duration_min"], strict=True)
    ]


def _as_dict(rows):
    return {t: (k, None if np.isnan(d) else round(d)) for t, k, d in rows}


def test_libre_notes_spu():
    got = _as_dict(_kinds(FIX / "libreview_spu_notes.csv"))
    assert got["08:32"] == ("spu", 30)  # "SPU 30"
    assert got["12:30"] in {("spu", 20), ("meal", None)}
    assert got["18:40"] == ("spu", 45)  # "SPU: 45 min"
    assert got["13:00"] == ("spu", None)  # "soleus pushups" without minutes
    assert ("08:30", "meal", None) in {(t, k, None) for t, (k, _) in got.items()}


def test_nightscout_treatments_spu():
    got = _kinds(FIX / "nightscout_spu_treatments.json")
    d = _as_dict(got)
    # times are local (created_at UTC + utcOffset 120 min)
    assert d["08:35"] == ("spu", 30)  # Exercise, notes SPU, duration 30
    assert d["14:00"] == ("exercise", 20)  # walk
    assert sum(k == "meal" for _, k, _ in got) == 2


def test_apple_workouts_spu():
    d = _as_dict(_kinds(FIX / "apple_spu_workouts.xml"))
    assert d["08:35"] == ("spu", 30)  # workout brand name "Soleus pushups"
    assert d["12:35"] == ("spu", 25)  # workout name "SPU"
    assert d["18:00"] == ("exercise", 20)
    assert d["08:30"] == ("meal", None)


def test_dexcom_exercise_subtype_spu():
    d = _as_dict(_kinds(FIX / "dexcom_spu_events.csv"))
    assert d["11:00"] == ("spu", 30)  # Event Subtype "SPU 30"
    assert d["11:40"] == ("spu", 40)  # subtype "soleus pushups", Duration 00:40:00
    assert d["10:00"] == ("exercise", 30)  # plain Light exercise
    assert d["08:30"] == ("meal", None)


def test_activity_log_spu_kinds():
    d = _as_dict(_kinds(FIX / "activity_log_spu.csv"))
    assert d["08:35"] == ("spu", 30)  # kind SPU + duration_min
    assert d["12:35"] == ("spu", 30)  # kind "soleus pushups" + end
    assert d["15:00"] == ("exercise", 20)


# ------------------------------------------------------------------ planner round trip


def _flat_cgm(start: str, days: int) -> pd.DataFrame:
    t = pd.date_range(start, periods=days * 288, freq="5min")
    return pd.DataFrame({"subject": "me", "time": t, "glucose_mgdl": 100.0})


def test_planner_round_trip(tmp_path):
    sched = make_schedule(12, start="2025-06-02", seed=4)
    meals = sched.loc[sched["kind"] == "meal"]
    done_meals = set(meals["meal_no"].iloc[[0, 1, 2, 4, 5, 7, 8, 10, 11]])
    sched = sched.assign(done=np.where(sched["meal_no"].isin(done_meals), "x", ""))
    path = tmp_path / "schedule.csv"
    sched.to_csv(path, index=False)

    # expected, independently with the csv module: ticked meal rows and their planned condition
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["done"] == "x" and r["kind"] == "meal"]
    expected = sorted((pd.Timestamp(r["start"]), r["condition"]) for r in rows)
    assert len(expected) == 9

    rec = io.read_events(path)
    assert rec.provenance.rows_dropped.get("planned but not marked done", 0) == len(sched) - sum(
        sched["done"] == "x"
    )
    got = meal_responses(_flat_cgm("2025-06-01 20:00", 6), rec.events.assign(subject="me"))
    assert sorted(zip(got["meal_time"], got["condition"], strict=True)) == expected
    spu = got.loc[got["condition"] == "spu", "spu_minutes"]
    assert (spu == 30).all()


def test_spu_text_rules_are_shared_by_every_reader(tmp_path):
    """The tolerant SPU rules (docs/logging.md) hold in the Dexcom and activity-log readers."""
    import soleus_analysis as sa

    dx = tmp_path / "dexcom.csv"
    dx.write_text(
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
        "Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),"
        "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
        "Transmitter ID\n"
        "1,2025-06-02T08:30:00,EGV,,,,Android G7,100,,,,,1000,AB\n"
        "2,2025-06-02T08:35:00,Exercise,Light,SPU 30,,Android G7,,,,,,\n"
        "3,2025-06-02T09:35:00,Exercise,,SPU 15,,Android G7,,,,,,\n"
        "4,2025-06-02T10:35:00,Exercise,Medium,,,Android G7,,,,00:20:00,,\n"
    )
    ev = sa.read_cgm(dx).events
    assert ev["kind"].tolist() == ["spu", "spu", "exercise"]
    minutes = ((ev["end"] - ev["time"]).dt.total_seconds() / 60).tolist()
    assert minutes == [30.0, 15.0, 20.0]
    log = tmp_path / "log.csv"
    log.write_text(
        "start,end,duration_min,kind,intensity,carbs_g,notes\n"
        "2025-06-02 18:35,,,note,,,SPU 30\n"
        "2025-06-02 19:35,,25,exercise,,,SPU\n"
        "2025-06-02 20:35,,,note,,,felt fine\n"
    )
    ev = sa.read_events(log).events
    assert ev["kind"].tolist() == ["spu", "spu", "note"]
    assert ((ev["end"] - ev["time"]).dt.total_seconds() / 60).tolist()[:2] == [30.0, 25.0]
