"""Cronometer exports without times of day (issue 12): one clear line, never an empty result."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import soleus_analysis as sa
from soleus_analysis.core.errors import InputError
from soleus_analysis.io import detect_format, read_events
from soleus_analysis.io.logs import read_cronometer

FIX = Path(__file__).parent / "fixtures" / "logs"


def test_servings_without_time_column_is_one_line_error():
    path = FIX / "cronometer_servings_no_time.csv"
    assert detect_format(path) == "cronometer"
    with pytest.raises(InputError) as err:
        read_events(path)
    msg = str(err.value)
    assert "\n" not in msg and "line 1" in msg
    assert "no times of day" in msg and "Timestamps" in msg and "Gold" in msg


def test_servings_with_every_time_empty_is_refused_too(tmp_path):
    src = list(csv.reader(open(FIX / "cronometer_servings_no_time.csv", newline="")))
    p = tmp_path / "s.csv"
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(src[0][:1] + ["Time"] + src[0][1:])
        w.writerows(r[:1] + [""] + r[1:] for r in src[1:])
    with pytest.raises(InputError, match="Timestamps"):
        read_cronometer(p)


def test_daily_summary_refused_clearly_everywhere(tmp_path):
    path = FIX / "cronometer_daily_summary.csv"
    assert detect_format(path) == "cronometer_daily_summary"
    for call in (lambda: sa.read_cgm(path), lambda: read_events(path)):
        with pytest.raises(InputError, match="daily-summary export.*'Servings'"):
            call()
    cgm = Path(__file__).parent / "fixtures" / "dexcom" / "g6_mgdl_preamble_bom.csv"
    with pytest.raises(InputError, match="daily-summary"):
        sa.read_person([cgm], [path])


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 23), st.integers(0, 1500)),
        min_size=1,
        max_size=15,
        unique_by=lambda x: (x[0], x[1]),
    ),
    with_times=st.booleans(),
)
def test_generated_servings_read_or_refused(tmp_path, items, with_times):
    p = tmp_path / "servings.csv"
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Day", *(["Time"] if with_times else []), "Group", "Food Name", "Carbs (g)"])
        for day, hour, carbs10 in items:
            t = dt.datetime(2026, 3, 1 + day, hour, 5)
            clock = [t.strftime("%I:%M %p").lstrip("0")] if with_times else []
            w.writerow([f"{t:%Y-%m-%d}", *clock, "Uncategorized", "Food", carbs10 / 10])
    if not with_times:
        with pytest.raises(InputError, match="Timestamps"):
            read_cronometer(p)
        return
    rec = read_cronometer(p)
    rec.provenance.check()
    assert rec.provenance.rows_kept == len(items)
    assert sorted(rec.events["carbs_g"].round(6)) == sorted(round(c / 10, 6) for *_, c in items)
