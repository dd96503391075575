"""Dexcom Clarity reader: hand-made fixtures (following FORMATS.md), bad input, generated exports.

Expected values below are worked out by hand from the fixture text (or, for row counts,
counted independently with the ``csv`` module), never copied from the reader's output.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.core.schema import DEFAULT_SUBJECT, MGDL_PER_MMOL
from soleus_analysis.io.dexcom import read_dexcom, sniff, spu_mask, spu_minutes

FIX = Path(__file__).parent / "fixtures" / "dexcom"
HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value ({u}),Insulin Value (u),Carb Value (grams),Duration (hh:mm:ss),"
    "Glucose Rate of Change ({u}/min),Transmitter Time (Long Integer),Transmitter ID"
)


def _csv_rows(path: Path) -> list[list[str]]:
    """Data rows below the header, counted with the csv module (independent of the reader)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[1:]


def _all_text(rec) -> str:
    return (
        rec.readings.astype(str).to_csv()
        + rec.events.astype(str).to_csv()
        + "\n".join(rec.provenance.warnings)
    )


# ------------------------------------------------------------------------------ fixtures
def test_g6_unquoted_bom_preamble():
    path = FIX / "g6_mgdl_preamble_bom.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rec = read_dexcom(path)
    rows = _csv_rows(path)
    types = [r[2] for r in rows]
    prov = rec.provenance
    assert prov.format == "dexcom_clarity" and prov.units == "mg/dL"
    assert prov.rows_read == len(rows) == 16
    n_pre = sum(t in {"FirstName", "LastName", "Device", "Alert"} for t in types)
    assert prov.rows_dropped == {"preamble (patient/device/alert)": n_pre, "calibration": 1}
    assert prov.rows_kept == types.count("EGV") + 5  # 5 event rows
    prov.check()

    r = rec.readings
    assert list(r["glucose_mgdl"]) == [120.0, 131.0, 400.0, 40.0, 65.0]
    assert list(r["censored"]) == [None, None, "high", "low", None]
    assert list(r["transmitter_time_s"]) == [1000, 1300, 1600, 1900, 2200]
    assert r["time"].iloc[0] == pd.Timestamp("2024-03-09 08:00:12")
    assert set(r["subject"]) == {DEFAULT_SUBJECT}  # never the file name
    assert set(r["transmitter_id"]) == {"8ABCDE"}

    e = rec.events
    assert list(e["kind"]) == ["insulin", "meal", "exercise", "health", "insulin"]
    assert e["insulin_u"].iloc[0] == 4.5 and e["label"].iloc[0] == "Fast-Acting"
    assert e["insulin_u"].iloc[4] == 18 and e["label"].iloc[4] == "Long-Acting"
    assert e["carbs_g"].iloc[1] == 45
    ex = e.iloc[2]
    assert ex["intensity"] == "Light"
    assert ex["end"] - ex["time"] == pd.Timedelta(minutes=30)
    assert e["label"].iloc[3] == "Illness"

    # personal data only in metadata
    assert prov.metadata["patient"] == {"first_name": "Jane", "last_name": "Doe"}
    assert prov.metadata["generation"] == "G6"
    text = _all_text(rec)
    assert "Jane" not in text and "Doe" not in text


def test_g7_quoted_mmol_dateofbirth():
    path = FIX / "g7_mmol_quoted.csv"
    rec = read_dexcom(path, subject="p07")
    assert rec.provenance.units == "mmol/L"
    r = rec.readings
    np.testing.assert_allclose(
        r["glucose_mgdl"], [5.6 * MGDL_PER_MMOL, 6.1 * MGDL_PER_MMOL, 12.4 * MGDL_PER_MMOL, 40.0]
    )
    assert list(r["censored"]) == [None, None, None, "low"]
    assert set(r["subject"]) == {"p07"}
    assert rec.provenance.metadata["patient"]["dob"] == "1980-01-01"
    assert rec.provenance.metadata["generation"] == "G7"
    assert "1980-01-01" not in _all_text(rec)
    assert rec.provenance.rows_dropped == {"preamble (patient/device/alert)": 4}
    assert list(rec.events["carbs_g"]) == [60.0]


def test_dst_fallback_keeps_repeated_local_times_in_transmitter_order():
    rec = read_dexcom(FIX / "dst_fallback.csv")
    r = rec.readings
    assert len(r) == 6  # nothing dropped as a duplicate
    # in the order the transmitter measured them: the whole first pass of 01:xx, then the
    # repeated hour (interleaving by local time would put 113 between 101 and 102)
    assert list(r["glucose_mgdl"]) == [100, 101, 102, 103, 113, 114]
    assert r["time"].duplicated().sum() == 2
    assert list(r["transmitter_time_s"]) == [10000, 10300, 10600, 10900, 13900, 14200]


def test_bad_rows_dropped_with_reason_and_line():
    path = FIX / "bad_rows_truncated.csv"
    rec = read_dexcom(path)
    prov = rec.provenance
    prov.check()
    # lines: 2 ok, 3 Feb 30, 4 negative, 5 'abc', 6 empty, 7 ok, 8 truncated (no final newline)
    assert prov.rows_read == 7
    assert prov.rows_kept == 2
    assert prov.rows_dropped == {
        "unparseable timestamp": 1,
        "impossible value": 2,
        "empty value": 1,
        "truncated row": 1,
    }
    w = "\n".join(prov.warnings)
    for line in (3, 4, 5, 6, 8):
        assert f"line {line}:" in w
    # the renamed timestamp column was found by its content
    assert list(rec.readings["glucose_mgdl"]) == [120.0, 125.0]


def test_header_without_data_raises(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text(HEADER.format(u="mg/dL") + "\n")
    with pytest.raises(InputError, match="no data rows"):
        read_dexcom(p)


def test_empty_file_and_no_header_raise(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_dexcom(p)
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="header"):
        read_dexcom(p)


def test_missing_glucose_column_named(tmp_path):
    p = tmp_path / "m.csv"
    hdr = HEADER.format(u="mg/dL").replace("Glucose Value (mg/dL)", "Something")
    p.write_text(hdr + "\n1,2024-01-01T00:00:00,EGV,,,,x,100,,,,,1,A\n")
    with pytest.raises(InputError, match="Glucose Value"):
        read_dexcom(p)


def test_unknown_units_raise(tmp_path):
    p = tmp_path / "u.csv"
    p.write_text(HEADER.format(u="mg") + "\n1,2024-01-01T00:00:00,EGV,,,,x,100,,,,,1,A\n")
    with pytest.raises(InputError, match="units"):
        read_dexcom(p)


def test_no_timestamp_column_raises(tmp_path):
    p = tmp_path / "t.csv"
    hdr = HEADER.format(u="mg/dL").replace("Timestamp (YYYY-MM-DDThh:mm:ss)", "When")
    p.write_text(hdr + "\n1,yesterday,EGV,,,,x,100,,,,,1,A\n")
    with pytest.raises(InputError, match="timestamp"):
        read_dexcom(p)


def test_rows_with_too_many_fields(tmp_path):
    p = tmp_path / "x.csv"
    lines = [
        HEADER.format(u="mg/dL"),
        "1,2024-01-01T00:00:00,EGV,,,,x,100,,,,,1,A",
        # trailing junk after the last column: the 14 named fields are intact, kept
        "2,2024-01-01T00:05:00,EGV,,,,x,101,,,,,301,A,extra,junk",
        # an unquoted comma inside Device Info shifts the row: glucose cell holds 'Android'
        "3,2024-01-01T00:10:00,EGV,,,Dexcom, G6,Android,102,,,,,601,A",
        "4,2024-01-01T00:15:00,EGV,,,,x,103,,,,,901,A",
    ]
    p.write_text("\n".join(lines) + "\n")
    rec = read_dexcom(p)
    assert list(rec.readings["glucose_mgdl"]) == [100, 101, 103]
    assert rec.provenance.rows_dropped == {"impossible value": 1}
    assert any(w.startswith("line 4:") for w in rec.provenance.warnings)
    rec.provenance.check()


def test_spu_text_recognised():
    s = pd.Series(["SPU 30", "soleus pushups 45 min", "20 min SPU", "walk", "spurious", None])
    assert list(spu_mask(s)) == [True, True, True, False, False, False]
    m = spu_minutes(s)
    assert list(m[:3]) == [30.0, 45.0, 20.0] and m[3:].isna().all()


def test_note_and_exercise_spu_events(tmp_path):
    p = tmp_path / "n.csv"
    lines = [
        HEADER.format(u="mg/dL"),
        "1,2024-01-01T10:00:00,Exercise,SPU,,,x,,,,00:45:00,,",
        "2,2024-01-01T12:00:00,Note,SPU 30,,,x,,,,,,",
        "3,2024-01-01T13:00:00,Note,felt fine,,,x,,,,,,",
    ]
    p.write_text("\n".join(lines) + "\n")
    e = read_dexcom(p).events
    assert list(e["kind"]) == ["spu", "spu", "note"]
    assert e["end"].iloc[0] - e["time"].iloc[0] == pd.Timedelta(minutes=45)
    assert e["end"].iloc[1] - e["time"].iloc[1] == pd.Timedelta(minutes=30)
    assert pd.isna(e["end"].iloc[2])


def test_sniffer():
    for f in FIX.glob("*.csv"):
        raw = f.read_bytes()[:65536]
        text = raw.decode("utf-8-sig", errors="replace")
        if "Timestamp" in text:
            assert sniff(text, raw), f
    lib = Path(__file__).parent / "fixtures" / "real" / "libreview_uk_mmol.csv"
    raw = lib.read_bytes()[:65536]
    assert not sniff(raw.decode("utf-8-sig"), raw)


# ------------------------------------------------------------------------------ generated
_EVENT_ROWS = st.sampled_from(["carbs", "insulin", "exercise", "none"])


@st.composite
def _exports(draw):
    gen = draw(st.sampled_from(["G6", "G7"]))
    units = draw(st.sampled_from(["mg/dL", "mmol/L"]))
    quoted = draw(st.booleans())
    bom = draw(st.booleans())
    preamble = draw(st.booleans())
    n = draw(st.integers(1, 40))
    kinds = draw(
        st.lists(st.sampled_from(["num", "num", "num", "Low", "High"]), min_size=n, max_size=n)
    )
    if units == "mg/dL":
        nums = draw(st.lists(st.integers(40, 400), min_size=n, max_size=n))
        cells = [str(v) for v in nums]
        expect = [float(v) for v in nums]
    else:
        nums = draw(st.lists(st.integers(22, 222), min_size=n, max_size=n))
        cells = [f"{v / 10:.1f}" for v in nums]
        expect = [v / 10 * MGDL_PER_MMOL for v in nums]
    values, expected, cens = [], [], []
    for k, c, x in zip(kinds, cells, expect, strict=True):
        if k == "num":
            values.append(c)
            expected.append(x)
            cens.append(None)
        else:
            values.append(k)
            expected.append(40.0 if k == "Low" else 400.0)
            cens.append(k.lower())
    events = draw(st.lists(_EVENT_ROWS, max_size=5))
    return gen, units, quoted, bom, preamble, values, expected, cens, events


def _write(path, gen, units, quoted, bom, preamble, values, events):
    src = "Android G6" if gen == "G6" else "iOS G7"
    lines = [HEADER.format(u=units)]
    i = 1
    if preamble:
        for row in (
            f"{i},,FirstName,,Ann,,,,,,,,",
            f"{i + 1},,LastName,,Smith,,,,,,,,",
            f"{i + 2},,Device,,,Dexcom {gen} App,{src},,,,,,",
            f"{i + 3},,Alert,High,,,{src},250,,,00:00:00,,",
        ):
            lines.append(row)
        i += 4
    t0 = pd.Timestamp("2024-05-01 00:00:00")
    for j, v in enumerate(values):
        t = (t0 + pd.Timedelta(seconds=300 * j)).strftime("%Y-%m-%dT%H:%M:%S")
        sub = v if v in ("Low", "High") else ""
        lines.append(f"{i},{t},EGV,{sub},,,{src},{v},,,,,{5000 + 300 * j},8ZZZZZ")
        i += 1
    for j, ev in enumerate(events):
        t = (t0 + pd.Timedelta(seconds=150 + 600 * j)).strftime("%Y-%m-%dT%H:%M:%S")
        if ev == "carbs":
            lines.append(f"{i},{t},Carbs,,,,{src},,,{10 + j},,,")
        elif ev == "insulin":
            lines.append(f"{i},{t},Insulin,Fast-Acting,,,{src},,{1 + j},,,,")
        elif ev == "exercise":
            lines.append(f"{i},{t},Exercise,Medium,,,{src},,,,00:20:00,,")
        else:
            continue
        i += 1
    if quoted:
        lines = [",".join(f'"{f}"' for f in ln.split(",")) for ln in lines]
    data = "\r\n".join(lines) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode())


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_exports())
def test_generated_export_round_trip(tmp_path, ex):
    gen, units, quoted, bom, preamble, values, expected, cens, events = ex
    p = tmp_path / "gen.csv"
    _write(p, gen, units, quoted, bom, preamble, values, events)
    rec = read_dexcom(p)
    r = rec.readings
    assert len(r) == len(values)
    np.testing.assert_allclose(r["glucose_mgdl"].to_numpy(), expected, rtol=1e-12)
    assert list(r["censored"]) == cens
    assert r["time"].is_monotonic_increasing
    n_ev = sum(e != "none" for e in events)
    assert len(rec.events) == n_ev
    assert rec.events["carbs_g"].dropna().tolist() == [
        10 + j for j, e in enumerate(events) if e == "carbs"
    ]
    prov = rec.provenance
    assert prov.units == units
    assert prov.rows_read == len(values) + n_ev + (4 if preamble else 0)
    assert prov.rows_kept == len(values) + n_ev
    prov.check()
