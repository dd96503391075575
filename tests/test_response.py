"""Post-meal response measures: hand-worked cases and properties.

Every expected number below is worked out by hand in the comment next to it (or by an
independent loop written here), never copied from the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.response import (
    MEASURE_COLUMNS,
    auc_measures,
    auc_measures_batch,
    baseline_percentile,
    baseline_premeal,
    baseline_t0,
    decay_rate,
    delta_peak,
    iauc,
    iauc_batch,
    net_auc,
    peak,
    time_back_to_baseline,
    time_to_peak,
    total_auc,
    value_at,
    value_at_batch,
)

# --------------------------------------------------------------------------- hand-worked


def test_triangle():
    # (0,100) -> (30,160) -> (60,100), baseline 100: one triangle, base 60, height 60 -> 1800.
    t, g = [0, 30, 60], [100, 160, 100]
    m = auc_measures(t, g, 100)
    assert m["iauc_mgdl_min"] == pytest.approx(1800)
    assert m["net_auc_mgdl_min"] == pytest.approx(1800)
    # total = rectangle 60 x 100 + the triangle 1800
    assert m["total_auc_mgdl_min"] == pytest.approx(7800)
    assert m["peak_mgdl"] == 160
    assert m["delta_peak_mgdl"] == 60
    assert m["time_to_peak_min"] == 30
    assert m["time_to_baseline_min"] == 60
    # decay over 30 min after the peak: (160 - 100) / 30 = 2 mg/dL/min
    assert decay_rate(t, g, decay_span=30) == pytest.approx(2.0)
    # default span 60: peak + 60 = 90 is past the end -> NaN
    assert math.isnan(m["decay_mgdl_per_min"])


def test_baseline_crossing_is_split():
    # (0,100),(10,120),(20,80), baseline 100.
    # 0..10: trapezoid of (0, 20) over 10 min = 10 * 20 / 2 = 100.
    # 10..20: 120 -> 80 crosses 100 half way, at t = 15; only the triangle above counts:
    #         base 5 min, height 20 -> 5 * 20 / 2 = 50.   iAUC = 150 (not the 100 a plain
    #         trapezoid of max(g - b, 0) at the samples would give: 100 + 10*(20+0)/2 = 200).
    t, g = [0, 10, 20], [100, 120, 80]
    assert iauc(t, g, 100) == pytest.approx(150.0)
    # net: 100 + 10 * (20 + (-20)) / 2 = 100
    assert net_auc(t, g, 100) == pytest.approx(100.0)
    assert time_back_to_baseline(t, g, 100) == pytest.approx(15.0)


def test_crossing_upwards_and_unequal():
    # (0,90) -> (10,130), baseline 100: crossing at t = 10 * 10/40 = 2.5; triangle above:
    # base 7.5, height 30 -> 7.5 * 30 / 2 = 112.5
    assert iauc([0, 10], [90, 130], 100) == pytest.approx(112.5)


def test_irregular_sparse_lab_grid():
    # OGTT samples at 0,15,30,60,90,120,180 min, baseline = t0 = 90.
    # g - b = 0, 40, 70, 50, 20, 5, -5
    # 0-15: 15*(0+40)/2 = 300; 15-30: 15*(40+70)/2 = 825; 30-60: 30*(70+50)/2 = 1800;
    # 60-90: 30*(50+20)/2 = 1050; 90-120: 30*(20+5)/2 = 375;
    # 120-180: 5 -> -5 crosses at 150, triangle 30*5/2 = 75.  Sum = 4425.
    t = [0, 15, 30, 60, 90, 120, 180]
    g = [90, 130, 160, 140, 110, 95, 85]
    m = auc_measures(t, g, 90)
    assert m["iauc_mgdl_min"] == pytest.approx(4425)
    # net: the last segment nets 0 -> 4350
    assert m["net_auc_mgdl_min"] == pytest.approx(4350)
    # total: 15*(90+130)/2 + 15*(130+160)/2 + 30*(160+140)/2 + 30*(140+110)/2
    #        + 30*(110+95)/2 + 60*(95+85)/2 = 1650 + 2175 + 4500 + 3750 + 3075 + 5400 = 20550
    assert m["total_auc_mgdl_min"] == pytest.approx(20550)
    assert m["peak_mgdl"] == 160 and m["time_to_peak_min"] == 30
    assert m["glucose_120_mgdl"] == 95
    assert m["time_to_baseline_min"] == pytest.approx(150)
    # decay: (160 - G(90) = 110) / 60
    assert m["decay_mgdl_per_min"] == pytest.approx(50 / 60)
    # window 0..120 cuts off the last segment: 4425 - 75 = 4350
    assert iauc(t, g, 90, window=(0, 120)) == pytest.approx(4350)
    # window 0..150 interpolates G(150) = 90: adds nothing above baseline -> still 4425 - 0
    assert iauc(t, g, 90, window=(0, 150)) == pytest.approx(4425)


def test_all_below_baseline():
    t, g = [0, 10, 20], [80, 70, 90]
    assert iauc(t, g, 100) == 0.0
    # net: 10*(-20-30)/2 + 10*(-30-10)/2 = -250 - 200 = -450
    assert net_auc(t, g, 100) == pytest.approx(-450)
    assert delta_peak(t, g, 100) == -10
    # peak (90 at 20) is already below baseline: back to baseline at the peak itself
    assert time_back_to_baseline(t, g, 100) == 20


def test_flat_trace():
    t = np.arange(0, 121, 5.0)
    g = np.full(t.size, 100.0)
    m = auc_measures(t, g, 100)
    assert m["iauc_mgdl_min"] == 0.0
    assert m["net_auc_mgdl_min"] == 0.0
    assert m["total_auc_mgdl_min"] == pytest.approx(12000)
    assert m["time_to_peak_min"] == 0  # first occurrence of the maximum
    assert m["delta_peak_mgdl"] == 0


def test_never_back_to_baseline():
    assert math.isnan(time_back_to_baseline([0, 60, 120], [100, 150, 130], 100))


def test_window_cut_on_unaligned_cgm_grid():
    # 5-min CGM grid 2 min off the meal: samples at t = -8, -3, 2, ..., ramp g = 101.6 + t/5.
    # Over the window 0..120 the curve is the same line, so iAUC above 100 is
    # integral_0^120 (1.6 + t/5) dt = 1.6*120 + 120^2/10 = 192 + 1440 = 1632.
    t = np.arange(-8.0, 130.0, 5.0)
    g = 101.6 + t / 5
    assert iauc(t, g, 100, window=(0, 120)) == pytest.approx(1632)
    assert value_at(t, g, 120) == pytest.approx(125.6)
    m = auc_measures(t, g, 100, window=(0, 120))
    assert m["peak_mgdl"] == pytest.approx(125.6) and m["time_to_peak_min"] == 120


def test_window_beyond_data_not_extrapolated():
    # data only 0..60; window 0..120 integrates 0..60 only: triangle (0,100),(30,130),(60,100) = 900
    assert iauc([0, 30, 60], [100, 130, 100], 100, window=(0, 120)) == pytest.approx(900)


def test_nan_readings_are_skipped_and_order_irrelevant():
    # (0,100),(10,NaN),(20,140): the curve joins (0,100)-(20,140): 20*40/2 = 400
    assert iauc([0, 10, 20], [100, np.nan, 140], 100) == pytest.approx(400)
    assert iauc([20, 0, 10], [140, 100, np.nan], 100) == pytest.approx(400)
    assert iauc([0, np.nan, 20], [100, 120, 140], 100) == pytest.approx(400)


def test_too_few_points_and_nan_baseline():
    assert math.isnan(iauc([0], [120], 100))
    assert math.isnan(iauc([], [], 100))
    assert math.isnan(iauc([0, 10], [120, 130], np.nan))
    assert peak([0], [120]) == 120
    assert math.isnan(peak([0, 5], [np.nan, np.nan]))


def test_value_at_and_helpers():
    t, g = [0, 15, 45], [90, 120, 60]
    assert value_at(t, g, 15) == 120
    assert value_at(t, g, 30) == pytest.approx(90)  # half way 120 -> 60
    assert math.isnan(value_at(t, g, 50))
    assert math.isnan(value_at(t, g, -1))
    assert time_to_peak(t, g) == 15
    assert total_auc([0, 10], [100, 120]) == pytest.approx(1100)
    v = value_at_batch([[0, 10, np.nan], [0, 20, 40]], [[100, 200, np.nan], [0, 20, 40]], [5, 30])
    np.testing.assert_allclose(v, [150, 30])


def test_baselines():
    t = [-40, -30, -20, -10, 0, 5]
    g = [1, 2, 3, 4, 5, 6]
    assert baseline_premeal(t, g) == pytest.approx((2 + 3 + 4 + 5) / 4)
    assert baseline_premeal(t, g, span=(-40, -20)) == pytest.approx(2)
    assert math.isnan(baseline_premeal([10, 20], [1, 2]))
    assert baseline_t0([-5, 5], [100, 110]) == pytest.approx(105)
    assert baseline_percentile(np.arange(101.0)) == pytest.approx(40)
    assert baseline_percentile([np.nan, 1.0, 2.0, 3.0, 4.0, 5.0], q=50) == pytest.approx(3)
    assert math.isnan(baseline_percentile([]))
    two = baseline_premeal([[-30, 0, 10], [-5, np.nan, 3]], [[2, 4, 9], [7, 1, 1]])
    np.testing.assert_allclose(two, [3, 7])
    np.testing.assert_allclose(
        baseline_percentile([[0, 10, np.nan], [np.nan] * 3], q=50), [5, np.nan]
    )


def test_batch_shapes_and_errors():
    df = auc_measures_batch([[0, 10, 20], [0, 10, np.nan]], [[100, 120, 80], [100, 120, 7]], 100)
    assert list(df.columns) == list(MEASURE_COLUMNS)
    # row 0: 150 (as above); row 1: 10*20/2 = 100 (the padded point is ignored)
    np.testing.assert_allclose(df["iauc_mgdl_min"], [150, 100])
    with pytest.raises(InputError):
        iauc_batch(np.zeros((2, 3)), np.zeros((2, 4)), 1.0)
    with pytest.raises(InputError):
        iauc_batch(np.zeros((2, 3)), np.zeros((2, 3)), [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="window"):
        iauc([0, 10], [1, 2], 0, window=(120, 0))


# --------------------------------------------------------------------------- independent reference


def _ref_iauc(t, g, b):
    """Independent loop: the Wolever rule segment by segment."""
    pts = sorted((ti, gi) for ti, gi in zip(t, g, strict=True) if not math.isnan(gi))
    area = 0.0
    for (t0, g0), (t1, g1) in zip(pts, pts[1:], strict=False):
        a, c, w = g0 - b, g1 - b, t1 - t0
        if a >= 0 and c >= 0:
            area += w * (a + c) / 2
        elif a > 0 > c:
            area += 0.5 * a * (w * a / (a - c))
        elif c > 0 > a:
            area += 0.5 * c * (w * c / (c - a))
    return area


curves = st.integers(min_value=2, max_value=25).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0.5, 30, allow_nan=False), min_size=n - 1, max_size=n - 1),  # time steps
        st.lists(st.floats(40, 300, allow_nan=False), min_size=n, max_size=n),  # glucose
        st.floats(60, 200, allow_nan=False),  # baseline
    )
)


def _unpack(c):
    steps, g, b = c
    t = np.concatenate([[0.0], np.cumsum(steps)])
    return t, np.asarray(g), b


@settings(max_examples=60, deadline=None)
@given(curves)
def test_matches_reference_and_nonnegative(c):
    t, g, b = _unpack(c)
    v = iauc(t, g, b)
    assert v >= 0
    assert v == pytest.approx(_ref_iauc(t, g, b), rel=1e-9, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(curves, st.integers(0, 100), st.floats(0.01, 0.99))
def test_inserting_point_on_segment_changes_nothing(c, which, frac):
    t, g, b = _unpack(c)
    j = which % (len(t) - 1)
    tn = t[j] + frac * (t[j + 1] - t[j])
    gn = g[j] + frac * (g[j + 1] - g[j])
    t2 = np.insert(t, j + 1, tn)
    g2 = np.insert(g, j + 1, gn)
    a, a2 = auc_measures(t, g, b), auc_measures(t2, g2, b)
    for k in ("iauc_mgdl_min", "net_auc_mgdl_min", "total_auc_mgdl_min", "peak_mgdl"):
        assert a2[k] == pytest.approx(a[k], rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(curves, st.floats(0.1, 10))
def test_scales_linearly_with_amplitude(c, k):
    t, g, b = _unpack(c)
    assert iauc(t, b + k * (g - b), b) == pytest.approx(k * iauc(t, g, b), rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(curves)
def test_iauc_equals_net_when_never_below(c):
    t, g, _ = _unpack(c)
    b = float(np.min(g))
    assert iauc(t, g, b) == pytest.approx(net_auc(t, g, b), rel=1e-9, abs=1e-6)
    # and total AUC = iAUC above 0
    assert iauc(t, g, 0.0) == pytest.approx(total_auc(t, g), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(curves, min_size=1, max_size=6), st.booleans())
def test_batch_equals_scalar(cs, windowed):
    rows = [_unpack(c) for c in cs]
    width = max(len(t) for t, _, _ in rows)
    tt = np.full((len(rows), width), np.nan)
    gg = np.full((len(rows), width), np.nan)
    for i, (t, g, _) in enumerate(rows):
        tt[i, : len(t)], gg[i, : len(g)] = t, g
    bb = np.array([b for _, _, b in rows])
    win = (5.0, 60.0) if windowed else None
    df = auc_measures_batch(tt, gg, bb, window=win)
    for i, (t, g, b) in enumerate(rows):
        one = auc_measures(t, g, b, window=win)
        for k in MEASURE_COLUMNS:
            assert df[k].iloc[i] == pytest.approx(one[k], nan_ok=True)
    np.testing.assert_allclose(iauc_batch(tt, gg, bb, window=win), df["iauc_mgdl_min"])
