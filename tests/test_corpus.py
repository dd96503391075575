"""The corpus generator (``tests/corpus.py``) itself: files written, personal data planted where
each format holds it, formats sniffed as stated, and the current readers' counts equal to the
counts the generator worked out while writing.

These tests check the generator, not the command line; ``tests/corpus_findings.py`` runs the
``soleus`` command over the corpus.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soleus_analysis.io import detect_format, formats, read_cgm, read_events
from tests.corpus import FILE_KEYS, PERSONAL, CorpusFile, write_corpus

#: (file key, quantity) -> reason, for counts the current readers get wrong. Every quantity is
#: right for every file at the time of writing; add an entry here (it becomes a strict xfail)
#: when the corpus grows a case a reader misses.
READER_GAPS: dict[tuple[str, str], str] = {}

QUANTITIES = (
    "readings",
    "meals",
    "insulin",
    "exercise",
    "spu",
    "censored",
    "subjects",
    "period",
    "carbs_g",
    "spu_minutes",
)
LOG_FORMATS = {"activity_log", "cronometer", "cronometer_exercises", "myfitnesspal"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, CorpusFile]:
    files = write_corpus(tmp_path_factory.mktemp("corpus"), seed=0)
    return {f.key: f for f in files}


def _read(f: CorpusFile, **options):
    if f.format == "generic":
        options.setdefault("units", "mg/dL")  # the 'gl' column names no units
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_cgm(f.path, **options)


@pytest.fixture(scope="module")
def recordings(corpus) -> dict:
    return {k: _read(f) for k, f in corpus.items()}


def _measure(rec, quantity: str):
    r, ev = rec.readings, rec.events

    def kind(k: str) -> pd.DataFrame:
        return ev[ev["kind"] == k] if len(ev) else ev

    if quantity == "readings":
        return len(r)
    if quantity in ("meals", "insulin", "exercise", "spu"):
        return len(kind({"meals": "meal"}.get(quantity, quantity)))
    if quantity == "censored":
        return int(r["censored"].notna().sum()) if len(r) else 0
    if quantity == "subjects":
        return int(r["subject"].nunique()) if len(r) else 1
    if quantity == "period":
        times = pd.concat([r["time"], ev["time"]]) if len(ev) else r["time"]
        return (times.min().to_pydatetime(), times.max().to_pydatetime())
    if quantity == "carbs_g":
        m = kind("meal")
        return round(float(m["carbs_g"].sum()), 2) if len(m) else 0.0
    if quantity == "spu_minutes":
        s = kind("spu")
        return round(float(((s["end"] - s["time"]).dt.total_seconds() / 60).sum()), 2)
    raise AssertionError(quantity)


def _expected(f: CorpusFile, quantity: str):
    return {
        "readings": f.n_readings,
        "meals": f.n_meals,
        "insulin": f.n_insulin,
        "exercise": f.n_exercise,
        "spu": f.n_spu,
        "censored": f.n_censored,
        "subjects": f.subjects,
        "period": f.period,
        "carbs_g": round(f.carbs_g, 2),
        "spu_minutes": round(f.spu_minutes, 2),
    }[quantity]


def _cases():
    for key in FILE_KEYS:
        for q in QUANTITIES:
            reason = READER_GAPS.get((key, q))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(key, q, id=f"{key}-{q}", marks=marks)


def test_every_file_written_small_and_described(corpus):
    assert tuple(corpus) == FILE_KEYS
    known = set(formats())
    for f in corpus.values():
        assert f.path.is_file() and f.path.stat().st_size > 0, f.path
        assert f.path.stat().st_size < 310_000, (f.path.name, f.path.stat().st_size)
        assert f.kind in ("cgm", "log")
        assert f.format in known, f.format
        assert f.description
        assert f.period is not None and f.period[0] <= f.period[1]
    assert {f.format for f in corpus.values()} >= {
        "dexcom_clarity",
        "libreview",
        "carelink",
        "nightscout_entries_json",
        "nightscout_treatments_json",
        "apple_health",
        "generic",
        "activity_log",
        "cronometer",
        "myfitnesspal",
    }
    assert len({f.path.name for f in corpus.values()}) == len(corpus)


def test_file_names_carry_personal_data_as_real_downloads_do(corpus):
    names = {k: f.path.name for k, f in corpus.items()}
    first, last = PERSONAL["first"], PERSONAL["last"]
    assert names["dexcom_g6"] == f"CLARITY_Export_{last}_{first}_2025-11-20.csv"
    assert names["libreview_us"] == f"{first} {last}_glucose_2025-11-20.csv"
    assert names["carelink_us"] == f"CareLink-Export-{last}-{PERSONAL['dob']}.csv"
    assert names["apple_health"] == f"export_{first}.xml"
    assert all(first in n or last in n for n in names.values())
    assert any(" " in n for n in names.values())
    assert any("#" in n for n in names.values())
    assert any(not n.isascii() for n in names.values())


def test_contents_plant_personal_data_where_the_format_holds_it(corpus):
    for f in corpus.values():
        text = f.path.read_bytes().decode("utf-8-sig")
        for field in f.planted:
            assert PERSONAL[field] in text, (f.key, field)
        for field in set(PERSONAL) - set(f.planted):
            assert PERSONAL[field] not in text, (f.key, field)
    planted = {k: set(f.planted) for k, f in corpus.items()}
    assert planted["dexcom_g6"] == {"first", "last", "dob", "serial"}
    assert planted["carelink_us"] == {"first", "last", "dob", "serial"}
    assert {"first", "last", "serial"} <= planted["libreview_us"]
    assert {"first", "dob"} <= planted["apple_health"]
    assert planted["nightscout_entries"] == {"serial"}
    for k, f in corpus.items():
        if f.format in LOG_FORMATS or f.format == "generic":
            assert not planted[k], k  # logs and research data hold no names


def test_generation_is_deterministic(tmp_path):
    # (its speed is not asserted here: timings belong to benchmarks/, never to a test)
    a = write_corpus(tmp_path / "a", seed=3)
    b = write_corpus(tmp_path / "b", seed=3)
    c = write_corpus(tmp_path / "c", seed=4)
    assert [f.path.read_bytes() for f in a] == [f.path.read_bytes() for f in b]
    assert [f.path.read_bytes() for f in a][0] != c[0].path.read_bytes()


def test_other_personal_data_replaces_the_default(tmp_path):
    other = {"first": "Ottilie", "last": "Vrba", "dob": "1988-02-29", "serial": "ZZ11ZZ22"}
    files = write_corpus(tmp_path, seed=0, personal=other)
    for f in files:
        text = f.path.read_bytes().decode("utf-8-sig") + f.path.name
        assert not any(v in text for v in PERSONAL.values()), f.key
        for field in f.planted:
            assert other[field] in text, (f.key, field)


def test_log_periods(corpus):
    cgm = [f for f in corpus.values() if f.kind == "cgm" and f.n_readings]
    lo = min(f.period[0] for f in cgm)
    hi = max(f.period[1] for f in cgm)
    for key in ("activity_log", "cronometer", "myfitnesspal", "cronometer_exercises"):
        p = corpus[key].period
        assert lo <= p[0] and p[1] <= hi, key
    for key in ("activity_log_other_period", "cronometer_other_period"):
        p = corpus[key].period
        assert p[0] > hi + pd.Timedelta(days=300), key


def test_glucose_is_realistic(recordings):
    for key in ("dexcom_g6", "libreview_us", "carelink_us", "nightscout_entries"):
        g = recordings[key].readings["glucose_mgdl"].to_numpy()
        lo, med, hi = np.nanpercentile(g, [1, 50, 99])
        assert 60 <= lo and 85 <= med <= 130 and 150 <= hi <= 240, (key, lo, med, hi)


@pytest.mark.parametrize("key", FILE_KEYS)
def test_sniffed_as_the_stated_format(corpus, key):
    f = corpus[key]
    assert detect_format(f.path) == f.format


@pytest.mark.parametrize(("key", "quantity"), list(_cases()))
def test_current_readers_find_the_expected_counts(corpus, recordings, key, quantity):
    f = corpus[key]
    got, want = _measure(recordings[key], quantity), _expected(f, quantity)
    if quantity == "period":
        got = tuple(pd.Timestamp(t) for t in got)
        want = tuple(pd.Timestamp(t) for t in want)
    assert got == want


def test_libreview_scans_with_include_scans(corpus):
    for key in ("libreview_us", "libreview_de"):
        f = corpus[key]
        assert f.n_scans > 0
        assert len(_read(f, include_scans=True).readings) == f.n_readings + f.n_scans


@pytest.mark.parametrize("key", [k for k in FILE_KEYS if k != "generic_3_subjects"])
def test_read_events_keeps_the_events_only(corpus, key):
    f = corpus[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = read_events(f.path)
    assert len(rec.readings) == 0
    kinds = rec.events["kind"].value_counts() if len(rec.events) else pd.Series(dtype=int)
    assert int(kinds.get("meal", 0)) == f.n_meals
    assert int(kinds.get("spu", 0)) == f.n_spu


def test_written_files_are_in_the_corpus_folder_only(tmp_path):
    files = write_corpus(tmp_path / "x")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == sorted(f.path.name for f in files)
    assert all(Path(f.path).parent == tmp_path / "x" for f in files)
