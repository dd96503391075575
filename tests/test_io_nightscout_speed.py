"""The Nightscout entries reader builds only the columns it reads (``record_frame``): the same
columns as ``pandas.DataFrame.from_records`` on random records, and the same reading on every
fixture, a generated one-year file and hostile records as the full frame it replaced."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import soleus_analysis as sa
from soleus_analysis.io import nightscout as ns
from tests import reader_files as R

FIXTURES = Path(__file__).parent / "fixtures"

_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.sampled_from(["sgv", "mbg", "2024-03-01T08:00:00+01:00", "120", ""]),
)
_VALUE = st.one_of(
    _SCALAR,
    st.lists(_SCALAR, max_size=2),
    st.dictionaries(st.text(max_size=2), _SCALAR, max_size=2),
)
_RECORD = st.dictionaries(st.sampled_from([*ns.ENTRY_KEYS, "device", "_id"]), _VALUE, max_size=6)
_PLAIN = st.dictionaries(
    st.sampled_from(ns.ENTRY_KEYS),
    st.one_of(st.none(), st.integers(-(2**60), 2**60), st.floats(), st.text(max_size=3)),
)


def _same_columns(objs: list[dict]) -> None:
    full = pd.DataFrame.from_records(objs)
    got = ns.record_frame(objs, ns.ENTRY_KEYS)
    assert [k for k in ns.ENTRY_KEYS if k in full.columns] == list(got.columns)
    for k in got.columns:
        pd.testing.assert_series_equal(got[k], full[k])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RECORD, min_size=1, max_size=8))
def test_record_frame_is_from_records_on_any_records(objs):
    _same_columns(objs)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PLAIN, st.sampled_from([{}, {"sgv": None}])), min_size=1, max_size=12))
def test_record_frame_is_from_records_on_plain_columns(objs):
    """Numbers, text and None only: the columns the fast path builds itself."""
    _same_columns(objs)


def _full_frame(objs, keys):
    return pd.DataFrame.from_records(objs)


def _both(path, monkeypatch):
    new = sa.read_cgm(path)
    with monkeypatch.context() as m:
        m.setattr(ns, "record_frame", _full_frame)
        old = sa.read_cgm(path)
    pd.testing.assert_frame_equal(new.readings, old.readings)
    pd.testing.assert_frame_equal(new.events, old.events)
    assert new.provenance.rows_read == old.provenance.rows_read
    assert new.provenance.rows_kept == old.provenance.rows_kept
    assert new.provenance.rows_dropped == old.provenance.rows_dropped
    assert new.provenance.warnings == old.provenance.warnings
    return new


@pytest.mark.parametrize(
    "name",
    [
        "nightscout/api_v3_entries.json",
        "nightscout/mongoexport_entries.json",
        "real/nightscout_entries.json",
    ],
)
def test_reader_same_as_the_full_frame_on_fixtures(name, monkeypatch):
    assert len(_both(FIXTURES / name, monkeypatch).readings) > 0


def test_reader_same_as_the_full_frame_on_a_year_and_hostile_records(tmp_path, monkeypatch):
    year = R.WRITERS["nightscout_json"][0](tmp_path / "year.json", 365)
    assert len(_both(year, monkeypatch).readings) > 100_000
    docs = json.loads(year.read_text())[:500]
    rng = np.random.default_rng(3)
    odd = [True, "121", [1], {"x": 1}, None, 2**65, float("nan"), "", "\ud800", 1.5]
    for i in rng.choice(len(docs), 120, replace=False):
        docs[i][str(rng.choice(ns.ENTRY_KEYS))] = odd[int(rng.integers(len(odd)))]
    docs[3].pop("date")
    docs[4] = {"type": "mbg", "mbg": 100, "date": docs[4]["date"]}
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(docs))
    got = _both(hostile, monkeypatch)
    assert sum(got.provenance.rows_dropped.values()) > 0


def test_lone_surrogate_escapes_become_replacement_characters(tmp_path):
    """``"\\ud800"`` is valid JSON but no character: read as U+FFFD (it crashed the reader),
    keys included; a valid pair stays the character it encodes."""
    from soleus_analysis.io.base import parse_json

    text = '[{"a\\udc00": "x\\ud800y", "b": ["\\ud83d\\ude00", {"c": "\\uDFFF"}]}]'
    assert parse_json(text, "t.json", "a test") == [
        {"a\ufffd": "x\ufffdy", "b": ["\U0001f600", {"c": "\ufffd"}]}
    ]
    docs = json.loads(R.WRITERS["nightscout_json"][0](tmp_path / "y.json", 2).read_text())
    raw = json.dumps(docs).replace('"Flat"', '"\\ud800"', 3).replace("Z", "\\udfffZ", 2)
    (tmp_path / "s.json").write_text(raw)
    rec = sa.read_cgm(tmp_path / "s.json")
    assert rec.provenance.rows_read == len(docs)
    assert (rec.readings["direction"] == "\ufffd").sum() == 3
