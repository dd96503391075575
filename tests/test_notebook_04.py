"""Run notebooks/04_does_it_work_for_me.ipynb at test size (all people synthetic) and check what
it reports against the stopping rule's own definition, the simulator's truth and an independent
refit of the same simulated person."""

from __future__ import annotations

import numpy as np
import pytest

from soleus_analysis.stats.bayes import STOPPING
from tests.notebook_runner import run_notebook

PARAMS = {"SEED": 3, "DAYS": 12, "N_SERIES": 6, "SERIES_DAYS": 8, "CALIBRATION_PEOPLE": 80}


@pytest.fixture(scope="module")
def run():
    return run_notebook("04_does_it_work_for_me.ipynb", PARAMS)


def test_every_look_applies_the_stopping_rule(run):
    res, _ = run
    looks = res["looks"]
    assert res["synthetic"] is True
    assert looks["meals"][0] == STOPPING.min_meals
    assert np.all(np.diff(looks["meals"]) == STOPPING.look_every)
    for p0, p10, p20, dec in zip(
        looks["P(>0%)"], looks["P(>=10%)"], looks["P(>=20%)"], looks["decision"], strict=True
    ):
        assert 1 >= p0 >= p10 >= p20 >= 0
        expected = (
            "works"
            if p0 >= STOPPING.works
            else "does_not"
            if p10 <= STOPPING.futile
            else "continue"
        )
        assert dec == expected
    stops = [i for i, d in enumerate(looks["decision"]) if d in ("works", "does_not")]
    if stops:
        assert res["stop_meals"] == looks["meals"][stops[0]]
        assert res["stop_decision"] == looks["decision"][stops[0]]
    else:
        assert res["stop_meals"] == looks["meals"][-1]


def test_the_person_and_the_series_against_the_simulators_truth(run):
    res, _ = run
    assert res["n_meals"] >= 3 * PARAMS["DAYS"] - 6
    # the true effect is the simulator's, not a refit: it lies inside the widest look's interval
    looks = res["looks"]
    assert min(looks["95% CrI low"]) <= res["true_reduction_pct"] <= max(looks["95% CrI high"])
    assert res["n_series"] == PARAMS["N_SERIES"]
    assert res["pooled_low"] <= res["pooled_reduction_pct"] <= res["pooled_high"]
    assert res["pooled_low"] - 10 <= res["series_true_mean_pct"] <= res["pooled_high"] + 10


def test_calibration_and_reliability_are_reported(run):
    res, nb = run
    assert 80 <= res["calibration_coverage_pct"] <= 100
    rel = res["reliability"]
    assert sum(rel["n_people"]) == 2 * PARAMS["CALIBRATION_PEOPLE"]
    n_png = sum(
        "image/png" in out.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for out in c.get("outputs", [])
    )
    assert n_png >= 3
