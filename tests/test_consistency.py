"""One path, one set of rules, one answer: the same data give the same numbers through
``soleus report``, ``soleus analyze``, ``soleus cohort``, the runner and the notebooks' route."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from soleus_analysis.app.cli import main
from soleus_analysis.app.runner import run_cohort
from soleus_analysis.core.rules import Rules
from soleus_analysis.io import read_person
from soleus_analysis.pipeline import analyze_person
from soleus_analysis.report.text import pooled_sentence
from soleus_analysis.validation.reproduce import analyse_study_files

DATA = Path(__file__).resolve().parent.parent / "data"
FREE = DATA / "freeliving"
CGM = FREE / "synthetic_freeliving_p01_dexcom.csv"
LOG = FREE / "synthetic_freeliving_p01_activity.csv"


def _text(pdf: Path) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(pdf).pages)


@pytest.fixture(scope="module")
def person():
    return analyze_person(read_person([CGM], [LOG], "p01"))


def test_one_person_same_numbers_everywhere(person, tmp_path):
    e = person.effect.iloc[0]
    est, lo, hi = (
        e["reduction_geomean_pct"],
        e["reduction_geomean_ci95_low"],
        e["reduction_geomean_ci95_high"],
    )
    runner = CliRunner()
    # analyze: the effect table holds the same estimate and interval, and states the rules
    res = runner.invoke(
        main, ["analyze", "--cgm", str(CGM), "--events", str(LOG), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    eff = pd.read_csv(tmp_path / "o" / "effect.csv").iloc[0]
    assert eff["reduction_geomean_pct"] == pytest.approx(est, rel=1e-12)
    assert eff["reduction_geomean_ci95_low"] == pytest.approx(lo, rel=1e-12)
    assert eff["reduction_geomean_ci95_high"] == pytest.approx(hi, rel=1e-12)
    stated = json.loads((tmp_path / "o" / "rules.json").read_text())
    assert Rules.from_dict(stated) == person.rules == Rules()
    # report: the PDF prints that estimate and interval
    res = runner.invoke(
        main, ["report", "--cgm", str(CGM), "--events", str(LOG), "-o", str(tmp_path / "r.pdf")]
    )
    assert res.exit_code == 0, res.output
    assert f"{est:.0f}% (95% CI {lo:.0f}% to {hi:.0f}%)" in _text(tmp_path / "r.pdf")
    # cohort of this one person (the study folder): its N-of-1, not a bootstrap over one pair
    res = runner.invoke(
        main,
        ["cohort", str(FREE), "-o", str(tmp_path / "c.pdf"), "--out", str(tmp_path / "t")],
    )
    assert res.exit_code == 0, res.output
    pooled = pd.read_csv(tmp_path / "t" / "pooled.csv")
    assert list(pooled["method"]) == ["N-of-1 (one person's randomised meals)"]
    row = pooled.iloc[0]
    assert row["estimand"] == "reduction_geomean_pct"
    assert row["estimate_pct"] == pytest.approx(est, rel=1e-12)
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((lo, hi), rel=1e-12)
    assert row["p"] == pytest.approx(e["p_permutation"])


def test_a_cohort_same_numbers_through_the_runner_the_command_the_pdf_and_the_study_route(
    tmp_path,
):
    folder = DATA / "hamilton2022"
    res = run_cohort(folder, progress=False, workers=1)
    assert res.rules.window == (0.0, 180.0) and res.rules.source == "rules.json"
    cross = res.pooled[res.pooled["method"].str.startswith("paired")].iloc[0]
    # the notebooks' route (analyse_study_files: the CGM meals of the same files, same rules)
    study = analyse_study_files(folder, seed=0)
    assert study.rules == res.rules
    s = study.summary()
    assert s["cgm_glucose_iauc_reduction_mean_ratio_pct"] == pytest.approx(
        cross["estimate_pct"], rel=1e-12
    )
    assert s["cgm_glucose_iauc_reduction_mean_ratio_ci95"] == pytest.approx(
        [cross["ci95_low"], cross["ci95_high"]], rel=1e-12
    )
    # the command and its PDF
    out = tmp_path / "c.pdf"
    cli = CliRunner().invoke(main, ["cohort", str(folder), "-o", str(out), "--workers", "1"])
    assert cli.exit_code == 0, cli.output
    assert pooled_sentence(cross) in cli.output
    text = _text(out)
    assert f"{cross['estimate_pct']:.1f}% (95% CI {cross['ci95_low']:.1f}% to" in text
    assert "Rules. " + res.rules.describe()[:60] in text
