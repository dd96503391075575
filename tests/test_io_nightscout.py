"""Nightscout readers: real entries JSON/CSV and treatments, generated round trips, bad input."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.io.nightscout import (
    ENTRIES_CSV,
    ENTRIES_JSON,
    SNIFFERS,
    TREATMENTS_JSON,
    read_nightscout,
    read_nightscout_entries_csv,
    read_nightscout_entries_json,
    read_nightscout_treatments_json,
)

REAL = Path(__file__).parent / "fixtures" / "real"
FIX = Path(__file__).parent / "fixtures" / "nightscout"


def _sniff(path: Path) -> list[str]:
    raw = path.read_bytes()[: 64 * 1024]
    text = raw.decode("utf-8-sig", errors="replace")
    return [name for name, f in SNIFFERS if f(text, raw)]


def _utc_naive(ms: int) -> pd.Timestamp:
    return pd.Timestamp(datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None))


# ------------------------------------------------------------------------------ real exports
def test_real_entries_json_golden():
    data = json.loads((REAL / "nightscout_entries.json").read_text())
    sgv = [e for e in data if e.get("type") == "sgv"]
    unique = {(e["date"], e["sgv"]) for e in sgv}
    rec = read_nightscout(REAL / "nightscout_entries.json")
    prov = rec.provenance
    assert prov.format == ENTRIES_JSON and prov.units == "mg/dL"
    assert prov.rows_read == len(data) == 1000
    assert len(rec.readings) == len(unique)
    assert prov.rows_dropped.get("duplicate", 0) == len(sgv) - len(unique)
    assert rec.readings["glucose_mgdl"].sum() == sum(v for _, v in unique)
    # utcOffset 0 on every entry (checked with the json module): local time == UTC
    assert {e["utcOffset"] for e in data} == {0}
    first = min(unique)
    assert rec.readings["time"].iloc[0] == _utc_naive(first[0])
    assert rec.readings.loc[0, "glucose_mgdl"] == first[1]
    assert rec.readings["time"].is_monotonic_increasing
    assert not prov.warnings and prov.balanced


def test_real_entries_csv_golden_and_offset_option():
    with open(REAL / "nightscout_entries.csv", newline="") as fh:
        rows = [r for r in csv.reader(fh) if r]
    unique = {(int(r[1]), int(r[2])) for r in rows}
    rec = read_nightscout_entries_csv(REAL / "nightscout_entries.csv")
    assert rec.provenance.format == ENTRIES_CSV
    assert rec.provenance.rows_read == len(rows) == 1000  # wc -l says 999: no final newline
    assert len(rec.readings) == len(unique)
    assert any("UTC" in w for w in rec.provenance.warnings)  # no offset anywhere: warned once
    assert len(rec.provenance.warnings) == 1
    shifted = read_nightscout_entries_csv(REAL / "nightscout_entries.csv", utc_offset=-300)
    diff = rec.readings["time"] - shifted.readings["time"]
    assert (diff == pd.Timedelta(hours=5)).all()
    assert not shifted.provenance.warnings
    assert rec.provenance.balanced


def test_real_treatments_golden():
    data = json.loads((REAL / "nightscout_treatments.json").read_text())
    carbs = [t for t in data if (t.get("carbs") or 0) > 0]
    insulin = [t for t in data if (t.get("insulin") or 0) > 0]
    mapped = {id(t) for t in carbs + insulin}
    other = Counter(t["eventType"] for t in data if id(t) not in mapped)
    rec = read_nightscout(REAL / "nightscout_treatments.json")
    prov = rec.provenance
    assert prov.format == TREATMENTS_JSON
    assert rec.readings.empty
    kinds = rec.events["kind"].value_counts().to_dict()
    assert kinds == {"insulin": len(insulin), "meal": len(carbs)}
    assert rec.events["carbs_g"].sum() == pytest.approx(sum(t["carbs"] for t in carbs))
    assert rec.events["insulin_u"].sum() == pytest.approx(sum(t["insulin"] for t in insulin))
    assert prov.rows_dropped == dict(other)  # e.g. Temp Basal, Sensor Start
    assert prov.rows_kept == len(mapped)
    assert prov.balanced


def test_sniffers_tell_the_three_apart():
    assert _sniff(REAL / "nightscout_entries.json") == [ENTRIES_JSON]
    assert _sniff(REAL / "nightscout_entries.csv") == [ENTRIES_CSV]
    assert _sniff(REAL / "nightscout_treatments.json") == [TREATMENTS_JSON]
    assert _sniff(REAL / "carelink_us_paradigm_revel.csv") == []
    assert _sniff(REAL / "libreview_uk_mmol.csv") == []


# ------------------------------------------------------------------------------ hand-made
def test_types_duplicates_and_offsets(tmp_path):
    base = 1_700_000_000_000  # 2023-11-14T22:13:20Z
    entries = [
        {"_id": "a", "type": "sgv", "sgv": 100, "date": base, "utcOffset": 60},
        {"_id": "b", "type": "sgv", "sgv": 100, "date": base, "utcOffset": 60},  # duplicate
        {"_id": "c", "type": "mbg", "mbg": 110, "date": base + 1000},
        {"_id": "d", "type": "cal", "slope": 1, "date": base + 2000},
        # the offset written in dateString wins over utcOffset
        {
            "type": "sgv",
            "sgv": 120,
            "date": base + 300_000,
            "dateString": "2023-11-14T17:18:20.000-05:00",
            "utcOffset": 60,
        },
        {"type": "sgv", "sgv": "??", "date": base + 600_000, "utcOffset": 60},
        {"type": "sgv", "sgv": 130, "dateString": "2023-11-14T22:28:20Z", "utcOffset": 0},
        "not an object",
    ]
    path = tmp_path / "e.json"
    path.write_text(json.dumps(entries))
    rec = read_nightscout_entries_json(path, subject="x")
    r = rec.readings
    # ordered by the UTC instant (a zone change keeps the true order), shown in local time
    assert r["glucose_mgdl"].tolist() == [100.0, 120.0, 130.0]
    assert r["time"].tolist() == [
        pd.Timestamp("2023-11-14 23:13:20"),
        pd.Timestamp("2023-11-14 17:18:20"),
        pd.Timestamp("2023-11-14 22:28:20"),
    ]
    assert rec.provenance.rows_dropped == {
        "duplicate": 1,
        "type mbg (meter)": 1,
        "type cal (calibration)": 1,
        "missing or non-numeric sgv": 1,
        "not a JSON object": 1,
    }
    assert any("entry 6" in w for w in rec.provenance.warnings)
    assert any("entry 8" in w for w in rec.provenance.warnings)
    assert rec.provenance.balanced


def test_treatments_kinds(tmp_path):
    tr = [
        {
            "created_at": "2024-03-01T12:00:00Z",
            "eventType": "Meal Bolus",
            "carbs": 50,
            "insulin": 4.5,
            "utcOffset": 120,
        },
        {
            "created_at": "2024-03-01T12:00:00Z",
            "eventType": "Meal Bolus",
            "carbs": 50,
            "insulin": 4.5,
            "utcOffset": 120,
            "_id": "dup",
        },
        {
            "created_at": "2024-03-01T13:00:00.000Z",
            "eventType": "Exercise",
            "duration": 30,
            "notes": "walk",
            "utcOffset": 120,
        },
        {
            "created_at": "2024-03-01T14:00:00+02:00",
            "eventType": "Exercise",
            "duration": 45,
            "notes": "Soleus pushups while reading",
        },
        {
            "created_at": "2024-03-01T15:00:00Z",
            "eventType": "Note",
            "notes": "did 10 min SPU",
            "utcOffset": 120,
        },
        {
            "created_at": "2024-03-01T16:00:00Z",
            "eventType": "Note",
            "notes": "felt fine",
            "utcOffset": 120,
        },
        {"created_at": "2024-03-01T17:00:00Z", "eventType": "Site Change", "utcOffset": 120},
        {"created_at": "nonsense", "eventType": "Note", "notes": "x"},
    ]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tr))
    ev = read_nightscout_treatments_json(path).events
    # ordered by UTC instant: 12:00Z (meal, insulin, the +02:00 SPU bout), 13:00Z, 15:00Z, 16:00Z
    assert ev["kind"].tolist() == ["meal", "insulin", "spu", "exercise", "spu", "note"]
    assert ev["time"].tolist() == [
        pd.Timestamp(f"2024-03-01 {h}:00") for h in (14, 14, 14, 15, 17, 18)
    ]
    assert ev.loc[2, "end"] == pd.Timestamp("2024-03-01 14:45")
    assert ev.loc[3, "end"] == pd.Timestamp("2024-03-01 15:30")
    # no duration field: the bout's minutes come from its text ("did 10 min SPU" -> 10 min)
    assert ev.loc[4, "label"] == "did 10 min SPU"
    assert ev.loc[4, "end"] == pd.Timestamp("2024-03-01 17:10")
    assert ev.loc[0, "carbs_g"] == 50 and ev.loc[1, "insulin_u"] == 4.5
    prov = read_nightscout_treatments_json(path).provenance
    assert prov.rows_dropped == {"duplicate": 1, "Site Change": 1, "unparseable timestamp": 1}
    assert prov.rows_kept == 5 and prov.balanced


# ------------------------------------------------------------------------------ generated
_entries = st.lists(
    st.tuples(st.integers(0, 10**9), st.integers(39, 401)),
    min_size=1,
    max_size=80,
    unique_by=lambda x: x[0],
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_entries, st.sampled_from([-480, -300, 0, 60, 330]), st.booleans())
def test_generated_entries_round_trip(tmp_path, raw, offset, as_csv):
    t0 = 1_600_000_000_000
    rows = [(t0 + ms, g) for ms, g in raw]
    if as_csv:
        path = tmp_path / "e.csv"
        lines = []
        for ms, g in rows:
            ds = datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            lines.append(f'"{ds}Z",{ms},{g},"Flat",')
        path.write_text("\n".join(lines) + "\n")
        rec = read_nightscout_entries_csv(path, utc_offset=offset)
    else:
        path = tmp_path / "e.json"
        docs = [{"type": "sgv", "sgv": g, "date": ms, "utcOffset": offset} for ms, g in rows]
        path.write_text(json.dumps(docs))
        rec = read_nightscout_entries_json(path)
    want = sorted(rows)
    assert rec.readings["glucose_mgdl"].tolist() == [float(g) for _, g in want]
    assert rec.readings["time"].tolist() == [
        _utc_naive(ms) + timedelta(minutes=offset) for ms, _ in want
    ]
    assert rec.provenance.rows_read == len(rows) == rec.provenance.rows_kept
    assert not rec.provenance.warnings


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "content, match",
    [
        ("[]", "empty JSON list"),
        ('{"sgv": 100}', "expected a list"),
        ("[1, 2, 3]", "no objects"),
        ('[{"sgv": 1,', "not valid JSON"),
        ('[{"foo": 1}]', "lack 'sgv'"),
    ],
)
def test_bad_entries_json(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=match) as err:
        read_nightscout_entries_json(path)
    assert str(path) in str(err.value)


def test_bad_treatments_and_csv(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('[{"eventType": "Note"}]')
    with pytest.raises(InputError, match="created_at"):
        read_nightscout_treatments_json(path)
    csv_path = tmp_path / "e.csv"
    csv_path.write_text(
        '"2024-01-01T00:00:00.000Z",1704067200000,100,"Flat",\n'
        '"2024-01-01T00:05:00.000Z",1704067500000,xyz,"Flat",\n'
        '"2024-99-01T00:10:00.000Z",,105,"Flat",\n'
        '"2024-01-01T00:15:00.000Z",1704068100000,9999,"Flat",\n'
    )
    rec = read_nightscout_entries_csv(csv_path, utc_offset=0)
    assert rec.readings["glucose_mgdl"].tolist() == [100.0]
    assert rec.provenance.rows_dropped == {
        "missing or non-numeric sgv": 1,
        "unparseable timestamp": 1,
        "implausible sgv": 1,
    }
    text = "\n".join(rec.provenance.warnings)
    assert "line 2:" in text and "line 3:" in text and "line 4:" in text
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="empty"):
        read_nightscout_entries_csv(empty)
    garbage = tmp_path / "g.json"
    garbage.write_bytes(b"\x00\x01\x02garbage" * 50)
    with pytest.raises(InputError, match="binary"):
        read_nightscout_entries_json(garbage)
