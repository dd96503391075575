"""Tests of the simulator: physiology, sensor, protocols, cohorts (synthetic data only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.simulate import PROTOCOLS, population_truth, simulate_study, truth_reduction
from soleus_analysis.simulate.constants import SPU_GAIN
from soleus_analysis.simulate.physiology import basal_state, sample_parameters, simulate
from soleus_analysis.simulate.sensor import (
    SensorSpec,
    ar2_noise,
    gain,
    interstitial,
    sense,
)


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return sample_parameters(8, "healthy", np.random.default_rng(3))


def _trapz_iauc(t: np.ndarray, y: np.ndarray) -> float:
    """Independent iAUC: fine linear resampling, positive part, rectangle rule."""
    tt = np.linspace(t[0], t[-1], 200_001)
    d = np.clip(np.interp(tt, t, y) - y[0], 0, None)
    return float(np.sum((d[1:] + d[:-1]) / 2) * (tt[1] - tt[0]))


# ----------------------------------------------------------------- physiology


def test_basal_steady_state_stays_flat(people):
    res = simulate(people, 0.0, 300.0)
    assert np.abs(res.glucose - people["Gb"].to_numpy()[:, None]).max() < 1e-6
    assert np.abs(res.insulin - people["Ib"].to_numpy()[:, None]).max() < 1e-2


def test_basal_state_derivatives_are_zero(people):
    from soleus_analysis.simulate.physiology import _rhs_factory

    state, p = basal_state(people)
    rhs = _rhs_factory(p, np.zeros(len(people)), np.zeros(len(people)))
    assert np.abs(rhs(0.0, state.ravel())).max() < 1e-10
    # hand-worked basal of the Dalla Man normal subject: Gb 90, Vm0 2.5 -> EGPb ~ 1.90 mg/kg/min
    one = people.iloc[[0]].copy()
    one[["Gb", "Vm0", "Ib"]] = [90.0, 2.5, 25.0]
    _, q = basal_state(one)
    gpb = 90 * 1.88
    gtb = q["Gtb"][0]
    # dGt/dt = 0 by construction
    assert 2.5 * gtb / (225.59 + gtb) == pytest.approx(0.065 * gpb - 0.079 * gtb, rel=1e-9)
    assert q["EGPb"][0] == pytest.approx(1.90, abs=0.01)


def test_drink_raises_then_returns_to_baseline(people):
    """Dalla Man's normal subject: a 75 g drink peaks 30-120 min and is back by 4 h."""
    normal = people.iloc[[0]].copy()
    normal[["Gb", "Ib", "BW", "Vm0", "Vmx", "kp2", "kp3", "p2U"]] = [
        90.0,
        25.0,
        78.0,
        2.5,
        0.047,
        0.0021,
        0.009,
        0.0331,
    ]
    normal[["K", "alpha", "beta", "kabs", "kmin"]] = [2.30, 0.050, 0.11, 0.057, 0.0080]
    res = simulate(normal, 0.0, 300.0, meals=[[(0.0, 75.0)]])
    g = res.glucose[0]
    assert 130 < g.max() < 200
    assert 30 <= res.minutes[g.argmax()] <= 120
    assert abs(g[240] - 90.0) < 10
    # the sampled cohort's mean curve, too, rises and comes back within ~15 mg/dL by 5 h
    res = simulate(people, 0.0, 300.0, meals=[[(0.0, 75.0)]] * len(people))
    mean = res.glucose.mean(axis=0)
    assert mean.max() > people["Gb"].mean() + 30
    assert abs(mean[-1] - people["Gb"].mean()) < 15


def test_absorbed_glucose_matches_dose(people):
    """Mass balance of the gut: integral of Ra * BW = f * dose (after absorption ends)."""
    res = simulate(people.iloc[:2], 0.0, 900.0, meals=[[(0.0, 50.0)]] * 2)
    absorbed = np.trapezoid(res.ra, res.minutes, axis=1) * people["BW"].to_numpy()[:2]
    assert absorbed == pytest.approx(0.9 * 50_000.0, rel=2e-3)


def test_spu_lowers_iauc(people):
    p = pd.concat([people, people], ignore_index=True)
    p["spu_gain"] = np.r_[np.zeros(len(people)), np.full(len(people), 2.0)]
    m = len(p)
    res = simulate(p, 0.0, 180.0, [[(0.0, 75.0)]] * m, [[]] * len(people) + [[(0.0, 180.0)]] * 8)
    ia = np.array([_trapz_iauc(res.minutes, g) for g in res.glucose])
    assert np.all(ia[8:] < ia[:8])
    # the SPU effect rises with tau_on = 3 min: 1 - exp(-1) of the gain after 3 min
    assert res.spu_effect[8, 3] == pytest.approx(2.0 * (1 - np.exp(-1)), rel=1e-3)


# ----------------------------------------------------------------- sensor


def test_ar2_autocorrelation():
    v = ar2_noise(200_000, np.random.default_rng(0))
    v = v - v.mean()
    r1 = np.dot(v[1:], v[:-1]) / np.dot(v, v)
    r2 = np.dot(v[2:], v[:-2]) / np.dot(v, v)
    # Yule-Walker: rho1 = phi1 / (1 - phi2), rho2 = phi1 rho1 + phi2
    rho1 = 1.260 / 1.402
    assert r1 == pytest.approx(rho1, abs=0.01)
    assert r2 == pytest.approx(1.260 * rho1 - 0.402, abs=0.015)
    var = 3.25**2 * (1 + 0.402) / ((1 - 0.402) * ((1 + 0.402) ** 2 - 1.260**2))
    assert v.var() == pytest.approx(var, rel=0.05)


def test_interstitial_delay_first_order():
    g = np.r_[np.full(10, 100.0), np.full(200, 200.0)]
    ig = interstitial(g, tau_min=7.0)
    assert ig[9] == pytest.approx(100.0)
    # step response: 100 * (1 - exp(-k/7)) after k minutes of the new value
    assert ig[9 + 7] == pytest.approx(200 - 100 * np.exp(-1), rel=1e-9)


def test_gain_drift_formula():
    assert gain(0.0, (0.942, 0.00494, -0.000585)) == pytest.approx(0.942)
    assert gain(10.0, (0.942, 0.00494, -0.000585)) == pytest.approx(0.942 + 0.0494 - 0.0585)


def test_censoring_at_limits():
    minutes = np.arange(0.0, 600.0)
    glucose = np.r_[np.full(200, 25.0), np.full(200, 120.0), np.full(200, 480.0)]
    spec = SensorSpec(noise_sd_mgdl=0.0, gap_rate=0.0, offset_sd_mgdl=0.0, gain_sd=(0, 0, 0))
    r = sense(
        minutes,
        glucose,
        np.arange(100.0, 600.0, 5.0),
        np.full(100, 1.0),
        np.random.default_rng(0),
        spec,
        {"tau": 7.0, "a0": 1.0, "a1": 0.0, "a2": 0.0, "b": 0.0},
    )
    low = r[r.minute < 200]
    high = r[r.minute > 500]
    assert (low.censored == "low").all() and (low.glucose_mgdl == 40).all()
    assert (high.censored == "high").all() and (high.glucose_mgdl == 400).all()
    mid = r[(r.minute > 300) & (r.minute < 400)]
    assert mid.censored.isna().all() and (mid.glucose_mgdl == 120).all()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.floats(0.0, 0.05))
def test_sensor_values_in_range_and_gaps(seed, rate):
    rng = np.random.default_rng(seed)
    minutes = np.arange(0.0, 1000.0)
    glucose = 100 + 80 * np.sin(minutes / 60.0)
    spec = SensorSpec(gap_rate=rate)
    r = sense(minutes, glucose, np.arange(0.0, 1000.0, 5.0), np.full(200, 3.0), rng, spec)
    assert r.glucose_mgdl.between(40, 400).all()
    assert (r.glucose_mgdl == np.round(r.glucose_mgdl)).all()
    if rate == 0:
        assert r.kept.all()


# ----------------------------------------------------------------- cohort


@pytest.fixture(scope="module")
def study():
    return simulate_study("hamilton2022", n=6, seed=11)


def test_reproducible_by_seed(study):
    again = simulate_study("hamilton2022", n=6, seed=11)
    pd.testing.assert_frame_equal(study.cgm, again.cgm)
    pd.testing.assert_frame_equal(study.venous, again.venous)
    pd.testing.assert_frame_equal(study.truth, again.truth)
    other = simulate_study("hamilton2022", n=6, seed=12)
    assert not np.allclose(other.truth.glucose_iauc_mgdl_min, study.truth.glucose_iauc_mgdl_min)


def test_study_frames(study):
    proto = PROTOCOLS["hamilton2022"]
    assert len(study.venous) == 6 * 2 * len(proto.lab_minutes)
    assert set(study.venous.condition) == {"control", "spu"}
    assert list(study.cgm.columns[:5]) == ["subject", "time", "glucose_mgdl", "censored", "source"]
    ev = study.events
    assert (ev.kind == "meal").sum() == 12 and (ev.kind == "spu").sum() == 6
    spu = ev[ev.kind == "spu"]
    assert ((spu.end - spu.time) == pd.Timedelta(minutes=180)).all()
    # CGM every 300 s within each test morning
    for _, g in study.cgm.groupby("subject"):
        steps = g.time.diff().dt.total_seconds().dropna()
        assert (steps % 300 == 0).all()


def test_truth_matches_independent_iauc(study):
    c = study.true_curves
    for (subj, cond), g in list(c.groupby(["subject", "condition"]))[:4]:
        w = g[(g.minute >= 0) & (g.minute <= 180)]
        expect = _trapz_iauc(w.minute.to_numpy(), w.glucose_mgdl.to_numpy())
        got = study.truth.set_index(["subject", "condition"]).loc[(subj, cond)]
        assert got.glucose_iauc_mgdl_min == pytest.approx(expect, rel=1e-4)


def test_true_iauc_any_window(study):
    # over the protocol window: the truth table itself
    full = study.true_iauc().set_index(["subject", "condition"])["true_iauc"]
    truth = study.truth.set_index(["subject", "condition"])
    np.testing.assert_allclose(full, truth.loc[full.index, "glucose_iauc_mgdl_min"], rtol=1e-12)
    ins = study.true_iauc(value="insulin_uU_ml").set_index(["subject", "condition"])["true_iauc"]
    np.testing.assert_allclose(ins, truth.loc[ins.index, "insulin_iauc_uU_ml_min"], rtol=1e-12)
    # another window, also between grid minutes: the independent iAUC of the cut curve
    c = study.true_curves
    for window in (120.0, 90.5):
        got = study.true_iauc(window).set_index(["subject", "condition"])["true_iauc"]
        for (subj, cond), g in list(c.groupby(["subject", "condition"]))[:3]:
            t, y = g.minute.to_numpy(), g.glucose_mgdl.to_numpy()
            tt = np.r_[t[(t >= 0) & (t < window)], window]
            expect = _trapz_iauc(tt, np.interp(tt, t, y))
            assert got.loc[(subj, cond)] == pytest.approx(expect, rel=1e-4)
    with pytest.raises(ValueError, match="crossover"):
        simulate_study("freeliving", seed=1, days=1).true_iauc()


def test_true_reduction_definition(study):
    t = study.truth
    m = t.groupby("condition").glucose_iauc_mgdl_min.mean()
    assert study.true_reduction()["glucose_iauc_reduction_pct"] == pytest.approx(
        100 * (1 - m["spu"] / m["control"])
    )
    assert study.true_reduction() == truth_reduction(study.truth)


def test_elek_protocol_shape():
    s = simulate_study("elek2025", seed=1)
    assert s.params.shape[0] == 10
    assert sorted(s.venous.minute.unique()) == list(range(0, 121, 15))
    assert len(s.cgm) == 0
    # fixed order: control test before the SPU test
    meals = s.events[s.events.kind == "meal"]
    first = meals.sort_values("time").groupby("subject").label.first()
    assert first.str.contains("control").all()


def test_freeliving_half_the_meals_with_spu():
    s = simulate_study("freeliving", seed=5, days=4)
    meals = s.events[s.events.kind == "meal"]
    assert len(meals) == 12
    assert (s.truth.condition == "spu").sum() == 6
    steps = s.cgm.time.diff().dt.total_seconds().dropna()
    assert (steps >= 299).all()


@pytest.mark.slow
def test_calibration_reproduces_52_percent_on_fresh_cohort():
    red = population_truth("hamilton2022", n=1500, seed=777)
    assert red["glucose_iauc_reduction_pct"] == pytest.approx(52.0, abs=3.0)
    assert SPU_GAIN > 0


def test_freeliving_healthy_tracker_looks_like_healthy_cgm():
    """Healthy adults' CGM (Shah et al. 2019): mean ~99 mg/dL, ~1% below 70, ~96% in 70-140.

    Loose bounds around the published values (one simulated person, sensor noise included).
    """
    s = simulate_study("freeliving", seed=14)
    c = s.cgm.glucose_mgdl.to_numpy()
    assert 88 < c.mean() < 112
    assert (c < 70).mean() < 0.03
    assert ((c >= 70) & (c <= 180)).mean() > 0.95
    # the noise-free plasma curve never drops far below the person's basal glucose
    assert s.true_curves.glucose_mgdl.min() > s.params.Gb.iloc[0] - 15


# ----------------------------------------------------------------- sensor drift, implied physiology


def test_offset_drift_polynomial():
    from soleus_analysis.simulate.sensor import SENSORS, draw_sensor, offset

    assert offset(0.0, (6.38, 0.0, 0.0)) == pytest.approx(6.38)
    # Vettoretti et al. 2019 (EMBC) Dexcom G6 offset: -6.398 + 6.179 d - 0.448 d^2
    drift = SENSORS["dexcom_g6_drift"]
    assert offset(5.0, (drift.offset_mgdl, *drift.offset_drift)) == pytest.approx(
        -6.398 + 6.179 * 5 - 0.448 * 25
    )
    c = draw_sensor(SENSORS["dexcom_g6"], np.random.default_rng(0))
    assert c["b1"] == 0.0 and c["b2"] == 0.0  # the default preset: a constant offset
    minutes = np.arange(0.0, 600.0)
    flat = np.full(600, 100.0)
    coefs = {"tau": 7.0, "a0": 1.0, "a1": 0.0, "a2": 0.0, "b": 0.0, "b1": 6.0, "b2": 0.0}
    spec = SensorSpec(noise_sd_mgdl=0.0, gap_rate=0.0)
    r = sense(minutes, flat, np.array([100.0, 500.0]), np.array([1.0, 4.0]),
              np.random.default_rng(0), spec, coefs)  # fmt: skip
    assert r["glucose_mgdl"].tolist() == [106.0, 124.0]  # 100 + 6 d


@pytest.mark.slow
def test_implied_physiology_of_the_calibrated_effect():
    from soleus_analysis.simulate import implied_physiology

    r = implied_physiology("hamilton2022", n=300, seed=5)
    # the sitting volunteers have normal glucose tolerance on average (2-h < 140 mg/dL)
    assert 110 < r["control_2h_mgdl"] < 140
    assert r["control_fasting_mgdl"] < 100
    # the calibrated SPU term takes up a large share of the drink (stated in notebook 01)
    assert 150 < r["spu_uptake_mg_min"] < 350
    assert r["spu_uptake_g"] == pytest.approx(r["spu_uptake_pct_of_drink"] * 0.75)
    per_kg = r["spu_uptake_mg_min"] / (0.01 * 80)  # about 80 kg body weight
    assert r["spu_uptake_mg_kg_muscle_min"] == pytest.approx(per_kg, rel=0.2)
    assert r["spu_oxygen_ml_min"] == pytest.approx(r["spu_uptake_mg_min"] / 180.156 * 134.4)
    assert r["glucose_iauc_reduction_pct"] == pytest.approx(52.0, abs=4.0)
    former = implied_physiology("hamilton2022", n=300, seed=5, population="sedentary_igt")
    assert former["control_2h_mgdl"] > 160  # the former population: impaired tolerance
