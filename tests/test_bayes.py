"""The Bayesian N-of-1 and the pooled series, against computations that do not share its algebra.

- the closed-form posterior against a Gibbs sampler written here from the full conditionals;
- the pooled model against brute-force numerical integration over (mu, tau);
- hand-worked limits (a flat effect prior gives the difference of mean logs);
- a small calibration run from a generating model unlike the fitted one (synthetic people).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from soleus_analysis.stats.bayes import (
    PRIOR,
    STOPPING,
    BayesPrior,
    Posterior,
    StoppingRule,
    _posterior,
    bayes_n_of_1,
    meals_to_decision,
    pooled_n_of_1,
    sequential_decision,
)
from soleus_analysis.validation.bayes import BayesScenario, calibration_table, simulate_people


def _gibbs(y, z, d, prior: BayesPrior, n_iter=40000, seed=1):
    """Gibbs sampler of delta for flat nuisance b, delta ~ N(0, s2 v_d), s2 ~ IG(a0, b0)."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([z, d])
    n, p = x.shape
    v_d = (prior.effect_sd / prior.sigma0) ** 2
    pen = np.zeros(p)
    pen[-1] = 1.0 / v_d
    prec = x.T @ x + np.diag(pen)
    cov = np.linalg.inv(prec)
    m = cov @ x.T @ y
    chol = np.linalg.cholesky(cov)
    s2 = 0.25
    out = np.empty(n_iter)
    for i in range(n_iter):
        beta = m + np.sqrt(s2) * chol @ rng.standard_normal(p)
        rss = float(np.sum((y - x @ beta) ** 2))
        shape = prior.a0 + n / 2 + 0.5
        scale = prior.b0 + rss / 2 + beta[-1] ** 2 / (2 * v_d)
        s2 = scale / rng.gamma(shape)
        out[i] = beta[-1]
    return out[2000:]


def _toy(seed=0, n=20, effect=-0.3, sd=0.4):
    rng = np.random.default_rng(seed)
    d = np.tile([0.0, 1.0], n // 2)
    carbs = rng.uniform(-2, 2, n)
    y = 8 + 0.1 * carbs + effect * d + rng.normal(0, sd, n)
    z = np.column_stack([np.ones(n), carbs])
    return y, z, d


def test_closed_form_posterior_matches_a_gibbs_sampler():
    y, z, d = _toy()
    post = _posterior(y, z, d, None, PRIOR)
    draws = _gibbs(y, z, d, PRIOR)
    assert post.mean == pytest.approx(draws.mean(), abs=0.006)
    assert post.sd == pytest.approx(draws.std(), rel=0.03)
    for q in (0.025, 0.5, 0.975):
        assert post.quantile(q) == pytest.approx(np.quantile(draws, q), abs=0.015)


def test_flat_effect_prior_gives_the_difference_of_mean_logs():
    """In the limit of flat priors (a0, b0 -> 0, v_d -> inf) the conjugate posterior is the
    classical one worked by hand: the difference of mean logs, with the pooled residual SS
    over n - 1 degrees of freedom (the effect's sigma-scaled prior keeps its 1/2 in a_n, so
    one more than the t-test's n - 2)."""
    y, _, d = _toy(seed=3, n=16)
    flat = BayesPrior(effect_sd=1e3, a0=1e-9, sigma0=1e-4)
    post = _posterior(y, np.ones((len(y), 1)), d, None, flat)
    diff = y[d == 1].mean() - y[d == 0].mean()
    assert post.mean == pytest.approx(diff, abs=1e-6)
    n1, n0 = int(d.sum()), int((1 - d).sum())
    ssr = np.sum((y[d == 1] - y[d == 1].mean()) ** 2) + np.sum((y[d == 0] - y[d == 0].mean()) ** 2)
    dof = n1 + n0 - 1
    se = np.sqrt(ssr / dof * (1 / n1 + 1 / n0))
    assert post.quantile(0.975) == pytest.approx(diff + stats.t.ppf(0.975, dof) * se, rel=1e-4)


def test_blocks_with_a_vanishing_prior_sd_are_the_model_without_blocks():
    y, z, d = _toy(seed=5, n=24)
    codes = np.repeat(np.arange(12), 2)
    with_blocks = _posterior(y, z, d, codes, BayesPrior(block_sd_scale=1e-6))
    without = _posterior(y, z, d, None, PRIOR)
    assert with_blocks.mean == pytest.approx(without.mean, abs=1e-6)
    assert with_blocks.sd == pytest.approx(without.sd, rel=1e-5)


def test_blocks_that_exist_are_found_and_sharpen_the_estimate():
    rng = np.random.default_rng(2)
    n = 40
    codes = np.repeat(np.arange(20), 2)
    d = np.concatenate([rng.permutation([0.0, 1.0]) for _ in range(20)])
    y = 8 + rng.normal(0, 0.8, 20)[codes] - 0.3 * d + rng.normal(0, 0.2, n)
    z = np.ones((n, 1))
    blk = _posterior(y, z, d, codes, PRIOR)
    plain = _posterior(y, z, d, None, PRIOR)
    assert blk.sd < 0.6 * plain.sd
    assert abs(blk.mean + 0.3) < 3 * blk.sd


def _meals(n=24, effect=-0.35, seed=0, sd=0.3):
    rng = np.random.default_rng(seed)
    spu = np.tile([1, 0], n // 2).astype(bool)
    rng.shuffle(spu)
    t = pd.Timestamp("2026-03-01 08:00") + pd.to_timedelta(np.arange(n) * 8, unit="h")
    carbs = rng.uniform(30, 90, n)
    y = np.exp(8 + 0.01 * (carbs - 60) + effect * spu + rng.normal(0, sd, n))
    return pd.DataFrame(
        {
            "subject": "p1",
            "meal_time": t,
            "carbs_g": carbs,
            "condition": np.where(spu, "spu", "control"),
            "iauc_mgdl_min": y,
        }
    )


def test_result_row_states_probabilities_decision_and_rules():
    row = bayes_n_of_1(_meals()).iloc[0]
    p0, p10, p20 = (
        row["p_reduction_ge_0pct"],
        row["p_reduction_ge_10pct"],
        row["p_reduction_ge_20pct"],
    )
    assert 1 >= p0 >= p10 >= p20 >= 0
    assert row["reduction_geomean_cri95_low"] < row["reduction_geomean_pct"]
    assert row["reduction_geomean_pct"] < row["reduction_geomean_cri95_high"]
    assert row["decision"] in {"works", "does_not", "no_clear_answer", "continue"}
    assert "prior" in row["prior"] and "stop when" in row["stopping"]
    assert "%" in row["statement"]
    # P(reduction >= 0) is the posterior mass of delta below 0
    assert p0 == pytest.approx(
        stats.norm.cdf(-row["log_ratio_mean"] / row["log_ratio_sd"]), abs=0.03
    )


def test_too_few_meals_of_a_kind_give_no_estimate_and_say_so():
    m = _meals(n=12)
    m.loc[m.index[m["condition"] == "spu"][1:], "condition"] = "control"
    row = bayes_n_of_1(m).iloc[0]
    assert np.isnan(row["reduction_geomean_pct"])
    assert row["decision"] == "continue"
    assert "not enough" in row["statement"]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=80),
    p_works=st.floats(0, 1),
    p_worth=st.floats(0, 1),
)
def test_sequential_rule_stops_only_on_its_thresholds(n, p_works, p_worth):
    rule = STOPPING
    dec = sequential_decision(n, p_works, p_worth, rule)
    if n < rule.min_meals:
        assert dec in ("continue", "no_clear_answer")
    elif p_works >= rule.works:
        assert dec == "works"
    elif p_worth <= rule.futile:
        assert dec == "does_not"
    else:
        assert dec == ("no_clear_answer" if n >= rule.max_meals else "continue")


def test_meals_to_decision_shrinks_with_a_clearer_effect():
    rule = StoppingRule()

    def post(loc):
        return Posterior(np.array([1.0]), np.array([loc]), np.array([0.2]), np.array([20.0]))

    weak, strong = meals_to_decision(18, post(-0.15), rule), meals_to_decision(18, post(-0.4), rule)
    assert strong is not None and (weak is None or weak > strong)
    assert strong % rule.look_every == 0


def _brute_pooled(y, se, mean_sd, tau_scale):
    mu = np.linspace(-3, 3, 1201)
    tau = np.linspace(1e-6, 3, 1201)
    mg, tg = np.meshgrid(mu, tau, indexing="ij")
    v = se[None, None, :] ** 2 + tg[..., None] ** 2
    logp = (
        -0.5 * np.sum(np.log(v) + (y[None, None, :] - mg[..., None]) ** 2 / v, axis=-1)
        - 0.5 * (mg / mean_sd) ** 2
        - 0.5 * (tg / tau_scale) ** 2
    )
    p = np.exp(logp - logp.max())
    pm = p.sum(axis=1)
    cdf = np.cumsum(pm) / pm.sum()
    pt = p.sum(axis=0)
    cdt = np.cumsum(pt) / pt.sum()
    return (
        [float(np.interp(q, cdf, mu)) for q in (0.025, 0.5, 0.975)],
        float(np.interp(0.5, cdt, tau)),
    )


def test_pooled_series_matches_brute_force_integration():
    rng = np.random.default_rng(4)
    theta = rng.normal(-0.3, 0.2, 12)
    se = rng.uniform(0.1, 0.3, 12)
    y = theta + rng.normal(0, se)
    summ = pd.DataFrame(
        {"subject": [f"s{i}" for i in range(12)], "log_ratio_estimate": y, "log_ratio_se": se}
    )
    pop, people = pooled_n_of_1(summ)
    (lo, med, hi), tau_med = _brute_pooled(y, se, 1.0, 0.5)
    row = pop.iloc[0]
    assert row["reduction_geomean_pct"] == pytest.approx(100 * (1 - np.exp(med)), abs=0.3)
    assert row["reduction_geomean_cri95_low"] == pytest.approx(100 * (1 - np.exp(hi)), abs=0.5)
    assert row["reduction_geomean_cri95_high"] == pytest.approx(100 * (1 - np.exp(lo)), abs=0.5)
    assert row["tau_median"] == pytest.approx(tau_med, abs=0.01)
    # shrinkage: every person's shrunken estimate lies between their own and the population's
    own, shr = people["reduction_geomean_pct"], people["shrunken_reduction_pct"]
    pop_red = row["reduction_geomean_pct"]
    assert (((own - shr) * (shr - pop_red)) >= -1e-6).all()


def test_pooled_series_refuses_without_two_estimates():
    summ = pd.DataFrame(
        {"subject": ["a", "b"], "log_ratio_estimate": [0.1, np.nan], "log_ratio_se": [0.1, 0.2]}
    )
    with pytest.raises(Exception, match="at least 2 people"):
        pooled_n_of_1(summ)


def test_truth_comes_from_the_generating_model():
    sc = BayesScenario("fixed20", effect_mean_pct=20, effect_sd_log=0, fixed_truth=True, n_meals=24)
    _, truth = simulate_people(sc, 20, seed=1)
    assert np.allclose(truth["true_reduction_pct"], 20.0)
    _, null = simulate_people(BayesScenario("null", effect_mean_pct=0, effect_sd_log=0), 5, seed=2)
    assert np.allclose(null["true_reduction_pct"], 0.0)


def test_credible_intervals_cover_simulated_people_small_run():
    """A small version of benchmarks/bayes_calibration.py (that one runs >= 1000 people a cell):
    heterogeneous effects, drift, carry-over and skewed noise the model does not have."""
    table = calibration_table([BayesScenario("het", n_meals=24)], n_people=200, seed=11)
    cov = float(table["coverage_pct"].iloc[0])
    assert 89.0 <= cov <= 99.5


def test_one_set_of_defaults_and_rules_that_change_them():
    from soleus_analysis.core.errors import InputError
    from soleus_analysis.core.rules import Rules

    r = Rules()
    assert BayesPrior.from_rules(r) == PRIOR and StoppingRule.from_rules(r) == STOPPING
    changed = r.replace(stop_works=0.95, prior_sigma=0.4, bayes_thresholds_pct=[5, 15])
    assert StoppingRule.from_rules(changed).works == 0.95
    assert BayesPrior.from_rules(changed).sigma0 == 0.4
    assert changed.bayes_thresholds_pct == (5.0, 15.0)
    assert Rules.from_dict(changed.to_dict()) == changed
    for bad in (
        {"stop_works": 1.5},
        {"prior_sigma": 0},
        {"bayes_thresholds_pct": [120]},
        {"stop_max_meals": 6},
    ):
        with pytest.raises(InputError, match="rule"):
            r.replace(**bad)
    row = bayes_n_of_1(
        _meals(), rule=StoppingRule.from_rules(changed), thresholds=(5.0, 15.0)
    ).iloc[0]
    assert "p_reduction_ge_5pct" in row and "p_reduction_ge_15pct" in row


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 9),
    st.floats(1e-6, 3.0),
    st.integers(0, 2**32 - 1),
)
def test_mixture_quantiles_solve_the_mixture_cdf(g, k, spread, seed):
    """Newton-in-a-bracket quantiles of normal mixtures: one component gives the normal
    quantile in closed form; every mixture's CDF (scipy.stats.norm, summed) at the returned
    point is the probability asked for."""
    from soleus_analysis.stats.bayes import _mixture_quantiles

    rng = np.random.default_rng(seed)
    w = rng.random(g) + 1e-3
    w /= w.sum()
    mean = rng.normal(0, spread, (g, k))
    sd = rng.uniform(0.01, 1.0, (g, k)) * max(spread, 1e-3)
    probs = (0.025, 0.5, 0.975)
    q = _mixture_quantiles(w, mean, sd, probs)
    assert q.shape == (k, 3)
    for i in range(k):
        cdf = [float(w @ stats.norm.cdf(x, mean[:, i], sd[:, i])) for x in q[i]]
        np.testing.assert_allclose(cdf, probs, atol=1e-10)
    single = _mixture_quantiles(np.ones(1), mean[:1, 0], sd[:1, 0], probs)
    np.testing.assert_allclose(
        single, stats.norm.ppf(probs, mean[0, 0], sd[0, 0]), rtol=1e-12, atol=1e-13
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.floats(2.0, 60.0), st.integers(0, 2**32 - 1))
def test_posterior_quantile_solves_the_t_mixture_cdf(g, dof, seed):
    """``Posterior.quantile``: one component gives ``scipy.stats.t.ppf``; for a mixture the CDF
    (``scipy.stats.t``, summed) at each returned point is the probability asked for."""
    from soleus_analysis.stats.bayes import Posterior

    rng = np.random.default_rng(seed)
    w = rng.random(g) + 1e-3
    post = Posterior(
        weights=w / w.sum(),
        loc=rng.normal(0, 0.5, g),
        scale=rng.uniform(0.02, 0.8, g),
        dof=np.full(g, dof) * rng.uniform(1, 2, g),
    )
    probs = np.array([0.001, 0.025, 0.5, 0.9, 0.975])
    q = post.quantile(probs)
    cdf = [float(post.weights @ stats.t.cdf(x, post.dof, post.loc, post.scale)) for x in q]
    np.testing.assert_allclose(cdf, probs, atol=1e-10)
    assert isinstance(post.quantile(0.5), float)
    one = Posterior(np.ones(1), post.loc[:1], post.scale[:1], post.dof[:1])
    np.testing.assert_allclose(
        one.quantile(probs), stats.t.ppf(probs, post.dof[0], post.loc[0], post.scale[0]), rtol=1e-10
    )
