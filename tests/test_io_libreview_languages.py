"""LibreView in French, Spanish and German, and the FreeStyle Libre desktop export (issue 12).

The fixtures (``tests/fixtures/libreview/``) were written by ``tests/make_language_fixtures.py``
from the header sets of ``docs/formats.md``. Expected counts are worked out here from the files
with the ``csv`` module, by column position (LibreView writes the same columns in the same
order in every language): never from the reader.
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

from soleus_analysis.core.schema import MGDL_PER_MMOL
from soleus_analysis.io import detect_format, read_cgm
from soleus_analysis.io.libreview import (
    FOOD_NO_AMOUNT,
    HEADER_SETS,
    header_language,
    map_columns,
    read_libre_desktop,
    read_libreview,
)

FIX = Path(__file__).parent / "fixtures" / "libreview"

# positions in LibreView's layout (every language)
TYPE, HIST, RFLAG, RAPID, FFLAG, CARBS, SERV, LFLAG, LONG = 3, 4, 6, 7, 8, 9, 10, 11, 12
# positions in the desktop software's layout
D = {"type": 2, "hist": 3, "rflag": 5, "rapid": 6, "fflag": 7, "carbs": 8, "lflag": 9, "long": 10}


def _rows(path: Path, delim: str, skip: int) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delim))
    return rows[skip], rows[skip + 1 :]


def _expected(data, pos):
    """Insulin and meal events of the rows, counted the way LibreView documents them."""
    ins = [r for r in data if r[pos["type"]] == "4"]
    n_rapid = sum(r[pos["rapid"]] != "" or r[pos["rflag"]] == "1" for r in ins)
    n_long = sum(r[pos["long"]] != "" or r[pos["lflag"]] == "1" for r in ins)
    units = sum(float(r[pos["rapid"]] or 0) + float(r[pos["long"]] or 0) for r in ins)
    food = [r for r in data if r[pos["type"]] == "5"]
    no_amount = sum(r[pos["carbs"]] == "" and r[pos["fflag"]] == "1" for r in food)
    return n_rapid + n_long, units, len(food), no_amount


@pytest.mark.parametrize("lang", ["fr", "es", "de"])
def test_languages_counted_independently(lang):
    path = FIX / f"libreview_{lang}.csv"
    header, data = _rows(path, ",", 1)
    pos = {"type": TYPE, "rapid": RAPID, "rflag": RFLAG, "long": LONG, "lflag": LFLAG,
           "carbs": CARBS, "fflag": FFLAG}  # fmt: skip
    n_insulin, units, n_meals, no_amount = _expected(data, pos)
    assert detect_format(path) == "libreview"
    rec = read_cgm(path)
    prov = rec.provenance
    prov.check()
    assert prov.metadata["language"] == lang
    assert len(rec.readings) == sum(r[TYPE] == "0" for r in data)
    assert sorted(rec.readings["glucose_mgdl"]) == sorted(
        float(r[HIST]) for r in data if r[TYPE] == "0"
    )
    e = rec.events
    ins = e[e["kind"] == "insulin"]
    assert len(ins) == n_insulin
    assert ins["insulin_u"].sum() == pytest.approx(units)
    meals = e[e["kind"] == "meal"]
    assert len(meals) == n_meals
    assert (meals["label"] == FOOD_NO_AMOUNT).sum() == no_amount
    assert not (meals["label"] == "1").any() and not (ins["label"] == "1").any()
    assert meals["carbs_g"].sum() == pytest.approx(sum(float(r[CARBS] or 0) for r in data))
    assert prov.rows_dropped == {
        "scan (include_scans=False)": sum(r[TYPE] == "1" for r in data),
        "record type 6 (undocumented)": sum(r[TYPE] == "6" for r in data),
    }


def test_french_flags_are_not_doses():
    """The French bug of issue 12: the rapid-acting flag column was read as the dose."""
    header, data = _rows(FIX / "libreview_fr.csv", ",", 1)
    cols = map_columns(header)
    assert cols["rapid"] == "Insuline à action rapide (unités)"
    assert cols["rapid_flag"] == "Insuline à action rapide sans valeur numérique"
    assert cols["food_flag"] == "Alimentation sans valeur numérique"
    rec = read_libreview(FIX / "libreview_fr.csv")
    flags_only = [r for r in data if r[TYPE] == "4" and r[RFLAG] == "1" and r[RAPID] == ""]
    rapid = rec.events[rec.events["label"] == "rapid-acting (no amount)"]
    assert len(rapid) == len(flags_only) and rapid["insulin_u"].isna().all()


def test_every_language_maps_every_column_like_english():
    """Table-driven: position by position, each language's header means what English's does."""
    headers = {lang: _rows(FIX / f"libreview_{lang}.csv", ",", 1)[0] for lang in ("fr", "es", "de")}
    en = [c for cells in HEADER_SETS["en"].values() for c in cells[:1]]  # one cell per key
    en_map = {v: k for k, v in map_columns(en).items()}
    english = [en_map[c] for c in en]
    for lang, header in headers.items():
        got = {v: k for k, v in map_columns(header).items()}
        assert [got.get(c) for c in header] == english, lang
        assert header_language(header) == lang
    for lang, keys in HEADER_SETS.items():
        assert set(keys) <= set(HEADER_SETS["en"]) | {"id", "previous_time", "updated_time"}, lang


@pytest.mark.parametrize(
    "name,delim,mmol", [("libre_desktop_en.txt", "\t", True), ("libre_desktop_es.txt", ";", False)]
)
def test_desktop_export_counted_independently(name, delim, mmol):
    path = FIX / name
    header, data = _rows(path, delim, 1)
    n_insulin, units, n_meals, no_amount = _expected(data, D)
    assert detect_format(path) == "freestyle_libre_desktop"
    rec = read_cgm(path)
    prov = rec.provenance
    prov.check()
    assert prov.format == "freestyle_libre_desktop"
    hist = [float(r[D["hist"]]) for r in data if r[D["type"]] == "0"]
    factor = MGDL_PER_MMOL if mmol else 1.0
    np.testing.assert_allclose(
        sorted(rec.readings["glucose_mgdl"]), sorted(h * factor for h in hist)
    )
    first = min(dt.datetime.strptime(r[1], "%Y/%m/%d %H:%M") for r in data if r[D["type"]] == "0")
    assert rec.readings["time"].iloc[0] == pd.Timestamp(first)
    e = rec.events
    assert (e["kind"] == "insulin").sum() == n_insulin
    assert e["insulin_u"].sum() == pytest.approx(units)
    assert (e["kind"] == "meal").sum() == n_meals
    # the first line names the patient: metadata only, never a message
    assert prov.metadata["patient"] == "Synthetic Person"
    assert "Synthetic" not in " ".join(prov.warnings)
    if not mmol:  # Spanish: carbohydrates in raciones (servings), never taken as grams
        assert e.loc[e["kind"] == "meal", "carbs_g"].isna().all()


def test_desktop_not_taken_for_libreview_and_back():
    assert detect_format(FIX / "libreview_fr.csv") == "libreview"
    with pytest.raises(Exception, match="desktop header"):
        read_libre_desktop(FIX / "libreview_fr.csv")


# ------------------------------------------------------------------------------ round trip
WEB = {lang: _rows(FIX / f"libreview_{lang}.csv", ",", 1)[0] for lang in ("fr", "es", "de")}
TITLE = "Title,Generated on,01-05-2026 10:00 UTC,Generated by,Synthetic"


@st.composite
def _entries(draw):
    lang = draw(st.sampled_from(["fr", "es", "de", "desktop"]))
    vals = draw(st.lists(st.integers(40, 400), min_size=2, max_size=30))
    doses = draw(st.lists(st.one_of(st.none(), st.integers(1, 30)), max_size=8))
    foods = draw(st.lists(st.one_of(st.none(), st.integers(1, 120)), max_size=8))
    return lang, vals, doses, foods


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_entries())
def test_generated_flags_and_amounts_round_trip(tmp_path, ex):
    lang, vals, doses, foods = ex
    t0 = dt.datetime(2026, 5, 13, 6, 0)
    desktop = lang == "desktop"
    header = _rows(FIX / "libre_desktop_en.txt", "\t", 1)[0] if desktop else WEB[lang]
    pos = D if desktop else {"type": TYPE, "hist": HIST, "rflag": RFLAG, "rapid": RAPID,
                             "fflag": FFLAG, "carbs": CARBS}  # fmt: skip
    rows = []

    def row(t, rtype, **cells):
        r = [""] * len(header)
        r[0 if desktop else 1] = "1" if desktop else "0000-aaaa"
        r[1 if desktop else 2] = t.strftime("%Y/%m/%d %H:%M" if desktop else "%d-%m-%Y %H:%M")
        r[pos["type"]] = str(rtype)
        for k, v in cells.items():
            r[pos[k]] = str(v)
        rows.append(r)

    for i, v in enumerate(vals):
        row(t0 + dt.timedelta(minutes=15 * i), 0, hist=f"{v / MGDL_PER_MMOL:.6f}" if desktop else v)
    for k, d in enumerate(doses):
        t = t0 + dt.timedelta(minutes=40 * k + 3)
        row(t, 4, rflag=1) if d is None else row(t, 4, rapid=d)
    for k, c in enumerate(foods):
        t = t0 + dt.timedelta(minutes=50 * k + 7)
        row(t, 5, fflag=1) if c is None else row(t, 5, carbs=c)
    p = tmp_path / "g.txt"
    with open(p, "w", newline="", encoding="utf-8") as fh:
        fh.write("Synthetic Person\n" if desktop else TITLE + "\n")
        w = csv.writer(fh, delimiter="\t" if desktop else ",")
        w.writerow(header)
        w.writerows(rows[::-1])
    rec = read_cgm(p)
    rec.provenance.check()
    np.testing.assert_allclose(rec.readings["glucose_mgdl"], [float(v) for v in vals], rtol=1e-6)
    e = rec.events
    ins = e[e["kind"] == "insulin"].sort_values("time")
    assert ins["insulin_u"].fillna(-1).tolist() == [-1 if d is None else d for d in doses]
    meals = e[e["kind"] == "meal"].sort_values("time")
    assert meals["carbs_g"].fillna(-1).tolist() == [-1 if c is None else c for c in foods]
    assert meals["label"].fillna("").tolist() == [
        FOOD_NO_AMOUNT if c is None else "" for c in foods
    ]
