"""Power by simulation: how many people or meals a study or an N-of-1 experiment needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.rules import Rules
from ..core.validate import check_frame
from .common import (
    CONTROL,
    TREATMENT,
    ci_label,
    design,
    log_offset,
    ols,
    select_rows,
    t_two_sided_p,
)
from .paired import RATIO_CI_METHODS, person_means, ratio_intervals

__all__ = [
    "crossover_pairs",
    "n_needed",
    "power_by_simulation",
    "power_crossover",
    "power_n_of_1",
]


def _binom_ci(hits: int, n_sim: int, ci: float) -> tuple[float, float]:
    """Clopper-Pearson ("exact") interval of a rate of ``hits`` in ``n_sim`` (fractions 0-1)."""
    from scipy import special

    k, n, a = int(hits), int(n_sim), (1.0 - ci) / 2.0
    low = float(special.betaincinv(k, n - k + 1, a)) if k > 0 else 0.0
    high = float(special.betaincinv(k + 1, n - k, 1.0 - a)) if k < n else 1.0
    return low, high


def _power_rows(size_col: str, sizes: Sequence[int], hits: Sequence[int], n_sim: int, ci: float):
    rows = []
    for n, k in zip(sizes, hits, strict=True):
        lo, hi = _binom_ci(k, n_sim, ci)
        rows.append(
            {
                size_col: int(n),
                "n_sim": n_sim,
                "power": k / n_sim,
                f"power_{ci_label(ci)}_low": lo,
                f"power_{ci_label(ci)}_high": hi,
            }
        )
    return pd.DataFrame(rows)


def power_by_simulation(
    simulate: Callable[[int, np.random.Generator], Any],
    analyse: Callable[[Any], float | bool],
    n_grid: Sequence[int],
    *,
    n_sim: int = 200,
    alpha: float = 0.05,
    seed: int | None = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Power of any design and analysis, by simulation.

    Parameters
    ----------
    simulate : callable
        ``simulate(n, rng) -> data`` draws one data set of size ``n`` using only ``rng``.
    analyse : callable
        ``analyse(data) -> p`` (a p-value; a hit when ``p < alpha``) or ``-> bool`` (a hit when
        True, e.g. "the CI excludes 0").
    n_grid : sequence of int
        Sizes (participants, meals, ...).
    n_sim : int
        Simulated data sets per size.
    alpha : float
        Significance level for p-values.
    seed : int or None
        Root seed; each size gets its own child stream (results for one size do not depend on
        the rest of the grid).
    ci : float
        Level of the exact (Clopper-Pearson) interval of the power.

    Returns
    -------
    DataFrame
        ``n``, ``n_sim``, ``power`` (fraction of hits), ``power_ci95_low``, ``power_ci95_high``
        (exact binomial interval, named from ``ci``).
    """
    grid = [int(n) for n in n_grid]
    children = [_size_seed(seed, n) for n in grid]
    hits = []
    for n, child in zip(grid, children, strict=True):
        rng = np.random.default_rng(child)
        k = 0
        for _ in range(n_sim):
            res = analyse(simulate(n, rng))
            if isinstance(res, bool | np.bool_):
                k += bool(res)
            else:
                k += bool(np.isfinite(res) and float(res) < alpha)
        hits.append(k)
    return _power_rows("n", grid, hits, n_sim, ci)


def _size_seed(seed: int | None, size: int) -> np.random.SeedSequence:
    """Seed stream for one size of a power grid, the same whatever else is in the grid."""
    return np.random.SeedSequence(seed, spawn_key=(int(size),))


def n_needed(table: pd.DataFrame, power: float = 0.8) -> int | None:
    """Smallest size in a power table (column ``n`` or ``meals``) reaching ``power``, else None."""
    col = "n" if "n" in table.columns else "meals"
    ok = table.loc[table["power"] >= power, col]
    return int(ok.min()) if len(ok) else None


def _cv_to_sigma(cv: float) -> float:
    return float(np.sqrt(np.log1p(cv**2)))


def _sigma_to_cv(sigma: float) -> float:
    return float(np.sqrt(np.expm1(sigma**2)))


def crossover_pairs(
    rng: np.random.Generator,
    size: tuple[int, int],
    *,
    reduction_pct: float,
    sigma_within: float,
    sigma_between: float,
    effect_sd: float = 0.0,
    effect_level_corr: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated crossover pairs (control, SPU), each ``size`` = (studies, people).

    Person ``i`` has a level ``m_i = exp(sigma_between * u_i)``, ``u_i ~ N(0, 1)``; control
    ``m_i * exp(e_c)``, SPU ``m_i * r_i * exp(e_t)`` with ``e ~ N(0, sigma_within^2)``, and a
    person effect ``log r_i = log r0 + effect_sd * (rho * u_i + sqrt(1 - rho^2) * w_i)``
    (``rho = effect_level_corr``, ``w_i ~ N(0, 1)``). ``r0`` is set so that the *population*
    reduction ``100 * (1 - E[SPU] / E[control])`` is ``reduction_pct`` exactly:
    ``E[SPU] / E[control] = r0 * exp(effect_sd^2 / 2 + rho * sigma_between * effect_sd)``.
    """
    tau, rho = float(effect_sd), float(effect_level_corr)
    if tau < 0 or not -1 <= rho <= 1:
        raise InputError(
            f"effect_sd must be >= 0 and effect_level_corr in [-1, 1], got {tau}, {rho}"
        )
    log_r0 = np.log1p(-reduction_pct / 100) - tau**2 / 2 - rho * sigma_between * tau
    u = rng.standard_normal(size)
    z = rho * u + np.sqrt(1 - rho**2) * rng.standard_normal(size)
    e = rng.normal(0.0, sigma_within, size=(2, *size))
    m = np.exp(sigma_between * u)
    return m * np.exp(e[0]), m * np.exp(log_r0 + tau * z + e[1])


def power_crossover(
    reduction_pct: float,
    n_grid: Sequence[int],
    *,
    within_cv: float = 0.3,
    cv_between: float = 0.5,
    effect_sd: float = 0.0,
    effect_level_corr: float = 0.0,
    from_data: pd.DataFrame | None = None,
    value: str = "glucose_iauc_mgdl_min",
    test: str = "reported",
    ci_method: str | None = None,
    min_pairs: int | None = None,
    max_mean_skew: float | None | str = "rules",
    n_sim: int = 1000,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | None = 0,
    ci: float = 0.95,
    power: float = 0.8,
) -> pd.DataFrame:
    """Participants a two-condition crossover needs for the report to find a reduction.

    Power is the chance of the decision the report makes: with ``test="reported"`` (default) a
    simulated study is a hit when it has at least ``min_pairs`` people and the crossover's
    interval of ``reduction_mean_ratio_pct`` (:func:`~.paired.crossover`, ``ci_method``, at
    level ``1 - alpha``) lies above 0, i.e. when the verdict says "SPU lowered ..." (below 0
    for a negative ``reduction_pct``; either side for 0, the false-positive rate).

    Model (:func:`crossover_pairs`): lognormal people (between-person CV ``cv_between``),
    lognormal within-person noise (``within_cv``, the CV of one person's response on repeated
    tests) and a person effect that may vary (log-SD ``effect_sd``) and be correlated with the
    person's level (``effect_level_corr``), as in ``benchmarks/crossover_grid.py``; the
    population reduction of the mean response is exactly ``reduction_pct``.

    Parameters
    ----------
    reduction_pct : float
        True population reduction to detect (%).
    n_grid : sequence of int
        Numbers of participants.
    within_cv, cv_between : float
        Coefficients of variation (fractions); defaults are assumptions, replace them with
        pilot estimates through ``from_data``.
    effect_sd, effect_level_corr : float
        Heterogeneity of the effect: SD of the person's log ratio around the typical one, and
        its correlation with the person's log level (positive: less reduction in people with
        larger responses).
    from_data : DataFrame, optional
        Pilot crossover table (as for :func:`~.paired.crossover`): ``s_w`` = SD of the log
        ratios / sqrt(2), between-person SD from the per-person mean log response.
    value : str
        Measure column of ``from_data``.
    test : {"reported", "ttest"}
        ``"reported"``: the report's decision (above). ``"ttest"``: the paired t-test of the
        log ratios, p < ``alpha`` (it tests the typical ratio, not the reported one, and the
        between-person CV cancels in it: it overstates the power of the reported rule when
        people are unequal).
    ci_method, min_pairs : optional
        The reported rule's interval and minimum number of pairs; default
        ``Rules().crossover_ci`` and ``Rules().crossover_min_pairs``.
    max_mean_skew : float or None, optional
        The reported rule's refusal when people differ too much for their number
        (:func:`~.paired.crossover_refusal`; default ``Rules().crossover_max_mean_skew``, None:
        off): a refused study is no hit.
    n_sim : int
        Simulated studies per size.
    n_boot : int
        Draws of the interval (bootstrap resamples or lognormal draws) per study.
    power : float
        Target; the column ``meets_target`` flags sizes reaching it (see :func:`n_needed`).

    Returns
    -------
    DataFrame
        ``n``, ``n_sim``, ``power``, ``power_ci95_low``, ``power_ci95_high``, ``meets_target``,
        ``target_reduction_pct``, ``within_cv``, ``cv_between``, ``effect_sd``,
        ``effect_level_corr``, ``test``, ``ci_method``, ``min_pairs``.
    """
    if not -100 < reduction_pct < 100:
        raise InputError(f"reduction_pct must be between -100 and 100, got {reduction_pct}")
    if test not in ("reported", "ttest"):
        raise InputError(f"test must be 'reported' or 'ttest', got {test!r}")
    defaults = Rules()
    ci_method = defaults.crossover_ci if ci_method is None else ci_method
    min_pairs = defaults.crossover_min_pairs if min_pairs is None else int(min_pairs)
    if isinstance(max_mean_skew, str):
        max_mean_skew = defaults.crossover_max_mean_skew
    if ci_method not in RATIO_CI_METHODS:
        raise InputError(
            f"ci_method must be one of {', '.join(RATIO_CI_METHODS)}, got {ci_method!r}"
        )
    sw, sb = _cv_to_sigma(within_cv), _cv_to_sigma(cv_between)
    if from_data is not None:
        pairs, _, _ = person_means(
            from_data,
            value,
            subject="subject",
            condition="condition",
            control=CONTROL,
            treatment=TREATMENT,
            what="power_crossover",
        )
        if len(pairs) < 3:
            raise InputError(
                "power_crossover: from_data needs at least 3 people with both conditions"
            )
        c, t = pairs["control"].to_numpy(), pairs["treatment"].to_numpy()
        off = log_offset(np.concatenate([c, t]))
        lc, lt = np.log(c + off), np.log(t + off)
        sw = float(np.std(lt - lc, ddof=1) / np.sqrt(2))
        sb = float(np.sqrt(max(np.var((lc + lt) / 2, ddof=1) - sw**2 / 2, 0.0)))
    grid = [int(n) for n in n_grid]
    hits = []
    for n in grid:
        rng = np.random.default_rng(_size_seed(seed, n))
        if n < 2 or (test == "reported" and n < min_pairs):
            hits.append(0)
            continue
        c, t = crossover_pairs(
            rng,
            (n_sim, n),
            reduction_pct=reduction_pct,
            sigma_within=sw,
            sigma_between=sb,
            effect_sd=effect_sd,
            effect_level_corr=effect_level_corr,
        )
        if test == "ttest":
            lr = np.log(t) - np.log(c)
            tstat = lr.mean(axis=1) / (lr.std(axis=1, ddof=1) / np.sqrt(n))
            hits.append(int(np.sum(t_two_sided_p(tstat, n - 1) < alpha)))
            continue
        lo, hi = ratio_intervals(
            c, t, [ci_method], ci=1 - alpha, n_boot=n_boot, rng=rng, max_mean_skew=max_mean_skew
        )[ci_method]
        if reduction_pct > 0:
            hit = lo > 0
        elif reduction_pct < 0:
            hit = hi < 0
        else:
            hit = (lo > 0) | (hi < 0)
        hits.append(int(np.sum(hit)))
    out = _power_rows("n", grid, hits, n_sim, ci)
    out["meets_target"] = out["power"] >= power
    out["target_reduction_pct"] = float(reduction_pct)
    out["within_cv"] = _sigma_to_cv(sw)
    out["cv_between"] = _sigma_to_cv(sb)
    out["effect_sd"] = float(effect_sd)
    out["effect_level_corr"] = float(effect_level_corr)
    out["test"] = test
    out["ci_method"] = ci_method if test == "reported" else None
    out["min_pairs"] = min_pairs if test == "reported" else None
    return out


def power_n_of_1(
    reduction_pct: float,
    meals_grid: Sequence[int],
    *,
    residual_cv: float = 0.5,
    from_data: pd.DataFrame | None = None,
    value: str = "iauc_mgdl_min",
    adjust: Sequence[str] = ("carbs_g", "time_of_day_h"),
    n_sim: int = 1000,
    alpha: float = 0.05,
    seed: int | None = 0,
    ci: float = 0.95,
    power: float = 0.8,
) -> pd.DataFrame:
    """Meals one person needs (half of them with SPU) to detect their own reduction.

    Model: ``log(response)`` of a meal is normal with SD ``s`` (from ``residual_cv``, the CV of
    the person's response between comparable meals after adjustment) and its mean lowered by
    ``log(1 - r)`` on SPU meals. Each simulated experiment randomises half the meals to SPU and
    tests the SPU coefficient by the regression t-test of :func:`n_of_1` (``p < alpha``), which
    the randomisation test approximates closely under random assignment; degrees of freedom
    allow for the covariates.

    Parameters
    ----------
    reduction_pct : float
        True reduction to detect (%).
    meals_grid : sequence of int
        Total numbers of meals (SPU + control).
    residual_cv : float
        Assumed CV between comparable meals (fraction) when no data are given.
    from_data : DataFrame, optional
        The person's own per-meal table (one subject): ``s`` is the residual SD of
        ``log(value + offset) ~ 1 [+ condition] + adjust`` fitted to it (issue 6: use the
        person's own variability once some data exist).
    value, adjust : str, sequence of str
        As in :func:`n_of_1`.

    Returns
    -------
    DataFrame
        ``meals``, ``n_sim``, ``power``, ``power_ci95_low``, ``power_ci95_high``,
        ``meets_target``, ``n_spu`` (meals with SPU), ``target_reduction_pct``, ``residual_cv``,
        ``n_covariates``.
    """
    if not -100 < reduction_pct < 100:
        raise InputError(f"reduction_pct must be between -100 and 100, got {reduction_pct}")
    s = _cv_to_sigma(residual_cv)
    n_cov = 0
    if from_data is not None:
        check_frame(from_data, ["subject", "condition", value], "power_n_of_1")
        if from_data["subject"].nunique() > 1:
            raise InputError("power_n_of_1: from_data must hold one person's meals")
        kept, _ = select_rows(
            from_data,
            value,
            subject="subject",
            condition="condition",
            control=CONTROL,
            treatment=TREATMENT,
            what="power_n_of_1",
        )
        cov_x, _, ok = design(kept, adjust)
        kept = kept.loc[ok]
        yv = kept["_y"].to_numpy(dtype=float)
        y = np.log(yv + log_offset(yv))
        cols = [np.ones(len(y)), cov_x.to_numpy(dtype=float)]
        if kept["_t"].nunique() == 2:
            cols.append(kept["_t"].to_numpy(dtype=float))
        x = np.column_stack(cols)
        n_cov = cov_x.shape[1]
        if len(y) - np.linalg.matrix_rank(x) < 3:
            raise InputError(
                f"power_n_of_1: from_data has {len(y)} usable meals, too few to estimate "
                "the variability (need at least 3 more than the model's terms)"
            )
        _, _, _, s = ols(y, x)
    log_ratio = np.log1p(-reduction_pct / 100)
    grid = [int(m) for m in meals_grid]
    children = [_size_seed(seed, n) for n in grid]
    hits = []
    for m, child in zip(grid, children, strict=True):
        n1 = m // 2
        n0 = m - n1
        dof = m - 2 - n_cov
        if n1 < 2 or dof < 1:
            hits.append(0)
            continue
        e = np.random.default_rng(child).normal(0.0, s, size=(n_sim, m))
        g1, g0 = e[:, :n1] + log_ratio, e[:, n1:]
        ss = ((g1 - g1.mean(1, keepdims=True)) ** 2).sum(1) + (
            (g0 - g0.mean(1, keepdims=True)) ** 2
        ).sum(1)
        se = np.sqrt(ss / (m - 2) * (1 / n1 + 1 / n0))
        tstat = (g1.mean(1) - g0.mean(1)) / se
        hits.append(int(np.sum(t_two_sided_p(tstat, dof) < alpha)))
    out = _power_rows("meals", grid, hits, n_sim, ci)
    out["meets_target"] = out["power"] >= power
    out["n_spu"] = [m // 2 for m in grid]
    out["target_reduction_pct"] = float(reduction_pct)
    out["residual_cv"] = _sigma_to_cv(s)
    out["n_covariates"] = n_cov
    return out
