"""Core contract: schema, Recording/Provenance accounting, format sniffing on bad input."""

from __future__ import annotations

import pandas as pd
import pytest

import soleus_analysis as sa
from soleus_analysis.core.errors import AccountError, InputError
from soleus_analysis.core.recording import Provenance, Recording, combine_provenance
from soleus_analysis.core.schema import (
    MGDL_PER_MMOL,
    conform_events,
    conform_readings,
    mgdl_to_mmol,
    mmol_to_mgdl,
)


def test_unit_constant_is_molar_mass_over_ten():
    # glucose molar mass 180.156 g/mol: 1 mmol/L = 180.156 mg/L = 18.0156 mg/dL
    assert MGDL_PER_MMOL == pytest.approx(180.156 / 10)
    assert mmol_to_mgdl(5.0) == pytest.approx(90.078)
    assert mgdl_to_mmol(mmol_to_mgdl(7.3)) == pytest.approx(7.3)


def test_input_error_names_file_and_line():
    err = InputError("expected a number in 'Glucose Value (mg/dL)'", "x.csv", 12)
    assert isinstance(err, ValueError)
    assert str(err) == "x.csv, line 12: expected a number in 'Glucose Value (mg/dL)'"
    assert err.path == "x.csv" and err.line == 12


def test_conform_fills_optional_columns_and_rejects_bad_kinds():
    r = conform_readings(
        pd.DataFrame({"subject": ["a"], "time": ["2025-01-01 08:00"], "glucose_mgdl": [90]})
    )
    assert list(r.columns[:5]) == ["subject", "time", "glucose_mgdl", "censored", "source"]
    assert r["time"].dtype == "datetime64[ns]" and r["glucose_mgdl"].dtype == "float64"
    assert r["censored"].isna().all()
    with pytest.raises(ValueError, match="unknown event kind"):
        conform_events(pd.DataFrame({"subject": ["a"], "time": ["2025-01-01"], "kind": ["lunch"]}))
    with pytest.raises(ValueError, match="tz-naive"):
        conform_readings(
            pd.DataFrame(
                {
                    "subject": ["a"],
                    "time": pd.to_datetime(["2025-01-01"], utc=True),
                    "glucose_mgdl": [90],
                }
            )
        )


def test_provenance_balance_and_combination():
    a = Provenance(path="a", format="f1", units="mg/dL", rows_read=10, rows_kept=7)
    a.drop("calibration", 2)
    a.drop("preamble")
    assert a.balanced and a.check() is a
    b = Provenance(path="Doe_Jane.csv", format="f2", rows_read=3, rows_kept=1, label="log 2")
    b.drop("calibration", 2)
    b.warn("bad value", line=4)
    c = combine_provenance([a, b])
    assert (c.rows_read, c.rows_kept, c.rows_dropped) == (13, 8, {"calibration": 4, "preamble": 1})
    assert c.warnings == ["log 2: line 4: bad value"]  # by its label, never its file name
    bad = Provenance(path="z", format="f", rows_read=2, rows_kept=1)
    with pytest.raises(AccountError, match="rows_read=2"):
        bad.check()


def test_recording_summary_counts():
    rec = Recording(
        readings=pd.DataFrame(
            {
                "subject": ["s"] * 3,
                "time": pd.date_range("2025-01-01", periods=3, freq="5min"),
                "glucose_mgdl": [40.0, 100, 110],
                "censored": ["low", None, None],
            }
        ),
        events=pd.DataFrame({"subject": ["s"], "time": ["2025-01-01 00:05"], "kind": ["meal"]}),
    )
    text = rec.summary()
    assert "3 readings" in text and "1 censored" in text and "1 meal" in text
    assert rec.subjects == ["s"]


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\x00\x01\x02\xff\xfe" * 200, "binary"),
        (b"foo,bar,baz\n1,2,3\n", "unknown format"),
    ],
)
def test_bad_files_raise_input_error_naming_file(tmp_path, content, match):
    p = tmp_path / "export.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=match) as info:
        sa.read_cgm(p)
    assert str(p) in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        sa.read_cgm(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="folder"):
        sa.read_cgm(tmp_path)


def test_unknown_format_name(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="unknown format 'nope'"):
        sa.read_cgm(p, format="nope")


def test_rules_record_is_read_only_and_copies_as_itself():
    import copy
    import json
    import pickle

    from soleus_analysis.core.rules import Rules, RulesRecord

    rules = Rules(window=(0, 180))
    rec = rules.to_record()
    assert isinstance(rec, RulesRecord) and rec["window"] == (0, 180)
    assert copy.deepcopy(rec) is rec and copy.copy(rec) is rec
    # a frame's attrs travel through every pandas operation without a deep copy of the rules
    frame = pd.DataFrame({"a": [1, 2]})
    frame.attrs["rules"] = rec
    assert frame[frame["a"] > 1].attrs["rules"] is rec
    back = pickle.loads(pickle.dumps(rec))
    assert type(back) is RulesRecord and back == rec
    assert json.loads(json.dumps(rec))["window"] == [0, 180]
    assert Rules.from_dict(dict(rec)) == rules
    with pytest.raises(TypeError, match="read-only"):
        rec["window"] = (0, 120)
    with pytest.raises(TypeError, match="read-only"):
        rec.update(window=(0, 120))


def _conformable_frames() -> list[pd.DataFrame]:
    """Event frames in canonical form and near it (missing as None, NaN or NA; other dtypes,
    index, column order; extra columns; empty)."""
    n = 3
    base = {
        "subject": pd.Series(["a", "b", "a"], dtype=object),
        "time": pd.Series(pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"])).astype(
            "datetime64[ns]"
        ),
        "end": pd.Series([pd.NaT] * n, dtype="datetime64[ns]"),
        "kind": pd.Series(["meal", "spu", "note"], dtype=object),
        "carbs_g": [40.0, float("nan"), 1.0],
        "insulin_u": [float("nan")] * n,
        "intensity": pd.Series([None, "low", None], dtype=object),
        "label": pd.Series(["x", None, "y"], dtype=object),
        "source": "log",
    }
    out = [pd.DataFrame(base), pd.DataFrame(base).iloc[:0], pd.DataFrame({**base, "extra": 1})]
    for col, values in (
        ("label", pd.Series(["x", float("nan"), "y"], dtype=object)),
        ("label", pd.Series(["x", pd.NA, None], dtype=object)),
        ("label", pd.Series(["x", None, "y"], dtype="str")),
        ("subject", pd.Series(["a", "b", "a"], dtype="str")),
        ("time", pd.Series(pd.to_datetime(["2025-01-01"] * n)).astype("datetime64[us]")),
        ("carbs_g", [40, 1, 2]),
        ("kind", pd.Series(["meal", None, "note"], dtype=object)),
    ):
        out.append(pd.DataFrame({**base, col: values}))
    out.append(pd.DataFrame(base, index=[2, 1, 0]))
    out.append(pd.DataFrame(base)[list(reversed(list(base)))])
    return out


@pytest.mark.parametrize("k", range(len(_conformable_frames())))
def test_conforming_a_canonical_frame_is_what_the_full_conform_gives(monkeypatch, k):
    from soleus_analysis.core import schema

    frame = _conformable_frames()[k]

    def conform() -> object:
        try:
            return schema.conform_events(frame)
        except ValueError as err:
            return str(err)

    fast = conform()
    monkeypatch.setattr(schema, "_conformed", lambda frame, dtypes: False)
    full = conform()
    if isinstance(full, str):
        assert fast == full
        return
    pd.testing.assert_frame_equal(fast, full, check_exact=True)
    assert list(fast.dtypes) == list(full.dtypes)
    assert type(fast.index) is type(full.index)
    for c in fast.columns:
        assert [type(v) for v in fast[c]] == [type(v) for v in full[c]], c
