"""Many meals per person: the linear mixed model and the dose-response of SPU minutes.

Both estimate on the response's own scale; their reductions are model-based ratios of arithmetic
means (``reduction_mean_ratio_pct``, ``reduction_per_dose_pct``: marginal standardisation and the
delta method), matching :func:`soleus_analysis.stats.paired.crossover`'s
``reduction_mean_ratio_pct``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..core.errors import InputError
from ..core.validate import check_frame
from .common import (
    CONTROL,
    TREATMENT,
    ci_label,
    design,
    normal_quantile,
    numeric_column,
    ols,
    select_rows,
)
from .results import as_result

__all__ = ["dose_response", "mixed_model"]


def _fit_linear(
    y: np.ndarray, x: pd.DataFrame, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, str, dict[str, float]]:
    """Fit y ~ x, with a random intercept per group when there are >= 2 groups, else OLS.

    Returns coefficients, their covariance, the model name and variance components.
    """
    xm = x.to_numpy(dtype=float)
    if np.linalg.matrix_rank(xm) < xm.shape[1]:
        raise InputError(
            "the model's terms are collinear (for example every meal in one condition, or a "
            f"covariate that mirrors the condition); terms: {list(x.columns)}"
        )
    if groups is not None and len(np.unique(groups)) >= 2:
        # statsmodels costs about a second to import: only when a mixed model is fitted, and
        # only its mixed-model module (not statsmodels.api)
        from statsmodels.regression.mixed_linear_model import MixedLM
        from statsmodels.tools.sm_exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            res = MixedLM(y, xm, groups=groups).fit(reml=True)
        k = xm.shape[1]
        beta = np.asarray(res.fe_params, dtype=float)
        cov = np.asarray(res.cov_params(), dtype=float)[:k, :k]
        comps = {"subject_var": float(np.asarray(res.cov_re)[0, 0]), "residual_var": res.scale}
        return beta, cov, "mixedlm", comps
    beta, cov, dof, sd = ols(y, xm)
    return beta, cov, "ols", {"residual_var": sd**2, "dof": float(dof)}


def _term_rows(
    names: Sequence[str],
    beta: np.ndarray,
    cov: np.ndarray,
    *,
    ci: float,
    dof: float | None,
) -> list[dict[str, Any]]:
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    q = stats.t.ppf(0.5 + ci / 2, dof) if dof else normal_quantile(ci)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = beta / se
    p = 2 * (stats.t.sf(np.abs(zs), dof) if dof else stats.norm.sf(np.abs(zs)))
    lab = ci_label(ci)
    return [
        {
            "term": name,
            "estimate": float(b),
            "se": float(s),
            f"{lab}_low": float(b - q * s),
            f"{lab}_high": float(b + q * s),
            "p": float(pv),
        }
        for name, b, s, pv in zip(names, beta, se, p, strict=True)
    ]


def _standardised_reduction(
    x: pd.DataFrame, beta: np.ndarray, cov: np.ndarray, k: int, *, ci: float, dof: float | None
) -> tuple[float, float, float, float]:
    """-100 * beta[k] / mu and its delta-method interval: a model-based ratio of means.

    ``mu`` is the predicted mean response of all analysed meals with term ``k`` at 0
    (marginal standardisation). Returns (reduction %, SE, low, high).
    """
    xbar = x.to_numpy(dtype=float).mean(axis=0)
    xbar[k] = 0.0
    mu = float(xbar @ beta)
    red = -100.0 * beta[k] / mu
    grad = -100.0 * (np.eye(len(beta))[k] / mu - beta[k] * xbar / mu**2)
    se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
    q = stats.t.ppf(0.5 + ci / 2, dof) if dof else normal_quantile(ci)
    return red, se, red - q * se, red + q * se


def mixed_model(
    meals: pd.DataFrame,
    value: str = "iauc_mgdl_min",
    *,
    covariates: Sequence[str] = ("carbs_g", "time_of_day"),
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Linear mixed model of a per-meal response with a random intercept per person.

    ``value ~ 1 + condition[spu] + covariates + (1 | subject)``, fitted by REML with
    :class:`statsmodels.regression.mixed_linear_model.MixedLM`. With a single person the
    random intercept is not identifiable and ordinary least squares is used instead (column
    ``model``).

    Parameters
    ----------
    meals : DataFrame
        Per-meal table (one row a meal), or a per subject x condition table.
    value : str
        Response column, e.g. ``iauc_mgdl_min`` (mg/dL*min).
    covariates : sequence of str
        Adjustment terms. ``"time_of_day"`` / ``"time_of_day_h"`` is the meal period
        (:func:`meal_period`, from ``time_of_day_h`` or the hour of ``meal_time``); other names
        are numeric columns (e.g. ``carbs_g`` in g), centred on their mean. Terms that are
        absent, all missing or constant are skipped (column ``covariates`` lists those used);
        meals missing a used covariate are excluded and counted.
    ci : float
        Confidence level (Wald intervals).

    Returns
    -------
    DataFrame
        One row per term: ``term`` (``Intercept``, ``condition[spu]``, covariates, then
        ``reduction_mean_ratio_pct``), ``estimate``, ``se``, ``ci95_low``, ``ci95_high`` (named
        from ``ci``: :func:`~soleus_analysis.stats.common.ci_label`), ``p``, plus
        ``n_meals``, ``n_subjects``, ``n_excluded``, ``model``, ``covariates``,
        ``subject_sd`` and ``residual_sd`` (units of ``value``). ``condition[spu]`` is the
        adjusted difference SPU - control in units of ``value``. ``reduction_mean_ratio_pct``
        (%) is
        ``-100 * effect / mu_control``, with ``mu_control`` the model-predicted mean response of
        all analysed meals had they been control meals (marginal standardisation); its CI and p
        come from the delta method on the fixed effects. The delta method was preferred over a
        log-scale refit because it estimates the same ratio of arithmetic means as
        :func:`crossover`, and needs no offset for meals with an iAUC of 0.
    """
    kept, n_excl = select_rows(
        meals,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what="mixed_model",
    )
    cov_x, used, ok = design(kept, covariates)
    n_excl += int((~ok).sum())
    kept = kept.loc[ok]
    if kept["_t"].nunique() < 2:
        raise InputError("mixed_model needs meals in both conditions (control and SPU)")
    x = pd.concat(
        [
            pd.DataFrame(
                {"Intercept": 1.0, f"condition[{treatment}]": kept["_t"].astype(float)},
                index=kept.index,
            ),
            cov_x,
        ],
        axis=1,
    )
    y = kept["_y"].to_numpy()
    groups = kept[subject].astype(str).to_numpy()
    beta, cov, model, comps = _fit_linear(y, x, groups)
    dof = comps.get("dof") if model == "ols" else None
    rows = _term_rows(list(x.columns), beta, cov, ci=ci, dof=dof)
    # reduction via marginal standardisation and the delta method; its test is the SPU term's
    red, se, lo, hi = _standardised_reduction(x, beta, cov, 1, ci=ci, dof=dof)
    lab = ci_label(ci)
    rows.append(
        {
            "term": "reduction_mean_ratio_pct",
            "estimate": red,
            "se": se,
            f"{lab}_low": lo,
            f"{lab}_high": hi,
            "p": rows[1]["p"],
        }
    )
    out = pd.DataFrame(rows)
    out["n_meals"] = len(kept)
    out["n_subjects"] = kept[subject].nunique()
    out["n_excluded"] = n_excl
    out["model"] = model
    out["covariates"] = ",".join(used)
    out["subject_sd"] = np.sqrt(comps["subject_var"]) if "subject_var" in comps else np.nan
    out["residual_sd"] = np.sqrt(comps["residual_var"])
    return as_result(out, "Mixed model: random intercept per person")


def dose_response(
    meals: pd.DataFrame,
    value: str = "iauc_mgdl_min",
    dose: str = "spu_minutes",
    *,
    covariates: Sequence[str] = ("carbs_g", "time_of_day"),
    per: float = 10.0,
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Change of the response per ``per`` minutes of SPU.

    ``value ~ 1 + dose / per + covariates``, with a random intercept per person when there are
    several people (MixedLM), ordinary least squares with t intervals for one person.
    Control meals count as dose 0 when their ``dose`` is missing.

    Parameters
    ----------
    meals : DataFrame
        Per-meal table with ``dose`` (min of SPU during the meal window).
    value : str
        Response column (e.g. ``iauc_mgdl_min``, mg/dL*min).
    dose : str
        SPU minutes column (min).
    covariates : sequence of str
        As in :func:`mixed_model`.
    per : float
        Dose unit of the slope (min); default 10 SPU minutes.

    Returns
    -------
    DataFrame
        One row: ``term`` (``"spu_per_10min"``), ``estimate`` (units of ``value`` per ``per``
        SPU minutes), ``se``, ``ci95_low``, ``ci95_high``, ``p``, ``reduction_per_dose_pct``
        (-100 * slope / predicted mean at dose 0, % per ``per`` min; with delta-method CI in
        ``reduction_per_dose_ci95_low`` / ``_high``), ``max_dose_min``, ``n_meals``,
        ``n_subjects``, ``n_excluded``, ``model``, ``covariates``.
    """
    check_frame(meals, [subject, condition, value, dose], "dose_response")
    frame = meals.copy()
    d = numeric_column(frame, dose)
    is_control = (frame[condition].astype("object") == control).to_numpy()
    frame[dose] = d.where(~(d.isna().to_numpy() & is_control), 0.0)
    frame = frame.assign(**{"_dose_ok": frame[dose].notna()})
    kept, n_excl = select_rows(
        frame,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what="dose_response",
    )
    n_excl += int((~kept["_dose_ok"]).sum())
    kept = kept.loc[kept["_dose_ok"]]
    cov_x, used, ok = design(kept, covariates)
    n_excl += int((~ok).sum())
    kept = kept.loc[ok]
    dv = kept[dose].to_numpy(dtype=float) / per
    if kept.empty or np.ptp(dv) == 0:
        raise InputError(f"dose_response needs meals with different {dose!r} values")
    term = f"spu_per_{per:g}min"
    x = pd.concat([pd.DataFrame({"Intercept": 1.0, term: dv}, index=kept.index), cov_x], axis=1)
    y = kept["_y"].to_numpy()
    beta, cov, model, comps = _fit_linear(y, x, kept[subject].astype(str).to_numpy())
    dof = comps.get("dof") if model == "ols" else None
    row = _term_rows([term], beta[1:2], cov[1:2, 1:2], ci=ci, dof=dof)[0]
    red, _, lo, hi = _standardised_reduction(x, beta, cov, 1, ci=ci, dof=dof)
    lab = ci_label(ci)
    row.update(
        {
            "reduction_per_dose_pct": red,
            f"reduction_per_dose_{lab}_low": lo,
            f"reduction_per_dose_{lab}_high": hi,
        }
    )
    row.update(
        max_dose_min=float(kept[dose].max()),
        n_meals=len(kept),
        n_subjects=kept[subject].nunique(),
        n_excluded=n_excl,
        model=model,
        covariates=",".join(used),
    )
    return as_result(pd.DataFrame([row]), "Dose-response of SPU minutes")
