"""Apple Health's lean build of the recording (issue 14: peak memory of a 1 GB export).

The pieces that save memory give what pandas gives the plain way: text columns made by a
``take`` or as chunks sharing one buffer equal the columns of Python strings (values and
dtype), the column-by-column concatenation equals ``pd.concat``, and a read whose text
columns are chunked equals the expat engine's read and a read with one chunk a column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soleus_analysis.io import apple_health as ah

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("n", [0, 1, 2, 5, 6, 7, 20])
@pytest.mark.parametrize("chunk", [2, 3, 1 << 16])
def test_text_column_equals_python_strings(n, chunk, monkeypatch):
    monkeypatch.setattr(ah, "_TEXT_CHUNK", chunk)
    values = ["mg/dL", "mmol/L"]
    for codes in (np.zeros(n, np.int8), np.ones(n, np.int8), (np.arange(n) % 2).astype(np.int8)):
        got = pd.Series(ah._text_column(values, codes))
        want = pd.Series(np.array(values, dtype=object)[codes])
        pd.testing.assert_series_equal(got, want)
        assert got.dtype == want.dtype
        one = pd.Series(ah._text_column(["person 1"], np.zeros(n, np.int8)))
        pd.testing.assert_series_equal(
            one, pd.Series(["person 1"] * n, dtype=object).astype(want.dtype)
        )


def test_concat_columns_equals_pd_concat():
    def frame(k: int, units: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "line": np.arange(k, dtype=np.int64),
                "time": pd.to_datetime(np.arange(k), unit="s"),
                "num": np.arange(k, dtype=float),
                "unit": pd.Categorical([units[i % len(units)] for i in range(k)]),
            }
        )

    cases = [
        [frame(3, ["mg/dL"]), frame(2, ["mg/dL"])],
        [frame(3, ["mg/dL"]), frame(2, ["mmol/L", "mg/dL"]), frame(0, ["x"])],
        [frame(4, ["a"])],
        [frame(2, ["a"]), frame(2, ["a"]).drop(columns="num")],
    ]
    for frames in cases:
        want = pd.concat(frames, ignore_index=True)
        got = ah._concat_columns([f.copy() for f in frames])
        pd.testing.assert_frame_equal(got, want)


def test_a_read_with_chunked_text_equals_the_expat_read(monkeypatch):
    path = FIXTURES / "apple" / "export_small.xml"
    plain = ah.read_apple_health(path)
    monkeypatch.setattr(ah, "_TEXT_CHUNK", 1)
    for engine in ("fast", "expat"):
        rec = ah.read_apple_health(path, engine=engine)
        pd.testing.assert_frame_equal(rec.readings, plain.readings)
        pd.testing.assert_frame_equal(rec.events, plain.events)
        assert list(rec.readings.dtypes) == list(plain.readings.dtypes)


def test_an_export_without_glucose_keeps_the_dtypes(tmp_path):
    date = "2024-01-01 08:00:00 +0100"
    path = tmp_path / "export.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_GB">\n'
        f' <Record type="{ah.CARBS}" sourceName="Food" unit="g" startDate="{date}" '
        f'endDate="{date}" value="30"/>\n</HealthData>\n',
        encoding="utf-8",
    )
    for engine in ("fast", "expat"):
        readings = ah.read_apple_health(path, engine=engine).readings
        assert len(readings) == 0
        # as pandas makes them: a text scalar (subject, source) or an empty object array
        assert isinstance(readings["subject"].dtype, pd.StringDtype)
        assert isinstance(readings["source"].dtype, pd.StringDtype)
        assert readings["device_units"].dtype == object
