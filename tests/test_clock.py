"""The device clock: repeated and skipped local hours, worked by hand (issue 11).

A Dexcom export stamps each reading with the phone's local time and the transmitter's own
counter. At a daylight-saving fall-back the local hour 01:00-02:00 happens twice; ordering by
local time interleaves the two passes. These cases build the readings from the *elapsed* time
they were measured at, so the right answer is known without the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis import glycemic_metrics, meal_responses
from soleus_analysis.clean import clean
from soleus_analysis.core.clock import device_clock_ns, local_to_clock_ns
from soleus_analysis.io import read_cgm
from soleus_analysis.simulate.writers import write_dexcom_clarity

MIDNIGHT = pd.Timestamp("2024-11-03 00:00")  # US fall-back: 02:00 EDT becomes 01:00 EST
NS = 60_000_000_000


def triangle(elapsed_min: np.ndarray, meal_min: float) -> np.ndarray:
    """100 mg/dL, rising to 160 at 45 min after the meal, back to 100 at 120 min."""
    x = elapsed_min - meal_min
    up = np.clip(x / 45.0, 0, 1)
    down = np.clip((120.0 - x) / 75.0, 0, 1)
    return 100.0 + 60.0 * np.where(x <= 45, up, down) * ((x >= 0) & (x <= 120))


def fall_back_night(step: float = 5.0, hours: float = 5.0, shift_at_min: float = 120.0):
    """Readings every ``step`` minutes of elapsed time from midnight; from ``shift_at_min``
    on, local clocks read one hour earlier. Returns readings with ``transmitter_time_s``."""
    elapsed = np.arange(0, hours * 60 + step / 2, step)
    local = elapsed - np.where(elapsed >= shift_at_min, 60.0, 0.0)
    return elapsed, pd.DataFrame(
        {
            "subject": "a",
            "time": MIDNIGHT + pd.to_timedelta(local, unit="min"),
            "glucose_mgdl": triangle(elapsed, 90.0),  # the meal at 01:30 (first pass)
            "censored": None,
            "source": "dexcom",
            "transmitter_time_s": (5_000 + elapsed * 60).astype(np.int64),
            "transmitter_id": "8ABCDE",
        }
    )


def test_meal_in_the_repeated_hour_gets_its_real_two_hours():
    _, readings = fall_back_night()
    meals = pd.DataFrame({"subject": ["a"], "time": [MIDNIGHT + pd.Timedelta("90min")]})
    row = meal_responses(readings, meals).iloc[0]
    # 120 min of elapsed time at 5 min, both ends included: 25 readings (local sorting put
    # 31 readings of two different hours into the window)
    assert row["n_readings"] == 25
    assert row["included"]
    # triangle of base 120 min and height 60 mg/dL: 3600 mg/dL*min, exactly on this grid
    assert row["iauc_mgdl_min"] == pytest.approx(3600.0, abs=1e-9)
    assert row["peak_mgdl"] == pytest.approx(160.0)
    assert row["baseline_mgdl"] == pytest.approx(100.0)


def test_clean_orders_by_the_transmitter_and_measures_gaps_on_its_clock():
    elapsed, readings = fall_back_night()
    shuffled = readings.sample(frac=1.0, random_state=3)
    c = clean(shuffled)
    assert list(c.readings["transmitter_time_s"]) == sorted(readings["transmitter_time_s"])
    assert np.all(np.diff(c.clock_ns) > 0)
    assert c.interval_of("a") == 5.0
    assert len(c.gaps) == 0  # the repeated hour is not a backwards "gap"
    assert np.array_equal((c.clock_ns - c.clock_ns[0]) // NS, elapsed.astype(np.int64))


def test_spring_forward_is_not_a_gap():
    elapsed = np.arange(0, 300 + 1, 5.0)
    local = elapsed + np.where(elapsed >= 120, 60.0, 0.0)  # 02:00 becomes 03:00
    readings = pd.DataFrame(
        {
            "subject": "a",
            "time": pd.Timestamp("2024-03-10 00:00") + pd.to_timedelta(local, unit="min"),
            "glucose_mgdl": triangle(elapsed, 90.0),
            "transmitter_time_s": (elapsed * 60).astype(np.int64),
        }
    )
    c = clean(readings)
    assert len(c.gaps) == 0
    meals = pd.DataFrame({"time": [pd.Timestamp("2024-03-10 01:30")]})
    row = meal_responses(readings, meals).iloc[0]
    assert row["n_readings"] == 25 and row["included"]
    assert row["iauc_mgdl_min"] == pytest.approx(3600.0, abs=1e-9)
    # a meal logged at 03:30 local is 150 min of elapsed time after midnight: the highest
    # value in its window is the falling triangle there, 100 + 60 * 60 / 75 = 148 mg/dL
    late = meal_responses(readings, pd.DataFrame({"time": [pd.Timestamp("2024-03-10 03:30")]}))
    assert late.iloc[0]["n_readings"] == 25
    assert late.iloc[0]["peak_mgdl"] == pytest.approx(148.0)


def test_without_transmitter_times_nothing_moves():
    _, readings = fall_back_night()
    plain = readings.drop(columns=["transmitter_time_s", "transmitter_id"])
    c = clean(plain)
    assert np.array_equal(c.clock_ns, c.t_ns)
    assert np.all(np.diff(c.t_ns) >= 0)  # local order, the only one there is


def test_new_transmitter_continues_the_clock():
    # first session crosses the fall-back; a new transmitter (counter from 0) starts after it
    _, a = fall_back_night(hours=5.0)
    b = a.iloc[:12].copy()
    b["time"] = a["time"].iloc[-1] + pd.to_timedelta(np.arange(1, 13) * 5, unit="min")
    b["transmitter_time_s"] = np.arange(12) * 300
    b["transmitter_id"] = "8FGHIJ"
    c = clean(pd.concat([a, b]))
    assert np.all(np.diff(c.clock_ns) > 0)
    shift = (c.clock_ns - c.t_ns) // NS
    assert set(shift[-12:]) == {60}  # the new session carries the hour on


def test_dexcom_file_with_a_fall_back_reads_in_measured_order(tmp_path):
    elapsed, readings = fall_back_night()
    path = tmp_path / "clarity.csv"
    write_dexcom_clarity(readings, None, path)
    rec = read_cgm(path)
    assert list(rec.readings["transmitter_time_s"]) == sorted(readings["transmitter_time_s"])
    meals = pd.DataFrame({"time": [MIDNIGHT + pd.Timedelta("90min")]})
    row = meal_responses(rec, meals).iloc[0]
    assert row["n_readings"] == 25
    assert row["iauc_mgdl_min"] == pytest.approx(3600.0, abs=1e-9)


def test_metrics_stay_on_local_time_and_do_not_warn():
    _, readings = fall_back_night()
    with np.errstate(all="raise"):
        m = glycemic_metrics(readings)
    assert m.iloc[0]["n_readings"] == len(readings)
    assert m.iloc[0]["mean_mgdl"] == pytest.approx(readings["glucose_mgdl"].mean())


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 60),
    jumps=st.lists(st.sampled_from([-60, -30, 30, 60, 0]), min_size=1, max_size=3),
    seed=st.integers(0, 10_000),
)
def test_clock_recovers_elapsed_time_after_any_clock_changes(n, jumps, seed):
    rng = np.random.default_rng(seed)
    elapsed = np.cumsum(rng.integers(1, 30, size=n)) * 60.0  # seconds
    where = np.sort(rng.integers(0, n, size=len(jumps)))
    shift = np.zeros(n)
    for w, j in zip(where, jumps, strict=True):
        shift[w:] += j * 60.0
    local_ns = ((1e9 * (1.7e9 + elapsed + shift)).astype(np.int64) // 10**9) * 10**9
    order = rng.permutation(n)
    clock = device_clock_ns(np.zeros(n, dtype=np.int64), local_ns[order], elapsed[order])
    back = np.empty(n, dtype=np.int64)
    back[order] = clock
    # the clock runs exactly as the transmitter does, from the first reading's local time
    assert np.array_equal(back - back[0], ((elapsed - elapsed[0]) * 1e9).astype(np.int64))


def test_local_to_clock_takes_the_first_pass_of_a_repeated_time():
    elapsed, readings = fall_back_night()
    local = readings["time"].to_numpy(dtype="datetime64[ns]").view("i8")
    clock = device_clock_ns(np.zeros(len(local), dtype=np.int64), local, elapsed * 60.0)
    when = np.array([MIDNIGHT + pd.Timedelta(m) for m in ("90min", "150min")], dtype="M8[ns]")
    got = (local_to_clock_ns(local, clock, when.view("i8")) - local[0]) // NS
    assert list(got) == [90, 210]  # 01:30 first pass; 02:30 local is after the change


def _fall_back_instants():
    """(UTC instant, local time string with its offset) every 5 min across the US fall-back."""
    utc = pd.Timestamp("2024-11-03 04:00") + pd.to_timedelta(np.arange(0, 301, 5), unit="min")
    off = np.where(utc < pd.Timestamp("2024-11-03 06:00"), -4, -5)  # EDT, then EST
    local = utc + pd.to_timedelta(off, unit="h")
    return utc, local, off


def test_nightscout_across_a_fall_back_orders_by_the_instant(tmp_path):
    import json

    utc, local, off = _fall_back_instants()
    elapsed = np.asarray((utc - utc[0]).total_seconds() / 60.0)
    entries = [
        {
            "type": "sgv",
            "sgv": float(g),
            "date": int(u.value // 1_000_000),
            "dateString": f"{lt:%Y-%m-%dT%H:%M:%S}.000{o:+03d}:00",
        }
        for u, lt, o, g in zip(utc, local, off, triangle(elapsed, 90.0), strict=True)
    ]
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries[::-1]))  # Nightscout serves newest first
    rec = read_cgm(path)
    assert rec.readings["utc_time_s"].is_monotonic_increasing
    row = meal_responses(rec, pd.DataFrame({"time": [MIDNIGHT + pd.Timedelta("90min")]}))
    assert row.iloc[0]["n_readings"] == 25
    assert row.iloc[0]["iauc_mgdl_min"] == pytest.approx(3600.0, abs=1e-9)


def test_apple_health_across_a_fall_back_orders_by_the_instant(tmp_path):
    utc, local, off = _fall_back_instants()
    elapsed = np.asarray((utc - utc[0]).total_seconds() / 60.0)
    recs = "\n".join(
        f' <Record type="HKQuantityTypeIdentifierBloodGlucose" sourceName="CGM" unit="mg/dL"'
        f' value="{g:g}" startDate="{lt:%Y-%m-%d %H:%M:%S} {o:+03d}00"'
        f' endDate="{lt:%Y-%m-%d %H:%M:%S} {o:+03d}00"/>'
        for lt, o, g in zip(local, off, triangle(elapsed, 90.0), strict=True)
    )
    path = tmp_path / "export.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
        f' <ExportDate value="2024-11-04 00:00:00 -0500"/>\n{recs}\n</HealthData>\n'
    )
    rec = read_cgm(path)
    row = meal_responses(rec, pd.DataFrame({"time": [MIDNIGHT + pd.Timedelta("90min")]}))
    assert row.iloc[0]["n_readings"] == 25
    assert row.iloc[0]["iauc_mgdl_min"] == pytest.approx(3600.0, abs=1e-9)


def test_same_time_different_values_is_reported_and_both_kept(tmp_path):
    from soleus_analysis.io import read_cgm

    path = tmp_path / "plain.csv"
    path.write_text(
        "timestamp,glucose_mgdl\n2025-01-01 00:00,100\n2025-01-01 00:05,110\n"
        "2025-01-01 00:05,140\n2025-01-01 00:10,120\n"
    )
    rec = read_cgm(path)
    assert len(rec.readings) == 4
    assert "2 readings share their time with a reading of a different value; all kept" in (
        rec.provenance.warnings
    )
    assert len(clean(rec).readings) == 4


def _clashes_by_hand(codes, clock, glucose) -> int:
    """Readings with another at their subject and time but none there with their value."""
    n = 0
    for i in range(len(codes)):
        others = [
            j for j in range(len(codes)) if j != i and (codes[j], clock[j]) == (codes[i], clock[i])
        ]
        same = [
            j
            for j in others
            if glucose[j] == glucose[i] or (np.isnan(glucose[j]) and np.isnan(glucose[i]))
        ]
        n += bool(others) and not same
    return n


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 6), st.sampled_from([100.0, 101.0, np.nan])),
        min_size=0,
        max_size=14,
    ),
    st.booleans(),
)
def test_clashes_count_equals_the_definition(rows, in_order):
    """``_clashes`` (one sort, or none when already in strictly increasing order) against the
    definition applied pair by pair; sorted and unsorted inputs."""
    from soleus_analysis.io import _clashes

    if in_order:
        rows = sorted(set(rows), key=lambda r: (r[0], r[1]))
        rows = [r for k, r in enumerate(rows) if k == 0 or rows[k - 1][:2] != r[:2]]
    codes = np.array([r[0] for r in rows], dtype=np.int64)
    clock = np.array([r[1] for r in rows], dtype=np.int64)
    glucose = np.array([r[2] for r in rows], dtype=float)
    assert _clashes(codes, clock, glucose) == _clashes_by_hand(codes, clock, glucose)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["8XYZ12", "8ABC34", "", None, np.nan, "7QQ", 5, 5.0]), max_size=30),
    st.data(),
)
def test_transmitter_codes_are_factorize_of_the_rows(ids, data):
    """Codes of the chosen rows' ids as ``pandas.factorize`` of those ids as an object column
    gives them (first appearance, -1 missing), from a numpy array and from a text column."""
    from soleus_analysis.core.clock import transmitter_codes

    rows = np.array(
        sorted(data.draw(st.sets(st.integers(0, max(len(ids) - 1, 0)))) if ids else []),
        dtype=np.int64,
    )
    arr = np.array(ids, dtype=object)
    want = pd.factorize(pd.Series(arr[rows] if len(rows) else arr[:0]))[0]
    np.testing.assert_array_equal(transmitter_codes(arr, rows), want)
    if all(isinstance(v, str) or v is None for v in ids):
        col = pd.Series(ids, dtype="str")
        np.testing.assert_array_equal(transmitter_codes(col, rows), want)
