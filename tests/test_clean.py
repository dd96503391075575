"""Tests of soleus_analysis.clean: sorting, duplicates, interval, gaps, warm-up, censoring.

Counts are worked by hand from the small frames built here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.clean import (
    DROP_DUPLICATE,
    DROP_NO_GLUCOSE,
    DROP_NON_POSITIVE,
    clean,
    default_max_gap,
    drop_warmup,
    find_gaps,
    infer_interval,
    mark_censored,
)
from soleus_analysis.core.errors import InputError

T0 = pd.Timestamp("2025-10-26 00:00")


def regular(subject: str, step: float, n: int, start=T0, value=100.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": subject,
            "time": start + pd.to_timedelta(np.arange(n) * step, unit="min"),
            "glucose_mgdl": value + np.arange(n, dtype=float),
        }
    )


def test_sort_keeps_transmitter_order_for_repeated_local_times():
    # daylight-saving fall-back: 02:30 occurs twice; transmitter time tells which came first
    df = pd.DataFrame(
        {
            "subject": ["a", "a", "a", "b"],
            "time": pd.to_datetime(
                ["2025-10-26 02:30", "2025-10-26 02:30", "2025-10-26 02:25", "2025-10-26 00:00"]
            ),
            "glucose_mgdl": [120.0, 110.0, 105.0, 90.0],
            "transmitter_time_s": [4000, 400, 100, 5],
        }
    )
    out = clean(df).readings
    assert out["glucose_mgdl"].tolist() == [105.0, 110.0, 120.0, 90.0]
    assert out.index.tolist() == [0, 1, 2, 3]


def test_drop_duplicates_counts_and_keeps_dst_repeats():
    df = pd.DataFrame(
        {
            "subject": "a",
            "time": pd.to_datetime(["2025-10-26 02:30"] * 3 + ["2025-10-26 02:35"] * 2),
            "glucose_mgdl": [110.0, 110.0, 120.0, 100.0, 100.0],
            "source": ["f1", "f2", "f1", "f1", "f1"],
        }
    )
    c = clean(df)
    # rows 1 (same reading from another file) and 4 are duplicates; 120 at 02:30 is a repeat
    assert c.dropped == {DROP_DUPLICATE: 2}
    assert sorted(c.readings["glucose_mgdl"].tolist()) == [100.0, 110.0, 120.0]
    # with a transmitter clock, the same local time and value at another device time is kept
    tx = df.assign(transmitter_time_s=[10, 10, 20, 30, 3630])
    assert clean(tx).dropped == {DROP_DUPLICATE: 1}


def test_infer_interval_per_subject():
    df = pd.concat([regular("a", 5, 50), regular("b", 15, 20), regular("c", 5, 1)])
    df = df.sample(frac=1.0, random_state=0)  # order must not matter
    iv = infer_interval(df)
    assert iv["a"] == 5.0 and iv["b"] == 15.0 and np.isnan(iv["c"])


def test_default_max_gap():
    assert default_max_gap(5) == 20.0
    assert default_max_gap(15) == 45.0
    assert default_max_gap(float("nan")) == 20.0


def test_find_gaps():
    a = regular("a", 5, 40)
    a = a.drop(index=range(10, 15))  # readings 9 (45 min) and 15 (75 min): 30-min gap
    b = regular("b", 15, 30).drop(index=[5, 6])  # 15-min data: 45-min spacing is no gap
    b = b.drop(index=[20, 21, 22])  # 60 min: a gap
    gaps = find_gaps(pd.concat([a, b]))
    assert gaps["subject"].tolist() == ["a", "b"]
    assert gaps["gap_min"].tolist() == [30.0, 60.0]
    assert gaps["gap_start"].iloc[0] == T0 + pd.Timedelta(minutes=45)
    assert gaps["gap_end"].iloc[0] == T0 + pd.Timedelta(minutes=75)
    assert len(find_gaps(pd.concat([a, b]), max_gap_min=40)) == 2
    assert len(find_gaps(pd.concat([a, b]), max_gap_min=29)) == 3


def test_drop_warmup_after_sensor_change():
    first = regular("a", 5, 100)  # 0 .. 495 min
    second = regular("a", 5, 100, start=T0 + pd.Timedelta(minutes=495 + 180))
    df = pd.concat([first, second], ignore_index=True)
    out, n = drop_warmup(df, warmup_min=60)
    # the new sensor's first 60 min: readings at +0, +5, ..., +55 -> 12
    assert n == 12 and len(out) == 188
    out, n = drop_warmup(df, warmup_min=60, first_is_start=True)
    assert n == 24
    starts = pd.DataFrame({"subject": ["a"], "time": [T0 + pd.Timedelta(minutes=100)]})
    out, n = drop_warmup(df, warmup_min=30, sensor_starts=starts)
    assert n == 6  # 100, 105, ..., 125


def test_mark_censored():
    df = pd.DataFrame({"glucose_mgdl": [39.0, 40.0, 250.0, 401.0, 55.0]})
    df["censored"] = [None, None, None, None, "low"]
    out, counts = mark_censored(df, low_mgdl=40, high_mgdl=400)
    assert out["censored"].tolist() == ["low", None, None, "high", "low"]
    assert out["glucose_mgdl"].tolist() == [40.0, 40.0, 250.0, 400.0, 55.0]
    assert counts == {"low": 1, "high": 1, "total": 3}
    out, counts = mark_censored(df.drop(columns="censored"))
    assert counts["total"] == 0 and "censored" in out.columns


def test_clean_accounts_for_every_row():
    df = regular("a", 5, 30)
    df.loc[3, "glucose_mgdl"] = np.nan  # a missing value
    df.loc[4, "glucose_mgdl"] = 0.0  # not a glucose value (the metrics and align agree)
    df = pd.concat([df, df.iloc[[5, 6]]], ignore_index=True)  # two duplicates
    df = df.sample(frac=1.0, random_state=1)
    c = clean(df)
    assert c.dropped == {DROP_NO_GLUCOSE: 1, DROP_NON_POSITIVE: 1, DROP_DUPLICATE: 2}
    assert len(df) == len(c.readings) + sum(c.dropped.values()) == 32
    assert len(c.readings) == 28
    assert c.readings["time"].is_monotonic_increasing
    assert c.interval_min.to_dict() == {"a": 5.0}
    assert c.gaps.empty
    with pytest.raises(InputError):
        clean(df.drop(columns="time"))
    with pytest.raises(InputError, match="time zone"):  # the schema's rule, everywhere
        clean(df.assign(time=df["time"].dt.tz_localize("UTC")))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=60))
def test_clean_is_idempotent_and_balanced(idx):
    base = regular("a", 5, 41)
    df = base.iloc[idx].reset_index(drop=True)
    c = clean(df)
    assert len(c.readings) == len(set(idx))  # duplicates of the same reading collapse
    assert len(df) == len(c.readings) + sum(c.dropped.values())
    again = clean(c.readings)
    assert again.dropped == {}
    pd.testing.assert_frame_equal(c.readings, again.readings)
