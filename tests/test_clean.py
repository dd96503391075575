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
    clean_readings,
    default_max_gap,
    drop_duplicate_readings,
    drop_warmup,
    find_gaps,
    infer_interval,
    mark_censored,
    sort_readings,
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
    out = sort_readings(df)
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
    out, n = drop_duplicate_readings(df)
    # rows 1 (same reading from another file) and 4 are duplicates; 120 at 02:30 is a repeat
    assert n == 2
    assert out["glucose_mgdl"].tolist() == [110.0, 120.0, 100.0]
    out, n = drop_duplicate_readings(df, subset=list(df.columns))
    assert n == 1  # with source compared too, only row 4 is an exact copy


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


def test_clean_readings_accounts_for_every_row():
    df = regular("a", 5, 30)
    df.loc[3, "glucose_mgdl"] = np.nan  # a missing value
    df = pd.concat([df, df.iloc[[5, 6]]], ignore_index=True)  # two duplicates
    df = df.sample(frac=1.0, random_state=1)
    out, rep = clean_readings(df)
    assert rep["n_in"] == 32
    assert rep["n_missing"] == 1 and rep["n_duplicates"] == 2 and rep["n_warmup"] == 0
    assert rep["n_out"] == len(out) == 29
    assert rep["n_in"] == rep["n_missing"] + rep["n_duplicates"] + rep["n_warmup"] + rep["n_out"]
    assert out["time"].is_monotonic_increasing
    assert rep["interval_min"] == {"a": 5.0}
    assert rep["n_gaps"] == 0
    with pytest.raises(InputError):
        clean_readings(df.drop(columns="time"))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=60))
def test_clean_is_idempotent_and_balanced(idx):
    base = regular("a", 5, 41)
    df = base.iloc[idx].reset_index(drop=True)
    out, rep = clean_readings(df)
    assert rep["n_out"] == len(set(idx))  # duplicates of the same reading collapse
    assert rep["n_in"] == rep["n_missing"] + rep["n_duplicates"] + rep["n_warmup"] + rep["n_out"]
    again, rep2 = clean_readings(out)
    assert rep2["n_duplicates"] == 0
    pd.testing.assert_frame_equal(out, again)
