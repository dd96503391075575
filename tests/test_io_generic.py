"""Generic CSV/Parquet reader: named columns, units rule, offsets, censoring, bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.core.schema import MGDL_PER_MMOL
from soleus_analysis.io.generic import READERS, SNIFFERS, read_generic, sniff_generic

FIX = Path(__file__).parent / "fixtures" / "generic"
REAL = Path(__file__).parent / "fixtures" / "real"


def _sniff(path: Path) -> bool:
    raw = path.read_bytes()[: 64 * 1024]
    return sniff_generic(raw.decode("utf-8-sig", errors="replace"), raw)


def test_iglu_like_fixture_by_hand():
    # 8 data rows (one blank line between subjects is not a row); worked out by hand:
    # Subject 1: 3 readings; Subject 2: LO -> 40 (low), NA -> missing, HI -> 400 (high),
    # a repeated HI row -> duplicate, 'error' -> non-numeric.
    rec = read_generic(FIX / "iglu_like.csv", units="mg/dL")
    r = rec.readings
    assert r["subject"].tolist() == ["Subject 1"] * 3 + ["Subject 2"] * 2
    assert r["glucose_mgdl"].tolist() == [153.0, 137.0, 128.0, 40.0, 400.0]
    assert r["censored"].tolist() == [None, None, None, "low", "high"]
    assert r.loc[0, "time"] == pd.Timestamp("2015-06-06 16:50:27")
    prov = rec.provenance
    assert prov.rows_read == 8 and prov.rows_kept == 5
    assert prov.rows_dropped == {"missing glucose": 1, "non-numeric glucose": 1, "duplicate": 1}
    text = "\n".join(prov.warnings)
    assert "line 7:" in text and "line 10:" in text and "line 9:" in text
    assert prov.balanced and prov.units == "mg/dL"


def test_sniffer():
    assert SNIFFERS == [("generic", sniff_generic)] and READERS["generic"] is read_generic
    assert _sniff(FIX / "iglu_like.csv")
    assert sniff_generic("subject;timestamp;glucose_mgdl\n", b"subject;timestamp;glucose_mgdl\n")
    assert sniff_generic("", b"PAR1\x00\x00")
    assert not sniff_generic("name,age\nx,3\n", b"name,age\nx,3\n")
    assert not _sniff(REAL / "nightscout_entries.csv")


@pytest.mark.parametrize(
    "header, row, units, want",
    [
        ("subject,timestamp,glucose_mgdl", "p1,2024-01-01T08:00:00,101", None, 101.0),
        ("Timestamp,Glucose (mmol/L)", "2024-01-01 08:00,5.5", None, 5.5 * MGDL_PER_MMOL),
        (
            "participant;Display Time;glucose_mmol",
            "p1;2024-01-01 08:00;5,5",
            None,
            5.5 * MGDL_PER_MMOL,
        ),
        ("patient_id\tdate_time\tsgv", "p1\t2024-01-01 08:00\t99", "mg/dL", 99.0),
        ("ID,Time,Value", "p1,2024-01-01 08:00,7.0", "mmol/L", 7.0 * MGDL_PER_MMOL),
    ],
)
def test_column_synonyms_and_units(tmp_path, header, row, units, want):
    path = tmp_path / "x.csv"
    path.write_text(f"{header}\n{row}\n")
    rec = read_generic(path, units=units)
    assert rec.readings["glucose_mgdl"].tolist() == [pytest.approx(want)]
    assert rec.readings["time"].tolist() == [pd.Timestamp("2024-01-01 08:00")]


def test_offsets_kept_as_written_local_time_and_warned(tmp_path):
    path = tmp_path / "tz.csv"
    path.write_text(
        "time,glucose_mgdl\n2024-03-31T01:30:00+01:00,100\n2024-03-31T03:30:00+02:00,110\n"
        "2024-03-31T02:00:00Z,120\n"
    )
    rec = read_generic(path, subject="me")
    assert rec.readings["time"].tolist() == [
        pd.Timestamp("2024-03-31 01:30"),
        pd.Timestamp("2024-03-31 02:00"),
        pd.Timestamp("2024-03-31 03:30"),
    ]
    assert set(rec.readings["subject"]) == {"me"}
    assert any("offset" in w for w in rec.provenance.warnings)


def test_explicit_columns_and_time_format(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("when,reading,who\n16/03/2021 13:42,120,a\n17/03/2021 13:42,130,b\n")
    with pytest.raises(InputError, match="time column"):
        read_generic(path, units="mg/dL")
    rec = read_generic(
        path,
        units="mg/dL",
        time_column="when",
        glucose_column="reading",
        subject_column="who",
        time_format="%d/%m/%Y %H:%M",
    )
    assert rec.readings["time"].tolist() == [
        pd.Timestamp("2021-03-16 13:42"),
        pd.Timestamp("2021-03-17 13:42"),
    ]
    assert rec.readings["subject"].tolist() == ["a", "b"]


# ------------------------------------------------------------------------------ generated
_vals = st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(40, 400), st.sampled_from(["a", "b", "c"])),
    min_size=1,
    max_size=80,
    unique_by=lambda x: (x[0], x[2]),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_vals, st.sampled_from(["mg/dL", "mmol/L"]), st.booleans(), st.booleans())
def test_generated_round_trip(tmp_path, raw, units, parquet, named_units):
    t0 = datetime(2023, 1, 1)
    times = [t0 + timedelta(minutes=m) for m, _, _ in raw]
    subj = [s for _, _, s in raw]
    if units == "mg/dL":
        vals = [float(g) for _, g, _ in raw]
    else:
        vals = [round(g / MGDL_PER_MMOL, 1) for _, g, _ in raw]
    gname = ("glucose_mgdl" if units == "mg/dL" else "glucose_mmol") if named_units else "gl"
    frame = pd.DataFrame({"id": subj, "time": times, gname: vals})
    if parquet:
        path = tmp_path / "g.parquet"
        frame.to_parquet(path)
    else:
        path = tmp_path / "g.csv"
        frame.assign(time=[t.strftime("%Y-%m-%d %H:%M:%S") for t in times]).to_csv(
            path, index=False
        )
    rec = read_generic(path, units=None if named_units else units)
    want = frame.sort_values(["id", "time"], kind="stable")
    r = rec.readings
    assert r["subject"].tolist() == want["id"].tolist()
    assert r["time"].tolist() == [pd.Timestamp(t) for t in want["time"]]
    factor = MGDL_PER_MMOL if units == "mmol/L" else 1.0
    np.testing.assert_array_equal(r["glucose_mgdl"].to_numpy(), want[gname].to_numpy() * factor)
    assert rec.provenance.units == units
    assert rec.provenance.rows_read == rec.provenance.rows_kept == len(raw)


def test_parquet_with_tz_aware_times(tmp_path):
    t = pd.date_range("2024-06-01 08:00", periods=3, freq="5min", tz="Europe/Berlin")
    path = tmp_path / "tz.parquet"
    pd.DataFrame({"timestamp": t, "glucose (mg/dL)": [90.0, 95.0, 99.0]}).to_parquet(path)
    rec = read_generic(path)
    assert rec.readings["time"].tolist() == list(t.tz_localize(None))
    assert any("offset" in w for w in rec.provenance.warnings)


# ------------------------------------------------------------------------------ bad input
def test_units_required_when_header_is_silent(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,time,gl\na,2024-01-01 00:00,100\n")
    with pytest.raises(InputError, match='units="mg/dL"') as err:
        read_generic(path)
    assert str(path) in str(err.value)
    with pytest.raises(InputError, match="not understood"):
        read_generic(path, units="furlongs")


def test_units_conflicting_or_implausible(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("time,glucose_mmol\n2024-01-01 00:00,5.5\n")
    with pytest.raises(InputError, match="says mmol/L"):
        read_generic(path, units="mg/dL")
    rows = "\n".join(f"2024-01-01 00:{i:02d},{5 + i / 10}" for i in range(12))
    path.write_text("time,gl\n" + rows + "\n")
    with pytest.raises(InputError, match="look like mmol/L"):
        read_generic(path, units="mg/dL")


@pytest.mark.parametrize(
    "content, match",
    [
        ("id,time,gl\n", "no data rows"),
        ("id,gl\na,100\n", "missing required time column"),
        ("id,time\na,2024-01-01\n", "missing required glucose column"),
        ("time,glucose,sgv\n2024-01-01,1,2\n", "several columns"),
        ("time,gl\nyesterday,100\nlater,110\n", "time_format"),
        ("", "empty"),
    ],
)
def test_bad_files_raise(tmp_path, content, match):
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=match):
        read_generic(path, units="mg/dL")


def test_impossible_rows_dropped_with_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        "time,gl\n2024-01-01 00:00,100\n2024-02-30 00:05,100\n2024-01-01 00:10,-5\n"
        "2024-01-01 00:15,99999\n2024-01-01 00:20,101\n"
    )
    rec = read_generic(path, units="mg/dL")
    assert rec.readings["glucose_mgdl"].tolist() == [100.0, 101.0]
    assert rec.provenance.rows_dropped == {"unparseable timestamp": 1, "implausible glucose": 2}
    text = "\n".join(rec.provenance.warnings)
    assert all(f"line {n}:" in text for n in (3, 4, 5))
    assert rec.provenance.balanced


def test_garbage_parquet_raises(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1" + b"\x00garbage" * 10)
    with pytest.raises(InputError, match="Parquet"):
        read_generic(path, units="mg/dL")


def test_read_cgm_sniffs_these_formats_from_content():
    from soleus_analysis.io import detect_format, read_cgm

    want = {
        FIX / "iglu_like.csv": "generic",
        REAL / "carelink_eu_guardian_connect.csv": "carelink",
        REAL / "carelink_us_paradigm_revel.csv": "carelink",
        REAL / "nightscout_entries.json": "nightscout_entries_json",
        REAL / "nightscout_entries.csv": "nightscout_entries_csv",
        REAL / "nightscout_treatments.json": "nightscout_treatments_json",
    }
    for path, name in want.items():
        assert detect_format(path) == name, path
    rec = read_cgm(FIX / "iglu_like.csv", units="mg/dL")
    assert rec.provenance.format == "generic" and rec.provenance.balanced
