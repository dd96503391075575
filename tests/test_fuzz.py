"""Bounded mutation fuzzing (``tests/fuzz.py``) in the test suite: a few hundred seeded mutants of
every fixture, read by their own reader (one in four by sniffing), each a balanced recording
without silent loss or an InputError naming its file, within the time bound. ``make fuzz`` runs
the same harness for ten minutes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import soleus_analysis as sa
from tests import fuzz

#: mutants of each fixture in the bounded run (about 12 per second on two workers)
PER_FIXTURE = 10


@pytest.fixture(scope="module")
def report() -> fuzz.Report:
    paths = fuzz.fixture_paths()
    return fuzz.run(workers=2, seed=12, max_mutants=PER_FIXTURE * len(paths), paths=paths)


def test_every_mutant_is_a_result_or_an_input_error(report):
    assert report.failures == 0, report.summary()
    assert report.mutants == report.balanced + report.input_errors


def test_every_reader_was_fuzzed(report):
    formats = {sa.detect_format(p) for p in fuzz.fixture_paths()}
    assert set(report.by_reader) == formats
    for reader, counts in report.by_reader.items():
        assert sum(counts.values()) >= PER_FIXTURE, reader
    assert "| medtronic_ipro2 |" in report.table()


def test_mutants_are_reproducible_from_their_seed():
    fixtures = fuzz.fixture_paths()
    a = fuzz.replay(12 * 10**9 + 5, fixtures)
    b = fuzz.replay(12 * 10**9 + 5, fixtures)
    assert a[1] == b[1] and a[2] == b[2]


def test_utf16_fixtures_are_edited_as_text():
    src = Path(fuzz.FIXTURES, "ipro2", "ipro2_mmol_utf16.txt").read_bytes()
    for seed in range(40):
        m = fuzz.mutate(src, np.random.default_rng(seed), "csv", "insert_quote")
        assert m.data.startswith(b"\xff\xfe") and len(m.data) % 2 == 0
        assert m.data[2:].decode("utf-16-le").count('"') == 1


def test_a_silent_loss_is_counted_not_raised():
    r = fuzz.Report()
    r.count("x", "silent_loss")
    assert "| x | 1 | 0 | 0 | 0 | 0 | 0 | 1 |" in r.table()


def test_finding_a_first_row_with_extra_delimiters_is_one_dropped_row(tmp_path):
    """``make fuzz`` (seed 1): 1,000 commas at the start of a generic table's first data row
    made pandas take them as index columns and read 1 row of 8; now the row is dropped and
    counted, the other rows read."""
    src = Path(fuzz.FIXTURES, "generic", "iglu_like.csv")
    lines = src.read_text().split("\n")
    lines[1] = "," * 1000 + lines[1]
    p = tmp_path / "g.csv"
    p.write_text("\n".join(lines))
    got = sa.read_cgm(p, units="mg/dL").provenance
    base = sa.read_cgm(src, units="mg/dL").provenance
    assert got.rows_read == base.rows_read and got.balanced
    assert got.rows_dropped["more fields than the header"] == 1


def test_finding_empty_repeated_libreview_header_names(tmp_path):
    """``make fuzz`` (seed 1): extra delimiters in a LibreView header (empty, repeated column
    names) raised ``AttributeError``; the rows are read as before."""
    src = Path(fuzz.FIXTURES, "nof1", "libreview_spu_notes.csv")
    lines = src.read_text(encoding="utf-8-sig").split("\n")
    lines[1] = lines[1] + "," * 500
    p = tmp_path / "l.csv"
    p.write_text("\n".join(lines))
    got, base = sa.read_cgm(p).provenance, sa.read_cgm(src).provenance
    assert (got.rows_read, got.rows_kept) == (base.rows_read, base.rows_kept)


def test_finding_a_nightscout_csv_line_of_30000_fields(tmp_path):
    """``make fuzz`` (seed 3): 30,000 commas at the end of one line of a header-less Nightscout
    entries CSV made pandas build a MultiIndex of the leading fields (about a minute); the
    line's first fields are read as before and every row is accounted for."""
    src = Path(fuzz.FIXTURES, "real", "nightscout_entries.csv")
    lines = src.read_text().split("\n")
    lines[3] = lines[3] + "," * 30_000
    p = tmp_path / "n.csv"
    p.write_text("\n".join(lines))
    got, base = sa.read_cgm(p), sa.read_cgm(src)
    assert got.provenance.balanced
    assert (got.provenance.rows_read, got.provenance.rows_kept) == (
        base.provenance.rows_read,
        base.provenance.rows_kept,
    )
    assert got.readings["glucose_mgdl"].tolist() == base.readings["glucose_mgdl"].tolist()


def test_finding_a_tandem_readings_header_without_its_time_column(tmp_path):
    """``make fuzz`` (seed 3): a Windows-1252 byte inside ``EventDateTime`` of a Tandem
    readings header raised ``KeyError``; now one InputError names the file, the header's line
    and the column expected."""
    src = Path(fuzz.FIXTURES, "tandem", "tconnect_therapy_timeline.csv")
    text = src.read_text(encoding="utf-8")
    assert text.count("Description,EventDateTime,Readings") == 1
    line = text[: text.index("Description,EventDateTime,Readings")].count("\n") + 1
    p = tmp_path / "t.csv"
    p.write_bytes(
        text.replace("EventDateTime,Readings", "Even\xe9tDateTime,Readings").encode("cp1252")
    )
    with pytest.raises(sa.InputError, match=rf"t\.csv, line {line}: .*no EventDateTime column"):
        sa.read_cgm(p, format="tandem")
