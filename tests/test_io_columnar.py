"""The columnar helpers of ``io/base.py`` give what the slower paths they stand for give:
``split_columns`` by ``pyarrow.csv`` as by the csv module, times read from the cells' bytes
(``fixed_digits``, ``civil_times``) as ``pandas.to_datetime`` reads them, ``TextRows.text`` as
``TextRows.col`` (issue 14)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from soleus_analysis.core.recording import Provenance
from soleus_analysis.io import base

#: Pieces of hostile CSV text: blank cells, spaces, Unicode spaces, tabs, empty lines, quotes.
PIECES = ["a", ",", "\n", " ", "\t", "é", "\u3000", "", "x ", "7", ";", '"', '"q"']


def _csv_module(body: str, width: int, skipinitialspace: bool) -> list[tuple]:
    """Each non-blank record of the csv module: its cells cut or padded to ``width``, and
    whether a cell beyond holds text."""
    out = []
    for r in csv.reader(io.StringIO(body), skipinitialspace=skipinitialspace):
        if any(x.strip() for x in r):
            out.append(((r + [""] * width)[:width], any(x.strip() for x in r[width:])))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_split_columns_reads_as_the_csv_module(seed):
    rng = np.random.default_rng(seed)
    for _ in range(600):
        body = "".join(rng.choice(PIECES, size=rng.integers(1, 14)))
        for width in (1, 2, 3):
            for skip in (False, True):
                got = base.split_columns(body, ",", width, 5, skipinitialspace=skip)
                if got is None:
                    continue
                cells = [c.to_pylist() for c in got.cells]
                rows = [
                    ([c[r] for c in cells], bool(got.over[r]))
                    for r in range(len(got.lines))
                    if not got.blank[r]
                ]
                assert rows == _csv_module(body, width, skip), repr(body)


def test_split_columns_of_uniform_rows_is_read_by_pyarrow_csv():
    body = "a, b,c\n1,2,3\n ,,\n"
    fast = base._read_columns(body, ",", 2, skipinitialspace=True)
    assert fast is not None
    cells, n_fields, blank, over = fast
    assert [c.to_pylist() for c in cells] == [["a", "1", ""], ["b", "2", ""]]
    assert n_fields.tolist() == [3, 3, 3] and blank.tolist() == [False, False, True]
    assert over.tolist() == [True, True, False]
    # what pyarrow.csv would read differently is left to the other paths
    for other in ("a,b\n\nc,d\n", "a,b\nc,d\n\n", 'a,"b"\n', "a,b\nc\n", "a\nb\n", "a,b\rc,d"):
        assert base._read_columns(other, ",", 2) is None


def test_civil_times_are_what_pandas_makes_of_the_parts():
    rng = np.random.default_rng(14)
    n = 4000
    parts = [
        rng.choice(
            [
                1,
                999,
                1000,
                1600,
                1677,
                1900,
                1949,
                1950,
                2000,
                2024,
                2100,
                2200,
                2262,
                2999,
                3000,
                9999,
            ],
            n,
        ),
        rng.integers(-1, 14, n),
        rng.integers(-1, 33, n),
        rng.integers(-1, 25, n),
        rng.integers(-1, 61, n),
        rng.integers(-1, 61, n),
    ]
    parts = [p.astype("float64") for p in parts]
    parts[2][::17] = np.nan
    got = base.civil_times(*parts)
    frame = pd.DataFrame(
        dict(zip(["year", "month", "day", "hour", "minute", "second"], parts, strict=True))
    )
    valid = frame.notna().all(axis=1).to_numpy().copy()
    valid &= (frame["month"].between(1, 12) & frame["day"].between(1, 31)).to_numpy()
    valid &= (frame["hour"].between(0, 23) & frame["minute"].between(0, 59)).to_numpy()
    valid &= frame["second"].between(0, 59).to_numpy()
    want = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    made = pd.to_datetime(frame[valid].astype("int64"), errors="coerce")
    want[valid] = base.to_ns(made).to_numpy(dtype="datetime64[ns]")
    assert np.array_equal(got.view("i8"), want.view("i8"))


def test_fixed_digits_reads_only_the_cells_of_the_pattern():
    cells = pa.array(["2025-01-02T03:04:05", "2025-1-02T03:04:05", "", None, "٢٠٢٥-01-02T03:04:05"])
    ok, (year, month, day, *_rest) = base.fixed_digits(
        cells, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", ((0, 4), (5, 7), (8, 10), (11, 13))
    )
    assert ok.tolist() == [True, False, False, False, False]
    assert year[0] == 2025 and month[0] == 1 and day[0] == 2
    assert np.isnan(year[1:]).all()


def test_text_is_col_as_pyarrow_text():
    frame = pd.DataFrame(
        {"a": [" x ", "", "\u3000y", "z"], "b": ["1", " 2", "3 ", ""]}, dtype=object
    )
    arrow = base.text_frame([pa.array(frame[c].tolist()) for c in frame], list(frame))
    for df in (frame, arrow):
        rows = base.TextRows(
            df,
            {"a": "a", "b": "b", "c": "c"},
            np.arange(4) + 2,
            Provenance(path="x.csv", format="test"),
        )
        mask = np.array([True, False, True, True])
        for key in ("a", "b", "c"):
            assert rows.text(key).to_pylist() == rows.col(key).tolist()
            assert rows.text(key, mask).to_pylist() == rows.col(key, mask).tolist()
            assert rows.text(key, mask, strip=False).to_pylist() == list(rows.raw(key, mask))
    assert base.few_texts(pa.array(["EGV", "", "EGV", None])).tolist() == ["EGV", "", "EGV", ""]


def test_to_float_of_plain_integers_is_the_number_pattern_s():
    cells = ["1", " 2", "3,5", "", None, "x", "1e3", "0012", "9" * 15, "9" * 16, "+5", "-5"]
    cells += [".5", "inf", "nan", "\u0663", "7.", "12 ", "\u00a012"]
    for decimal_comma in (False, True):
        got = base.to_float(np.array(cells, dtype=object), decimal_comma)
        want = base._text_floats(pa.array(cells, pa.string()), decimal_comma)
        assert np.array_equal(got, want, equal_nan=True)
        only = base.to_float(np.array(["12", "0", "007"], dtype=object), decimal_comma)
        assert only.tolist() == [12.0, 0.0, 7.0]
