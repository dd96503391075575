"""read_many: overlapping exports of one person are merged, and the merge is counted."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import soleus_analysis as sa

HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),"
    "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
    "Transmitter ID"
)


def _export(path, rows: list[tuple[str, int, int]], carbs: list[tuple[str, int]] = ()) -> None:
    """A Dexcom Clarity export: EGV rows (local time, mg/dL, transmitter seconds) and carb rows."""
    lines = [HEADER, "1,,FirstName,,Synthetic,,,,,,,,,", "2,,Device,,,G7 Mobile App,iOS,,,,,,,"]
    i = 3
    for t, v, tx in rows:
        lines.append(f"{i},{t},EGV,,,,iOS,{v},,,,,{tx},AB12CD")
        i += 1
    for t, g in carbs:
        lines.append(f"{i},{t},Carbs,,,,iOS,,,{g},,,")
        i += 1
    path.write_text("\n".join(lines) + "\n")


def _egv(start: str, n: int, tx0: int = 0) -> list[tuple[str, int, int]]:
    times = pd.date_range(start, periods=n, freq="5min")
    return [
        (t.strftime("%Y-%m-%dT%H:%M:%S"), 100 + k % 40, tx0 + 300 * k) for k, t in enumerate(times)
    ]


def test_overlap_is_merged_and_counted(tmp_path):
    a, b = _egv("2025-03-01 00:00", 100), None
    b = a[60:] + _egv("2025-03-01 08:20", 50, tx0=300 * 100)  # 40 rows overlap
    _export(tmp_path / "jan.csv", a, carbs=[("2025-03-01T06:00:00", 40)])
    _export(
        tmp_path / "feb.csv", b, carbs=[("2025-03-01T06:00:00", 40), ("2025-03-01T09:00:00", 25)]
    )
    rec = sa.read_many([tmp_path / "jan.csv", tmp_path / "feb.csv"], subject="p01")
    assert len(rec.readings) == 100 + 50  # union of the two exports
    assert (
        rec.readings["time"].is_monotonic_increasing and not rec.readings["time"].duplicated().any()
    )
    assert rec.events["carbs_g"].tolist() == [40.0, 25.0]
    p = rec.provenance
    assert p.rows_dropped["duplicate across files"] == 40 + 1  # 40 readings and one carb entry
    assert p.rows_read == (2 + 100 + 1) + (2 + 90 + 2)
    assert p.balanced
    assert [s.path for s in rec.sources] == [str(tmp_path / "jan.csv"), str(tmp_path / "feb.csv")]
    assert set(rec.readings["subject"]) == {"p01"}


def test_repeats_within_one_file_are_kept(tmp_path):
    """The repeated local hour of a daylight-saving fall-back is kept in each file, and merged
    only against the other export, not against itself. Readings are in the order the device
    measured them (its clock), so the repeated hour follows the first one."""
    first = _egv("2025-11-02 00:00", 24)  # 00:00 .. 01:55
    again = [(t, v + 7, tx + 3600) for t, v, tx in first[12:]]  # 01:00 .. 01:55 once more
    rows = first + again
    _export(tmp_path / "a.csv", rows)
    _export(tmp_path / "b.csv", rows[18:])
    rec = sa.read_many([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert len(rec.readings) == 36  # 24 + 12 repeated times, all kept once
    assert rec.provenance.rows_dropped["duplicate across files"] == 36 - 18
    r = rec.readings
    assert r["transmitter_time_s"].is_monotonic_increasing and r["transmitter_time_s"].is_unique
    assert list(r["glucose_mgdl"].iloc[24:]) == [v for _, v, _ in again]  # second pass last
    assert r["time"].duplicated().sum() == 12


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(5, 60), start=st.integers(0, 40), stop=st.integers(0, 40))
def test_any_two_windows_of_one_export(tmp_path, n, start, stop):
    rows = _egv("2025-01-01 00:00", n)
    lo, hi = min(start, n - 1), max(min(stop, n), min(start, n - 1) + 1)
    _export(tmp_path / "x.csv", rows[:hi])
    _export(tmp_path / "y.csv", rows[lo:])
    rec = sa.read_many([tmp_path / "x.csv", tmp_path / "y.csv"])
    assert len(rec.readings) == n
    assert rec.provenance.rows_dropped.get("duplicate across files", 0) == max(0, hi - lo)
    assert rec.provenance.balanced


def test_needs_a_file():
    with pytest.raises(sa.InputError):
        sa.read_many([])
