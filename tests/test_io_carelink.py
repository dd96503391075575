"""Medtronic CareLink reader: real US/EU exports, generated round trips, bad input."""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.core.schema import MGDL_PER_MMOL
from soleus_analysis.io.carelink import READERS, SNIFFERS, read_carelink, sniff_carelink

REAL = Path(__file__).parent / "fixtures" / "real"
EU = REAL / "carelink_eu_guardian_connect.csv"
US = REAL / "carelink_us_paradigm_revel.csv"


def _sections(path: Path, delim: str) -> list[list[dict]]:
    """Independent parse with the csv module: one list of row dicts per section."""
    out: list[list[dict]] = []
    header = None
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter=delim):
            if row and row[0] == "-------":
                header = None
                continue
            if row and row[0] == "Index":
                header = row
                out.append([])
                continue
            if header is None or not any(c.strip() for c in row):
                continue
            out[-1].append(dict(zip(header, row, strict=True)))
    return out


def _head(path: Path) -> tuple[str, bytes]:
    raw = path.read_bytes()[: 64 * 1024]
    return raw.decode("utf-8-sig", errors="replace"), raw


# ------------------------------------------------------------------------------ real exports
def test_eu_guardian_connect_golden():
    secs = _sections(EU, ";")
    rows = [r for s in secs for r in s]
    sg_cells = [r["Sensor Glucose (mg/dL)"] for r in rows if r["Sensor Glucose (mg/dL)"]]
    # markers of rows without sensor glucose, repeated (date, time, marker) counted once
    markers = {
        (r["Date"], r["Time"], r["Event Marker"])
        for r in rows
        if r["Event Marker"] and not r["Sensor Glucose (mg/dL)"]
    }
    n_marker_rows = sum(1 for r in rows if r["Event Marker"] and not r["Sensor Glucose (mg/dL)"])
    meals = [m for m in markers if m[2].startswith("Meal:")]
    insulin = [m for m in markers if m[2].startswith("Insulin:")]
    other = [m for m in markers if m[2].startswith("Other")]

    rec = read_carelink(EU)
    prov = rec.provenance
    assert prov.format == "carelink" and prov.units == "mg/dL"
    assert prov.rows_read == len(rows) == 24896  # 2746 pump + 22150 sensor rows (wc/awk)
    assert len(rec.readings) == len(sg_cells) == 22149
    assert rec.readings["glucose_mgdl"].sum() == pytest.approx(sum(float(v) for v in sg_cells))
    assert rec.readings["time"].is_monotonic_increasing
    assert rec.readings["time"].min() == pd.Timestamp("2021-04-30 14:25:15")
    assert rec.readings["time"].max() == pd.Timestamp("2021-07-25 00:32:50")
    kinds = rec.events["kind"].value_counts().to_dict()
    assert kinds == {"insulin": len(insulin), "meal": len(meals), "note": len(other)}
    carbs = sum(float(re.search(r"([\d,]+)", m[2]).group(1).replace(",", ".")) for m in meals)
    assert rec.events["carbs_g"].sum() == pytest.approx(carbs)
    units = sum(float(m[2].split(":")[1].strip().replace(",", ".")) for m in insulin)
    assert rec.events["insulin_u"].sum() == pytest.approx(units)
    assert prov.rows_dropped["duplicate"] == n_marker_rows - len(markers)
    alarms = sum(
        1 for r in rows if r["Alarm"] and not r["Event Marker"] and not r["Sensor Glucose (mg/dL)"]
    )
    assert prov.rows_dropped["alarm"] == alarms
    assert prov.rows_kept == len(sg_cells) + len(markers)
    assert prov.balanced
    # the preamble's personal data stays in metadata only
    assert "Redacted" not in " ".join(prov.warnings)
    assert prov.metadata["preamble"]["Last Name"] == "Redacted"
    assert [s["type"] for s in prov.metadata["sections"]] == ["Pump", "Sensor"]


def test_us_paradigm_golden():
    secs = _sections(US, ",")
    rows = [r for s in secs for r in s]
    assert len(secs) == 2 and secs[1] == []  # the sensor section has a header and no rows
    carbs = [float(r["BWZ Carb Input (grams)"]) for r in rows if r["BWZ Carb Input (grams)"]]
    bolus = [
        float(r["Bolus Volume Delivered (U)"]) for r in rows if r["Bolus Volume Delivered (U)"]
    ]
    rec = read_carelink(US, subject="p7")
    prov = rec.provenance
    assert prov.rows_read == len(rows) == 817
    assert rec.readings.empty
    assert "no sensor glucose readings in this file" in prov.warnings
    meals = rec.events[rec.events["kind"] == "meal"]
    ins = rec.events[rec.events["kind"] == "insulin"]
    assert len(meals) == sum(c > 0 for c in carbs) == 77
    assert meals["carbs_g"].sum() == pytest.approx(sum(carbs))
    assert len(ins) == sum(b > 0 for b in bolus) == 93
    assert ins["insulin_u"].sum() == pytest.approx(sum(bolus))
    assert prov.rows_dropped["bolus wizard without carbs"] == sum(c == 0 for c in carbs)
    assert prov.rows_dropped["basal rate (pump row)"] == sum(
        1 for r in rows if r["Basal Rate (U/h)"]
    )
    assert set(rec.events["subject"]) == {"p7"}
    assert rec.events.loc[0, "time"] == pd.Timestamp("2018-09-05 09:19:51")
    assert prov.balanced


def test_sniffer_claims_both_real_exports_only():
    assert SNIFFERS[0][0] == "carelink" and READERS["carelink"] is read_carelink
    assert sniff_carelink(*_head(EU)) and sniff_carelink(*_head(US))
    for other in ("nightscout_entries.csv", "libreview_uk_mmol.csv", "nightscout_entries.json"):
        assert not sniff_carelink(*_head(REAL / other))


# ------------------------------------------------------------------------------ generated
_HEADER = [
    "Index",
    "Date",
    "Time",
    "New Device Time",
    "BG Reading (mg/dL)",
    "Basal Rate (U/h)",
    "Bolus Type",
    "Bolus Volume Delivered (U)",
    "BWZ Carb Input (grams)",
    "Sensor Calibration BG (mg/dL)",
    "Sensor Glucose (mg/dL)",
    "ISIG Value",
    "Event Marker",
]


def _write(
    path: Path,
    readings: list[tuple[datetime, float]],
    meals: list[tuple[datetime, float]],
    eu: bool,
    us_dates: bool = False,
    sg_header: str = "Sensor Glucose (mg/dL)",
) -> None:
    d = ";" if eu else ","

    def num(v: float) -> str:
        s = f"{v:.5f}"
        return s.replace(".", ",") if eu else s

    def date(t: datetime) -> str:
        return f"{t.month}/{t.day}/{t:%y}" if us_dates else f"{t:%Y/%m/%d}"

    header = [sg_header if h == "Sensor Glucose (mg/dL)" else h for h in _HEADER]
    lines = [
        d.join(["Last Name", "First Name", "Device", "Guardian 4"]),
        d.join(['"Doe"', '"Jane"', '"Serial Number"', "NG123"]),
        "",
        "Device data shown may exceed selected date range.",
        "",
        f"-------{d}Test Pump{d}Pump{d}NG123{d}------- ",
        d.join(header),
    ]
    idx = 0
    for t, g in sorted(meals, reverse=True):
        row = [""] * len(header)
        row[0], row[1], row[2] = num(idx), date(t), f"{t:%H:%M:%S}"
        row[header.index("Event Marker")] = f"Meal: {num(g)[:-3]}grams"
        row[header.index("Basal Rate (U/h)")] = ""
        lines.append(d.join(row))
        idx += 1
    row = [""] * len(header)
    row[0], row[1], row[2] = num(idx), date(datetime(2021, 3, 2)), "00:00:00"
    row[header.index("Basal Rate (U/h)")] = num(0.8)
    lines.append(d.join(row))  # a basal row: dropped
    idx += 1
    lines += ["", f"-------{d}Test Pump{d}Sensor{d}NG123{d}------- ", d.join(header)]
    for t, g in sorted(readings, reverse=True):
        row = [""] * len(header)
        row[0], row[1], row[2] = num(idx), date(t), f"{t:%H:%M:%S}"
        row[header.index(sg_header)] = num(g)
        row[header.index("ISIG Value")] = num(20.5)
        lines.append(d.join(row))
        idx += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_T0 = datetime(2021, 3, 1)
_readings = st.lists(
    st.tuples(st.integers(0, 60 * 24 * 30), st.integers(40, 400)),
    min_size=1,
    max_size=60,
    unique_by=lambda x: x[0],
)
_meals = st.lists(
    st.tuples(st.integers(0, 60 * 24 * 30), st.integers(1, 150)),
    max_size=5,
    unique_by=lambda x: x[0],
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_readings, _meals, st.booleans(), st.booleans())
def test_generated_export_round_trip(tmp_path, raw_readings, raw_meals, eu, us_dates):
    readings = [(_T0 + timedelta(minutes=m, seconds=17), float(g)) for m, g in raw_readings]
    meals = [(_T0 + timedelta(minutes=m, seconds=3), float(g)) for m, g in raw_meals]
    path = tmp_path / f"gen_{eu}_{us_dates}.csv"
    _write(path, readings, meals, eu=eu, us_dates=us_dates and not eu)
    rec = read_carelink(path, subject="s")
    want = sorted(readings)
    assert list(rec.readings["time"]) == [pd.Timestamp(t) for t, _ in want]
    assert list(rec.readings["glucose_mgdl"]) == [g for _, g in want]
    ev = rec.events.sort_values("time")
    assert list(ev["time"]) == [pd.Timestamp(t) for t, _ in sorted(meals)]
    assert list(ev["carbs_g"]) == [g for _, g in sorted(meals)]
    assert set(ev["kind"]) <= {"meal"}
    prov = rec.provenance
    assert prov.rows_read == len(readings) + len(meals) + 1
    assert prov.rows_dropped == {"basal rate (pump row)": 1}
    assert prov.balanced


def test_mmol_header_converted(tmp_path):
    t = datetime(2022, 5, 1, 8, 0, 0)
    path = tmp_path / "mmol.csv"
    _write(
        path,
        [(t, 5.5), (t + timedelta(minutes=5), 6.1)],
        [],
        eu=True,
        sg_header="Sensor Glucose (mmol/L)",
    )
    rec = read_carelink(path)
    assert rec.provenance.units == "mmol/L"
    np.testing.assert_allclose(rec.readings["glucose_mgdl"], np.array([5.5, 6.1]) * MGDL_PER_MMOL)


def test_bolus_wizard_meal_matching_event_marker_counted_once(tmp_path):
    d = ","
    lines = [
        "-------,Pump,Pump,1,------- ",
        d.join(_HEADER),
        # newest first: a marker meal and a wizard meal of the same 40 g 5 minutes apart
        "0,2021/01/01,12:05:00,,,,,,,,,,Meal: 40.00grams",
        "1,2021/01/01,12:00:00,,,,,,40.00,,,,",
        "2,2021/01/01,11:00:00,,,,Normal,3.50,,,,,",
        "3,2021/01/01,10:00:00,,,,,,25,,,,",
        "4,2021/01/01,09:00:00,,,,,,,,115,,",
    ]
    path = tmp_path / "bwz.csv"
    path.write_text("\n".join(lines) + "\n")
    rec = read_carelink(path)
    ev = rec.events
    assert list(ev["kind"]) == ["meal", "insulin", "meal"]
    assert list(ev["carbs_g"].fillna(0)) == [25.0, 0.0, 40.0]
    assert ev.loc[2, "label"] == "event marker"
    assert ev.loc[1, "insulin_u"] == 3.5
    assert rec.provenance.rows_dropped == {"meal also in event marker": 1}
    assert rec.readings["glucose_mgdl"].tolist() == [115.0]
    assert rec.provenance.rows_kept == 4


# ------------------------------------------------------------------------------ bad input
def test_bad_rows_dropped_with_line(tmp_path):
    lines = [
        "-------,Pump,Sensor,1,------- ",
        ",".join(_HEADER),
        "0,2021/01/01,12:10:00,,,,,,,,abc,,",
        "1,2021/02/30,12:05:00,,,,,,,,120,,",
        "2,2021/01/01,12:00:00,,,,,,,,5000,,",
        "3,2021/01/01,11:55:00,,,,,,,,110,,",
        "4,2021/01/01,11:50:00,,,",
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    rec = read_carelink(path)
    prov = rec.provenance
    assert rec.readings["glucose_mgdl"].tolist() == [110.0]
    assert prov.rows_dropped == {
        "unparseable sensor glucose": 1,
        "unparseable timestamp": 1,
        "implausible sensor glucose": 1,
        "truncated row (too few fields)": 1,
    }
    text = "\n".join(prov.warnings)
    for n in (3, 4, 5, 7):
        assert f"line {n}:" in text
    assert prov.balanced


def test_header_without_data_gives_empty_recording_with_warning(tmp_path):
    path = tmp_path / "nodata.csv"
    path.write_text("-------,Pump,Sensor,1,------- \n" + ",".join(_HEADER) + "\n\n")
    rec = read_carelink(path)
    assert rec.readings.empty and rec.provenance.rows_read == 0
    assert rec.provenance.warnings


@pytest.mark.parametrize(
    "content, match",
    [
        ("Last Name,First Name\nDoe,Jane\n", "no CareLink section"),
        ("-------,Pump,Pump,1,------- \n1,2,3\n", "header row"),
        ("-------,Pump,Pump,1,------- \nIndex,Datum,Zeit,Sensor Glucose (mg/dL)\n", "English"),
        ("-------,Pump,Pump,1,------- \nIndex,Date,Time\n0,31-31-31,10:00:00\n", "Date column"),
        ("", "empty"),
    ],
)
def test_whole_file_problems_raise(tmp_path, content, match):
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=match) as err:
        read_carelink(path)
    assert str(path) in str(err.value)


def test_binary_garbage_raises(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="binary"):
        read_carelink(path)
