"""Time in ranges classified in the units the device reported (issue 11).

10.0 mmol/L is 180.16 mg/dL and 13.9 mmol/L is 250.4 mg/dL: converted first and then compared
with the mg/dL limits, a reading at the top of the mmol/L target range counts as above it. The
consensus (Battelino 2019) gives both sets of limits; a value is classified by those of the units
it was reported in. Expected shares here are counted by hand or with the csv module.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soleus_analysis import glycemic_metrics
from soleus_analysis.core.schema import DEVICE_UNITS, MGDL_PER_MMOL
from soleus_analysis.io import read_cgm

FIX = Path(__file__).parent / "fixtures"


def mmol_trace(values_mmol) -> pd.DataFrame:
    v = np.asarray(values_mmol, dtype=float)
    return pd.DataFrame(
        {
            "subject": "a",
            "time": pd.date_range("2025-01-01", periods=len(v), freq="5min"),
            "glucose_mgdl": v * MGDL_PER_MMOL,
            DEVICE_UNITS: "mmol/L",
        }
    )


def test_toy_trace_by_the_mmol_consensus():
    # 3.8 low | 3.9 5.0 7.8 10.0 in range (7.8 also tight) | 10.1 13.9 high | 14.0 very high
    m = glycemic_metrics(mmol_trace([3.8, 3.9, 5.0, 7.8, 10.0, 10.1, 13.9, 14.0]))
    row = m.iloc[0]
    assert row["tir_pct"] == pytest.approx(100 * 4 / 8)
    assert row["titr_pct"] == pytest.approx(100 * 3 / 8)
    assert row["tar_180_pct"] == pytest.approx(100 * 3 / 8)
    assert row["tar_250_pct"] == pytest.approx(100 * 1 / 8)
    assert row["tbr_70_pct"] == pytest.approx(100 * 1 / 8)
    assert row["tbr_54_pct"] == 0.0


def test_edges_of_every_mmol_band():
    # exactly on each limit: 3.0 is not very low, 3.9 not low, 7.8 tight, 10.0 in range,
    # 13.9 not very high
    row = glycemic_metrics(mmol_trace([2.9, 3.0, 3.8, 3.9, 7.8, 7.9, 10.0, 13.9, 14.0])).iloc[0]
    n = 9
    assert row["tbr_54_pct"] == pytest.approx(100 * 1 / n)
    assert row["tbr_54_69_pct"] == pytest.approx(100 * 2 / n)
    assert row["tir_pct"] == pytest.approx(100 * 4 / n)
    assert row["titr_pct"] == pytest.approx(100 * 2 / n)
    assert row["tar_181_250_pct"] == pytest.approx(100 * 1 / n)
    assert row["tar_250_pct"] == pytest.approx(100 * 1 / n)


def test_same_values_in_mgdl_keep_the_mgdl_limits():
    r = mmol_trace([10.0, 13.9]).drop(columns=DEVICE_UNITS)
    row = glycemic_metrics(r).iloc[0]  # 180.16 and 250.4 mg/dL
    assert row["tar_180_pct"] == 100.0 and row["tar_250_pct"] == 50.0


def test_readers_say_the_units_of_the_values():
    rec = read_cgm(FIX / "dexcom" / "g7_mmol_quoted.csv")
    assert set(rec.readings[DEVICE_UNITS]) == {"mmol/L"}
    rec = read_cgm(FIX / "dexcom" / "g6_mgdl_preamble_bom.csv")
    assert set(rec.readings[DEVICE_UNITS]) == {"mg/dL"}


def test_real_libreview_mmol_export_matches_a_count_of_the_file():
    path = FIX / "real" / "libreview_uk_mmol.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    head = rows[1]
    it, iv, ts = head.index("Record Type"), head.index("Historic Glucose mmol/L"), 2
    seen, values = set(), []
    for r in rows[2:]:
        if len(r) > iv and r[it] == "0" and r[iv] and (r[ts], r[iv]) not in seen:
            seen.add((r[ts], r[iv]))
            values.append(float(r[iv]))
    v = np.array(values)
    row = glycemic_metrics(read_cgm(path).readings).iloc[0]
    assert row["n_readings"] == len(v)
    assert row["tir_pct"] == pytest.approx(100 * np.mean((v >= 3.9) & (v <= 10.0)))
    assert row["tar_180_pct"] == pytest.approx(100 * np.mean(v > 10.0))
    assert row["tar_250_pct"] == pytest.approx(100 * np.mean(v > 13.9))
    assert row["tbr_70_pct"] == pytest.approx(100 * np.mean(v < 3.9))
    assert row["tbr_54_pct"] == pytest.approx(100 * np.mean(v < 3.0))
    assert row["titr_pct"] == pytest.approx(100 * np.mean((v >= 3.9) & (v <= 7.8)))
