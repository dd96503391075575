"""One person's randomised meals (N-of-1): the adjusted effect, its randomisation test, its trend.

The estimand is ``reduction_geomean_pct = 100 * (1 - exp(beta))``, ``beta`` the SPU coefficient
of ``log(value + offset) ~ 1 + spu + covariates``: the covariate-adjusted ratio of geometric means
(the typical meal's response with SPU over without). Its interval is the regression's t interval
and its tests (``p_model``, ``p_permutation``) are of the same coefficient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.validate import check_frame
from .common import (
    CONTROL,
    TREATMENT,
    ci_label,
    design,
    log_offset,
    ols,
    select_rows,
    t_quantile,
    t_two_sided_p,
)
from .results import as_result
from .verdict import verdict

__all__ = ["effect_over_time", "n_of_1"]


def _projector_basis(z: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of ``z``."""
    u, s, _ = np.linalg.svd(z, full_matrices=False)
    return u[:, s > s[0] * 1e-10] if s.size and s[0] > 0 else u[:, :0]


def _perm_pvalue(
    y: np.ndarray,
    z: np.ndarray,
    d: np.ndarray,
    codes: np.ndarray,
    n_perm: int,
    rng: np.random.Generator,
    chunk: int = 1000,
) -> float:
    """Randomisation-test p-value of the adjusted t statistic of ``d`` in ``y ~ z + d``.

    The labels ``d`` are shuffled within the groups given by the integer ``codes`` (one group
    for a completely randomised design). By Frisch-Waugh-Lovell, each permutation's coefficient
    and t statistic come from residualising the permuted label vectors on ``z``: one matrix
    product per chunk of permutations.
    """
    n = len(y)
    q = _projector_basis(z)
    yr = y - q @ (q.T @ y)
    syy = float(yr @ yr)
    dof = n - q.shape[1] - 1
    if dof < 1:
        return np.nan

    def tstat(dm: np.ndarray) -> np.ndarray:
        dr = dm - q @ (q.T @ dm)
        sdd = np.einsum("ij,ij->j", dr, dr)
        sdy = dr.T @ yr
        with np.errstate(divide="ignore", invalid="ignore"):
            b = sdy / sdd
            sse = np.clip(syy - b * sdy, 0, None)
            return b / np.sqrt(sse / dof / sdd)

    t_obs = abs(float(tstat(d[:, None])[0]))
    if not np.isfinite(t_obs):
        return np.nan
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order].astype(float)
    d_sorted = d[order]
    extreme = 0
    done = 0
    while done < n_perm:
        m = min(chunk, n_perm - done)
        idx = np.argsort(sorted_codes[None, :] + rng.random((m, n)), axis=1)
        dm = np.empty((n, m))
        dm[order, :] = d_sorted[idx].T
        tp = np.abs(tstat(dm))
        extreme += int(np.sum(tp >= t_obs * (1 - 1e-10)))
        done += m
    return (1 + extreme) / (1 + n_perm)


def _n_of_1_one(
    sub: pd.DataFrame,
    *,
    adjust: Sequence[str],
    block: str | None,
    n_perm: int,
    rng: np.random.Generator,
    ci: float,
    value: str,
) -> dict[str, Any]:
    yv = sub["_y"].to_numpy(dtype=float)
    if np.any(yv < 0):
        raise InputError(f"n_of_1: {value!r} must be >= 0 for the log-scale model")
    off = log_offset(yv)
    cov_x, used, ok = design(sub, adjust)
    n_excl = int((~ok).sum())
    sub, yv = sub.loc[ok], yv[ok]
    d = sub["_t"].to_numpy(dtype=float)
    n_spu, n_con = int(d.sum()), int(len(d) - d.sum())
    nan = np.nan
    lab = ci_label(ci)
    row: dict[str, Any] = {
        "n_meals": len(d),
        "n_spu": n_spu,
        "n_control": n_con,
        "n_excluded": n_excl,
        "mean_control": float(yv[d == 0].mean()) if n_con else nan,
        "mean_treatment": float(yv[d == 1].mean()) if n_spu else nan,
        "reduction_geomean_pct": nan,
        f"reduction_geomean_{lab}_low": nan,
        f"reduction_geomean_{lab}_high": nan,
        "reduction_mean_ratio_pct": nan,
        "p_permutation": nan,
        "p_model": nan,
        "n_perm": n_perm,
        "log_offset": off,
        "covariates": ",".join(used),
    }
    if n_con and n_spu and row["mean_control"] > 0:
        row["reduction_mean_ratio_pct"] = 100 * (1 - row["mean_treatment"] / row["mean_control"])
    if n_spu < 2 or n_con < 2:
        return row
    y = np.log(yv + off)
    z = np.column_stack([np.ones(len(d)), cov_x.to_numpy(dtype=float)])
    x = np.column_stack([z, d])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        # covariates confounded with the condition: fall back to the unadjusted comparison
        z, used = z[:, :1], []
        x = np.column_stack([z, d])
        row["covariates"] = ""
    if len(d) - x.shape[1] < 2:
        return row
    beta, cov, dof, _ = ols(y, x)
    b, se = beta[-1], float(np.sqrt(cov[-1, -1]))
    q = t_quantile(0.5 + ci / 2, dof)
    row["reduction_geomean_pct"] = 100 * (1 - np.exp(b))
    row[f"reduction_geomean_{lab}_low"] = 100 * (1 - np.exp(b + q * se))
    row[f"reduction_geomean_{lab}_high"] = 100 * (1 - np.exp(b - q * se))
    row["p_model"] = float(t_two_sided_p(b / se, dof)) if se > 0 else nan
    if block is None:
        codes = np.zeros(len(d), dtype=np.int64)
    else:
        codes = pd.factorize(sub[block].astype("object").fillna("_missing"))[0]
    if n_perm > 0:
        row["p_permutation"] = _perm_pvalue(y, z, d, codes, n_perm, rng)
    return row


def n_of_1(
    meals: pd.DataFrame,
    value: str = "iauc_mgdl_min",
    *,
    n_perm: int = 5000,
    seed: int | None = 0,
    adjust: Sequence[str] = ("carbs_g", "time_of_day_h"),
    block: str | None = None,
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
    ci: float = 0.95,
    who: str = "your",
) -> pd.DataFrame:
    """One person's own SPU effect from their randomised meals (one row per person).

    The adjusted effect comes from least squares on the log scale,
    ``log(value + offset) ~ 1 + condition[spu] + covariates``; ``reduction_geomean_pct =
    100 * (1 - exp(beta))`` is the adjusted reduction of the typical (geometric-mean) response,
    with a t-based CI from the same regression. The randomisation test re-assigns the SPU
    labels at random as the randomised design did (within ``block`` when given, otherwise
    completely at random, keeping the number of SPU meals) and recomputes the adjusted t
    statistic; ``p_permutation = (1 + #{|t_perm| >= |t_obs|}) / (1 + n_perm)``. Its validity
    rests on the meals having been assigned at random (see the planner), not on normality.

    Parameters
    ----------
    meals : DataFrame
        Per-meal table: ``subject``, ``condition``, ``value`` and the ``adjust`` columns.
    value : str
        Response (e.g. ``iauc_mgdl_min``, mg/dL*min, must be >= 0).
    n_perm : int
        Random re-assignments for the randomisation test (0 to skip it).
    seed : int or None
        Seed of the permutation generator (one child stream per person).
    adjust : sequence of str
        Covariates (``carbs_g`` in g, centred; ``time_of_day_h`` as meal period). If they are
        confounded with the condition the comparison falls back to unadjusted (``covariates``
        then is empty).
    block : str, optional
        Column of randomisation blocks (e.g. the planner's ``block``).
    ci : float
        Confidence level.
    who : str
        Possessive used in the ``verdict`` sentence.

    Returns
    -------
    DataFrame
        ``subject``, ``n_meals``, ``n_spu``, ``n_control``, ``n_excluded``, ``mean_control``,
        ``mean_treatment`` (units of ``value``), ``reduction_geomean_pct``,
        ``reduction_geomean_ci95_low``, ``reduction_geomean_ci95_high`` (the adjusted ratio of
        geometric means, %; interval columns named from ``ci``), ``p_permutation`` and
        ``p_model`` (randomisation test and regression t-test of the same SPU coefficient),
        ``reduction_mean_ratio_pct`` (unadjusted 100 * (1 - ratio of arithmetic means), %, a
        description without interval), ``n_perm``, ``log_offset``, ``covariates`` and
        ``verdict`` (plain-language sentence, :func:`~soleus_analysis.stats.verdict.verdict`).
    """
    check_frame(meals, [subject, condition, value], "n_of_1")
    if block is not None:
        check_frame(meals, [block], "n_of_1")
    kept, _ = select_rows(
        meals,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what="n_of_1",
    )
    all_subj = meals[subject].astype("object")
    subjects = pd.unique(all_subj)
    n_rows = all_subj.value_counts(sort=False, dropna=False)
    groups = kept.groupby(kept[subject].astype("object"), sort=False, dropna=False).indices
    children = np.random.SeedSequence(seed).spawn(len(subjects))
    rows = []
    for subj, child in zip(subjects, children, strict=True):
        idx = groups.get(subj, np.array([], dtype=np.int64))
        row = _n_of_1_one(
            kept.iloc[idx],
            adjust=adjust,
            block=block,
            n_perm=n_perm,
            rng=np.random.default_rng(child),
            ci=ci,
            value=value,
        )
        row["n_excluded"] += int(n_rows.get(subj, 0)) - len(idx)
        row = {"subject": subj, **row}
        row["verdict"] = verdict(row, who=who)
        rows.append(row)
    return as_result(pd.DataFrame(rows), "N-of-1: one person's randomised meals")


def _period_effects(
    y: np.ndarray, d: np.ndarray, per: pd.Series, extra: np.ndarray, ci: float
) -> pd.DataFrame:
    """Level and SPU effect per period (log scale): one row per period with its interval."""
    lab = ci_label(ci)
    periods = sorted(per.unique())
    pmat = np.column_stack([(per == p).to_numpy(dtype=float) for p in periods])
    both = [
        j
        for j in range(len(periods))
        if d[pmat[:, j] == 1].sum() >= 1 and (1 - d[pmat[:, j] == 1]).sum() >= 1
    ]
    x = np.column_stack([pmat, pmat[:, both] * d[:, None], extra])
    fit = ols(y, x) if len(y) > np.linalg.matrix_rank(x) else None
    rows = []
    for j, p in enumerate(periods):
        in_p = pmat[:, j] == 1
        row = {
            "period": str(p),
            "period_start": p.start_time,
            "n_spu": int(d[in_p].sum()),
            "n_control": int((1 - d[in_p]).sum()),
            "reduction_geomean_pct": np.nan,
            f"reduction_geomean_{lab}_low": np.nan,
            f"reduction_geomean_{lab}_high": np.nan,
        }
        if fit is not None and j in both:
            beta, cov, dof, _ = fit
            k = len(periods) + both.index(j)
            b, se = beta[k], np.sqrt(cov[k, k])
            q = t_quantile(0.5 + ci / 2, dof)
            row["reduction_geomean_pct"] = 100 * (1 - np.exp(b))
            row[f"reduction_geomean_{lab}_low"] = 100 * (1 - np.exp(b + q * se))
            row[f"reduction_geomean_{lab}_high"] = 100 * (1 - np.exp(b - q * se))
        rows.append(row)
    return pd.DataFrame(rows)


def _effect_trend(
    y: np.ndarray, d: np.ndarray, times: pd.Series, periods: list, extra: np.ndarray, ci: float
) -> dict[str, float]:
    """Change of the SPU/control ratio per period: ``spu x t`` over continuous time."""
    lab = ci_label(ci)
    out = {
        "trend_ratio_change_pct": np.nan,
        f"trend_ratio_change_{lab}_low": np.nan,
        f"trend_ratio_change_{lab}_high": np.nan,
        "p_trend": np.nan,
    }
    p0 = periods[0]
    span = (p0.end_time - p0.start_time) + pd.Timedelta(1, "ns")
    tt = ((times - p0.start_time) / span).to_numpy(dtype=float)
    tc = tt - tt.mean()
    x = np.column_stack([np.ones_like(y), tc, d, d * tc, extra])
    rank = np.linalg.matrix_rank(x)
    if len(periods) > 1 and len(y) - rank >= 2 and rank == x.shape[1]:
        beta, cov, dof, _ = ols(y, x)
        g, se = beta[3], np.sqrt(cov[3, 3])
        q = t_quantile(0.5 + ci / 2, dof)
        out["trend_ratio_change_pct"] = 100 * (np.exp(g) - 1)
        out[f"trend_ratio_change_{lab}_low"] = 100 * (np.exp(g - q * se) - 1)
        out[f"trend_ratio_change_{lab}_high"] = 100 * (np.exp(g + q * se) - 1)
        out["p_trend"] = float(t_two_sided_p(g / se, dof))
    return out


def effect_over_time(
    meals: pd.DataFrame,
    value: str = "iauc_mgdl_min",
    period: str = "W",
    *,
    adjust: Sequence[str] = ("carbs_g", "time_of_day_h"),
    meal_time: str = "meal_time",
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
    ci: float = 0.95,
) -> pd.DataFrame:
    """SPU effect per calendar period and its trend: does it fade or grow?

    Two least-squares fits on ``log(value + offset)`` sharing the covariate adjustment of
    :func:`n_of_1` (plus a fixed effect per person when several people are given):

    1. a level and an SPU effect per period: ``reduction_geomean_pct = 100 * (1 -
       exp(beta_period))``
       with its t interval (NaN for periods lacking one of the conditions);
    2. a trend: ``... + spu + spu x t``, with ``t`` the time since the first period's start in
       periods (continuous). ``trend_ratio_change_pct = 100 * (exp(gamma) - 1)`` is the change of
       the SPU/control ratio per period: positive means the effect is fading, negative growing.

    Parameters
    ----------
    meals : DataFrame
        Per-meal table with ``meal_time`` (datetime).
    value : str
        Response (e.g. ``iauc_mgdl_min``, mg/dL*min, >= 0).
    period : str
        pandas period alias: ``"W"`` weeks, ``"D"`` days, ``"M"`` months.

    Returns
    -------
    DataFrame
        One row per period: ``period``, ``period_start``, ``n_spu``, ``n_control``,
        ``reduction_geomean_pct``, ``reduction_geomean_ci95_low``, ``_high`` (%), and, repeated on
        every row, the trend ``trend_ratio_change_pct``, ``trend_ratio_change_ci95_low``,
        ``_high`` (% per period; interval columns named from ``ci``),
        ``p_trend``, plus ``log_offset`` and ``covariates``.
    """
    check_frame(meals, [meal_time], "effect_over_time")
    kept, _ = select_rows(
        meals,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what="effect_over_time",
    )
    times = pd.to_datetime(kept[meal_time])
    kept = kept.loc[times.notna().to_numpy()]
    times = times.loc[kept.index]
    yv = kept["_y"].to_numpy(dtype=float)
    if np.any(yv < 0):
        raise InputError(f"effect_over_time: {value!r} must be >= 0 for the log-scale model")
    off = log_offset(yv)
    cov_x, used, ok = design(kept, adjust)
    kept, times, yv = kept.loc[ok], times.loc[ok], yv[ok]
    if kept.empty:
        raise InputError("effect_over_time: no usable meals")
    y = np.log(yv + off)
    d = kept["_t"].to_numpy(dtype=float)
    extra = [cov_x.to_numpy(dtype=float)]
    if kept[subject].nunique() > 1:
        subj_d = pd.get_dummies(kept[subject].astype(str), drop_first=True, dtype=float)
        extra.append(subj_d.to_numpy())
    extra_m = np.column_stack(extra) if sum(e.shape[1] for e in extra) else np.empty((len(y), 0))
    per = times.dt.to_period(period)
    out = _period_effects(y, d, per, extra_m, ci)
    for key, val in _effect_trend(y, d, times, sorted(per.unique()), extra_m, ci).items():
        out[key] = val
    out["log_offset"] = off
    out["covariates"] = ",".join(used)
    return as_result(out, "SPU effect by period, and its trend")
