"""Power by simulation: how many people or meals a study or an N-of-1 experiment needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..core.errors import InputError
from ..core.validate import check_frame
from .common import CONTROL, TREATMENT, ci_label, design, log_offset, ols, select_rows
from .paired import paired_reduction_ci, person_means

__all__ = ["n_needed", "power_by_simulation", "power_crossover", "power_n_of_1"]


def _binom_ci(hits: int, n_sim: int, ci: float) -> tuple[float, float]:
    res = stats.binomtest(int(hits), int(n_sim)).proportion_ci(confidence_level=ci, method="exact")
    return float(res.low), float(res.high)


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


def power_crossover(
    reduction_pct: float,
    n_grid: Sequence[int],
    *,
    within_cv: float = 0.3,
    cv_between: float = 0.5,
    from_data: pd.DataFrame | None = None,
    value: str = "glucose_iauc_mgdl_min",
    test: str = "ttest",
    n_sim: int = 1000,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | None = 0,
    ci: float = 0.95,
    power: float = 0.8,
) -> pd.DataFrame:
    """Participants needed for a two-condition crossover to detect a reduction.

    Lognormal paired model: person ``i`` has a typical response ``m_i`` (log-normal, CV
    ``cv_between``); control = ``m_i * exp(e1)``, SPU = ``m_i * (1 - r) * exp(e2)``, with
    ``e1, e2 ~ N(0, s_w^2)`` and ``s_w`` from ``within_cv`` (CV of one person's response on
    repeated tests). The mean SPU/control ratio is then exactly ``1 - r``.

    Parameters
    ----------
    reduction_pct : float
        True reduction to detect (%).
    n_grid : sequence of int
        Numbers of participants.
    within_cv, cv_between : float
        Coefficients of variation (fractions); defaults are assumptions, replace them with
        pilot estimates through ``from_data``.
    from_data : DataFrame, optional
        Pilot crossover table (as for :func:`crossover`): ``s_w`` = SD of the log ratios /
        sqrt(2), between-person SD from the per-person mean log response.
    value : str
        Measure column of ``from_data``.
    test : {"ttest", "bootstrap"}
        ``"ttest"``: paired t-test on log ratios, p < ``alpha`` (vectorised; the between-person
        CV cancels in it). ``"bootstrap"``: the :func:`crossover` expanded bootstrap CI of the
        reduction at level ``1 - alpha`` excludes 0 (``n_boot`` resamples; slower).
    n_sim : int
        Simulated studies per size.
    power : float
        Target; the column ``meets_target`` flags sizes reaching it (see :func:`n_needed`).

    Returns
    -------
    DataFrame
        ``n``, ``n_sim``, ``power``, ``power_ci95_low``, ``power_ci95_high``, ``meets_target``,
        ``target_reduction_pct``, ``within_cv``, ``cv_between``, ``test``.
    """
    if not -100 < reduction_pct < 100:
        raise InputError(f"reduction_pct must be between -100 and 100, got {reduction_pct}")
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
    log_ratio = np.log1p(-reduction_pct / 100)
    grid = [int(n) for n in n_grid]
    if test == "ttest":
        children = [_size_seed(seed, n) for n in grid]
        hits = []
        for n, child in zip(grid, children, strict=True):
            if n < 2:
                hits.append(0)
                continue
            e = np.random.default_rng(child).normal(0.0, sw, size=(n_sim, n, 2))
            lr = log_ratio + e[..., 1] - e[..., 0]
            tstat = lr.mean(axis=1) / (lr.std(axis=1, ddof=1) / np.sqrt(n))
            hits.append(int(np.sum(2 * stats.t.sf(np.abs(tstat), n - 1) < alpha)))
        out = _power_rows("n", grid, hits, n_sim, ci)
    elif test == "bootstrap":

        def simulate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            m = np.exp(rng.normal(0.0, sb, n))
            e = rng.normal(0.0, sw, (2, n))
            return m * np.exp(e[0]), m * np.exp(log_ratio + e[1])

        def analyse(data: tuple[np.ndarray, np.ndarray]) -> bool:
            c, t = data
            lo, hi = paired_reduction_ci(c, t, n_boot=n_boot, ci=1 - alpha, rng=rng_boot)
            return bool(lo > 0 or hi < 0)

        rng_boot = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        out = power_by_simulation(simulate, analyse, grid, n_sim=n_sim, seed=seed, ci=ci)
    else:
        raise InputError(f"test must be 'ttest' or 'bootstrap', got {test!r}")
    out["meets_target"] = out["power"] >= power
    out["target_reduction_pct"] = float(reduction_pct)
    out["within_cv"] = _sigma_to_cv(sw)
    out["cv_between"] = _sigma_to_cv(sb)
    out["test"] = test
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
        hits.append(int(np.sum(2 * stats.t.sf(np.abs(tstat), dof) < alpha)))
    out = _power_rows("meals", grid, hits, n_sim, ci)
    out["meets_target"] = out["power"] >= power
    out["n_spu"] = [m // 2 for m in grid]
    out["target_reduction_pct"] = float(reduction_pct)
    out["residual_cv"] = _sigma_to_cv(s)
    out["n_covariates"] = n_cov
    return out
