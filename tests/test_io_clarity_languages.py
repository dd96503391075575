"""Dexcom Clarity in other languages and layouts, and saved as .xlsx (issue 12).

The fixtures (``tests/fixtures/dexcom/clarity_*``) were written by
``tests/make_language_fixtures.py`` from the header sets in ``docs/formats.md``. Every expected
count here is worked out from the file itself with the ``csv`` module (or ``openpyxl`` for the
workbook): a row is a reading when its timestamp is set and its event type is the language's
EGV word, the preamble is every row without a timestamp, and so on; never from the reader.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.core.schema import MGDL_PER_MMOL
from soleus_analysis.io import detect_format, read_cgm
from soleus_analysis.io.dexcom import (
    CLARITY_HEADERS,
    header_base,
    layout_columns,
    map_header,
    read_dexcom,
    sniff,
)

FIX = Path(__file__).parent / "fixtures" / "dexcom"

#: (file, delimiter, EGV word, meal word, exercise word, fasting word, units)
FILES = [
    ("clarity_ja.csv", ",", "EGV", "食事", "活動", "空腹時グルコース", "mg/dL"),
    ("clarity_de_mmol.csv", ";", "EGV", "Carbs", "Exercise", None, "mmol/L"),
    ("clarity_es.csv", ";", "Niveles estimados de glucosa", "Carbs", "Exercise", None, "mg/dL"),
    ("clarity_it.csv", ";", "EGV", "Carbs", "Exercise", None, "mg/dL"),
    ("clarity_13col.csv", ",", "EGV", "Carbs", "Exercise", None, "mg/dL"),
    ("clarity_12col.csv", ",", "EGV", "Carbs", "Exercise", None, "mg/dL"),
]


def _csv_rows(name: str, delim: str) -> tuple[list[str], list[list[str]]]:
    with open(FIX / name, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delim))
    return rows[0], rows[1:]


@pytest.mark.parametrize("name,delim,egv,meal,exercise,fasting,units", FILES)
def test_language_and_layout_fixtures_counted_independently(
    name, delim, egv, meal, exercise, fasting, units
):
    header, data = _csv_rows(name, delim)
    preamble = [r for r in data if r[1] == ""]
    readings = [r for r in data if r[1] and r[2] == egv]
    meals = [r for r in data if r[1] and r[2] == meal]
    exer = [r for r in data if r[1] and r[2] == exercise]
    fast = [r for r in data if fasting and r[1] and r[2] == fasting]

    assert detect_format(FIX / name) == "dexcom_clarity"
    rec = read_cgm(FIX / name)
    prov = rec.provenance
    prov.check()
    assert prov.units == units
    assert prov.rows_read == len(data)
    assert prov.rows_dropped == {"preamble (patient/device/alert)": len(preamble)}
    assert len(rec.readings) == len(readings)
    factor = MGDL_PER_MMOL if units == "mmol/L" else 1.0
    expect = sorted(float(r[7].replace(",", ".")) * factor for r in readings)
    np.testing.assert_allclose(sorted(rec.readings["glucose_mgdl"]), expect, rtol=1e-12)
    assert rec.readings["time"].min() == pd.Timestamp(min(r[1] for r in readings))
    e = rec.events
    assert (e["kind"] == "meal").sum() == len(meals)
    assert e.loc[e["kind"] == "meal", "carbs_g"].tolist() == [float(r[9]) for r in meals]
    assert (e["kind"] == "exercise").sum() == len(exer)
    ex = e[e["kind"] == "exercise"].iloc[0]
    assert ex["end"] - ex["time"] == pd.to_timedelta(exer[0][10])
    assert (e["kind"] == "health").sum() == len(fast)
    # the names of the preamble stay in metadata, never in a warning
    assert "Synthetic" not in " ".join(prov.warnings) and "Person" not in " ".join(prov.warnings)
    assert prov.metadata["patient"] == {"first_name": "Synthetic", "last_name": "Person"}


def test_japanese_events_translated():
    rec = read_dexcom(FIX / "clarity_ja.csv")
    assert rec.provenance.metadata["language"] == "ja"
    e = rec.events.set_index("kind")
    assert e.loc["exercise", "intensity"] == "Medium"  # ミディアム
    _, data = _csv_rows("clarity_ja.csv", ",")
    value = next(r[7] for r in data if r[2] == "空腹時グルコース")
    assert e.loc["health", "label"] == f"fasting glucose {value} mg/dL"


def test_every_language_maps_to_the_english_keys():
    """Table-driven: each documented cell of each language is the column English names so."""
    en = CLARITY_HEADERS["en"]
    english_header = [
        "Index", "Timestamp (YYYY-MM-DDThh:mm:ss)", "Event Type", "Event Subtype",
        "Patient Info", "Device Info", "Source Device ID", "Glucose Value (mg/dL)",
        "Insulin Value (u)", "Carb Value (grams)", "Duration (hh:mm:ss)",
        "Glucose Rate of Change (mg/dL/min)", "Transmitter Time (Long Integer)", "Transmitter ID",
    ]  # fmt: skip
    by_key = {k: english_header[i] for i, k in enumerate(en)}
    assert map_header(english_header) == by_key
    for lang, keys in CLARITY_HEADERS.items():
        assert set(keys) <= set(en), lang
        for key, cells in keys.items():
            for cell in cells:
                assert map_header([cell + " (x)", "Glucose Value (mg/dL)"])[key] == cell + " (x)"


def test_japanese_layout_equals_its_names():
    header, _ = _csv_rows("clarity_ja.csv", ",")
    by_layout = layout_columns(header)
    assert len(by_layout) == 14
    assert map_header(header) == by_layout
    assert header_base(header[1]) == "タイムスタンプ"


def test_unknown_language_read_by_layout_and_rows(tmp_path):
    # a made-up language (every cell invented, the layout's marks kept): the reader may rely
    # only on Clarity's layout and on what the rows hold
    header = [
        "Idx", "Zeit (XXXX-XX-XXTxx:xx:xx)", "Art", "Unterart", "Pat", "Ger", "Quelle",
        "Wert (mg/dL)", "Ins", "KH", "Len (hh:mm:ss)", "Rate (mg/dL/min)", "TT", "TID",
    ]  # fmt: skip
    rows = [["1", "", "Vorname", "", "Synthetic"]]
    for i in range(20):
        t = dt.datetime(2026, 3, 1, 8, 0) + dt.timedelta(minutes=5 * i)
        rows.append([str(i + 2), f"{t:%Y-%m-%dT%H:%M:%S}", "GLU", "", "", "", "x",
                     str(100 + i), "", "", "", "", str(300 * i), "T1"])  # fmt: skip
    rows.append(["30", "2026-03-01T09:00:00", "MAHL", "", "", "", "", "", "", "40"])
    rows.append(["31", "2026-03-01T09:01:00", "SPRITZE", "", "", "", "", "", "3.5"])
    rows.append(["32", "2026-03-01T09:02:00", "LAUF", "", "", "", "", "", "", "", "00:20:00"])
    rows.append(["33", "2026-03-01T09:03:00", "SONST", "", "", "", "", "", "", "", ""])
    p = tmp_path / "x.csv"
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([(r + [""] * 14)[:14] for r in rows])
    assert detect_format(p) == "dexcom_clarity"
    rec = read_dexcom(p)
    prov = rec.provenance
    assert len(rec.readings) == 20 and prov.metadata["language"] == "unknown"
    kinds = rec.events.set_index("kind")
    assert kinds.loc["meal", "carbs_g"] == 40.0 and kinds.loc["insulin", "insulin_u"] == 3.5
    assert (kinds.loc["exercise", "end"] - kinds.loc["exercise", "time"]) == pd.Timedelta("20min")
    assert prov.rows_dropped == {
        "preamble (patient/device/alert)": 1,
        "event type 'SONST' (unsupported)": 1,
    }
    said = " ".join(prov.warnings)
    for word in ("'GLU'", "'MAHL'", "'SPRITZE'", "'LAUF'"):
        assert word in said
    assert "Synthetic" not in said


def test_german_low_high_words(tmp_path):
    header, data = _csv_rows("clarity_de_mmol.csv", ";")
    rows = [r[:] for r in data]
    egv = [i for i, r in enumerate(rows) if r[2] == "EGV"]
    rows[egv[0]][7] = "Niedrig"
    rows[egv[1]][7] = "Hoch"
    rows[egv[2]][7] = "Unlesbar"  # no known word: dropped and said, not kept
    p = tmp_path / "de.csv"
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(header)
        w.writerows(rows)
    rec = read_dexcom(p)
    cens = rec.readings["censored"].value_counts().to_dict()
    assert cens == {"low": 1, "high": 1}
    assert rec.provenance.rows_dropped["impossible value"] == 1
    assert any("Unlesbar" in w for w in rec.provenance.warnings)


# ------------------------------------------------------------------------------ xlsx
def test_xlsx_counts_from_openpyxl():
    from openpyxl import load_workbook

    path = FIX / "clarity_g7.xlsx"
    ws = load_workbook(path, read_only=True).active
    cells = list(ws.iter_rows(values_only=True))
    data = cells[1:]
    readings = [r for r in data if r[1] is not None and r[2] == "EGV"]
    assert detect_format(path) == "dexcom_clarity"
    rec = read_cgm(path)
    prov = rec.provenance
    prov.check()
    assert prov.rows_read == len(data)
    assert prov.rows_dropped == {"preamble (patient/device/alert)": sum(r[1] is None for r in data)}
    assert len(rec.readings) == len(readings)
    assert sorted(rec.readings["glucose_mgdl"]) == sorted(float(r[7]) for r in readings)
    assert sorted(rec.readings["time"]) == sorted(pd.Timestamp(r[1]) for r in readings)
    assert rec.readings["transmitter_time_s"].tolist() == sorted(int(r[12]) for r in readings)
    assert prov.metadata["saved_as"] == "xlsx"
    assert (rec.events["kind"] == "meal").sum() == sum(r[2] == "Carbs" for r in data)


def test_xlsx_sniffed_by_content_not_name(tmp_path):
    p = tmp_path / "no_extension"
    p.write_bytes((FIX / "clarity_g7.xlsx").read_bytes())
    assert detect_format(p) == "dexcom_clarity"


def test_xlsx_without_clarity_header_and_corrupt_zip(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["a", "b"])
    wb.active.append([1, 2])
    p = tmp_path / "other.xlsx"
    wb.save(p)
    with pytest.raises(InputError, match="no Dexcom Clarity header row in any sheet"):
        read_dexcom(p)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes((FIX / "clarity_g7.xlsx").read_bytes()[:3000])
    with pytest.raises(InputError, match="zip archive that cannot be opened"):
        read_cgm(broken)
    with pytest.raises(InputError, match=r"\.xlsx workbook that cannot be read"):
        read_dexcom(broken)


# ------------------------------------------------------------------------------ round trips
#: how each variant writes its header, EGV word and delimiter
VARIANTS = {
    "en": ("Timestamp (YYYY-MM-DDThh:mm:ss)", "Event Type", "Glucose Value", "EGV", "Carbs"),
    "ja": ("タイムスタンプ (YYYY-MM-DDThh:mm:ss)", "イベント タイプ", "グルコース値", "EGV", "食事"),
    "de": ("Zeitstempel (JJJJ-MM-TTThh:mm:ss)", "Ereignistyp", "Glukosewert", "EGV", "Carbs"),
    "es": ("Marca temporal (AAAA-MM-DDThh:mm:ss)", "Tipo de evento", "Nivel de glucosa",
           "Niveles estimados de glucosa", "Carbs"),
    "it": ("Data e ora (AAAA-MM-GGThh:mm:ss)", "Tipo di evento", "Valore del glucosio", "EGV",
           "Carbs"),
}  # fmt: skip
BASE = [
    "Index", "", "", "Event Subtype", "Patient Info", "Device Info", "Source Device ID", "",
    "Insulin Value (u)", "Carb Value (grams)", "Duration (hh:mm:ss)",
    "Glucose Rate of Change ({u}/min)", "Transmitter Time (Long Integer)", "Transmitter ID",
]  # fmt: skip


@st.composite
def _exports(draw):
    lang = draw(st.sampled_from(sorted(VARIANTS)))
    ncols = draw(st.sampled_from([11, 12, 13, 14]))
    delim = draw(st.sampled_from([",", ";"]))
    units = draw(st.sampled_from(["mg/dL", "mmol/L"]))
    vals = draw(st.lists(st.integers(40, 400), min_size=1, max_size=40))
    carbs = draw(st.lists(st.integers(0, 150), max_size=4))
    return lang, ncols, delim, units, vals, carbs


def _write_export(path, lang, ncols, delim, units, vals, carbs, xlsx=False):
    tcol, etcol, gcol, egv, meal = VARIANTS[lang]
    header = BASE[:]
    header[1], header[2], header[7] = tcol, etcol, f"{gcol} ({units})"
    header[11] = header[11].format(u=units)
    header = header[:ncols]
    t0 = dt.datetime(2026, 5, 1, 7, 0, 0)
    rows: list[list[object]] = [["1", "", "FirstName", "", "Synthetic"]]
    for i, v in enumerate(vals):
        cell = str(v) if units == "mg/dL" else f"{v / 10:.1f}"
        if delim == ";" and units == "mmol/L":
            cell = cell.replace(".", ",")
        t = t0 + dt.timedelta(minutes=5 * i)
        rows.append([str(i + 2), t if xlsx else f"{t:%Y-%m-%dT%H:%M:%S}", egv, "", "", "",
                     "G7", cell, "", "", "", "", str(300 * i), "X1"])  # fmt: skip
    for k, c in enumerate(carbs):
        t = t0 + dt.timedelta(minutes=7 + 60 * k)
        rows.append(["99", t if xlsx else f"{t:%Y-%m-%dT%H:%M:%S}", meal, "", "", "", "", "",
                     "", str(c)])  # fmt: skip
    rows = [(r + [""] * 14)[:ncols] for r in rows]
    if xlsx:
        from openpyxl import Workbook

        wb = Workbook()
        wb.active.append(header)
        for r in rows:
            wb.active.append([c if c != "" else None for c in r])
        wb.save(path)
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delim)
        w.writerow(header)
        w.writerows(rows)


def _check(rec, units, vals, carbs):
    expect = [float(v) if units == "mg/dL" else v / 10 * MGDL_PER_MMOL for v in vals]
    np.testing.assert_allclose(rec.readings["glucose_mgdl"], expect, rtol=1e-9)
    t0 = pd.Timestamp(2026, 5, 1, 7, 0)
    assert list(rec.readings["time"]) == [
        t0 + pd.Timedelta(minutes=5 * i) for i in range(len(vals))
    ]
    got = rec.events.loc[rec.events["kind"] == "meal", "carbs_g"]
    assert sorted(got) == sorted(float(c) for c in carbs)
    assert rec.provenance.rows_dropped == {"preamble (patient/device/alert)": 1}
    rec.provenance.check()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_exports())
def test_generated_languages_round_trip(tmp_path, ex):
    lang, ncols, delim, units, vals, carbs = ex
    p = tmp_path / "c.csv"
    _write_export(p, lang, ncols, delim, units, vals, carbs)
    assert sniff(p.read_text(encoding="utf-8"), p.read_bytes())
    _check(read_cgm(p), units, vals, carbs)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_exports())
def test_generated_xlsx_round_trip(tmp_path, ex):
    lang, ncols, _, units, vals, carbs = ex
    p = tmp_path / "c.xlsx"
    _write_export(p, lang, ncols, ",", units, vals, carbs, xlsx=True)
    assert detect_format(p) == "dexcom_clarity"
    _check(read_cgm(p), units, vals, carbs)
