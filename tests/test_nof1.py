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
from soleus_analysis.simulate import blocked_assignment, person_effect
from soleus_analysis.validation.nof1 import (
    VALIDATION_COLUMNS,
    nof1_acceptance,
    summarise_nof1,
    validate_nof1,
)
from soleus_analysis.validation.trials import binomial_ci

FIX = Path(__file__).parent / "fixtures" / "nof1"


# ------------------------------------------------------------------ the true estimand
# The truth is the simulator's definition from both potential outcomes of every meal
# (soleus_analysis.simulate.person_effect), never an estimator run on noise-free data.


def _truth_frame(factor, carbs: np.ndarray, spu: np.ndarray) -> pd.DataFrame:
    """Potential outcomes exactly log-linear in carbs, the SPU outcome ``factor`` times control."""
    n = len(carbs)
    times = pd.Timestamp("2025-06-02 08:00") + pd.to_timedelta(np.arange(n) * 24, unit="h")
    control = 1000.0 * np.exp(0.01 * carbs)
    with_spu = control * np.broadcast_to(np.asarray(factor, dtype=float), (n,))
    return pd.DataFrame(
        {
            "subject": "p01",
            "condition": np.where(spu, "spu", "control"),
            "meal_time": times,
            "carbs_g": carbs,
            "glucose_iauc_mgdl_min": np.where(spu, with_spu, control),
            "glucose_iauc_control_mgdl_min": control,
            "glucose_iauc_spu_mgdl_min": with_spu,
        }
    )


def test_person_effect_recovers_the_factor_with_imbalanced_carbs():
    # SPU meals get more carbs: the potential-outcome truth is exactly the factor (0.6 -> 40%)
    # whatever the assignment; the ratio of arithmetic means is not when the factor varies
    carbs = np.array([40, 50, 60, 70, 80, 90, 100, 110], dtype=float)
    spu = np.array([0, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    t = _truth_frame(0.6, carbs, spu)
    out = person_effect(t).iloc[0]
    assert out["true_reduction_geomean_pct"] == pytest.approx(40.0, abs=1e-8)
    assert out["n_meals"] == 8
    # a factor that varies by meal: the truth is the geometric mean of the factors, by hand
    factor = np.linspace(0.4, 0.8, 8)
    t = _truth_frame(factor, carbs, spu)
    out = person_effect(t).iloc[0]
    assert out["true_reduction_geomean_pct"] == pytest.approx(
        100 * (1 - np.exp(np.mean(np.log(factor)))), abs=1e-8
    )
    y0 = t["glucose_iauc_control_mgdl_min"].to_numpy()
    expected_ratio = 100 * (1 - (factor * y0).mean() / y0.mean())
    assert out["true_ratio_of_means_pct"] == pytest.approx(expected_ratio)
    assert abs(expected_ratio - out["true_reduction_geomean_pct"]) > 1  # the two differ here


def test_person_effect_needs_both_outcomes_and_ignores_the_assignment():
    carbs = np.full(8, 60.0)
    t = _truth_frame(0.5, carbs, np.array([0, 1] * 4, dtype=bool))
    other = _truth_frame(0.5, carbs, np.array([1, 1, 1, 0, 0, 0, 0, 1], dtype=bool))
    assert person_effect(t).iloc[0]["true_reduction_geomean_pct"] == pytest.approx(50.0)
    assert person_effect(other).iloc[0]["true_reduction_geomean_pct"] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="potential outcomes"):
        person_effect(t.drop(columns=["glucose_iauc_spu_mgdl_min"]))


def test_blocked_assignment_is_the_planners_design():
    slots = ["breakfast", "lunch", "dinner"]
    spu, block = blocked_assignment(7, slots, 2, 0.5, np.random.default_rng(3))
    assert len(spu) == len(block) == 21
    assert block[0] == "breakfast-1" and block[3] == "breakfast-1" and block[6] == "breakfast-2"
    tab = pd.DataFrame({"spu": spu, "block": block})
    sizes = tab.groupby("block")["spu"].agg(["sum", "size"])
    full = sizes[sizes["size"] == 2]
    assert len(full) == 9 and (full["sum"] == 1).all()  # one SPU meal per complete block
    assert (sizes["size"] == 1).sum() == 3  # day 7: each slot's incomplete last block
    # the incomplete block is random: over many draws about half of its meals get SPU
    last = [
        blocked_assignment(7, slots, 2, 0.5, np.random.default_rng(k))[0][18] for k in range(400)
    ]
    assert 0.4 < np.mean(last) < 0.6


def test_simulated_potential_outcomes():
    from soleus_analysis.simulate import simulate_study

    s = simulate_study("freeliving", seed=5, days=2)
    t = s.truth
    factual = t["glucose_iauc_mgdl_min"].to_numpy()
    is_spu = (t["condition"] == "spu").to_numpy()
    # the factual value is one of the two potential outcomes; SPU lowers every meal's
    np.testing.assert_allclose(
        factual,
        np.where(is_spu, t["glucose_iauc_spu_mgdl_min"], t["glucose_iauc_control_mgdl_min"]),
    )
    assert (t["glucose_iauc_spu_mgdl_min"] < t["glucose_iauc_control_mgdl_min"]).all()
    assert list(t["block"].iloc[:3]) == ["breakfast-1", "lunch-1", "dinner-1"]
    eff = s.person_truth().iloc[0]
    assert eff["n_meals"] == 6
    assert 0 < eff["true_reduction_geomean_pct"] < 60
    # without an SPU effect the two outcomes are the same meal: the truth is exactly zero
    null = simulate_study("freeliving", seed=5, days=2, spu_gain=0.0)
    np.testing.assert_allclose(
        null.truth["glucose_iauc_spu_mgdl_min"], null.truth["glucose_iauc_control_mgdl_min"]
    )
    assert null.person_truth().iloc[0]["true_reduction_geomean_pct"] == pytest.approx(0, abs=1e-9)


def test_activity_log_carries_the_block(tmp_path):
    from soleus_analysis.simulate import simulate_study, write_study

    s = simulate_study("freeliving", seed=5, days=2)
    man = write_study(s, tmp_path)
    log = tmp_path / man["events_path"].iloc[0]
    with open(log, newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert rows[0]["block"] == "breakfast-1"
    meals = [r for r in rows if r["kind"] == "meal"]
    spu = [r for r in rows if r["kind"] == "spu"]
    assert len(meals) == 6 and len(spu) == 3 and all(r["block"] for r in rows)
    # the reader takes the log back (today it names the extra column in a warning)
    rec = io.read_events(log)
    assert (rec.events["kind"] == "meal").sum() == 6


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
    # without an SPU effect both potential outcomes of every meal are the same simulation, so
    # the truth is exactly zero (was: < 10 in absolute value, when it came from a regression)
    assert (df["true_pct"].abs() < 10).all()
    assert (df["true_pct"].abs() < 1e-9).all()


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
