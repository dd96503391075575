"""Every fixture file, real and hand-made, and every bundled data file: the format is sniffed from
the content, and the row account adds up (rows read = kept + dropped, by reason). A lab table is
sniffed too, read by ``read_lab`` and refused by ``read_cgm`` with what it is."""

from __future__ import annotations

from pathlib import Path

import pytest

import soleus_analysis as sa

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"

# expected format of each fixture, by the reader that must claim it
EXPECTED = {
    "apple/export_small.xml": "apple_health",
    "dexcom/bad_rows_truncated.csv": "dexcom_clarity",
    "dexcom/dst_fallback.csv": "dexcom_clarity",
    "dexcom/g6_mgdl_preamble_bom.csv": "dexcom_clarity",
    "dexcom/g7_mmol_quoted.csv": "dexcom_clarity",
    "generic/iglu_like.csv": "generic",
    "ipro2/ipro2_mmol_utf16.txt": "medtronic_ipro2",
    "lab/ogtt_small.csv": "lab_ogtt",
    "logs/activity_log.csv": "activity_log",
    "logs/cronometer_exercises.csv": "cronometer_exercises",
    "logs/cronometer_servings.csv": "cronometer",
    "logs/myfitnesspal.csv": "myfitnesspal",
    "nof1/activity_log_spu.csv": "activity_log",
    "nof1/apple_spu_workouts.xml": "apple_health",
    "nof1/dexcom_spu_events.csv": "dexcom_clarity",
    "nof1/libreview_spu_notes.csv": "libreview",
    "nof1/nightscout_spu_treatments.json": "nightscout_treatments_json",
    "real/carelink_eu_guardian_connect.csv": "carelink",
    "real/carelink_us_paradigm_revel.csv": "carelink",
    "real/libreview_uk_mmol.csv": "libreview",
    "real/nightscout_entries.csv": "nightscout_entries_csv",
    "real/nightscout_entries.json": "nightscout_entries_json",
    "real/nightscout_treatments.json": "nightscout_treatments_json",
}


def test_every_fixture_is_listed():
    found = {str(p.relative_to(FIX)) for p in FIX.rglob("*") if p.is_file() and p.suffix != ".md"}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_sniffed_and_balanced(name):
    path = FIX / name
    assert sa.detect_format(path) == EXPECTED[name]
    if EXPECTED[name] == "lab_ogtt":
        lab = sa.read_lab(path)
        assert lab.provenance.balanced and len(lab.samples)
        with pytest.raises(sa.InputError, match="lab OGTT table"):
            sa.read_cgm(path)
        return
    rec = sa.read_cgm(path, units="mg/dL") if EXPECTED[name] == "generic" else sa.read_cgm(path)
    p = rec.provenance
    assert p.format == EXPECTED[name]
    assert p.rows_read == p.rows_kept + sum(p.rows_dropped.values())
    assert len(rec.readings) + len(rec.events) > 0


@pytest.mark.parametrize(
    "path", sorted((ROOT / "data").rglob("synthetic_*.csv")), ids=lambda p: p.name
)
def test_bundled_data_reads_and_is_labelled_synthetic(path):
    if path.name.endswith("_truth.csv"):
        pytest.skip("ground truth, read only by validation code")
    if path.name.endswith("_lab.csv"):
        assert sa.detect_format(path) == "lab_ogtt"
        lab = sa.read_lab(path)
        assert lab.provenance.balanced and len(lab.samples)
        return
    rec = sa.read_cgm(path)
    assert rec.provenance.balanced
    assert "synthetic" in path.name
    if rec.provenance.format == "dexcom_clarity":
        assert "Synthetic" in str(rec.provenance.metadata)  # preamble names the patient Synthetic
