"""Run notebooks/02_your_own_cgm.ipynb on the bundled synthetic self-tracker and check its results
against values computed here from the bundled files with the csv module and numpy."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.notebook_runner import ROOT, run_notebook

DATA = ROOT / "data" / "freeliving"
CGM = DATA / "synthetic_freeliving_p01_dexcom.csv"
LOG = DATA / "synthetic_freeliving_p01_activity.csv"
TRUTH = DATA / "synthetic_freeliving_truth.csv"


def _log_rows() -> list[dict[str, str]]:
    with open(LOG, newline="") as fh:
        lines = [ln for ln in fh if not ln.startswith("#") and ln.strip()]
    return list(csv.DictReader(lines))


def _expected_meals() -> int:
    """Meal rows of the log minus those merged (within 30 min of the previous meal)."""
    times = sorted(
        datetime.strptime(r["start"], "%Y-%m-%d %H:%M") for r in _log_rows() if r["kind"] == "meal"
    )
    merged = sum((b - a).total_seconds() <= 30 * 60 for a, b in zip(times, times[1:], strict=False))
    return len(times) - merged


def _true_adjusted_reduction() -> float:
    """Noise-free N-of-1 estimand: log-scale least squares with carbs and meal period."""
    with open(TRUTH, newline="") as fh:
        rows = list(csv.DictReader(fh))
    y = np.log([float(r["glucose_iauc_mgdl_min"]) for r in rows])
    spu = np.array([r["condition"] == "spu" for r in rows], dtype=float)
    carbs = np.array([float(r["carbs_g"]) for r in rows])
    hour = np.array([datetime.strptime(r["meal_time"], "%Y-%m-%d %H:%M").hour for r in rows])
    lunch = ((hour >= 11) & (hour < 16)).astype(float)
    dinner = ((hour >= 16) | (hour < 4)).astype(float)
    x = np.column_stack([np.ones_like(y), spu, carbs - carbs.mean(), lunch, dinner])
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    return 100 * (1 - np.exp(beta[1]))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pdf = tmp_path_factory.mktemp("nb02") / "report.pdf"
    res, nb = run_notebook("02_your_own_cgm.ipynb", {"SEED": 1, "REPORT_PDF": str(pdf)})
    return res, nb, pdf


def test_counts_match_the_bundled_log(run):
    res, _, _ = run
    rows = _log_rows()
    assert res["synthetic"] is True
    assert res["n_meals_found"] == _expected_meals()
    assert res["n_meal_events_recognised"] == sum(r["kind"] == "meal" for r in rows)
    assert res["n_spu_bouts_recognised"] == sum(r["kind"] == "spu" for r in rows)
    with open(TRUTH, newline="") as fh:
        truth = list(csv.DictReader(fh))
    if res["n_meals_included"] == len(truth):
        assert res["n_spu"] == sum(r["condition"] == "spu" for r in truth)
        assert res["n_control"] == sum(r["condition"] == "control" for r in truth)


def test_effect_verdict_and_power(run):
    res, _, _ = run
    assert res["verdict"] and "SPU" in res["verdict"]
    lo, hi = res["reduction_geomean_ci95_low"], res["reduction_geomean_ci95_high"]
    assert lo <= res["reduction_geomean_pct"] <= hi
    # the CI holds the noise-free truth of the bundled person
    assert lo <= _true_adjusted_reduction() <= hi
    # the notebook uses the rules the command line uses by default
    assert res["rules"]["window"] == [0.0, 120.0] and res["rules"]["baseline"] == "premeal"
    assert 0 < res["p_permutation"] <= 1
    assert res["weeks"] == 2  # 14 days from a Monday: two calendar weeks
    if res["meals_needed_80pct"] is not None:
        assert res["more_meals_needed"] == max(
            0, res["meals_needed_80pct"] - res["n_meals_included"]
        )


def test_report_written_and_figures_shown(run):
    _, nb, pdf = run
    assert Path(pdf).read_bytes()[:4] == b"%PDF"
    n_png = sum(
        "image/png" in out.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for out in c.get("outputs", [])
    )
    assert n_png >= 2  # AGP and meal curves/dots at least


def test_the_notebook_gives_the_numbers_of_the_report(run):
    """Notebook 02 and `soleus report` on the same files: the same estimate and verdict."""
    from soleus_analysis.io import read_person
    from soleus_analysis.pipeline import analyze_person

    res, _, _ = run
    a = analyze_person(read_person([CGM], [LOG]), seed=1)
    e = a.effect.iloc[0]
    assert res["reduction_geomean_pct"] == pytest.approx(e["reduction_geomean_pct"], abs=1e-4)
    assert res["reduction_geomean_ci95_low"] == pytest.approx(
        e["reduction_geomean_ci95_low"], abs=1e-4
    )
    assert res["verdict"] == a.verdict
