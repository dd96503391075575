"""Each plot function returns a Figure drawing exactly the data it was given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure

from soleus_analysis import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _agp() -> pd.DataFrame:
    minute = np.arange(0, 1440, 15)
    base = 100 + 20 * np.sin(minute / 1440 * 2 * np.pi)
    return pd.DataFrame(
        {
            "subject": "A",
            "minute_of_day": minute,
            "n": 14,
            "p5": base - 30,
            "p25": base - 10,
            "p50": base,
            "p75": base + 10,
            "p95": base + 40,
        }
    )


def test_agp_median_line_is_p50_by_hour():
    agp = _agp()
    fig = plots.plot_agp(agp)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    median = [ln for ln in ax.get_lines() if ln.get_label() == "median"]
    assert len(median) == 1
    # each bin at its start, and midnight again at 24:00 (the day wraps)
    p50 = agp["p50"].to_numpy()
    np.testing.assert_allclose(median[0].get_ydata(), np.append(p50, p50[0]))
    np.testing.assert_allclose(median[0].get_xdata(), np.arange(0, 1441, 15) / 60.0)
    # two percentile bands
    assert sum(1 for c in ax.collections if c.get_label() in ("5–95%", "25–75%")) == 2


def test_agp_all_missing_does_not_fail():
    agp = _agp().assign(p5=np.nan, p25=np.nan, p50=np.nan, p75=np.nan, p95=np.nan)
    ax = plots.plot_agp(agp).axes[0]
    assert ax.get_ylim() == (0.0, 350.0)  # the AGP's fixed axis, whatever the data


def test_agp_axis_is_fixed_and_in_the_units_asked():
    high = _agp().assign(p95=390.0)
    for units, top, ticks in (
        ("mg/dL", 350.0, ["0", "54", "70", "180", "250", "350"]),
        ("mmol/L", 350.0 / 18.0156, ["0", "3.0", "3.9", "10.0", "13.9", "19.4"]),
    ):
        ax = plots.plot_agp(high, units=units).axes[0]
        assert ax.get_ylim() == pytest.approx((0.0, top))
        assert [t.get_text() for t in ax.get_yticklabels()] == ticks
        assert ax.get_ylabel() == f"glucose ({units})"
        median = next(ln for ln in ax.get_lines() if ln.get_label() == "median")
        p50 = _agp()["p50"].to_numpy()
        k = 1.0 if units == "mg/dL" else 18.0156
        np.testing.assert_allclose(median.get_ydata()[:-1], p50 / k)


def test_tir_bar_heights_are_band_percentages_summing_to_100():
    m = {
        "tbr_54_pct": 1.0,
        "tbr_70_pct": 4.0,  # 3 % in 54-69
        "tir_pct": 70.0,
        "tar_180_pct": 26.0,
        "tar_250_pct": 6.0,  # 20 % in 181-250
        "subject": "A",
    }
    fig = plots.plot_tir(m)
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights, [1.0, 3.0, 70.0, 20.0, 6.0])
    assert sum(heights) == pytest.approx(100.0)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "70.0% (16.8 h/day)" in texts  # 0.70 * 24 h
    assert "1.0% (14 min/day)" in texts  # 0.01 * 1440 min


def test_tir_labels_of_tiny_bands_do_not_overlap():
    m = {
        "tbr_54_pct": 0.0,
        "tbr_70_pct": 0.4,
        "tir_pct": 97.4,
        "tar_180_pct": 2.2,
        "tar_250_pct": 0,
    }
    ys = sorted(t.get_position()[1] for t in plots.plot_tir(m).axes[0].texts)
    assert np.all(np.diff(ys) >= 9.0 - 1e-9)
    assert min(ys) >= 0 and max(ys) <= 100


def _curves() -> pd.DataFrame:
    rows = []
    for cond, amp in (("control", [40.0, 50.0, 60.0]), ("spu", [20.0, 30.0])):
        for k, a in enumerate(amp):
            for minute in (0, 30, 60):
                rows.append(
                    {
                        "subject": "A",
                        "meal_time": pd.Timestamp("2024-01-01") + pd.Timedelta(hours=k),
                        "condition": cond,
                        "minute": minute,
                        "delta_mgdl": a * minute / 60,
                    }
                )
    return pd.DataFrame(rows)


def test_meal_curves_means_by_condition():
    fig = plots.plot_meal_curves(_curves())
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines() if "n=" in str(ln.get_label())}
    assert set(lines) == {"sitting (no SPU) (n=3)", "soleus pushups (n=2)"}
    # means at 0, 30, 60 min: control mean amplitude 50, spu 25
    np.testing.assert_allclose(lines["sitting (no SPU) (n=3)"].get_ydata(), [0, 25, 50])
    np.testing.assert_allclose(lines["soleus pushups (n=2)"].get_ydata(), [0, 12.5, 25])


def test_meal_curves_empty_says_so():
    empty = _curves().iloc[:0]
    fig = plots.plot_meal_curves(empty)
    assert any("no meals" in t.get_text() for t in fig.axes[0].texts)


def _meals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": "A",
            "condition": ["control", "control", "spu", "spu", "spu", "control"],
            "iauc_mgdl_min": [5000.0, 7000.0, 3000.0, 2000.0, 4000.0, 9999.0],
            "spu_minutes": [0.0, 0.0, 10.0, 20.0, 30.0, 0.0],
            "excluded_reason": [None, None, None, None, None, "low coverage"],
        }
    )


def test_meal_dots_show_included_meals_only():
    fig = plots.plot_meal_dots(_meals())
    ax = fig.axes[0]
    pts = [c for c in ax.collections if isinstance(c, PathCollection)]
    ys = sorted(np.concatenate([c.get_offsets()[:, 1] for c in pts]).tolist())
    assert ys == [2000.0, 3000.0, 4000.0, 5000.0, 7000.0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["no SPU\n(n=2)", "with SPU\n(n=3)"]


def test_forest_points_and_intervals_equal_estimates():
    people = pd.DataFrame(
        {
            "subject": ["a", "b", "c"],
            "reduction_geomean_pct": [10.0, 35.0, -5.0],
            "reduction_geomean_ci95_low": [0.0, 20.0, np.nan],
            "reduction_geomean_ci95_high": [20.0, 50.0, np.nan],
            "ci95_low": [-99.0, -99.0, -99.0],  # another estimate's interval: never drawn
            "ci95_high": [99.0, 99.0, 99.0],
        }
    )
    pooled = {"estimate_pct": 18.0, "ci95_low": 8.0, "ci95_high": 28.0}
    fig = plots.plot_forest(people, pooled=pooled, estimate="reduction_geomean_pct")
    ax = fig.axes[0]
    pts = [ln for ln in ax.get_lines() if ln.get_label() == "person"][0]
    np.testing.assert_allclose(pts.get_xdata(), [10.0, 35.0, -5.0])
    np.testing.assert_allclose(pts.get_ydata(), [3, 2, 1])
    segs = [c for c in ax.collections if isinstance(c, LineCollection)][0].get_segments()
    spans = sorted((s[0][0], s[1][0]) for s in segs)
    assert spans == [(0.0, 20.0), (20.0, 50.0)]  # c has no CI: no segment
    diamond = ax.patches[0].get_xy()[:, 0]
    assert diamond.min() == 8.0 and diamond.max() == 28.0
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "pooled"
    lo, hi = ax.get_xlim()
    assert lo < -5 and hi > 50


def test_paired_draws_one_line_per_person_and_the_mean():
    people = pd.DataFrame({"control": [10.0, 20.0], "treatment": [5.0, 8.0]})
    lines = plots.plot_paired(people).axes[0].get_lines()
    assert len(lines) == 3
    np.testing.assert_allclose(lines[-1].get_ydata(), [15.0, 6.5])


def test_dose_response_line_has_the_given_slope():
    fit = {"estimate": -500.0}  # mg/dL*min per 10 SPU minutes
    fig = plots.plot_dose_response(_meals(), fit=fit)
    ax = fig.axes[0]
    pts = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(pts) == 5  # excluded meal left out
    line = ax.get_lines()[0]
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(np.diff(y) / np.diff(x), -50.0)
    # the slope is among SPU meals: the line spans their minutes (10 to 30, not from the control
    # meals' 0) and passes through their mean (x mean 20, y mean 3000)
    assert (x.min(), x.max()) == (10.0, 30.0)
    np.testing.assert_allclose(np.interp(20.0, x, y), 3000.0)


def _readings(days: int) -> pd.DataFrame:
    t = pd.date_range("2024-01-01", periods=days * 288, freq="5min")
    return pd.DataFrame({"subject": "A", "time": t, "glucose_mgdl": 100.0})


def _day_titles(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == "day-title"]


def test_day_panels_last_days_only():
    fig = plots.plot_day(_readings(20), max_days=14)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 7  # two days a row
    titles = _day_titles(fig)
    assert len(titles) == 14
    assert titles[0] == "Sun 07 Jan 2024"  # day 7 of 20
    assert titles[-1] == "Sat 20 Jan 2024"


def test_day_marks_meals_and_spu():
    events = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-02 08:00", "2024-01-02 08:10"]),
            "end": pd.to_datetime([pd.NaT, "2024-01-02 08:40"]),
            "kind": ["meal", "spu"],
        }
    )
    fig = plots.plot_day(_readings(3), events, title=None)
    assert _day_titles(fig) == ["Mon 01 Jan 2024", "Tue 02 Jan 2024", "Wed 03 Jan 2024"]
    ax = fig.axes[0]  # Mon and Tue: Tue is the box x in [1, 2]
    markers = [ln for ln in ax.get_lines() if ln.get_marker() == "^"]
    assert len(markers) == 1
    assert markers[0].get_xdata()[0] == pytest.approx(1 + 8 / 24)
    assert len(ax.patches) == 2  # target band + one SPU bar
    bar = ax.patches[1]  # a Rectangle in data x
    start = 1 + 8 / 24 + 10 / 1440
    assert (bar.get_x(), bar.get_x() + bar.get_width()) == pytest.approx((start, start + 30 / 1440))
    assert fig._suptitle is None
    # the short last row (Wed) is half as wide, its box x in [0, 1]
    assert fig.axes[1].get_xlim() == (0.0, 1.0)
    assert fig.axes[1].get_position().width == pytest.approx(fig.axes[0].get_position().width / 2)


def test_compact_daily_profiles_are_rows_of_day_boxes():
    """The AGP's daily profiles: 7 days a row on one axes, a short last row as narrow as its
    days, each day's readings inside its own box (x = day number + time of day)."""
    r = _readings(10)
    r["glucose_mgdl"] = 100.0 + (r["time"].dt.day - 1) * 10.0  # day d reads 100 + 10 d
    fig = plots.plot_day(r, days=r["time"].dt.normalize().unique(), ncols=7, compact=True)
    rows = [ax for ax in fig.axes if ax.get_visible()]
    assert len(rows) == 2
    assert rows[0].get_xlim() == (0.0, 7.0) and rows[1].get_xlim() == (0.0, 3.0)
    full, short = rows[0].get_position().width, rows[1].get_position().width
    assert short == pytest.approx(full * 3 / 7)
    dates = [t.get_text() for ax in rows for t in ax.texts]
    assert dates[0] == "Mon 01 Jan" and dates[-1] == "Wed 10 Jan" and len(dates) == 10
    trace = max(rows[1].get_lines(), key=lambda ln: len(ln.get_xdata()))
    x, y = (np.asarray(v, dtype=float) for v in trace.get_data())
    ok = np.isfinite(x)
    # day 8 (Mon 08 Jan) is box 0 of row 2: its readings lie in [0, 1) and read 170
    assert np.all(y[ok][(x[ok] >= 0) & (x[ok] < 1)] == 170.0)
    assert np.all(y[ok][(x[ok] >= 2) & (x[ok] < 3)] == 190.0)
    assert x[ok].min() == 0.0 and x[ok].max() == pytest.approx(3 - 5 / 1440)
