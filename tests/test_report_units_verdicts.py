"""The report's units (the export's, or --units) and the verdicts that say what is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from soleus_analysis.app.cli import main
from soleus_analysis.core.recording import Provenance, Recording
from soleus_analysis.pipeline import analyze_person
from soleus_analysis.report import pdf
from soleus_analysis.simulate import simulate_freeliving, write_activity_log, write_dexcom_clarity

MGDL_PER_MMOL = 18.0156


def _recording(start: str, days: int, events: pd.DataFrame | None, units: str = "") -> Recording:
    t = pd.date_range(start, periods=days * 288, freq="5min")
    g = 110 + 30 * np.sin(np.arange(len(t)) / 40.0)
    r = pd.DataFrame({"subject": "p", "time": t, "glucose_mgdl": np.round(g)})
    if units:
        r["device_units"] = units
    prov = Provenance(
        path="synthetic_cgm.csv", format="generic", units=units, rows_read=len(r), rows_kept=len(r)
    )
    kw = {"events": events} if events is not None else {}
    return Recording(readings=r, provenance=prov, **kw)


def _meals(start: str, n: int, spu: bool = False) -> pd.DataFrame:
    t0 = pd.Timestamp(start)
    rows = [
        {
            "subject": "p",
            "time": t0 + pd.Timedelta(hours=24 * i + 12),
            "kind": "meal",
            "carbs_g": 50.0,
        }
        for i in range(n)
    ]
    if spu:
        rows += [
            {
                "subject": "p",
                "time": r["time"],
                "end": r["time"] + pd.Timedelta(minutes=30),
                "kind": "spu",
            }
            for r in rows[::2]
        ]
    return pd.DataFrame(rows)


def _text(a, tmp_path, **kw) -> list[str]:
    path = pdf.write_person_report(a, tmp_path / "r.pdf", **kw)
    return [" ".join(p.extract_text().split()) for p in PdfReader(path).pages]


def test_units_follow_the_export_and_the_argument():
    mg = _recording("2022-05-01", 2, None).readings
    mmol = _recording("2022-05-01", 2, None, units="mmol/L").readings
    mixed = pd.concat([mmol.head(10), mg.tail(10).assign(device_units="mg/dL")])
    assert pdf.report_units(mg) == "mg/dL"
    assert pdf.report_units(mmol) == "mmol/L"
    assert pdf.report_units(mixed) == "mg/dL"
    assert pdf.report_units(mg, "mmol/L") == "mmol/L"
    with pytest.raises(ValueError, match="units"):
        pdf.report_units(mg, "mmol")


def test_an_mmol_export_gives_an_mmol_report(tmp_path):
    a = analyze_person(_recording("2022-05-01", 3, None, units="mmol/L"))
    pages = _text(a, tmp_path)
    mean = a.period_metrics["mean_mgdl"].iloc[0] / MGDL_PER_MMOL
    assert f"Mean glucose {mean:.1f} mmol/L" in pages[0]
    assert "Time in range 3.9–10.0 mmol/L" in pages[0]
    assert "mg/dL" not in " ".join(pages).replace("generic, mmol/L", "")
    pages = _text(a, tmp_path, units="mg/dL")
    assert f"Mean glucose {a.period_metrics['mean_mgdl'].iloc[0]:.0f} mg/dL" in pages[0]


def test_cli_units_option_sets_the_report_units(tmp_path):
    s = simulate_freeliving(seed=2, days=3)
    cgm = write_dexcom_clarity(s.cgm, None, tmp_path / "synthetic_dexcom.csv")
    log = write_activity_log(s.events, tmp_path / "synthetic_log.csv")
    out = tmp_path / "r.pdf"
    res = CliRunner().invoke(
        main,
        ["report", "--cgm", str(cgm), "--events", str(log), "-o", str(out), "--units", "mmol/L"],
    )
    assert res.exit_code == 0, res.output
    page1 = " ".join(PdfReader(out).pages[0].extract_text().split())
    assert "glucose in mmol/L" in page1
    assert "Time in range 3.9–10.0 mmol/L" in page1


def test_a_food_log_of_another_period_says_so(tmp_path):
    a = analyze_person(_recording("2022-05-01", 3, _meals("2026-03-01", 4, spu=True)))
    assert "Your meal log covers 01 Mar 2026 to 04 Mar 2026" in a.verdict
    assert "your CGM data 01 May 2022 to 03 May 2022" in a.verdict
    pages = _text(a, tmp_path)
    assert any("Your meal log covers 01 Mar 2026" in p for p in pages)


def test_no_spu_bouts_says_how_to_log_them(tmp_path):
    a = analyze_person(_recording("2022-05-01", 5, _meals("2022-05-01", 5)))
    assert a.verdict.startswith("No SPU bouts found in your files")
    experiment = next(p for p in _text(a, tmp_path) if "Soleus pushups and your meals" in p)
    assert "No SPU bouts found in your files" in experiment
    assert "start,end,duration_min,kind,intensity,carbs_g,notes" in experiment
    assert "kind spu" in experiment
