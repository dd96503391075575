"""The one decoding path: encodings, byte-order marks, line ends and NUL bytes, for every
reader and for sniffing. Expected values come from Python's own codecs and the csv module."""

from __future__ import annotations

import csv
import io
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import soleus_analysis as sa
from soleus_analysis.io.encoding import (
    CP1252,
    NOT_UTF8,
    UTF8,
    UTF16BE,
    UTF16LE,
    decode,
    detect_encoding,
    sniff_text,
)

FIX = Path(__file__).parent / "fixtures"
#: one fixture of each CSV reader (the format they must still be sniffed as)
CSV_FIXTURES = {
    "dexcom/g6_mgdl_preamble_bom.csv": "dexcom_clarity",
    "dexcom/g7_mmol_quoted.csv": "dexcom_clarity",
    "real/libreview_uk_mmol.csv": "libreview",
    "real/carelink_us_paradigm_revel.csv": "carelink",
    "real/carelink_eu_guardian_connect.csv": "carelink",
    "real/nightscout_entries.csv": "nightscout_entries_csv",
    "logs/activity_log.csv": "activity_log",
    "logs/cronometer_servings.csv": "cronometer",
    "logs/cronometer_exercises.csv": "cronometer_exercises",
    "logs/myfitnesspal.csv": "myfitnesspal",
    "generic/iglu_like.csv": "generic",
    "nof1/libreview_spu_notes.csv": "libreview",
    "ipro2/ipro2_mmol_utf16.txt": "medtronic_ipro2",
}
BOMS = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}

# text a CSV export holds: letters of several scripts, digits, punctuation, tabs, line breaks
# (no NUL or other control characters, which have their own rule; no lone CR, a line end)
TEXT = st.text(
    alphabet=st.sampled_from(
        list(string.ascii_letters + string.digits + " ,;.\"'-:/()%\t\n") + list("éüßøñ€°µ–’")
    ),
    max_size=300,
)


def encode(text: str, encoding: str, bom: bool) -> bytes:
    """``text`` in ``encoding`` (with its BOM when ``bom``) by Python's codecs."""
    raw = text.encode(encoding)
    return (BOMS.get(encoding, b"") if bom else b"") + raw


@settings(max_examples=150, deadline=None)
@given(
    text=TEXT,
    encoding=st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "cp1252"]),
    bom=st.booleans(),
    ends=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_round_trip(text, encoding, bom, ends):
    if encoding == "cp1252":
        bom = False
    # BOM-less UTF-16 is told by its NUL pattern, which needs mostly-ASCII text
    if encoding.startswith("utf-16") and not bom:
        text = "Index,Date,Time,Sensor Glucose (mg/dL)\n" * 4 + text
    raw = encode(text.replace("\n", ends), encoding, bom)
    dec = decode(raw, "x")
    if encoding == "cp1252":
        try:  # the documented rule: bytes that are valid UTF-8 are read as UTF-8, so the
            # rare cp1252 text whose bytes also are ("ß°" is DF B0, U+07F0) reads as that
            text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            pass
    assert dec.text == text
    want = {"utf-8": UTF8, "utf-16-le": UTF16LE, "utf-16-be": UTF16BE}.get(encoding)
    if want is not None:
        assert dec.encoding == want
    elif not text.isascii() and text.strip("\n"):
        # cp1252 bytes of non-ASCII letters are seldom valid UTF-8: then the fallback says so
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            assert dec.encoding == CP1252 and NOT_UTF8 in dec.warnings


@settings(max_examples=60, deadline=None)
@given(text=TEXT, encoding=st.sampled_from(["utf-16-le", "utf-16-be"]), bom=st.booleans())
def test_sniffers_see_the_same_text(text, encoding, bom):
    text = "Device,Serial Number,Device Timestamp,Record Type\n" * 3 + text
    raw = encode(text, encoding, bom)
    got = sniff_text(raw[:1001]).rstrip("\ufffd")  # a head cut anywhere, even mid-character
    assert text.startswith(got) and len(got) >= min(len(text), 400)


def test_detect_encoding_by_bom_and_nul_pattern():
    assert detect_encoding(b"\xef\xbb\xbfa,b") == (UTF8, 3)
    assert detect_encoding(b"\xff\xfea\x00") == (UTF16LE, 2)
    assert detect_encoding(b"\xfe\xff\x00a") == (UTF16BE, 2)
    assert detect_encoding("Index,Date\n".encode("utf-16-le")) == (UTF16LE, 0)
    assert detect_encoding("Index,Date\n".encode("utf-16-be")) == (UTF16BE, 0)
    assert detect_encoding(b"a,b\n1,\x002\n") == (UTF8, 0)


def test_a_windows_1252_byte_after_64_kib_falls_back_for_the_whole_file(tmp_path):
    src = (FIX / "real" / "libreview_uk_mmol.csv").read_bytes()
    assert len(src) > 70_000
    cut = src.rindex(b"\n", 0, 66_000)
    p = tmp_path / "late.csv"
    p.write_bytes(src[:cut] + b"\n" + src[cut + 1 :].replace(b",,,", b",\xe9,,", 1))
    rec = sa.read_cgm(p)
    base = sa.read_cgm(FIX / "real" / "libreview_uk_mmol.csv")
    assert NOT_UTF8 in rec.provenance.warnings
    assert rec.provenance.rows_read == base.provenance.rows_read


def _utf8_lf(src: Path) -> str:
    """A fixture's text as UTF-8 with LF line ends would hold it (by Python's codecs)."""
    raw = src.read_bytes()
    text = (
        raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
    )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _account(rec) -> tuple:
    p = rec.provenance
    return (p.rows_read, p.rows_kept, p.rows_dropped, rec.readings["glucose_mgdl"].tolist())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(sorted(CSV_FIXTURES)),
    encoding=st.sampled_from(["utf-8", "utf-16-le", "utf-16-be"]),
    bom=st.booleans(),
    ends=st.sampled_from(["\n", "\r\n", "\r"]),
    late_cp1252=st.booleans(),
)
def test_any_export_in_any_encoding_reads_as_its_utf8_lf_original(
    tmp_path, name, encoding, bom, ends, late_cp1252
):
    """UTF-8 (with or without BOM), UTF-16 LE/BE (with or without BOM), CR/CRLF/LF: the same
    rows as the UTF-8 LF text; and a Windows-1252 file whose first non-ASCII byte comes after
    64 KiB (padded with a trailing note column's worth of ASCII) reads the same rows too."""
    fmt = CSV_FIXTURES[name]
    text = _utf8_lf(FIX / name)
    opts = {"units": "mg/dL"} if fmt == "generic" else {}
    base = tmp_path / ("base" + Path(name).suffix)
    base.write_bytes(text.encode("utf-8"))
    want = _account(sa.read_cgm(base, **opts))
    p = tmp_path / ("x" + Path(name).suffix)
    if late_cp1252 and text.isascii() and encoding == "utf-8":
        # the same rows, then blank lines past 64 KiB, then one cp1252 byte in a blank line
        pad = text + "\n" * 70_000 + "\xe9\n"
        base.write_bytes(pad.encode("utf-8"))
        want = _account(sa.read_cgm(base, **opts))
        p.write_bytes(pad.replace("\n", ends).encode("cp1252"))
        rec = sa.read_cgm(p, **opts)
        assert NOT_UTF8 in rec.provenance.warnings
    else:
        p.write_bytes(encode(text.replace("\n", ends), encoding, bom))
        assert sa.detect_format(p) == fmt
        rec = sa.read_cgm(p, **opts)
    assert _account(rec) == want


@pytest.mark.parametrize("name", sorted(CSV_FIXTURES))
@pytest.mark.parametrize(
    "encoding,bom,ends",
    [
        ("utf-16-le", True, "\r\n"),
        ("utf-16-be", True, "\n"),
        ("utf-16-le", False, "\r\n"),
        ("utf-16-be", False, "\r"),
        ("utf-8", True, "\r"),
        ("utf-8", False, "\r\n"),
    ],
)
def test_every_csv_reader_reads_every_encoding_and_line_end(tmp_path, name, encoding, bom, ends):
    src = FIX / name
    text = _utf8_lf(src)
    p = tmp_path / src.name
    p.write_bytes(encode(text.replace("\n", ends), encoding, bom))
    assert sa.detect_format(p) == CSV_FIXTURES[name]
    opts = {"units": "mg/dL"} if CSV_FIXTURES[name] == "generic" else {}
    got, want = sa.read_cgm(p, **opts), sa.read_cgm(src, **opts)
    g, w = got.provenance, want.provenance
    assert (g.rows_read, g.rows_kept, g.rows_dropped) == (w.rows_read, w.rows_kept, w.rows_dropped)
    assert got.readings["glucose_mgdl"].tolist() == want.readings["glucose_mgdl"].tolist()
    assert got.events["time"].tolist() == want.events["time"].tolist()


def test_a_stray_nul_is_marked_and_its_row_dropped_not_shortened(tmp_path):
    src = FIX / "dexcom" / "g6_mgdl_preamble_bom.csv"
    lines = src.read_bytes().split(b"\n")
    rows = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8-sig"))))
    egv = next(i for i, r in enumerate(rows) if len(r) > 7 and r[2] == "EGV" and r[7].isdigit())
    value = rows[egv][7].encode()
    lines[egv] = lines[egv].replace(
        b"," + value + b",", b"," + value[:1] + b"\x00" + value[1:] + b","
    )
    p = tmp_path / "nul.csv"
    p.write_bytes(b"\n".join(lines))
    got, base = sa.read_cgm(p).provenance, sa.read_cgm(src).provenance
    assert got.rows_read == base.rows_read and got.rows_kept == base.rows_kept - 1
    assert any("NUL byte(s) replaced" in w and f"line {egv + 1}" in w for w in got.warnings)


def test_utf16_is_no_longer_called_binary(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("no,known\nformat,here\n".encode("utf-16"))
    with pytest.raises(sa.InputError, match="unknown format"):
        sa.detect_format(p)
    p.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    with pytest.raises(sa.InputError, match="binary data"):
        sa.detect_format(p)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=2000))
def test_a_utf16_head_cut_anywhere_still_sniffs(cut):
    raw = encode((FIX / "real" / "libreview_uk_mmol.csv").read_text("utf-8-sig"), "utf-16-le", True)
    text = sniff_text(raw[: 1000 + cut])
    assert text.startswith("Glucose Data,Generated on")


@pytest.mark.parametrize("cut", [True, False])
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_out_of_step_is_refused_naming_its_line(tmp_path, cut, codec):
    """One byte added or lost in UTF-16 shifts every later byte pair: the rest of the file
    would decode to other characters and its rows vanish. Refused, naming the line."""
    text = (FIX / "ipro2" / "ipro2_mmol_utf16.txt").read_bytes().decode("utf-16")
    raw = encode(text, codec, True)
    at = len(encode("\r\n".join(text.split("\r\n")[:40]), codec, True)) + 7  # inside line 41
    p = tmp_path / "x.txt"
    p.write_bytes(raw[:at] + raw[at + 1 :] if cut else raw[:at] + b"\x00" + raw[at:])
    with pytest.raises(sa.InputError, match="out of step") as err:
        sa.read_cgm(p)
    assert err.value.line == 41


def test_cjk_text_in_utf16_is_in_step(tmp_path):
    text = "タイムスタンプ,一,二\n" + "一二三四五六七八九十一,7\n" * 3
    assert decode(text.encode("utf-16"), "x").text == text
