"""Tests of soleus_analysis.compare against hand-worked values, scipy/statsmodels references
and closed forms (never against outputs of the code under test)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from soleus_analysis import compare as C
from soleus_analysis.core.errors import InputError
from soleus_analysis.stats.paired import RATIO_CI_METHODS, ratio_intervals
from soleus_analysis.stats.power import crossover_pairs

# ------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------


@pytest.fixture()
def lab() -> pd.DataFrame:
    """Hand-made crossover table.

    Person d has two SPU rows (200, 300 -> mean 250); person e lacks an SPU row (unpaired);
    one row is excluded and one has an unknown condition label.
    Control 100, 200, 300, 400 (mean 250); SPU 50, 150, 150, 250 (mean 150): reduction 40%.
    """
    rows = [
        ("a", "control", 100.0, None),
        ("a", "spu", 50.0, None),
        ("b", "control", 200.0, None),
        ("b", "spu", 150.0, None),
        ("c", "control", 300.0, None),
        ("c", "spu", 150.0, None),
        ("c", "spu", 9999.0, "sensor gap"),
        ("d", "control", 400.0, None),
        ("d", "spu", 200.0, None),
        ("d", "spu", 300.0, None),
        ("e", "control", 500.0, None),
        ("e", "walk", 10.0, None),
    ]
    return pd.DataFrame(
        rows, columns=["subject", "condition", "glucose_iauc_mgdl_min", "excluded_reason"]
    )


def _meals(
    rng: np.random.Generator,
    n_meals: int,
    *,
    reduction: float = 0.0,
    sigma: float = 0.4,
    subject: str = "p",
    start: str = "2024-01-01",
) -> pd.DataFrame:
    """One person's randomised meals: balanced SPU, lognormal iAUC, carbs and time-of-day effects."""
    hours = np.tile([8.0, 13.0, 19.0], n_meals // 3 + 1)[:n_meals]
    day = np.arange(n_meals) // 3
    spu = rng.permutation(np.arange(n_meals) % 2 == 0)
    carbs = rng.uniform(30, 90, n_meals)
    period_eff = np.where(hours == 8, 0.2, np.where(hours == 13, 0.0, -0.1))
    logv = np.log(2500) + 0.01 * (carbs - 60) + period_eff + rng.normal(0, sigma, n_meals)
    logv += np.log1p(-reduction) * spu
    return pd.DataFrame(
        {
            "subject": subject,
            "meal_time": pd.Timestamp(start)
            + pd.to_timedelta(day, "D")
            + pd.to_timedelta(hours, "h"),
            "carbs_g": carbs,
            "condition": np.where(spu, "spu", "control"),
            "spu_minutes": np.where(spu, 30.0, 0.0),
            "iauc_mgdl_min": np.exp(logv),
            "time_of_day_h": hours,
            "excluded_reason": None,
        }
    )


# ------------------------------------------------------------------------------------------
# crossover and per_person
# ------------------------------------------------------------------------------------------


def test_crossover_hand_worked(lab: pd.DataFrame) -> None:
    row = C.crossover(lab, "glucose_iauc_mgdl_min", n_boot=2000, seed=1, min_pairs=2).iloc[0]
    ctrl = np.array([100.0, 200, 300, 400])
    spu = np.array([50.0, 150, 150, 250])
    assert row["n_pairs"] == 4
    assert row["n_unpaired"] == 1
    assert row["n_excluded"] == 2  # the excluded row and the "walk" row
    assert row["mean_control"] == pytest.approx(250.0)
    assert row["mean_treatment"] == pytest.approx(150.0)
    assert row["reduction_mean_ratio_pct"] == pytest.approx(40.0)
    ref_t = stats.ttest_rel(np.log(spu), np.log(ctrl))
    assert row["t_log_ratio"] == pytest.approx(ref_t.statistic)
    assert row["p_log_ratio"] == pytest.approx(ref_t.pvalue)
    assert row["dof"] == 3
    ref_w = stats.wilcoxon(spu - ctrl)
    assert row["p_wilcoxon"] == pytest.approx(ref_w.pvalue)
    # differences -50, -50, -150, -150: mean -100, SD sqrt(10000/3)
    sd = np.sqrt(10000 / 3)
    assert row["mean_diff"] == pytest.approx(-100.0)
    assert row["dz"] == pytest.approx(-100.0 / sd)
    half = stats.t.ppf(0.975, 3) * sd / 2
    assert row["mean_diff_ci95_low"] == pytest.approx(-100 - half)
    assert row["mean_diff_ci95_high"] == pytest.approx(-100 + half)
    assert row["log_offset"] == 0.0
    assert row["reduction_mean_ratio_ci95_low"] < 40 < row["reduction_mean_ratio_ci95_high"]
    # 4 pairs are fewer than the default crossover_min_pairs (6): no interval, no claim
    dflt = C.crossover(lab, "glucose_iauc_mgdl_min", n_boot=200, seed=1).iloc[0]
    assert np.isnan(dflt["reduction_mean_ratio_ci95_low"])
    assert np.isnan(dflt["reduction_mean_ratio_ci95_high"])
    assert dflt["reduction_mean_ratio_pct"] == pytest.approx(40.0)
    assert C.verdict(dflt, estimand="reduction_mean_ratio_pct").startswith(
        "Not enough participants yet to tell: 4 participants"
    )


def test_fieller_interval_hand_worked() -> None:
    """Fieller's interval of the ratio of paired means, worked by hand on four pairs.

    control 1, 2, 3, 4 (mean 2.5, variance 5/3); SPU 1, 1, 2, 3 (mean 1.75, variance 11/12);
    covariance 7/6; q = t_{3, 0.975}; g = q^2 / 4. The limits of theta = mean(SPU)/mean(control)
    are the roots of (2.5^2 - g 5/3) th^2 - 2 (1.75 * 2.5 - g 7/6) th + (1.75^2 - g 11/12).
    """
    c = np.array([1.0, 2, 3, 4])
    t = np.array([1.0, 1, 2, 3])
    q = stats.t.ppf(0.975, 3)
    g = q**2 / 4
    a = 2.5**2 - g * 5 / 3
    b = 1.75 * 2.5 - g * 7 / 6
    k = 1.75**2 - g * 11 / 12
    th_lo = (b - np.sqrt(b * b - a * k)) / a
    th_hi = (b + np.sqrt(b * b - a * k)) / a
    assert (th_lo, th_hi) == pytest.approx((0.3468, 1.0530), abs=1e-3)
    # at each limit the paired t-test of SPU - theta * control has p = 0.05 exactly
    for th in (th_lo, th_hi):
        assert stats.ttest_1samp(t - th * c, 0.0).pvalue == pytest.approx(0.05)
    df = pd.DataFrame({"subject": np.repeat(np.arange(4), 2), "condition": ["control", "spu"] * 4})
    df["v"] = np.column_stack([c, t]).ravel()
    row = C.crossover(df, "v", ci_method="fieller", min_pairs=2).iloc[0]
    assert row["reduction_mean_ratio_ci95_low"] == pytest.approx(100 * (1 - th_hi))
    assert row["reduction_mean_ratio_ci95_high"] == pytest.approx(100 * (1 - th_lo))
    # the interval includes 0% exactly when the paired t-test of the differences does not reject
    assert row["p_mean_diff"] == pytest.approx(stats.ttest_rel(t, c).pvalue)
    assert row["p_mean_diff"] > 0.05 and row["reduction_mean_ratio_ci95_low"] < 0
    # a control mean not clearly above 0 at this level: no bounded interval
    flat = C.crossover(
        df.assign(v=np.column_stack([[1.0, 0.1, 9.0, 0.2], [0.5, 0.1, 8.0, 0.1]]).ravel()),
        "v",
        ci_method="fieller",
        min_pairs=2,
    ).iloc[0]
    assert flat["reduction_mean_ratio_ci95_low"] == -np.inf
    assert flat["reduction_mean_ratio_ci95_high"] == np.inf


def test_fieller_decision_is_the_paired_t_test() -> None:
    rng = np.random.default_rng(4)
    m = np.exp(rng.normal(0, 1, (400, 8)))
    c, t = m * np.exp(rng.normal(0, 0.3, m.shape)), m * 0.8 * np.exp(rng.normal(0, 0.3, m.shape))
    lo, hi = ratio_intervals(c, t, ["fieller"])["fieller"]
    p = stats.ttest_rel(t, c, axis=1).pvalue
    np.testing.assert_array_equal((lo > 0) | (hi < 0), p < 0.05)


def test_crossover_interval_methods_and_errors(lab: pd.DataFrame) -> None:
    for method in RATIO_CI_METHODS:
        row = C.crossover(lab, "glucose_iauc_mgdl_min", n_boot=300, ci_method=method, min_pairs=2)
        lo, hi = row.iloc[0][["reduction_mean_ratio_ci95_low", "reduction_mean_ratio_ci95_high"]]
        assert lo <= hi, method
    with pytest.raises(InputError, match="ci_method"):
        C.crossover(lab, "glucose_iauc_mgdl_min", ci_method="wild")


def test_crossover_several_measures_and_seed(lab: pd.DataFrame) -> None:
    lab = lab.assign(insulin=lab["glucose_iauc_mgdl_min"] * 2)
    a = C.crossover(lab, ["glucose_iauc_mgdl_min", "insulin"], n_boot=500, seed=3)
    b = C.crossover(lab, ["glucose_iauc_mgdl_min", "insulin"], n_boot=500, seed=3)
    assert list(a["measure"]) == ["glucose_iauc_mgdl_min", "insulin"]
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[1, "reduction_mean_ratio_pct"] == pytest.approx(40.0)


def test_crossover_zero_iauc_uses_documented_offset() -> None:
    ctrl = np.array([1000.0, 2000, 1500, 800, 1200])
    spu = np.array([0.0, 900, 700, 300, 600])
    df = pd.DataFrame(
        {
            "subject": np.repeat(list("abcde"), 2),
            "condition": ["control", "spu"] * 5,
            "v": np.column_stack([ctrl, spu]).ravel(),
        }
    )
    row = C.crossover(df, "v", n_boot=200).iloc[0]
    positive = np.array([1000.0, 2000, 1500, 800, 1200, 900, 700, 300, 600])
    off = 0.1 * np.median(positive)
    assert row["log_offset"] == pytest.approx(off)
    ref = stats.ttest_rel(np.log(spu + off), np.log(ctrl + off))
    assert row["p_log_ratio"] == pytest.approx(ref.pvalue)


def test_per_person_values(lab: pd.DataFrame) -> None:
    pp = C.per_person(lab, "glucose_iauc_mgdl_min")
    assert list(pp["subject"]) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(pp["control"], [100, 200, 300, 400])
    np.testing.assert_allclose(pp["treatment"], [50, 150, 150, 250])
    np.testing.assert_allclose(pp["diff"], [-50, -50, -150, -150])
    np.testing.assert_allclose(pp["ratio"], [0.5, 0.75, 0.5, 0.625])
    np.testing.assert_allclose(pp["reduction_mean_ratio_pct"], [50, 25, 50, 37.5])


def test_missing_column_is_input_error(lab: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="missing column"):
        C.crossover(lab, "insulin_iauc_uU_ml_min")


@settings(max_examples=15, deadline=None)
@given(
    vals=st.lists(st.tuples(st.floats(1, 1e4), st.floats(1, 1e4)), min_size=3, max_size=12),
    scale=st.floats(0.01, 100),
)
def test_crossover_reduction_formula_and_scale_invariance(vals, scale) -> None:
    c = np.array([v[0] for v in vals])
    t = np.array([v[1] for v in vals])
    n = len(vals)
    df = pd.DataFrame({"subject": np.repeat(np.arange(n), 2), "condition": ["control", "spu"] * n})
    df["v"] = np.column_stack([c, t]).ravel()
    df["w"] = df["v"] * scale
    res = C.crossover(df, ["v", "w"], n_boot=200, seed=0)
    expected = 100 * (1 - t.mean() / c.mean())
    assert res.loc[0, "reduction_mean_ratio_pct"] == pytest.approx(expected, abs=1e-9)
    assert res.loc[1, "reduction_mean_ratio_pct"] == pytest.approx(expected, abs=1e-6)
    assert res.loc[0, "p_log_ratio"] == pytest.approx(res.loc[1, "p_log_ratio"], nan_ok=True)


@pytest.mark.slow
def test_bootstrap_ci_coverage_lognormal() -> None:
    """Known lognormal paired model: mean SPU/control ratio is exactly 0.48 (52% reduction)."""
    rng = np.random.default_rng(20240601)
    n, reps, true = 12, 300, 52.0
    subj = np.repeat(np.arange(n), 2)
    cond = np.tile(["control", "spu"], n)
    hits = 0
    for rep in range(reps):
        m = np.exp(rng.normal(np.log(3000), 0.5, n))
        c = m * np.exp(rng.normal(0, 0.3, n))
        t = m * 0.48 * np.exp(rng.normal(0, 0.3, n))
        df = pd.DataFrame(
            {"subject": subj, "condition": cond, "v": np.column_stack([c, t]).ravel()}
        )
        row = C.crossover(df, "v", n_boot=1000, seed=rep).iloc[0]
        hits += (
            row["reduction_mean_ratio_ci95_low"] <= true <= row["reduction_mean_ratio_ci95_high"]
        )
    assert 0.90 <= hits / reps <= 0.99


# ------------------------------------------------------------------------------------------
# mixed model and dose-response
# ------------------------------------------------------------------------------------------


def _cohort(rng: np.random.Generator, n_sub: int = 12, n_meals: int = 30, beta: float = -900.0):
    rows = []
    for s in range(n_sub):
        a = rng.normal(3000, 600)
        hours = np.tile([8.0, 13.0, 19.0], n_meals // 3)
        spu = rng.permutation(np.arange(n_meals) % 2 == 0)
        carbs = rng.uniform(30, 90, n_meals)
        period = np.where(hours == 8, 300.0, np.where(hours == 13, 0.0, -200.0))
        y = a + beta * spu + 20.0 * (carbs - 60) + period + rng.normal(0, 500, n_meals)
        rows.append(
            pd.DataFrame(
                {
                    "subject": f"s{s}",
                    "condition": np.where(spu, "spu", "control"),
                    "carbs_g": carbs,
                    "time_of_day_h": hours,
                    "spu_minutes": np.where(spu, 30.0, 0.0),
                    "iauc_mgdl_min": y,
                    "excluded_reason": None,
                    "_a": a,
                    "_period": period,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_mixed_model_recovers_planted_effect() -> None:
    rng = np.random.default_rng(7)
    beta = -900.0
    df = _cohort(rng, beta=beta)
    res = C.mixed_model(df).set_index("term")
    eff = res.loc["condition[spu]"]
    assert eff["ci95_low"] <= beta <= eff["ci95_high"]
    assert abs(eff["estimate"] - beta) < 3 * eff["se"]
    assert res["model"].iloc[0] == "mixedlm"
    assert res["n_subjects"].iloc[0] == 12
    assert res["covariates"].iloc[0] == "carbs_g,time_of_day"
    assert res.loc["carbs_g", "ci95_low"] <= 20.0 <= res.loc["carbs_g", "ci95_high"]
    # planted reduction: -beta over the noise-free control mean of these meals
    mu_c = float((df["_a"] + 20.0 * (df["carbs_g"] - df["carbs_g"].mean()) + df["_period"]).mean())
    red = res.loc["reduction_mean_ratio_pct"]
    assert red["ci95_low"] <= -100 * beta / mu_c <= red["ci95_high"]


def test_mixed_model_single_person_falls_back_to_ols() -> None:
    rng = np.random.default_rng(1)
    df = _cohort(rng, n_sub=1, n_meals=30)
    res = C.mixed_model(df, covariates=("carbs_g",)).set_index("term")
    x = np.column_stack(
        [
            np.ones(len(df)),
            (df["condition"] == "spu").astype(float),
            df["carbs_g"] - df["carbs_g"].mean(),
        ]
    )
    ref = sm.OLS(df["iauc_mgdl_min"].to_numpy(), x).fit()
    assert res["model"].iloc[0] == "ols"
    assert res.loc["condition[spu]", "estimate"] == pytest.approx(ref.params[1])
    assert res.loc["condition[spu]", "se"] == pytest.approx(ref.bse[1])
    assert res.loc["condition[spu]", "p"] == pytest.approx(ref.pvalues[1])


def test_dose_response_single_person_matches_ols() -> None:
    rng = np.random.default_rng(5)
    n = 60
    dose = rng.choice([0.0, 10.0, 20.0, 30.0, 45.0], n)
    carbs = rng.uniform(30, 90, n)
    y = 3000 - 40.0 * dose + 15 * carbs + rng.normal(0, 300, n)
    df = pd.DataFrame(
        {
            "subject": "p",
            "condition": np.where(dose > 0, "spu", "control"),
            "spu_minutes": np.where(dose > 0, dose, np.nan),  # control doses missing -> 0
            "carbs_g": carbs,
            "iauc_mgdl_min": y,
        }
    )
    row = C.dose_response(df, covariates=("carbs_g",)).iloc[0]
    ref = sm.OLS(y, sm.add_constant(np.column_stack([dose / 10, carbs]))).fit()
    assert row["term"] == "spu_per_10min"
    assert row["model"] == "ols"
    assert row["estimate"] == pytest.approx(ref.params[1])
    lo, hi = ref.conf_int()[1]
    assert row["ci95_low"] == pytest.approx(lo)
    assert row["ci95_high"] == pytest.approx(hi)
    assert row["ci95_low"] <= -400.0 <= row["ci95_high"]


def test_dose_response_cohort_uses_mixed_model() -> None:
    df = _cohort(np.random.default_rng(3), n_sub=6, n_meals=30, beta=-900.0)
    row = C.dose_response(df).iloc[0]
    assert row["model"] == "mixedlm"
    # all SPU meals are 30 min: slope per 10 min is beta / 3
    assert row["ci95_low"] <= -300.0 <= row["ci95_high"]


# ------------------------------------------------------------------------------------------
# N-of-1
# ------------------------------------------------------------------------------------------


def test_n_of_1_unadjusted_equals_two_sample_t() -> None:
    df = _meals(np.random.default_rng(11), 30, reduction=0.3)
    row = C.n_of_1(df, adjust=(), n_perm=0).iloc[0]
    ly = np.log(df["iauc_mgdl_min"].to_numpy())
    spu = (df["condition"] == "spu").to_numpy()
    ref = stats.ttest_ind(ly[spu], ly[~spu])
    diff = ly[spu].mean() - ly[~spu].mean()
    assert row["reduction_geomean_pct"] == pytest.approx(100 * (1 - np.exp(diff)))
    assert row["p_model"] == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert row["reduction_geomean_ci95_low"] == pytest.approx(100 * (1 - np.exp(ci.high)))
    assert row["reduction_geomean_ci95_high"] == pytest.approx(100 * (1 - np.exp(ci.low)))
    v = df["iauc_mgdl_min"].to_numpy()
    assert row["reduction_mean_ratio_pct"] == pytest.approx(
        100 * (1 - v[spu].mean() / v[~spu].mean())
    )
    assert (row["n_spu"], row["n_control"]) == (15, 15)


def test_n_of_1_adjusted_matches_statsmodels() -> None:
    df = _meals(np.random.default_rng(12), 42, reduction=0.3)
    row = C.n_of_1(df, n_perm=0).iloc[0]
    h = df["time_of_day_h"]
    x = np.column_stack(
        [
            np.ones(len(df)),
            df["carbs_g"] - df["carbs_g"].mean(),
            (h == 13).astype(float),
            (h == 19).astype(float),
            (df["condition"] == "spu").astype(float),
        ]
    )
    ref = sm.OLS(np.log(df["iauc_mgdl_min"].to_numpy()), x).fit()
    assert row["reduction_geomean_pct"] == pytest.approx(100 * (1 - np.exp(ref.params[-1])))
    assert row["p_model"] == pytest.approx(ref.pvalues[-1])
    assert row["covariates"] == "carbs_g,time_of_day_h"


def test_permutation_p_matches_exact_enumeration() -> None:
    rng = np.random.default_rng(4)
    y = rng.lognormal(7, 0.5, 8) * np.array([1, 1, 1, 1, 0.6, 0.6, 0.6, 0.6])
    cond = np.array(["control"] * 4 + ["spu"] * 4)
    df = pd.DataFrame({"subject": "p", "condition": cond, "iauc_mgdl_min": y})
    ly = np.log(y)
    t_obs = abs(stats.ttest_ind(ly[4:], ly[:4]).statistic)
    t_all = []
    for idx in itertools.combinations(range(8), 4):
        mask = np.zeros(8, bool)
        mask[list(idx)] = True
        t_all.append(abs(stats.ttest_ind(ly[mask], ly[~mask]).statistic))
    exact = np.mean(np.array(t_all) >= t_obs - 1e-9)
    row = C.n_of_1(df, adjust=(), n_perm=20000, seed=2).iloc[0]
    assert row["p_permutation"] == pytest.approx(exact, abs=0.015)


def test_block_of_one_meal_cannot_be_permuted() -> None:
    df = _meals(np.random.default_rng(8), 20, reduction=0.5).assign(block=np.arange(20))
    row = C.n_of_1(df, n_perm=300, block="block").iloc[0]
    assert row["p_permutation"] == 1.0


def test_blocked_permutation_reproducible_and_valid() -> None:
    df = _meals(np.random.default_rng(9), 24, reduction=0.4)
    df["block"] = np.arange(24) // 6
    a = C.n_of_1(df, n_perm=500, seed=5, block="block").iloc[0]
    b = C.n_of_1(df, n_perm=500, seed=5, block="block").iloc[0]
    assert a["p_permutation"] == b["p_permutation"]
    assert 1 / 501 <= a["p_permutation"] <= 1


def test_permutation_false_positive_rate_and_power() -> None:
    rng = np.random.default_rng(2025)
    null = pd.concat([_meals(rng, 36, subject=f"n{i}") for i in range(200)], ignore_index=True)
    res = C.n_of_1(null, n_perm=199, seed=1)
    p = res["p_permutation"].to_numpy()
    assert np.mean(p <= 0.05) <= 0.085
    assert stats.kstest(p, "uniform").pvalue > 0.001
    strong = _meals(rng, 36, reduction=0.6, sigma=0.3)
    assert C.n_of_1(strong, n_perm=2000).iloc[0]["p_permutation"] < 0.01


def test_n_of_1_few_meals_says_so() -> None:
    df = _meals(np.random.default_rng(3), 3, reduction=0.3)
    row = C.n_of_1(df, n_perm=100).iloc[0]
    assert np.isnan(row["p_permutation"])
    assert row["verdict"].startswith("Not enough meals yet to tell")


# ------------------------------------------------------------------------------------------
# effect over time
# ------------------------------------------------------------------------------------------


def test_effect_over_time_per_week_equals_within_week_log_difference() -> None:
    rng = np.random.default_rng(21)
    df = _meals(rng, 42, reduction=0.4)  # 14 days from Monday 2024-01-01: two ISO weeks
    res = C.effect_over_time(df, adjust=())
    assert list(res["period_start"]) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-08")]
    ly = np.log(df["iauc_mgdl_min"].to_numpy())
    spu = (df["condition"] == "spu").to_numpy()
    week = (df["meal_time"] >= "2024-01-08").to_numpy()
    for k, w in enumerate([~week, week]):
        d = ly[w & spu].mean() - ly[w & ~spu].mean()
        assert res.loc[k, "reduction_geomean_pct"] == pytest.approx(100 * (1 - np.exp(d)))
        assert res.loc[k, "n_spu"] == (w & spu).sum()


def test_effect_over_time_detects_fading() -> None:
    rng = np.random.default_rng(22)
    df = _meals(rng, 84, reduction=0.0, sigma=0.15)  # four weeks
    days = (df["meal_time"] - df["meal_time"].min()).dt.days.to_numpy()
    ratio = 0.4 + 0.6 * days / 27  # effect fades from 60% to 0%
    spu = (df["condition"] == "spu").to_numpy()
    df.loc[spu, "iauc_mgdl_min"] *= ratio[spu]
    res = C.effect_over_time(df)
    assert res["trend_ratio_change_pct"].iloc[0] > 0
    assert res["p_trend"].iloc[0] < 0.01
    assert res["reduction_geomean_pct"].iloc[0] > res["reduction_geomean_pct"].iloc[-1]


# ------------------------------------------------------------------------------------------
# verdict
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "start"),
    [
        (
            {
                "reduction_geomean_pct": 35.2,
                "reduction_geomean_ci95_low": 20.4,
                "reduction_geomean_ci95_high": 48.0,
                "n_spu": 20,
                "n_control": 20,
            },
            "SPU lowered your post-meal glucose rise by about 35% (95% CI 20% to 48%).",
        ),
        (
            {
                "reduction_geomean_pct": 20.0,
                "reduction_geomean_ci95_low": -40.0,
                "reduction_geomean_ci95_high": 55.0,
                "n_spu": 10,
                "n_control": 10,
            },
            "Not enough meals yet to tell",
        ),
        (
            {
                "reduction_geomean_pct": 3.0,
                "reduction_geomean_ci95_low": -10.0,
                "reduction_geomean_ci95_high": 14.0,
                "n_spu": 40,
                "n_control": 40,
            },
            "No clear effect",
        ),
        (
            {
                "reduction_geomean_pct": 40.0,
                "reduction_geomean_ci95_low": 10.0,
                "reduction_geomean_ci95_high": 60.0,
                "n_spu": 3,
                "n_control": 20,
            },
            "Not enough meals yet to tell: 3 SPU and 20 control meals",
        ),
        (
            {
                "reduction_geomean_pct": -15.0,
                "reduction_geomean_ci95_low": -25.0,
                "reduction_geomean_ci95_high": -5.0,
                "n_spu": 30,
                "n_control": 30,
            },
            "Your post-meal glucose rise was about 15% higher with SPU",
        ),
        (
            {
                "reduction_geomean_pct": 50.0,
                "reduction_geomean_ci95_low": 30.0,
                "reduction_geomean_ci95_high": 60.0,
                "n_pairs": 2,
            },
            "Not enough participants yet to tell",
        ),
        (
            {
                "reduction_geomean_pct": np.nan,
                "reduction_geomean_ci95_low": np.nan,
                "reduction_geomean_ci95_high": np.nan,
                "n_spu": 9,
                "n_control": 9,
            },
            "Not enough meals yet to tell",
        ),
    ],
)
def test_verdict_thresholds(row: dict, start: str) -> None:
    assert C.verdict(row).startswith(start)


def test_verdict_mixed_model_row() -> None:
    row = {
        "term": "reduction_mean_ratio_pct",
        "estimate": 30.4,
        "ci95_low": 12.0,
        "ci95_high": 45.0,
    }
    assert C.verdict(row, who="participants'") == (
        "SPU lowered participants' post-meal glucose rise by about 30% (95% CI 12% to 45%)."
    )


# ------------------------------------------------------------------------------------------
# power
# ------------------------------------------------------------------------------------------


def test_power_crossover_matches_noncentral_t() -> None:
    within_cv, red = 0.3, 30.0
    sw = np.sqrt(np.log1p(within_cv**2))
    res = C.power_crossover(red, [6, 10, 14], within_cv=within_cv, test="ttest", n_sim=3000, seed=1)
    for _, r in res.iterrows():
        n = r["n"]
        ncp = np.log(1 - red / 100) / (np.sqrt(2) * sw) * np.sqrt(n)
        crit = stats.t.ppf(0.975, n - 1)
        exact = stats.nct.sf(crit, n - 1, ncp) + stats.nct.cdf(-crit, n - 1, ncp)
        assert r["power"] == pytest.approx(exact, abs=0.035)
        assert r["power_ci95_low"] <= r["power"] <= r["power_ci95_high"]
    assert C.n_needed(res, 0.8) == res.loc[res["power"] >= 0.8, "n"].min()


def test_power_crossover_is_the_reported_rule() -> None:
    """The issue's case: 25% reduction, within-CV 0.3, between-CV 0.8, n = 20.

    The log-ratio t-test says about 84%; the power of the decision the report makes (the
    crossover's default interval above 0, i.e. the verdict "SPU lowered ...") is checked against
    a brute-force simulation through :func:`crossover` and :func:`verdict` themselves.
    """
    red, n, sw, sb = 25.0, 20, np.sqrt(np.log1p(0.3**2)), np.sqrt(np.log1p(0.8**2))
    res = C.power_crossover(red, [n], within_cv=0.3, cv_between=0.8, n_sim=1500, seed=3)
    t_test = C.power_crossover(red, [n], within_cv=0.3, cv_between=0.8, test="ttest", n_sim=1500)
    assert res["test"].iloc[0] == "reported" and res["ci_method"].iloc[0] == "fieller_lognormal"
    rng = np.random.default_rng(2024)
    subj, cond = np.repeat(np.arange(n), 2), np.tile(["control", "spu"], n)
    reps, hits = 400, 0
    for rep in range(reps):
        m = np.exp(rng.normal(0, sb, n))
        c = m * np.exp(rng.normal(0, sw, n))
        t = m * (1 - red / 100) * np.exp(rng.normal(0, sw, n))
        df = pd.DataFrame(
            {"subject": subj, "condition": cond, "v": np.column_stack([c, t]).ravel()}
        )
        row = C.crossover(df, "v", n_boot=1000, seed=rep).iloc[0]
        hits += C.verdict(row, estimand="reduction_mean_ratio_pct").startswith("SPU lowered")
    brute = hits / reps
    se = np.sqrt(brute * (1 - brute) / reps + brute * (1 - brute) / 1500)
    assert res["power"].iloc[0] == pytest.approx(brute, abs=3.5 * se)
    assert t_test["power"].iloc[0] - brute > 0.12  # the t-test overstated the reported power
    assert 0.5 < res["power"].iloc[0] < 0.75
    # n_needed follows the reported rule: 20 is enough for the t-test (noncentral t, closed
    # form), not for the decision the report makes
    ncp = -np.log(1 - red / 100) / (np.sqrt(2) * sw) * np.sqrt(n)
    q = stats.t.ppf(0.975, n - 1)
    exact = stats.nct.sf(q, n - 1, ncp) + stats.nct.cdf(-q, n - 1, ncp)
    assert exact > 0.8 and t_test["power"].iloc[0] == pytest.approx(exact, abs=0.035)
    assert C.n_needed(t_test, 0.8) == 20
    assert C.n_needed(res, 0.8) is None


def test_power_crossover_heterogeneity_and_minimum() -> None:
    # the simulated population reduction is exact whatever the heterogeneity
    c, t = crossover_pairs(
        np.random.default_rng(0),
        (400, 1000),
        reduction_pct=30.0,
        sigma_within=0.3,
        sigma_between=0.5,
        effect_sd=0.4,
        effect_level_corr=0.6,
    )
    assert t.mean() / c.mean() == pytest.approx(0.7, abs=0.006)
    res = C.power_crossover(30.0, [4, 12], effect_sd=0.4, effect_level_corr=0.6, n_sim=300)
    assert res["power"].iloc[0] == 0.0  # below crossover_min_pairs the report makes no claim
    homo = C.power_crossover(30.0, [12], n_sim=300)
    assert res["power"].iloc[1] < homo["power"].iloc[0]  # heterogeneity costs power
    assert C.n_needed(res, 0.99) is None
    null = C.power_crossover(0.0, [10], cv_between=1.5, n_sim=1000, seed=5)
    assert null["power"].iloc[0] <= 0.055  # false positives of the reported rule
    with pytest.raises(InputError, match="test"):
        C.power_crossover(30.0, [10], test="bootstrap")


def test_power_n_of_1_matches_noncentral_t() -> None:
    cv, red = 0.5, 30.0
    s = np.sqrt(np.log1p(cv**2))
    res = C.power_n_of_1(red, [20, 40, 80], residual_cv=cv, n_sim=3000, seed=2)
    for _, r in res.iterrows():
        m = r["meals"]
        n1, n0 = m // 2, m - m // 2
        ncp = np.log(1 - red / 100) / (s * np.sqrt(1 / n1 + 1 / n0))
        crit = stats.t.ppf(0.975, m - 2)
        exact = stats.nct.sf(crit, m - 2, ncp) + stats.nct.cdf(-crit, m - 2, ncp)
        assert r["power"] == pytest.approx(exact, abs=0.035)


def test_power_n_of_1_from_data_uses_own_variability() -> None:
    df = _meals(np.random.default_rng(31), 60, reduction=0.3, sigma=0.2)
    res = C.power_n_of_1(30.0, [20], from_data=df, n_sim=200)
    # residual SD on the log scale should be near the simulated 0.2
    assert res["residual_cv"].iloc[0] == pytest.approx(np.sqrt(np.expm1(0.2**2)), abs=0.07)
    assert res["n_covariates"].iloc[0] == 3


def test_power_by_simulation_generic() -> None:
    def simulate(n, rng):
        return rng.random(n)

    def analyse(data):
        return bool(data.mean() > 0.5)

    res = C.power_by_simulation(simulate, analyse, [1, 5], n_sim=400, seed=0)
    assert list(res["n"]) == [1, 5]
    # P(mean of n uniforms > 0.5) = 0.5 by symmetry
    assert np.all(np.abs(res["power"] - 0.5) < 0.1)
    again = C.power_by_simulation(simulate, analyse, [5], n_sim=400, seed=0)
    assert again["power"].iloc[0] == res["power"].iloc[1]

    res_p = C.power_by_simulation(lambda n, rng: rng.random(), lambda p: p, [3], n_sim=2000)
    assert res_p["power"].iloc[0] == pytest.approx(0.05, abs=0.015)


def test_effect_over_time_names_its_interval_from_the_level() -> None:
    df = _meals(np.random.default_rng(21), 42, reduction=0.4)
    res = C.effect_over_time(df, adjust=(), ci=0.9)
    for stem in ("reduction_geomean", "trend_ratio_change"):
        assert {f"{stem}_ci90_low", f"{stem}_ci90_high"} <= set(res.columns)
    assert not any("ci95" in c for c in res.columns)
    assert (res["reduction_geomean_ci90_low"] < res["reduction_geomean_pct"]).all()


def test_pooled_crossover_without_interval_says_why() -> None:
    """A pooled crossover of 5 people states its estimate but no interval, and says why."""
    from soleus_analysis.core.rules import Rules
    from soleus_analysis.pipeline import _crossover_fit, _pooled_row
    from soleus_analysis.report.text import pooled_sentence

    rng = np.random.default_rng(9)
    n = 5
    c = np.exp(rng.normal(8, 0.8, n))
    t = 0.7 * c * np.exp(rng.normal(0, 0.2, n))
    ok = pd.DataFrame(
        {
            "subject": np.repeat([f"S{i}" for i in range(n)], 2),
            "condition": ["control", "spu"] * n,
            "iauc_mgdl_min": np.column_stack([c, t]).ravel(),
        }
    )
    rules = Rules(n_boot=200)
    row = _pooled_row(
        "crossover",
        "reduction_mean_ratio_pct",
        "paired t-test",
        lambda: _crossover_fit(ok, rules, 0),
        ok,
        rules,
    )
    assert row["estimate_pct"] == pytest.approx(100 * (1 - t.mean() / c.mean()))
    assert np.isnan(row["ci95_low"]) and np.isnan(row["ci95_high"])
    assert "not enough people for an interval" in row["note"]
    assert "no interval: not enough people" in pooled_sentence(row)
