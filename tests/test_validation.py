"""Tests of soleus_analysis.validation.trials (simulated trials, coverage, insulin proxy agreement)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from soleus_analysis.core.errors import InputError
from soleus_analysis.validation.trials import (
    add_coverage,
    analyse_trials,
    binomial_ci,
    covered,
    insulin_proxy_agreement,
    paired_reduction,
    proxy_table,
    run_trials,
    simulate_trials,
    summarise_trials,
)


def _hand_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "estimate": [50.0, 54.0, 48.0, 60.0],
            "ci95_low": [40.0, 45.0, 53.0, 55.0],
            "ci95_high": [60.0, 63.0, 58.0, 65.0],
            "truth_sample": [51.0, 53.0, 49.0, 55.0],
            "truth_population": [52.0] * 4,
        }
    )


def test_coverage_logic_by_hand():
    out = add_coverage(_hand_table(), "population")
    # 52 in [40, 60], [45, 63]; not in [53, 58], [55, 65]
    assert out["covered_population"].tolist() == [True, True, False, False]
    # 51 in [40, 60]; 53 in [45, 63]; 49 not in [53, 58]; 55 on the edge of [55, 65] counts
    assert out["covered_sample"].tolist() == [True, True, False, True]
    assert out["covered"].tolist() == out["covered_population"].tolist()
    assert out["error"].tolist() == [-2.0, 2.0, -4.0, 8.0]
    samp = add_coverage(_hand_table(), "sample")
    assert samp["error"].tolist() == [-1.0, 1.0, -1.0, 5.0]
    assert samp["covered"].tolist() == [True, True, False, True]


def test_missing_ci_is_not_covered():
    tab = _hand_table()
    tab.loc[0, "ci95_low"] = np.nan
    assert not add_coverage(tab)["covered"].iloc[0]


def test_summarise_by_hand():
    s = summarise_trials(add_coverage(_hand_table())).iloc[0]
    assert s["n_trials"] == 4
    assert s["n_failed"] == 0
    assert s["bias_pp"] == pytest.approx(1.0)  # mean(-2, 2, -4, 8)
    assert s["rmse_pp"] == pytest.approx(np.sqrt(88 / 4))
    assert s["sd_estimate_pp"] == pytest.approx(np.sqrt(84 / 3))
    assert s["bias_se_pp"] == pytest.approx(np.sqrt(84 / 3) / 2)
    assert s["mean_estimate"] == pytest.approx(53.0)
    assert s["mean_truth"] == pytest.approx(52.0)
    assert s["coverage_pct"] == pytest.approx(50.0)
    assert s["coverage_population_pct"] == pytest.approx(50.0)
    assert s["coverage_sample_pct"] == pytest.approx(75.0)
    assert s["mean_ci_width_pp"] == pytest.approx((20 + 18 + 5 + 10) / 4)
    assert s["median_ci_width_pp"] == pytest.approx((10 + 18) / 2)
    assert s["n_covered"] == 2
    lo, hi = proportion_confint(2, 4, alpha=0.05, method="wilson")
    assert s["coverage_ci95_low"] == pytest.approx(100 * lo, abs=1e-3)
    assert s["coverage_ci95_high"] == pytest.approx(100 * hi, abs=1e-3)


def test_summarise_groups_and_failed_trials():
    tab = add_coverage(_hand_table())
    tab["method"] = ["a", "a", "b", "b"]
    tab.loc[3, ["estimate", "ci95_low", "ci95_high"]] = np.nan
    tab = add_coverage(tab)
    s = summarise_trials(tab, by=["method"]).set_index("method")
    assert s.loc["a", "bias_pp"] == pytest.approx(0.0)
    assert s.loc["a", "coverage_pct"] == pytest.approx(100.0)
    assert s.loc["b", "n_trials"] == 2
    assert s.loc["b", "n_failed"] == 1
    assert s.loc["b", "bias_pp"] == pytest.approx(-4.0)
    assert s.loc["b", "coverage_pct"] == pytest.approx(0.0)


def test_binomial_ci_is_the_wilson_interval():
    for k, n in ((0, 4), (2, 4), (4, 4), (95, 100), (1, 1), (190, 200)):
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert binomial_ci(k, n) == pytest.approx((100 * lo, 100 * hi), abs=1e-9)
    lo, hi = proportion_confint(9, 10, alpha=0.10, method="wilson")
    assert binomial_ci(9, 10, level=0.90) == pytest.approx((100 * lo, 100 * hi), abs=1e-9)
    assert all(np.isnan(binomial_ci(0, 0)))


def test_covered_rule():
    got = covered([1.0, 1.0, np.nan, 1.0, 1.0], [3.0, 3.0, 3.0, np.nan, 3.0], [2, 3, 2, 2, np.nan])
    assert got.tolist() == [True, True, False, False, False]
    assert bool(covered(0.0, 1.0, 1.0)) and not bool(covered(0.0, 1.0, 1.5))


def test_paired_reduction_by_hand():
    frame = pd.DataFrame(
        {
            "trial": [0, 0, 0, 0, 0, 1, 1],
            "subject": ["a", "a", "b", "b", "c", "d", "d"],
            "condition": ["control", "spu", "control", "spu", "control", "control", "spu"],
            "v": [100.0, 50.0, 300.0, 150.0, 999.0, 10.0, 9.0],
        }
    )
    # c has no SPU test and is left out: trial 0 = 1 - 100/200 = 50%, trial 1 = 10%
    by = paired_reduction(frame, "v", by=["trial"])
    assert by.to_dict() == pytest.approx({0: 50.0, 1: 10.0})
    assert paired_reduction(frame[frame["trial"] == 0], "v") == pytest.approx(50.0)


def test_summarise_needs_columns():
    with pytest.raises(InputError):
        summarise_trials(pd.DataFrame({"estimate": [1.0]}))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.floats(0, 30), st.floats(0, 30), st.floats(30, 70)),
        min_size=2,
        max_size=30,
    )
)
def test_summarise_properties(rows):
    est = np.array([r[0] for r in rows])
    tab = pd.DataFrame(
        {
            "estimate": est,
            "ci95_low": est - np.array([r[1] for r in rows]),
            "ci95_high": est + np.array([r[2] for r in rows]),
            "truth_sample": [r[3] for r in rows],
            "truth_population": 52.0,
        }
    )
    s = summarise_trials(add_coverage(tab)).iloc[0]
    assert s["bias_pp"] == pytest.approx(np.mean(est - 52.0), abs=1e-9)
    assert s["rmse_pp"] >= abs(s["bias_pp"]) - 1e-9
    assert 0.0 <= s["coverage_pct"] <= 100.0
    assert s["coverage_ci95_low"] <= s["coverage_pct"] + 1e-9 <= s["coverage_ci95_high"] + 2e-9
    assert s["mean_ci_width_pp"] >= 0


@pytest.fixture(scope="module")
def trials():
    return simulate_trials("hamilton2022", n_trials=3, n=6, seed=11, cgm_interval=5)


def test_trials_split_and_sample_truth(trials):
    assert trials.n_trials == 3 and trials.n == 6
    assert sorted(set(trials.trial_of.values())) == [0, 1, 2]
    res = analyse_trials(trials, "venous", "t0", truth_population=52.0, n_boot=300)
    assert res["trial"].tolist() == [0, 1, 2]
    assert res["n_pairs"].tolist() == [6, 6, 6]
    # the sample truth of each trial equals the simulator's own ground truth of those people
    truth = trials.study.truth.copy()
    truth["trial"] = truth["subject"].astype(str).map(trials.trial_of)
    for k, part in truth.groupby("trial"):
        m = part.groupby("condition")["glucose_iauc_mgdl_min"].mean()
        expected = 100 * (1 - m["spu"] / m["control"])
        assert res.loc[res["trial"] == k, "truth_sample"].iloc[0] == pytest.approx(expected)
    assert (res["ci95_low"] < res["estimate"]).all()
    assert (res["estimate"] < res["ci95_high"]).all()
    assert (res["truth_population"] == 52.0).all()
    assert (res["error"] == res["estimate"] - 52.0).all()
    # venous samples at the lab times estimate the noise-free reduction closely
    assert (abs(res["estimate"] - res["truth_sample"]) < 15).all()


def test_cgm_analysis_runs(trials):
    res = analyse_trials(trials, "cgm", "premeal", 120.0, truth_population=45.0, n_boot=300)
    assert len(res) == 3
    assert (res["window"] == 120.0).all() and (res["cgm_interval"] == 5).all()
    assert res["estimate"].notna().all()


def test_proxy_agreement_positive(trials):
    tab = proxy_table(trials.study)
    assert len(tab) >= 30  # 18 people x 2 tests, few excluded
    agree = insulin_proxy_agreement(trials.study).iloc[0]
    r = np.corrcoef(tab["proxy_iauc_pmol_l_min"], tab["true_insulin_iauc_uU_ml_min"])[0, 1]
    assert agree["pearson_r"] == pytest.approx(r)
    assert -1 <= agree["pearson_r"] <= 1 and -1 <= agree["spearman_r"] <= 1
    assert agree["pearson_r"] > 0
    # the true insulin iAUC equals the simulator's own truth table
    truth = trials.study.truth.set_index(["subject", "condition"])["insulin_iauc_uU_ml_min"]
    merged = tab.set_index(["subject", "condition"])["true_insulin_iauc_uU_ml_min"]
    assert np.allclose(merged, truth.loc[merged.index])
    assert agree["true_insulin_reduction_pct"] > 0


def test_run_trials_and_bad_options():
    res = run_trials(n_trials=2, n=5, seed=1, n_population=200, n_boot=200)
    assert len(res) == 2 and (res["sampling"] == "venous").all()
    assert res["truth_population"].nunique() == 1
    with pytest.raises(InputError):
        run_trials(n_trials=2, n=5, sampling="capillary")
    with pytest.raises(InputError):
        simulate_trials("freeliving", n_trials=1)
    with pytest.raises(InputError):
        analyse_trials(simulate_trials(n_trials=1, n=3, cgm_interval=None), "cgm")


# ------------------------------------------------------------------ what the proxy can tell


def test_proxy_halved_excursion_gives_half_the_proxy():
    from soleus_analysis.validation.trials import proxy_scaling

    out = proxy_scaling(0.5)
    assert out["glucose_reduction_pct"] == pytest.approx(50.0, abs=1e-6)
    assert out["proxy_reduction_pct"] == pytest.approx(50.0, abs=0.05)


def test_proxy_noise_floor_is_positive():
    from soleus_analysis.validation.trials import proxy_noise_floor

    out = proxy_noise_floor(40, 120.0, "dexcom_g7", seed=2)
    assert out["n_traces"] == 40
    assert out["proxy_iauc_mean_pmol_l_min"] > 0  # noise alone makes proxy area
    assert out["glucose_iauc_mean_mgdl_min"] > 0


def test_proxy_findings_and_statement(trials):
    from soleus_analysis.validation.trials import PROXY_STATEMENT, proxy_findings

    f = proxy_findings(trials.study, n_noise=20).iloc[0]
    assert f["n_people"] >= 15
    # the proxy's ratio follows the glucose ratio closely
    assert f["r2_proxy_on_glucose"] > 0.5
    assert f["scaled_half_proxy_reduction_pct"] == pytest.approx(50.0, abs=0.05)
    assert 0 < f["noise_pct_of_control_test"] < 100
    assert -1 <= f["pearson_r"] <= 1
    assert "proxy" in PROXY_STATEMENT and "not independent evidence" in PROXY_STATEMENT
