"""Apple Health's fast scan (issue 14) gives exactly what the full expat parse gives.

``read_apple_health(..., engine="expat")`` is the reference (the whole file through the hardened
expat parser); the default engine scans bytes and parses only the prolog and the rows it reads,
handing anything outside the plain form to expat. On every Apple fixture, on generated variants
(attribute order, white space, comments and CDATA, entities and character references,
self-closing and open/close records with children, correlations, records split across the
scan's reads) and on mutants of ``tests/fuzz.py``, both engines give the same recording, or the
same :class:`InputError`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import soleus_analysis as sa
from soleus_analysis.core.errors import InputError
from soleus_analysis.io import apple_health as ah
from tests import fuzz

FIXTURES = Path(__file__).parent / "fixtures"
APPLE = sorted(p for p in fuzz.fixture_paths() if sa.detect_format(p) == "apple_health")
#: sizes of the fast scan's reads: whole files, and records cut across reads
READS = (1 << 23, 97, 1000)


def _outcome(path: Path, engine: str) -> tuple[str, object]:
    try:
        rec = ah.read_apple_health(path, engine=engine)
    except InputError as err:
        return "error", (str(err), err.line)
    return "ok", rec


def assert_same(path: Path) -> str:
    """Both engines agree on ``path``; return ``"ok"`` or ``"error"``."""
    ref, got = _outcome(path, "expat"), _outcome(path, "fast")
    assert ref[0] == got[0], (ref, got)
    if ref[0] == "error":
        assert ref[1] == got[1]
        return "error"
    a, b = ref[1], got[1]
    pd.testing.assert_frame_equal(a.readings, b.readings)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.provenance.to_dict() == b.provenance.to_dict()
    assert list(a.provenance.metadata["other_record_types"]) == list(
        b.provenance.metadata["other_record_types"]
    )  # the same types, first seen first
    return "ok"


def _fast_only(path: Path) -> bool:
    """True when the fast scan reads ``path`` itself (no hand-over to expat)."""
    try:
        ah._fast_scan(path)
    except ah._Fallback:
        return False
    return True


def test_every_apple_fixture_is_covered():
    names = {str(p.relative_to(FIXTURES)) for p in APPLE}
    assert {"apple/export_small.xml", "apple/export.zip", "apple/export_utf16.xml"} <= names


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("path", APPLE, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixtures_equal_the_expat_parse(path, read, monkeypatch):
    monkeypatch.setattr(ah, "_FAST_READ", read)
    assert assert_same(path) == "ok"
    # the plain UTF-8 exports are read by the fast scan itself (UTF-16 goes to expat)
    assert _fast_only(path) == ("utf16" not in path.name)


def test_small_chunks_of_rows_and_many_types(tmp_path, monkeypatch):
    monkeypatch.setattr(ah, "MAX_OTHER_TYPES", 7)
    monkeypatch.setattr(ah, "_CHUNK", 3)
    monkeypatch.setattr(ah, "_FAST_READ", 300)
    body = "".join(
        _record(f"T{i % 13}", f"2024-01-01 00:{i % 60:02d}:00 +0000", "1")
        + (
            _record(ah.GLUCOSE, f"2024-01-01 01:{i % 60:02d}:00 +0100", str(80 + i))
            if i % 3
            else ""
        )
        for i in range(120)
    )
    p = _doc(tmp_path, body)
    assert assert_same(p) == "ok" and _fast_only(p)
    types = ah.read_apple_health(p).provenance.metadata["other_record_types"]
    assert ah.OTHER_TYPES_REST in types and len(types) == 8


# ------------------------------------------------------------------------------ generated
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
DTD = (
    "<!DOCTYPE HealthData [\n<!-- HealthKit Export Version: 14 -->\n"
    "<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout)*)>\n"
    "<!ATTLIST Record\n  type CDATA #REQUIRED\n  unit CDATA #IMPLIED\n>\n]>\n"
)


def _record(rtype: str, date: str, value: str, unit: str = "mg/dL", children: str = "") -> str:
    attrs = (
        f'type="{rtype}" sourceName="CGM &amp; co" unit="{unit}" creationDate="{date}" '
        f'startDate="{date}" endDate="{date}" value="{value}"'
    )
    if children:
        return f" <Record {attrs}>\n{children} </Record>\n"
    return f" <Record {attrs}/>\n"


def _doc(tmp_path: Path, body: str, name: str = "export.xml", head: str = HEAD + DTD) -> Path:
    p = tmp_path / name
    p.write_bytes((head + '<HealthData locale="en_GB">\n' + body + "</HealthData>\n").encode())
    return p


def _workout(date: str, meta: str = "Soleus push-ups") -> str:
    return (
        f' <Workout workoutActivityType="HKWorkoutActivityTypeOther" duration="12" '
        f'durationUnit="min" sourceName="W" startDate="{date}" endDate="{date}">\n'
        f'  <MetadataEntry key="HKWorkoutBrandName" value="{meta}"/>\n'
        '  <WorkoutEvent type="HKWorkoutEventTypePause" date="2024-01-01 00:00:00 +0000"/>\n'
        '  <WorkoutRoute sourceName="W">\n   <FileReference path="/r.gpx"/>\n  </WorkoutRoute>\n'
        " </Workout>\n"
    )


def _insulin(date: str, units: str, reason: str) -> str:
    return (
        f' <Record type="{ah.INSULIN}" sourceName="Pump" unit="IU" startDate="{date}" '
        f'endDate="{date}" value="{units}">\n'
        f'  <MetadataEntry key="HKInsulinDeliveryReason" value="{reason}"/>\n </Record>\n'
    )


#: ways of writing one glucose record that expat reads the same (or refuses the same way)
VARIANTS = {
    "plain": lambda d, v: _record(ah.GLUCOSE, d, v),
    "mmol": lambda d, v: _record(
        ah.GLUCOSE, d, str(int(v) / 18), "mmol&lt;180.1558800000541&gt;/L"
    ),
    "children": lambda d, v: _record(
        ah.GLUCOSE, d, v, children='  <MetadataEntry key="HKBloodGlucoseMealTime" value="2"/>\n'
    ),
    "order": lambda d, v: (
        f' <Record unit="mg/dL" value="{v}" type="{ah.GLUCOSE}" startDate="{d}" sourceName="x"/>\n'
    ),
    "type_second": lambda d, v: (
        f' <Record sourceName="x" type="{ah.GLUCOSE}" unit="mg/dL" startDate="{d}" value="{v}"/>\n'
    ),
    "white_space": lambda d, v: (
        f' <Record\n\ttype = "{ah.GLUCOSE}"  unit="mg/dL"\n   startDate="{d}" value="{v}" />\n'
    ),
    "tab_in_value": lambda d, v: (
        f' <Record type="{ah.GLUCOSE}" unit="mg/dL" startDate="{d}" value="\t{v}"/>\n'
    ),
    "single_quotes": lambda d, v: (
        f" <Record type='{ah.GLUCOSE}' unit='mg/dL' startDate='{d}' value='{v}'/>\n"
    ),
    "char_ref": lambda d, v: _record(ah.GLUCOSE, d, v, unit="mg&#47;dL"),
    "comment": lambda d, v: " <!-- a <Record> in a comment -->\n" + _record(ah.GLUCOSE, d, v),
    "cdata": lambda d, v: (
        ' <Me><![CDATA[ <Record type="x"/> ]]></Me>\n' + _record(ah.GLUCOSE, d, v)
    ),
    "processing_instruction": lambda d, v: " <?pi x?>\n" + _record(ah.GLUCOSE, d, v),
    "gt_in_value": lambda d, v: _record(ah.GLUCOSE, d, v).replace("CGM &amp; co", "a > b"),
    "duplicate_attribute": lambda d, v: _record(ah.GLUCOSE, d, v).replace("/>", f' value="{v}"/>'),
    "undefined_entity": lambda d, v: _record(ah.GLUCOSE, d, v).replace("&amp;", "&nope;"),
    "correlation": lambda d, v: (
        ' <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="F" startDate="x" '
        'endDate="x">\n'
        + _record(ah.CARBS, d, "12", "g")
        + _record(ah.GLUCOSE, d, v)
        + " </Correlation>\n"
    ),
    "nested_in_workout": lambda d, v: _workout(d).replace(
        " </Workout>", _record(ah.GLUCOSE, d, v) + " </Workout>"
    ),
    "namespace": lambda d, v: _record(ah.GLUCOSE, d, v).replace(
        "<Record ", '<Record xmlns="urn:x" '
    ),
    "mismatched_end": lambda d, v: _record(
        ah.GLUCOSE, d, v, children="  <MetadataEntry key='k' value='v'></Metadata>\n"
    ),
    "text": lambda d, v: " some text &amp; more\n" + _record(ah.GLUCOSE, d, v),
    "cr_line_ends": lambda d, v: _record(ah.GLUCOSE, d, v).replace("\n", "\r"),
    "crlf_line_ends": lambda d, v: _record(ah.GLUCOSE, d, v).replace("\n", "\r\n"),
    "non_ascii": lambda d, v: _record(ah.GLUCOSE, d, v).replace("CGM", "Glucómetro"),
    "bad_date": lambda d, v: _record(ah.GLUCOSE, d.replace("-01-", "-02-").replace(" 0", " 3"), v),
    # the vectorised reader of one layout: other names at the same places, entities in the
    # values read, an attribute left out, names longer than the 8-byte words compared
    "same_width_other_names": lambda d, v: _record(ah.GLUCOSE, d, v).replace(
        "creationDate=", "creationTime="
    ),
    "entities_in_values": lambda d, v: _record(ah.GLUCOSE, d, f"{v}&amp;", unit="mg&quot;dL"),
    "no_unit": lambda d, v: _record(ah.GLUCOSE, d, v).replace(' unit="mg/dL"', ""),
    "empty_value": lambda d, v: _record(ah.GLUCOSE, d, ""),
    "long_names": lambda d, v: _record(ah.GLUCOSE, d, v).replace(
        "sourceName=", "sourceNameOfTheDeviceThatWroteIt="
    ),
    "space_before_equals": lambda d, v: _record(ah.GLUCOSE, d, v).replace("unit=", "unit ="),
    "prefixed_namespace": lambda d, v: _record(ah.GLUCOSE, d, v).replace(
        "<Record ", '<Record xmlns:h="urn:x" h:extra="1" '
    ),
    "mismatched_long_end": lambda d, v: _record(
        ah.GLUCOSE,
        d,
        v,
        children="  <MetadataEntryWithAVeryLongName k='1'></MetadataEntryWithAVeryLongNamX>\n",
    ),
    "fake_record_in_comment_and_cdata": lambda d, v: (
        f' <!-- <Record type="{ah.GLUCOSE}" startDate="{d}" value="1"/> -->\n'
        f' <Me><![CDATA[<Record type="{ah.GLUCOSE}" startDate="{d}" value="2"/>]]></Me>\n'
        + _record(ah.GLUCOSE, d, v)
    ),
}
#: variants the fast scan must read itself (the others may go to expat)
FAST_VARIANTS = {"plain", "mmol", "children", "correlation"}
FAST_VARIANTS |= {"nested_in_workout", "non_ascii", "bad_date"}
FAST_VARIANTS |= {"same_width_other_names", "entities_in_values", "no_unit", "empty_value"}
FAST_VARIANTS |= {"long_names"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("read", READS)
def test_variants_equal_the_expat_parse(tmp_path, monkeypatch, variant, read):
    monkeypatch.setattr(ah, "_FAST_READ", read)
    body = []
    for i in range(40):
        d = f"2024-01-{1 + i // 24:02d} {i % 24:02d}:{(7 * i) % 60:02d}:00 +0100"
        body.append(
            f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" unit="count/min" '
            f'startDate="{d}" endDate="{d}" value="{60 + i}">\n'
            '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record>\n'
        )
        body.append((VARIANTS[variant] if i % 4 == 1 else VARIANTS["plain"])(d, str(90 + i)))
        if i % 10 == 3:
            body.append(_insulin(d, "2.5", "2") + _workout(d) + _record(ah.CARBS, d, "30", "g"))
    p = _doc(tmp_path, "".join(body))
    assert_same(p)
    if variant in FAST_VARIANTS:
        assert _fast_only(p), variant


_pieces = st.sampled_from(sorted(VARIANTS))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(_pieces, min_size=1, max_size=25),
    read=st.sampled_from([31, 200, 4096, 1 << 23]),
    zipped=st.booleans(),
    declaration=st.booleans(),
)
def test_generated_exports_equal_the_expat_parse(
    tmp_path, monkeypatch, kinds, read, zipped, declaration
):
    monkeypatch.setattr(ah, "_FAST_READ", read)
    body = []
    for i, kind in enumerate(kinds):
        d = f"2024-03-{1 + i % 28:02d} {i % 24:02d}:{(11 * i) % 60:02d}:00 +0100"
        body.append(VARIANTS[kind](d, str(70 + i)))
        body.append(_record("HKQuantityTypeIdentifierStepCount", d, str(i), "count"))
        if i % 5 == 2:
            body.append(
                _insulin(d, "1.5", "1") + _record(ah.CARBS, d, "20", "g") + _workout(d, "run")
            )
    p = _doc(tmp_path, "".join(body), head=(HEAD if declaration else "") + DTD)
    if zipped:
        z = tmp_path / "export.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(p, "apple_health_export/export.xml")
        p = z
    assert_same(p)


# ------------------------------------------------------------------------------ hostile input
@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE HealthData [ <!ENTITY e "lol"> ]>\n',
        '<!DOCTYPE HealthData [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n',
        '<!DOCTYPE HealthData SYSTEM "file:///etc/passwd">\n',
        '<!DOCTYPE HealthData [ <!ENTITY % pe SYSTEM "file:///etc/passwd"> %pe; ]>\n',
        '<!DOCTYPE HealthData [ <!ATTLIST Record unit CDATA "mg/dL"> ]>\n',
        '<?xml version="1.0" encoding="x-unknown-42"?>\n',
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n',
    ],
    ids=[
        "entity",
        "xxe",
        "external-dtd",
        "parameter-entity",
        "attlist-default",
        "unknown",
        "latin1",
    ],
)
def test_hostile_prologs_go_to_expat(tmp_path, prolog):
    p = _doc(tmp_path, _record(ah.GLUCOSE, "2024-01-09 12:30:00 +0100", "90"), head=prolog)
    assert not _fast_only(p)
    outcome = assert_same(p)
    if "ENTITY" in prolog or "SYSTEM" in prolog:
        assert outcome == "error"
        with pytest.raises(InputError, match="refused"):
            ah.read_apple_health(p)


def test_truncated_and_garbage_files_give_the_expat_error(tmp_path):
    src = (FIXTURES / "apple" / "export_small.xml").read_bytes()
    for cut in (10, 400, 3000, len(src) - 30, len(src) - 5):
        p = tmp_path / f"cut{cut}.xml"
        p.write_bytes(src[:cut])
        assert assert_same(p) == "error"
    p = tmp_path / "after.xml"
    p.write_bytes(src + b"<Record/>\n")
    assert assert_same(p) == "error"


def test_bad_engine_name():
    with pytest.raises(ValueError, match="engine"):
        ah.read_apple_health(FIXTURES / "apple" / "export_small.xml", engine="sax")


# ------------------------------------------------------------------------------ fuzzed
@pytest.mark.parametrize("path", APPLE, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_mutants_equal_the_expat_parse(tmp_path, path):
    data = path.read_bytes()
    kind = "zip" if data.startswith(b"PK") else "xml"
    outcomes = []
    for seed in range(120):
        rng = np.random.default_rng(14_000 + seed)
        mutant = fuzz.mutate(data, rng, kind)
        p = tmp_path / f"m{seed}{path.suffix}"
        p.write_bytes(mutant.data)
        outcomes.append(assert_same(p))
    assert "ok" in outcomes and "error" in outcomes


# ------------------------------------------------------------------------------ one layout
_ATTRS = ("type", "sourceName", "unit", "creationDate", "startDate", "endDate", "value")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    layouts=st.lists(
        st.permutations(_ATTRS[1:]).map(lambda names: list(names)),
        min_size=1,
        max_size=3,
    ),
    drop=st.sets(st.sampled_from(_ATTRS[1:]), max_size=2),
    quote=st.sampled_from(['"', "'"]),
    entity=st.sampled_from(["", "&amp;", "&lt;", "&quot;", "&apos;", "&gt;"]),
    n=st.integers(1, 60),
    read=st.sampled_from([64, 333, 4096, 1 << 23]),
)
def test_layouts_equal_the_expat_parse(
    tmp_path, monkeypatch, layouts, drop, quote, entity, n, read
):
    """Glucose and carbohydrate records in one or more attribute orders (``type`` first, as
    the Health app writes them), attributes left out, either quote, entities in the values,
    records cut across the scan's reads: the vectorised reader of one layout, its fall-backs
    and expat agree."""
    monkeypatch.setattr(ah, "_FAST_READ", read)
    body = []
    for i in range(n):
        d = f"2024-05-{1 + i % 28:02d} {i % 24:02d}:{(13 * i) % 60:02d}:00 +0200"
        kind = ah.CARBS if i % 7 == 3 else ah.GLUCOSE
        values = {
            "sourceName": f"src{entity}{i % 3}",
            "unit": "g" if kind == ah.CARBS else ("mg/dL" if i % 5 else f"mg{entity}/dL"),
            "creationDate": d,
            "startDate": d,
            "endDate": d,
            "value": f"{60 + i}" + (entity if i % 11 == 4 else ""),
        }
        names = [a for a in layouts[i % len(layouts)] if a not in drop]
        attrs = " ".join(f"{a}={quote}{values[a]}{quote}" for a in names)
        body.append(f" <Record type={quote}{kind}{quote} {attrs}/>\n")
        body.append(_record("HKQuantityTypeIdentifierStepCount", d, str(i), "count"))
    p = _doc(tmp_path, "".join(body))
    assert assert_same(p) in ("ok", "error")
    if quote == '"':
        assert _fast_only(p)
