"""Insulin indices (hand-computed) and the CGM-only insulin proxy (closed forms, properties,
and an independent fine-step Euler integration written here)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.insulin import (
    homa_b,
    homa_ir,
    insulin_indices,
    insulin_proxy,
    insulin_proxy_iauc,
    insulin_proxy_measures_batch,
    insulinogenic_index,
    lab_responses,
    matsuda,
)

MGDL = 18.0156  # mg/dL per mmol/L (the project constant)

# --------------------------------------------------------------------------- lab indices


def test_homa():
    g0 = 5.0 * MGDL  # 5.0 mmol/L
    # HOMA-IR = 5.0 * 9 / 22.5 = 2.0 ; HOMA-B = 20 * 9 / (5.0 - 3.5) = 120
    assert homa_ir(g0, 9.0) == pytest.approx(2.0)
    assert homa_b(g0, 9.0) == pytest.approx(120.0)
    assert math.isnan(homa_b(3.5 * MGDL, 9.0))
    assert math.isnan(homa_b(3.0 * MGDL, 9.0))
    np.testing.assert_allclose(homa_ir([g0, 2 * g0], [9.0, 9.0]), [2.0, 4.0])


def test_matsuda_exact_example():
    # G mean (100+80+120+100+100)/5 = 100, I mean (10+5+15+10+10)/5 = 10, G0 = 100, I0 = 10
    # -> 10000 / sqrt(100*10*100*10) = 10000 / 1000 = 10
    t = [0, 30, 60, 90, 120, 180]
    g = [100, 80, 120, 100, 100, 500]  # the 180-min sample is outside the 0..120 means
    i = [10, 5, 15, 10, 10, 500]
    assert matsuda(g, i, t) == pytest.approx(10.0)


def test_matsuda_typical_values():
    # G = 90,150,140,120,100 (mean 120); I = 10,60,70,50,30 (mean 44)
    # 10000 / sqrt(90 * 10 * 120 * 44) = 10000 / sqrt(4_752_000) = 4.58735...
    t = [0, 30, 60, 90, 120]
    v = matsuda([90, 150, 140, 120, 100], [10, 60, 70, 50, 30], t)
    assert v == pytest.approx(10000 / math.sqrt(4_752_000))
    assert v == pytest.approx(4.58735, abs=1e-5)


def test_insulinogenic_index():
    # (60 - 10) / (150 - 90) = 50 / 60
    t = [0, 30, 60]
    assert insulinogenic_index([90, 150, 140], [10, 60, 70], t) == pytest.approx(50 / 60)
    assert math.isnan(insulinogenic_index([90, 90, 140], [10, 60, 70], t))
    # 30 min not sampled: interpolated between 15 and 45: G30 = 140, I30 = 50
    assert insulinogenic_index([90, 130, 150], [10, 40, 60], [0, 15, 45]) == pytest.approx(40 / 50)


def _ogtt_table():
    sit_t = [0, 15, 30, 60, 90, 120, 180]
    sit_g = [90, 130, 160, 140, 110, 95, 85]
    sit_i = [10, 40, 60, 70, 50, 30, 12]
    spu_t = [0, 30, 60, 90, 120]
    spu_g = [90, 150, 140, 120, 100]
    spu_i = [10, 60, 70, 50, 30]
    rows = [("p1", "sit", *v) for v in zip(sit_t, sit_g, sit_i, strict=True)]
    rows += [("p1", "spu", *v) for v in zip(spu_t, spu_g, spu_i, strict=True)]
    return pd.DataFrame(
        rows, columns=["subject", "condition", "minute", "glucose_mgdl", "insulin_uU_ml"]
    )


def test_lab_responses_hand_worked():
    df = _ogtt_table().sample(frac=1.0, random_state=3)  # order must not matter
    out = lab_responses(df)
    assert list(out["condition"]) == ["sit", "spu"]
    sit = out.iloc[0]
    assert sit["n_samples"] == 7
    # glucose iAUC of this curve above 90 worked out in test_response: 4425
    assert sit["glucose_iauc_mgdl_min"] == pytest.approx(4425)
    # insulin above I0 = 10: d = 0,30,50,60,40,20,2 over steps 15,15,30,30,30,60:
    # 225 + 600 + 1650 + 1500 + 900 + 660 = 5535
    assert sit["insulin_iauc_uU_ml_min"] == pytest.approx(5535)
    assert sit["insulin_peak_uU_ml"] == 70
    assert sit["glucose_peak_mgdl"] == 160
    assert sit["glucose_120_mgdl"] == 95
    spu = out.iloc[1]
    assert spu["n_samples"] == 5
    assert spu["matsuda"] == pytest.approx(10000 / math.sqrt(4_752_000))
    assert spu["insulinogenic_index"] == pytest.approx(50 / 60)
    # HOMA from G0 = 90 mg/dL, I0 = 10
    assert spu["homa_ir"] == pytest.approx(90 / MGDL * 10 / 22.5)
    assert spu["homa_b"] == pytest.approx(20 * 10 / (90 / MGDL - 3.5))
    # window 0..120 drops the last sample of "sit": glucose iAUC 4425 - 75 = 4350
    short = lab_responses(df, window=(0, 120))
    assert short["glucose_iauc_mgdl_min"].iloc[0] == pytest.approx(4350)
    assert short["n_samples"].iloc[0] == 6


def test_lab_responses_without_insulin_and_bad_input():
    df = _ogtt_table().drop(columns="insulin_uU_ml")
    out = lab_responses(df)
    assert out["insulin_iauc_uU_ml_min"].isna().all()
    assert out["matsuda"].isna().all()
    assert out["glucose_iauc_mgdl_min"].iloc[0] == pytest.approx(4425)
    with pytest.raises(InputError, match="minute"):
        lab_responses(df.drop(columns="minute"))
    with pytest.raises(InputError):
        lab_responses(_ogtt_table(), baseline="p40_24h")


def test_premeal_baseline_and_indices_dict():
    # samples at -30, -15 (fasting 88, 92) then the drink; premeal baseline = mean(88, 92, 90) = 90
    t = [-30, -15, 0, 30, 60]
    g = [88, 92, 90, 150, 90]
    i = [9, 11, 10, 60, 10]
    d = insulin_indices(t, g, i, window=(0, 60), baseline="premeal")
    assert d["glucose_baseline_mgdl"] == pytest.approx(90)
    # triangle above 90: 60 * 60 / 2 = 1800 ; insulin above 10: 60 * 50 / 2 = 1500
    assert d["glucose_iauc_mgdl_min"] == pytest.approx(1800)
    assert d["insulin_iauc_uU_ml_min"] == pytest.approx(1500)


# --------------------------------------------------------------------------- insulin proxy

# Steady state worked by hand from Dalla Man 2007 kinetics with Ib = 25 pmol/L, VI = 0.05 L/kg:
# m3 = 0.6 * 0.19 / 0.4 = 0.285; Ip = 25 * 0.05 = 1.25 pmol/kg;
# Il = (m2 + m4) / m1 * Ip = 0.678 / 0.19 * 1.25 = 4.4605263; Sb = (m1 + m3) Il - m2 Ip
#    = 0.475 * 4.4605263 - 0.484 * 1.25 = 2.11875 - 0.605 = 1.51375 pmol/kg/min.
SB = 1.51375


def test_proxy_flat_at_basal_is_ib():
    t = np.arange(0, 241, 5.0)
    p = insulin_proxy(t, np.full(t.size, 95.0))
    np.testing.assert_allclose(p, 25.0, atol=1e-9)
    assert insulin_proxy_iauc(t, np.full(t.size, 95.0)) == pytest.approx(0.0, abs=1e-6)


def test_proxy_flat_above_basal_reaches_closed_form_steady_state():
    # Constant G = Gb + 30: Y -> beta * 30 = 3.3, secretion Sb + 3.3; linear kinetics scale
    # plasma insulin with secretion: I_ss = 25 * (1.51375 + 3.3) / 1.51375 = 79.5004...
    t = np.arange(0, 901, 15.0)
    p = insulin_proxy(t, np.full(t.size, 120.0), gb_mgdl=90)
    assert p[0] == pytest.approx(25.0)
    assert p[-1] == pytest.approx(25 * (SB + 0.11 * 30) / SB, rel=1e-4)
    assert np.all(np.diff(p) >= -1e-9)  # rises monotonically towards it


def test_proxy_far_below_basal_shuts_secretion_off():
    # G = Gb - 100: beta * (G - Gb) = -11 < -Sb, so Y -> -Sb and secretion -> 0: I -> 0.
    t = np.arange(0, 1501, 30.0)
    p = insulin_proxy(t, np.full(t.size, 60.0), gb_mgdl=160)
    assert 0 <= p[-1] < 0.05
    assert np.all(p >= -1e-9)


def _euler_reference(t_knots, g_knots, gb, dt=0.005, t_end=None):
    """Independent fine-step explicit Euler of the Dalla Man secretion + kinetics model."""
    K, alpha, beta, gamma = 2.30, 0.050, 0.11, 0.5
    m1, m2, m4, he, vi, ib = 0.190, 0.484, 0.194, 0.6, 0.05, 25.0
    m3 = he * m1 / (1 - he)
    ip = ib * vi
    il = (m2 + m4) / m1 * ip
    sb = (m1 + m3) * il - m2 * ip
    y, ipo = 0.0, sb / gamma
    t_end = t_knots[-1] if t_end is None else t_end
    n = int(round(t_end / dt))
    out_t, out_i = [], []
    slopes = np.diff(g_knots) / np.diff(t_knots)
    for k in range(n + 1):
        t = k * dt
        if k % int(round(1 / dt)) == 0:
            out_t.append(t)
            out_i.append(ip / vi)
        g = np.interp(t, t_knots, g_knots)
        seg = min(np.searchsorted(t_knots, t, side="right") - 1, len(slopes) - 1)
        dg = slopes[seg]
        spo = y + K * max(dg, 0.0) + sb
        target = max(beta * (g - gb), -sb)
        s = gamma * ipo
        dy = -alpha * (y - target)
        dipo = -gamma * ipo + spo
        dil = -(m1 + m3) * il + m2 * ip + s
        dip = -(m2 + m4) * ip + m1 * il
        y, ipo, il, ip = y + dt * dy, ipo + dt * dipo, il + dt * dil, ip + dt * dip
    return np.array(out_t), np.array(out_i)


def test_proxy_agrees_with_fine_euler_integration():
    # OGTT-like curve, knots on whole minutes (the slope term is then exact per minute)
    tk = np.array([0, 15, 30, 60, 90, 120, 180], float)
    gk = np.array([90, 130, 160, 140, 110, 95, 85], float)
    ref_t, ref_i = _euler_reference(tk, gk, gb=90.0)
    p = insulin_proxy(ref_t, np.interp(ref_t, tk, gk), gb_mgdl=90.0)
    # 1-min zero-order hold of the glucose level vs the exact linear level: small difference
    np.testing.assert_allclose(p, ref_i, rtol=0.01, atol=0.2)
    # same curve given only at the sparse knots: identical piecewise-linear input
    p_sparse = insulin_proxy(tk, gk, gb_mgdl=90.0)
    np.testing.assert_allclose(p_sparse, np.interp(tk, ref_t, p), rtol=1e-9)


def _meal(amplitude, plateau, step=5.0):
    # rise 30 min, plateau, fall 60 min, from 90 mg/dL
    tk = [0, 30, 30 + plateau, 90 + plateau, 240]
    gk = [90, 90 + amplitude, 90 + amplitude, 90, 90]
    t = np.arange(0, 241, step)
    return t, np.interp(t, tk, gk)


def test_proxy_monotone_in_height_and_duration():
    heights = [insulin_proxy_iauc(*_meal(a, 10), window=(0, 240)) for a in (20, 40, 80)]
    assert heights[0] > 0
    assert heights[0] < heights[1] < heights[2]
    lengths = [insulin_proxy_iauc(*_meal(50, p), window=(0, 240)) for p in (0, 20, 60)]
    assert lengths[0] < lengths[1] < lengths[2]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(40, 400, allow_nan=False), min_size=3, max_size=30),
    st.floats(1, 15),
)
def test_proxy_nonnegative_and_batch_equals_single(g, step):
    t = np.arange(len(g)) * step
    g = np.asarray(g)
    p = insulin_proxy(t, g)
    assert np.all(p >= -1e-9)
    two = insulin_proxy(np.vstack([t, t + 3.0]), np.vstack([g, g]))
    np.testing.assert_allclose(two[0], p, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(two[1], p, rtol=1e-9, atol=1e-9)  # time-shift invariant


def test_proxy_nan_handling_and_batch_columns():
    t = np.arange(0, 121, 15.0)
    g = np.interp(t, [0, 30, 120], [90, 150, 90])
    g_gap = g.copy()
    g_gap[3] = np.nan  # 45 min missing: bridged linearly (it lay on the straight 30..120 line)
    p, pg = insulin_proxy(t, g), insulin_proxy(t, g_gap)
    assert math.isnan(pg[3])
    np.testing.assert_allclose(np.delete(pg, 3), np.delete(p, 3), rtol=1e-9)
    df = insulin_proxy_measures_batch(np.vstack([t, t]), np.vstack([g, g_gap]), window=(0, 120))
    assert list(df.columns) == [
        "insulin_proxy_baseline_pmol_l",
        "insulin_proxy_iauc_pmol_l_min",
        "insulin_proxy_peak_pmol_l",
    ]
    np.testing.assert_allclose(df.iloc[0], df.iloc[1], rtol=1e-9)
    assert df["insulin_proxy_baseline_pmol_l"].iloc[0] == pytest.approx(25.0)


@settings(max_examples=60, deadline=None)
@given(
    n_rows=st.integers(0, 4),
    n_samples=st.integers(0, 3),
    seed=st.integers(0, 1000),
)
def test_proxy_batch_takes_any_number_of_windows_and_samples(n_rows, n_samples, seed):
    """Zero windows, windows with no or one valid sample: a result row per window, no error
    (a Dexcom export with one insulin entry and no meal used to crash the report here)."""
    from soleus_analysis.insulin import PROXY_MEASURE_COLUMNS, insulin_proxy_measures_batch

    rng = np.random.default_rng(seed)
    minutes = np.sort(rng.uniform(-30, 180, (n_rows, n_samples)), axis=1)
    glucose = rng.uniform(70, 200, (n_rows, n_samples))
    glucose[rng.random((n_rows, n_samples)) < 0.3] = np.nan
    out = insulin_proxy_measures_batch(minutes, glucose, window=(0, 120), gb_mgdl=90.0)
    assert list(out.columns) == list(PROXY_MEASURE_COLUMNS)
    assert len(out) == n_rows
    few = (np.isfinite(glucose).sum(axis=1) if n_rows else np.zeros(0)) <= 1
    assert out.loc[few, "insulin_proxy_iauc_pmol_l_min"].fillna(0).eq(0).all()
