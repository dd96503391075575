"""Execute notebooks/03_methods_validation.ipynb at a small size and check what it printed.

Ranges come from the printed ground truth (the simulator's noise-free reductions) and from what
20 trials can resolve, not from numbers copied from a run.
"""

from __future__ import annotations

import pytest
from notebook_runner import run_notebook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run():
    return run_notebook(
        "03_methods_validation.ipynb",
        {"N_TRIALS": 20, "N_PER_TRIAL": 12, "SEED": 7, "N_POPULATION": 1500, "N_BOOT": 500},
    )


def test_reports_synthetic_and_size(run):
    res, _ = run
    assert res["synthetic"] is True
    assert res["n_trials"] == 20
    assert res["n_per_trial"] == 12


def test_bias_and_coverage_sane(run):
    res, _ = run
    truth = res["truth_population_pct"]
    # the calibrated effect: about half (the simulator targets 52% in a large cohort)
    assert 45 < truth < 59
    # the estimate and the bias agree with the printed truth
    assert res["mean_estimate_pct"] - res["bias_pp"] == pytest.approx(truth, abs=1e-2)
    assert abs(res["bias_pp"]) < 6
    assert 70 <= res["coverage_pct"] <= 100
    # CIs of the trial's own people's truth cover at least as often as the population truth
    assert res["coverage_sample_pct"] >= 70
    assert 0 < res["mean_ci_width_pp"] < 60
    assert res["rmse_pp"] >= abs(res["bias_pp"])
    # 120-min window sees less of an SPU that runs to 180 min
    assert res["truth_population_120_pct"] < truth
    for key in ("cgm5_bias_pp", "cgm15_bias_pp"):
        assert abs(res[key]) < 10
    for cov in res["coverage_by_ci_method"].values():
        assert 50 <= cov <= 100


def test_proxy_agreement(run):
    res, _ = run
    assert 0 < res["proxy_pearson_r"] <= 1
    assert 0 < res["proxy_spearman_r"] <= 1
    # the proxy sees SPU as lower insulin demand: a positive reduction, like the true insulin
    assert res["true_insulin_reduction_pct"] > 0
    assert res["proxy_reduction_pct"] > 0
    # ... but it restates the glucose reduction: a halved excursion gives half the proxy, and
    # the per-person proxy ratio follows the glucose ratio
    assert res["proxy_halved_excursion_reduction_pct"] == pytest.approx(50.0, abs=0.05)
    assert res["proxy_r2_on_glucose"] > 0.5
    # sensor noise alone on a flat trace makes proxy area
    assert 0 < res["proxy_noise_pct_of_ogtt"] < 100
    assert 0 < res["proxy_noise_pct_of_meal"] < 100


def test_sensor_model_effect_reported(run):
    res, _ = run
    assert set(res["sensor_effect"]) == {"dexcom_g6", "dexcom_g6_drift"}
    for row in res["sensor_effect"].values():
        assert abs(row["bias_pp"]) < 10


def test_figures_drawn(run):
    _, nb = run
    images = [
        out for c in nb.cells for out in c.get("outputs", []) if "image/png" in out.get("data", {})
    ]
    assert len(images) >= 3
