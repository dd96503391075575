"""Apple Health as the Health app writes it (issue 12): ``export.zip``, no XML declaration,
UTF-16, and a bounded count of record types.

Expected counts come from parsing the fixture with the standard library's ElementTree (a
different parser from the reader's expat callbacks), never from the reader.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.io import apple_health as ah
from soleus_analysis.io import detect_format, read_cgm

FIX = Path(__file__).parent / "fixtures" / "apple"
GLUCOSE = "HKQuantityTypeIdentifierBloodGlucose"


def _counts(xml: bytes) -> dict[str, int]:
    root = ET.fromstring(xml)
    recs = root.findall("Record")
    return {
        "rows": len(recs) + len(root.findall("Workout")),
        "glucose": sum(r.get("type") == GLUCOSE for r in recs),
        "other": sum(r.get("type") not in (GLUCOSE, ah.CARBS, ah.INSULIN) for r in recs),
    }


@pytest.mark.parametrize("name", ["export_no_declaration.xml", "export_utf16.xml", "export.zip"])
def test_variants_counted_independently(name, tmp_path):
    path = FIX / name
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            xml = zf.read("apple_health_export/export.xml")
    else:
        xml = path.read_bytes()
    want = _counts(xml)
    neutral = tmp_path / "file"  # sniffed by content, never by name
    neutral.write_bytes(path.read_bytes())
    assert detect_format(neutral) == "apple_health"
    rec = read_cgm(neutral)
    prov = rec.provenance
    prov.check()
    assert prov.rows_read == want["rows"]
    assert len(rec.readings) == want["glucose"]
    assert prov.rows_dropped == {"other record type": want["other"]}
    values = [float(r.get("value")) for r in ET.fromstring(xml).iter("Record")
              if r.get("type") == GLUCOSE]  # fmt: skip
    assert sorted(rec.readings["glucose_mgdl"]) == sorted(values)


def test_zip_is_streamed_not_extracted(tmp_path, monkeypatch):
    calls = []
    real = zipfile.ZipFile.extract
    monkeypatch.setattr(
        zipfile.ZipFile, "extract", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    monkeypatch.setattr(zipfile.ZipFile, "extractall", lambda *a, **k: calls.append(a))
    before = set(tmp_path.iterdir())
    rec = ah.read_apple_health(FIX / "export.zip")
    assert len(rec.readings) and not calls and set(tmp_path.iterdir()) == before


def test_bad_zips(tmp_path):
    broken = tmp_path / "export.zip"
    broken.write_bytes((FIX / "export.zip").read_bytes()[:200])
    with pytest.raises(InputError, match="zip archive that cannot be opened"):
        detect_format(broken)
    with pytest.raises(InputError, match="zip archive that cannot be opened"):
        ah.read_apple_health(broken)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("notes.txt", "nothing")
    with pytest.raises(InputError, match="binary data that is not a known export"):
        read_cgm(other)
    with pytest.raises(InputError, match="without an export.xml"):
        ah.read_apple_health(other)


def test_distinct_types_counted_within_a_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(ah, "MAX_OTHER_TYPES", 50)
    n = 120
    body = "".join(
        f' <Record type="T{i}" sourceName="x" startDate="2024-01-01 00:00:00 +0000" '
        f'endDate="2024-01-01 00:00:00 +0000" value="1"/>\n'
        for i in range(n)
    )
    p = tmp_path / "export.xml"
    p.write_text(f'<HealthData locale="en">\n{body}</HealthData>\n')
    prov = ah.read_apple_health(p).provenance
    types = prov.metadata["other_record_types"]
    assert len(types) == 50 + 1 and types[ah.OTHER_TYPES_REST] == n - 50
    assert sum(types.values()) == n == prov.rows_dropped["other record type"]


# ------------------------------------------------------------------------------ round trip
_encodings = st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-16-be"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(st.integers(20, 600), min_size=1, max_size=30),
    encoding=_encodings,
    declaration=st.booleans(),
    zipped=st.booleans(),
)
def test_generated_variants_round_trip(tmp_path, values, encoding, declaration, zipped):
    t0 = dt.datetime(2024, 3, 1, 8, 0)
    body = "".join(
        f' <Record type="{GLUCOSE}" sourceName="CGM" unit="mg/dL" '
        f'startDate="{t0 + dt.timedelta(minutes=5 * i):%Y-%m-%d %H:%M:%S} +0100" '
        f'endDate="{t0:%Y-%m-%d %H:%M:%S} +0100" value="{v}"/>\n'
        for i, v in enumerate(values)
    )
    label = "UTF-16" if encoding.startswith("utf-16") else "UTF-8"
    head = f'<?xml version="1.0" encoding="{label}"?>\n' if declaration else ""
    data = (head + f'<HealthData locale="en_GB">\n{body}</HealthData>\n').encode(encoding)
    p = tmp_path / "x"
    if zipped:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("apple_health_export/export.xml", data)
        data = buf.getvalue()
    p.write_bytes(data)
    assert detect_format(p) == "apple_health"
    rec = read_cgm(p)
    assert rec.readings["glucose_mgdl"].tolist() == [float(v) for v in values]
    assert list(rec.readings["time"]) == [
        pd.Timestamp(t0 + dt.timedelta(minutes=5 * i)) for i in range(len(values))
    ]
    rec.provenance.check()
