"""Apple Health export.xml reader: golden fixture, hardened parsing, generated exports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.core.schema import DEFAULT_SUBJECT, MGDL_PER_MMOL
from soleus_analysis.io import detect_format, read_cgm
from soleus_analysis.io.apple_health import read_apple_health, sniff
from soleus_analysis.io.detect import MODULES

FIX = Path(__file__).parent / "fixtures" / "apple"
SMALL = FIX / "export_small.xml"

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
DTD = (
    "<!DOCTYPE HealthData [\n<!-- HealthKit Export Version: 14 -->\n"
    "<!ELEMENT HealthData (ExportDate,Me,(Record|Workout)*)>\n"
    "<!ATTLIST HealthData\n  locale CDATA #REQUIRED\n>\n]>\n"
)
MMOL = "mmol&lt;180.1558800000541&gt;/L"


def _glucose(value: str, date: str, unit: str = "mg/dL") -> str:
    return (
        f' <Record type="HKQuantityTypeIdentifierBloodGlucose" sourceName="CGM" unit="{unit}" '
        f'startDate="{date}" endDate="{date}" value="{value}"/>\n'
    )


def _write(tmp_path: Path, body: str, name: str = "export.xml", dtd: str = DTD) -> Path:
    p = tmp_path / name
    p.write_text(HEAD + dtd + '<HealthData locale="en_GB">\n' + body + "</HealthData>\n")
    return p


def test_golden_fixture_values_and_account():
    # hand-counted in export_small.xml: 5 glucose, 3 carbs, 3 other top-level Records, 2 Workouts
    # (the Record inside <Correlation> is not a row); 1 impossible date (line 75), 1 "n/a" value
    rec = read_apple_health(SMALL)
    prov = rec.provenance
    assert prov.format == "apple_health" and prov.balanced
    assert prov.rows_read == 13
    assert prov.rows_kept == 3 + 3 + 2
    assert prov.rows_dropped == {"other record type": 3, "impossible timestamp": 1, "bad value": 1}
    assert prov.warnings[0].startswith("line 75:") and prov.warnings[1].startswith("line 76:")
    assert prov.units == "mg/dL+mmol/L"
    r = rec.readings
    assert list(r["time"].astype(str)) == [
        "2024-01-09 12:30:00",
        "2024-01-09 12:35:00",
        "2024-01-09 21:00:00",  # its own -0500 wall clock, not converted
    ]
    assert r["glucose_mgdl"].tolist() == pytest.approx([4.59 * 18.0156, 5.2 * 18.0156, 104.0])
    assert (r["subject"] == DEFAULT_SUBJECT).all()  # never the file name
    e = rec.events
    meals = e[e["kind"] == "meal"]
    assert meals["carbs_g"].tolist() == [42.5, 55.0]  # 30.5 + 12 at the same startDate
    assert meals["n_items"].tolist() == [2, 1]
    walk = e[e["kind"] == "exercise"].iloc[0]
    assert walk["label"] == "Walking"
    assert walk["time"] == pd.Timestamp("2024-01-09 13:00") and walk["end"] == pd.Timestamp(
        "2024-01-09 13:25"
    )
    spu = e[e["kind"] == "spu"].iloc[0]  # metadata names "Soleus pushups"
    assert spu["end"] - spu["time"] == pd.Timedelta(minutes=40)
    assert prov.metadata["other_record_types"]["HKQuantityTypeIdentifierHeartRate"] == 1


def test_sniffed_and_dispatched():
    for mod in MODULES:  # dispatch needs every reader module (written in parallel)
        pytest.importorskip(f"soleus_analysis.io.{mod}")
    assert detect_format(SMALL) == "apple_health"
    assert read_cgm(SMALL, subject="me").readings["subject"].eq("me").all()
    assert not sniff("a,b\n", b"a,b\n")


BILLION_LAUGHS = (
    HEAD + "<!DOCTYPE HealthData [\n"
    ' <!ENTITY lol "lol">\n'
    ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
    "]>\n"
    '<HealthData locale="en"><Record type="HKQuantityTypeIdentifierBloodGlucose" '
    'unit="mg/dL" startDate="2024-01-09 12:30:00 +0100" endDate="2024-01-09 12:30:00 +0100" '
    'value="90" sourceName="&lol3;"/></HealthData>\n'
)
XXE = (
    HEAD + '<!DOCTYPE HealthData [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'
    '<HealthData locale="en"><Record type="HKQuantityTypeIdentifierBloodGlucose" '
    'unit="mg/dL" startDate="2024-01-09 12:30:00 +0100" value="90" sourceName="x">&xxe;'
    "</Record></HealthData>\n"
)
EXTERNAL_DTD = (
    HEAD + '<!DOCTYPE HealthData SYSTEM "file:///etc/passwd">\n'
    '<HealthData locale="en"></HealthData>\n'
)
PARAM_ENTITY = (
    HEAD + '<!DOCTYPE HealthData [ <!ENTITY % pe SYSTEM "file:///etc/passwd"> %pe; ]>\n'
    '<HealthData locale="en"></HealthData>\n'
)


@pytest.mark.parametrize(
    "doc, line",
    [(BILLION_LAUGHS, 3), (XXE, 2), (EXTERNAL_DTD, 2), (PARAM_ENTITY, 2)],
    ids=["billion-laughs", "xxe", "external-dtd", "parameter-entity"],
)
def test_entities_and_external_references_refused(tmp_path, doc, line):
    p = tmp_path / "evil.xml"
    p.write_text(doc)
    with pytest.raises(InputError, match="refused") as info:
        read_apple_health(p)
    assert info.value.line == line and info.value.path == str(p)
    assert "root:" not in str(info.value) and "lollol" not in str(info.value)


def test_truncated_xml_names_line(tmp_path):
    lines = SMALL.read_text().splitlines(keepends=True)
    p = tmp_path / "cut.xml"
    p.write_text("".join(lines[:80]) + lines[80][:40])  # cut inside the element on line 81
    with pytest.raises(InputError, match="truncated") as info:
        read_apple_health(p)
    assert info.value.line == 81


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        (
            HEAD + DTD + '<HealthData locale="en">\n <ExportDate value="x"/>\n</HealthData>\n',
            "no Record",
        ),
        (HEAD + "<foo/>\n", "HealthData"),
        (HEAD + DTD + '<HealthData locale="en">\n <Record type="a" <<< \n', "malformed"),
    ],
    ids=["empty", "header-no-data", "not-health", "garbage"],
)
def test_bad_files(tmp_path, text, match):
    p = tmp_path / "bad.xml"
    p.write_text(text)
    with pytest.raises(InputError, match=match):
        read_apple_health(p)


def test_bad_rows_dropped_with_lines(tmp_path):
    body = (
        _glucose("90", "2024-01-09 12:30:00 +0100")  # line 10 (HEAD 1 line, DTD 7, root 1)
        + _glucose("90", "2024-13-09 12:30:00 +0100")  # impossible month
        + _glucose("-3", "2024-01-09 12:35:00 +0100")  # impossible value
        + _glucose("90", "2024-01-09 12:40:00 +0100", unit="g")  # unknown unit
    )
    rec = read_apple_health(_write(tmp_path, body))
    prov = rec.provenance
    assert prov.rows_read == 4 and prov.rows_kept == 1 and prov.balanced
    assert prov.rows_dropped == {
        "impossible timestamp": 1,
        "impossible glucose value": 1,
        "unknown unit": 1,
    }
    assert sorted(w.split(":")[0] for w in prov.warnings) == ["line 11", "line 12", "line 13"]


def test_zip_export(tmp_path):
    import zipfile

    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(SMALL, "apple_health_export/export.xml")
    assert len(read_apple_health(z, subject="z").readings) == 3


# ---------------------------------------------------------------------------- property test
_minutes = st.integers(min_value=0, max_value=60 * 24 * 365)
_offset = st.sampled_from(["+0100", "-0500", "+0000", "+0530"])
_reading = st.tuples(
    _minutes, _offset, st.booleans(), st.integers(min_value=20, max_value=600)
)  # (minute, offset, as mmol, mg/dL value or mmol x 10)
_workout = st.tuples(_minutes, st.integers(min_value=1, max_value=180), st.booleans())


@settings(max_examples=12, deadline=None)
@given(
    readings=st.lists(_reading, min_size=1, max_size=30),
    n_other=st.integers(min_value=0, max_value=20),
    workouts=st.lists(_workout, max_size=5),
)
def test_generated_export_reads_back_exactly(tmp_path_factory, readings, n_other, workouts):
    base = dt.datetime(2024, 1, 1)
    body, expected = [], []
    for minute, off, mmol, v in readings:
        t = base + dt.timedelta(minutes=minute)
        date = f"{t:%Y-%m-%d %H:%M:%S} {off}"
        if mmol:
            x = round(v / 18.0, 1)
            body.append(_glucose(f"{x}", date, MMOL))
            expected.append((t, x * MGDL_PER_MMOL))
        else:
            body.append(_glucose(str(v), date))
            expected.append((t, float(v)))
    for i in range(n_other):
        body.append(
            f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" unit="count/min" '
            f'startDate="2024-01-01 00:0{i % 10}:00 +0100" endDate="2024-01-01 00:00:00 +0100" '
            f'value="{60 + i}">\n  <MetadataEntry key="k" value="v"/>\n </Record>\n'
        )
    exp_workouts = []
    for minute, dur, spu in workouts:
        t0 = base + dt.timedelta(minutes=minute)
        t1 = t0 + dt.timedelta(minutes=dur)
        meta = (
            '  <MetadataEntry key="HKWorkoutBrandName" value="Soleus push-ups"/>\n' if spu else ""
        )
        body.append(
            f' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" duration="{dur}" '
            f'durationUnit="min" sourceName="W" startDate="{t0:%Y-%m-%d %H:%M:%S} +0100" '
            f'endDate="{t1:%Y-%m-%d %H:%M:%S} +0100">\n{meta} </Workout>\n'
        )
        exp_workouts.append((t0, t1, "spu" if spu else "exercise"))
    p = _write(tmp_path_factory.mktemp("ah"), "".join(body))
    rec = read_apple_health(p)
    prov = rec.provenance
    assert prov.rows_read == len(readings) + n_other + len(workouts)
    assert prov.rows_kept == len(readings) + len(workouts)
    assert prov.rows_dropped.get("other record type", 0) == n_other and prov.balanced
    got = sorted(zip(rec.readings["time"], rec.readings["glucose_mgdl"], strict=True))
    exp = sorted((pd.Timestamp(t), g) for t, g in expected)
    assert [g[0] for g in got] == [e[0] for e in exp]
    assert [g[1] for g in got] == pytest.approx([e[1] for e in exp], rel=1e-12)
    ev = rec.events
    got_w = sorted(zip(ev["time"], ev["end"], ev["kind"], strict=True))
    assert got_w == sorted((pd.Timestamp(a), pd.Timestamp(b), k) for a, b, k in exp_workouts)


def test_chunked_compaction_gives_the_same_result(monkeypatch):
    from soleus_analysis.io import apple_health

    whole = read_apple_health(SMALL)
    monkeypatch.setattr(apple_health, "_CHUNK", 2)
    chunked = read_apple_health(SMALL)
    pd.testing.assert_frame_equal(whole.readings, chunked.readings)
    pd.testing.assert_frame_equal(whole.events, chunked.events)
    assert whole.provenance.to_dict() == chunked.provenance.to_dict()


# ---------------------------------------------------------------------------- parser edge cases
UNPARSED_ENTITY = (
    HEAD
    + '<!DOCTYPE HealthData [\n <!NOTATION n SYSTEM "x">\n <!ENTITY e SYSTEM "x" NDATA n>\n]>\n'
    '<HealthData locale="en"></HealthData>\n'
)
PUBLIC_DTD = HEAD + '<!DOCTYPE HealthData PUBLIC "-//x//y" "http://example.invalid/x.dtd">\n'


@pytest.mark.parametrize(
    "doc, line", [(UNPARSED_ENTITY, 4), (PUBLIC_DTD, 2)], ids=["unparsed-entity", "public-dtd"]
)
def test_other_declarations_refused(tmp_path, doc, line):
    p = tmp_path / "evil.xml"
    p.write_text(doc + '<HealthData locale="en"></HealthData>\n' if doc is PUBLIC_DTD else doc)
    with pytest.raises(InputError, match="refused") as info:
        read_apple_health(p)
    assert info.value.line == line


def test_attlist_defaults_nesting_and_metadata(tmp_path, monkeypatch):
    from soleus_analysis.io import apple_health

    # ATTLIST defaults apply (unit of the 2nd reading, durationUnit "hr" of the workout);
    # a Record inside <Correlation> is no row; the insulin reason is the last
    # HKInsulinDeliveryReason entry anywhere inside its record; workout metadata nested in a
    # child element still marks SPU; chunks of one record keep each record's own reason.
    dtd = (
        "<!DOCTYPE HealthData [\n"
        '<!ATTLIST Record unit CDATA "mg/dL">\n'
        '<!ATTLIST Workout durationUnit CDATA "hr">\n'
        "]>\n"
    )
    ins = (
        ' <Record type="HKQuantityTypeIdentifierInsulinDelivery" unit="IU" value="{v}" '
        'startDate="2024-01-09 {t} +0100">\n'
        '  <MetadataEntry key="HKInsulinDeliveryReason" value="1"/>\n'
        '  <X><MetadataEntry key="HKInsulinDeliveryReason" value="{r}"/></X>\n'
        " </Record>\n"
    )
    body = (
        " <Correlation>\n" + _glucose("300", "2024-01-09 11:00:00 +0100") + " </Correlation>\n"
        ' <Record type="HKQuantityTypeIdentifierBloodGlucose" value="95" '
        'startDate="2024-01-09 12:00:00 +0100"/>\n'
        + ins.format(v="4", t="12:10:00", r="2")
        + ins.format(v="1.5", t="12:20:00", r="1")
        + ' <Workout workoutActivityType="HKWorkoutActivityTypeOther" duration="0.5" '
        'startDate="2024-01-09 13:00:00 +0100">\n'
        '  <WorkoutEvent><MetadataEntry key="note" value="soleus pushups"/></WorkoutEvent>\n'
        " </Workout>\n"
    )
    p = _write(tmp_path, body, dtd=dtd)
    for chunk in (50_000, 1):
        monkeypatch.setattr(apple_health, "_CHUNK", chunk)
        rec = read_apple_health(p)
        assert rec.provenance.rows_read == 4 and rec.provenance.rows_kept == 4
        assert rec.readings["glucose_mgdl"].tolist() == [95.0]
        e = rec.events
        assert e["label"].tolist() == ["bolus", "basal", "Other"]
        assert e["insulin_u"].tolist()[:2] == [4.0, 1.5]
        w = e.iloc[2]
        assert w["kind"] == "spu" and w["end"] - w["time"] == pd.Timedelta(minutes=30)


def test_namespaced_root_is_not_health(tmp_path):
    p = tmp_path / "ns.xml"
    p.write_text(HEAD + '<x:HealthData xmlns:x="urn:x">\n</x:HealthData>\n')
    with pytest.raises(InputError, match=r"<\{urn:x\}HealthData>") as info:
        read_apple_health(p)
    assert info.value.line == 2
