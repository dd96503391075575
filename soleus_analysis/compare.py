"""Comparison statistics: do soleus pushups (SPU) lower the post-meal response, and by how much?

Every public function returns a tidy :class:`pandas.DataFrame` (one row per result, confidence
limits in the columns ``ci95_low`` / ``ci95_high``) so a notebook shows it as a table and the
report prints it directly.

Two kinds of input are accepted:

(a) a per subject x condition table (lab studies), columns ``subject``, ``condition``
    (``"control"`` / ``"spu"``) and one or more measures such as ``glucose_iauc_mgdl_min``;
(b) a per-meal table from :func:`soleus_analysis.meal_responses` (``subject``, ``meal_time``,
    ``carbs_g``, ``condition``, ``spu_minutes``, ``iauc_mgdl_min``, ``time_of_day_h``,
    ``excluded_reason``).

Rows are left out of every analysis, and counted in the output column ``n_excluded``, when
``excluded_reason`` is set, when the condition is neither the control nor the treatment label,
or when the measure is missing.

Conventions
-----------
- Percentage reduction: ``reduction_pct = 100 * (1 - mean(SPU) / mean(control))``; positive means
  SPU lowered the response.
- Differences are ``treatment - control`` (negative means SPU lowered the response); ratios are
  ``treatment / control``.
- Time of day as a covariate (``"time_of_day"`` or ``"time_of_day_h"``) is the categorical meal
  period from :func:`meal_period`: breakfast 04:00-10:59, lunch 11:00-15:59, dinner otherwise.
  A categorical term was chosen over a cyclic one because meals cluster in three periods, the
  schedule planner balances SPU within these periods, and its effects read plainly in a table.
- Log-scale models (paired t-test on log ratios, N-of-1 regression) use ``log(value + offset)``.
  The offset is 0 when every value is positive; when an iAUC of 0 occurs it is 10% of the median
  positive value of that measure (reported in the column ``log_offset``), which keeps flat
  responses in the analysis without making them extreme outliers on the log scale.
- All randomness comes from ``seed`` through :func:`numpy.random.default_rng`.

References
----------
Efron B (1987). Better bootstrap confidence intervals. J Am Stat Assoc 82:171-185 (BCa).
Wolever TMS, Jenkins DJA (1986). The use of the glycemic index in predicting the blood glucose
response to mixed meals. Am J Clin Nutr 43:167-172 (iAUC).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .core.errors import InputError

__all__ = [
    "crossover",
    "dose_response",
    "effect_over_time",
    "meal_period",
    "mixed_model",
    "n_needed",
    "n_of_1",
    "per_person",
    "power_by_simulation",
    "power_crossover",
    "power_n_of_1",
    "verdict",
]

CONTROL = "control"
TREATMENT = "spu"
#: Covariate names that mean "the meal period derived from the hour of the meal".
TIME_OF_DAY_NAMES = frozenset({"time_of_day", "time_of_day_h"})
MEAL_PERIODS: tuple[str, ...] = ("breakfast", "lunch", "dinner")
#: Fraction of the median positive value used as log offset when zeros occur.
LOG_OFFSET_FRACTION = 0.1


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def meal_period(hours: np.ndarray | pd.Series | Sequence[float]) -> np.ndarray:
    """Map clock hours to meal periods.

    Parameters
    ----------
    hours : array-like of float
        Hour of the day of each meal (h, 0-24; values outside are wrapped modulo 24).

    Returns
    -------
    numpy.ndarray of str
        ``"breakfast"`` for 04:00-10:59, ``"lunch"`` for 11:00-15:59, ``"dinner"`` otherwise
        (late-evening and night meals count as dinner).
    """
    h = np.mod(np.asarray(hours, dtype=float), 24.0)
    return np.where(
        (h >= 4) & (h < 11), "breakfast", np.where((h >= 11) & (h < 16), "lunch", "dinner")
    )


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    try:
        return pd.to_numeric(frame[column], errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise InputError(f"column {column!r} must be numeric ({exc})") from None


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {missing}; columns present: {list(frame.columns)}"
        )


def _select(
    data: pd.DataFrame,
    value: str,
    *,
    subject: str,
    condition: str,
    control: str,
    treatment: str,
    what: str,
) -> tuple[pd.DataFrame, int]:
    """Keep usable rows; return them with ``_y`` (float) and ``_t`` (bool) plus the count dropped."""
    _require(data, [subject, condition, value], what)
    keep = np.ones(len(data), dtype=bool)
    if "excluded_reason" in data.columns:
        keep &= data["excluded_reason"].isna().to_numpy()
    cond = data[condition].astype("object").to_numpy()
    is_t = cond == treatment
    keep &= is_t | (cond == control)
    y = _values(data, value).to_numpy()
    keep &= np.isfinite(y)
    out = data.loc[keep].copy() if not keep.all() else data.copy()
    out["_y"] = y[keep]
    out["_t"] = is_t[keep]
    return out, int((~keep).sum())


def _log_offset(values: np.ndarray) -> float:
    """0 if all values are positive, else 10% of the median positive value (1.0 if none)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or np.all(v > 0):
        return 0.0
    pos = v[v > 0]
    return float(LOG_OFFSET_FRACTION * np.median(pos)) if pos.size else 1.0


def _z(ci: float) -> float:
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1, got {ci}")
    return float(stats.norm.ppf(0.5 + ci / 2))


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Least squares: coefficients, their covariance, residual degrees of freedom, residual SD."""
    beta, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    dof = int(len(y) - rank)
    s2 = float(resid @ resid / dof) if dof > 0 else np.nan
    cov = s2 * np.linalg.pinv(x.T @ x)
    return beta, cov, dof, float(np.sqrt(s2))


def _design(
    frame: pd.DataFrame, covariates: Sequence[str], *, meal_time: str = "meal_time"
) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Covariate design columns (no intercept), covariates used, rows with complete covariates.

    Numeric covariates are centred on their mean; the meal period enters as dummies against its
    first present level. Covariates that are absent, all missing or constant are not used (the
    list returned says which were).
    """
    cols: dict[str, np.ndarray] = {}
    used: list[str] = []
    ok = np.ones(len(frame), dtype=bool)
    for cov in covariates:
        if cov in TIME_OF_DAY_NAMES:
            if "time_of_day_h" in frame.columns:
                hours = _values(frame, "time_of_day_h").to_numpy()
            elif meal_time in frame.columns:
                t = pd.to_datetime(frame[meal_time])
                hours = (t.dt.hour + t.dt.minute / 60.0).to_numpy(dtype=float)
            else:
                continue
            ok &= np.isfinite(hours)
            cols[f"_tod:{cov}"] = hours
        elif cov in frame.columns:
            v = _values(frame, cov).to_numpy()
            if not np.isfinite(v).any():
                continue
            ok &= np.isfinite(v)
            cols[cov] = v
    out: dict[str, np.ndarray] = {}
    for name, v in cols.items():
        v = v[ok]
        if name.startswith("_tod:"):
            period = meal_period(v)
            levels = [p for p in MEAL_PERIODS if (period == p).any()]
            if len(levels) < 2:
                continue
            for lev in levels[1:]:
                out[f"time_of_day[{lev}]"] = (period == lev).astype(float)
            used.append(name[5:])
        else:
            if v.size == 0 or np.ptp(v) == 0:
                continue
            out[name] = v - v.mean()
            used.append(name)
    return pd.DataFrame(out, index=frame.index[ok]), used, ok


def _bca_interval(
    boot: np.ndarray, estimate: float, jack: np.ndarray, ci: float
) -> tuple[float, float]:
    """Bias-corrected and accelerated bootstrap limits (Efron 1987)."""
    boot = boot[np.isfinite(boot)]
    if boot.size == 0 or not np.isfinite(estimate):
        return np.nan, np.nan
    if np.ptp(boot) == 0:
        return float(boot[0]), float(boot[0])
    prop = (np.sum(boot < estimate) + 0.5 * np.sum(boot == estimate)) / boot.size
    prop = np.clip(prop, 1.0 / boot.size, 1 - 1.0 / boot.size)
    z0 = stats.norm.ppf(prop)
    d = jack.mean() - jack
    denom = 6.0 * np.sum(d**2) ** 1.5
    acc = float(np.sum(d**3) / denom) if denom > 0 else 0.0
    zq = stats.norm.ppf([0.5 - ci / 2, 0.5 + ci / 2])
    adj = stats.norm.cdf(z0 + (z0 + zq) / (1 - acc * (z0 + zq)))
    lo, hi = np.quantile(boot, adj)
    return float(lo), float(hi)


def _expanded_level(ci: float, n: int) -> float:
    """Coverage level whose normal quantile equals sqrt(n/(n-1)) * t_{n-1} (Hesterberg 2015)."""
    tail = stats.norm.cdf(np.sqrt(n / (n - 1)) * stats.t.ppf(0.5 - ci / 2, n - 1))
    return float(1 - 2 * tail)


def _paired_reduction_ci(
    c: np.ndarray,
    t: np.ndarray,
    *,
    n_boot: int,
    ci: float,
    rng: np.random.Generator,
    method: str = "expanded",
) -> tuple[float, float]:
    """Paired bootstrap CI over participants of 100 * (1 - mean(t) / mean(c))."""
    n = len(c)
    if n < 2:
        return np.nan, np.nan
    idx = rng.integers(0, n, size=(n_boot, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = 100.0 * (1.0 - t[idx].mean(axis=1) / c[idx].mean(axis=1))
        est = 100.0 * (1.0 - t.mean() / c.mean())
    if method in ("percentile", "expanded"):
        boot = boot[np.isfinite(boot)]
        level = _expanded_level(ci, n) if method == "expanded" else ci
        lo, hi = np.quantile(boot, [0.5 - level / 2, 0.5 + level / 2])
        return float(lo), float(hi)
    if method != "bca":
        raise InputError(f"ci_method must be 'expanded', 'percentile' or 'bca', got {method!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        jack = 100.0 * (1.0 - (t.sum() - t) / (c.sum() - c))
    return _bca_interval(boot, est, jack, ci)


def _pairs(
    data: pd.DataFrame,
    value: str,
    *,
    subject: str,
    condition: str,
    control: str,
    treatment: str,
    what: str,
) -> tuple[pd.DataFrame, int, int]:
    """Per-subject means by condition: frame (subject, control, treatment), n_excluded, n_unpaired."""
    kept, n_excl = _select(
        data,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what=what,
    )
    codes, uniq = pd.factorize(kept[subject].astype("object"), sort=True)
    key = 2 * codes + kept["_t"].to_numpy(dtype=np.int64)
    k = len(uniq)
    sums = np.bincount(key, weights=kept["_y"].to_numpy(dtype=float), minlength=2 * k)
    counts = np.bincount(key, minlength=2 * k)
    sums, counts = sums.reshape(k, 2), counts.reshape(k, 2)
    complete = np.all(counts > 0, axis=1)
    means = sums[complete] / counts[complete]
    out = pd.DataFrame(
        {
            "subject": np.asarray(uniq, dtype=object)[complete],
            "control": means[:, 0],
            "treatment": means[:, 1],
        }
    )
    return out, n_excl, int(k - complete.sum())


# --------------------------------------------------------------------------------------------
# crossover (within person, one value per person and condition)
# --------------------------------------------------------------------------------------------


def per_person(
    data: pd.DataFrame,
    value: str,
    *,
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
) -> pd.DataFrame:
    """Per-person paired values of one measure.

    People with several rows in a condition are averaged first; people missing a condition
    are left out.

    Parameters
    ----------
    data : DataFrame
        Long table with ``subject``, ``condition`` and ``value`` columns.
    value : str
        The measure, in its own units (e.g. ``glucose_iauc_mgdl_min`` in mg/dL*min).

    Returns
    -------
    DataFrame
        ``subject``, ``control``, ``treatment`` (units of ``value``), ``diff``
        (treatment - control, units of ``value``), ``ratio`` (treatment / control) and
        ``reduction_pct`` (100 * (1 - ratio), %).
    """
    pairs, _, _ = _pairs(
        data,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what="per_person",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = pairs["treatment"].to_numpy() / pairs["control"].to_numpy()
    return pairs.assign(
        diff=pairs["treatment"] - pairs["control"], ratio=ratio, reduction_pct=100 * (1 - ratio)
    )


def crossover(
    data: pd.DataFrame,
    value: str | Sequence[str],
    *,
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
    n_boot: int = 4000,
    seed: int | None = 0,
    ci: float = 0.95,
    ci_method: str = "expanded",
) -> pd.DataFrame:
    """Within-person comparison of SPU against control, one row per measure.

    Parameters
    ----------
    data : DataFrame
        Long table, one or more rows per subject and condition (rows of a person in one
        condition are averaged first; people missing a condition are counted in
        ``n_unpaired`` and left out).
    value : str or sequence of str
        Measure column(s), e.g. ``glucose_iauc_mgdl_min`` (mg/dL*min) or
        ``insulin_iauc_uU_ml_min`` (uU/mL*min).
    subject, condition : str
        Column names.
    control, treatment : str
        Condition labels.
    n_boot : int
        Bootstrap resamples of participants.
    seed : int or None
        Seed of the bootstrap generator.
    ci : float
        Confidence level of every interval (the columns keep the ``ci95`` names).
    ci_method : {"expanded", "percentile", "bca"}
        Bootstrap interval of the reduction. Default ``"expanded"``: the percentile interval
        with its tail probabilities widened so that the normal quantile becomes
        ``sqrt(n / (n - 1)) * t_{n-1}`` (Hesterberg 2015, Am Stat 69:371-386), which corrects the
        bootstrap's known narrowness for small samples. Chosen by simulation of a lognormal
        paired model (true reduction 52%, between-person SD 0.5-0.8 and within-person SD
        0.3-0.5 on the log scale, 600-800 trials each): coverage of nominal 95% intervals was
        92.8-94.5% for the expanded interval at n = 10, 15, 25, against 87-94% for the plain
        percentile and 87-93% for BCa, which under-cover at n = 10-15.

    Returns
    -------
    DataFrame
        One row per measure: ``measure``, ``n_pairs``, ``n_unpaired``, ``n_excluded``,
        ``mean_control``, ``mean_treatment`` (units of the measure), ``reduction_pct``
        (100 * (1 - mean treatment / mean control), %), ``ci95_low``, ``ci95_high`` (paired
        bootstrap over participants, %), ``mean_diff`` (mean of treatment - control),
        ``diff_ci95_low``, ``diff_ci95_high`` (t interval), ``t_stat``, ``dof``, ``p_ttest``
        (paired t-test of log(treatment/control) against 0; ``log_offset`` added to both when a
        value is 0, NaN when a value is negative), ``log_offset``, ``w_stat``, ``p_wilcoxon``
        (Wilcoxon signed-rank on the paired differences) and ``dz`` (Cohen's d_z = mean
        difference / SD of differences; negative when SPU lowered the measure).
    """
    measures = [value] if isinstance(value, str) else list(value)
    rng = np.random.default_rng(seed)
    rows = []
    for measure in measures:
        pairs, n_excl, n_unp = _pairs(
            data,
            measure,
            subject=subject,
            condition=condition,
            control=control,
            treatment=treatment,
            what="crossover",
        )
        c = pairs["control"].to_numpy()
        t = pairs["treatment"].to_numpy()
        rows.append(
            {
                "measure": measure,
                "n_excluded": n_excl,
                "n_unpaired": n_unp,
                **_paired_stats(c, t, n_boot=n_boot, ci=ci, rng=rng, ci_method=ci_method),
            }
        )
    order = [
        "measure",
        "n_pairs",
        "n_unpaired",
        "n_excluded",
        "mean_control",
        "mean_treatment",
        "reduction_pct",
        "ci95_low",
        "ci95_high",
        "mean_diff",
        "diff_ci95_low",
        "diff_ci95_high",
        "t_stat",
        "dof",
        "p_ttest",
        "log_offset",
        "w_stat",
        "p_wilcoxon",
        "dz",
    ]
    return pd.DataFrame(rows)[order]


def _paired_stats(
    c: np.ndarray,
    t: np.ndarray,
    *,
    n_boot: int,
    ci: float,
    rng: np.random.Generator,
    ci_method: str,
) -> dict[str, Any]:
    n = len(c)
    nan = np.nan
    out: dict[str, Any] = {"n_pairs": n}
    mc = float(c.mean()) if n else nan
    mt = float(t.mean()) if n else nan
    out["mean_control"], out["mean_treatment"] = mc, mt
    out["reduction_pct"] = 100 * (1 - mt / mc) if n and mc != 0 else nan
    out["ci95_low"], out["ci95_high"] = _paired_reduction_ci(
        c, t, n_boot=n_boot, ci=ci, rng=rng, method=ci_method
    )
    diff = t - c
    out["mean_diff"] = float(diff.mean()) if n else nan
    out["diff_ci95_low"] = out["diff_ci95_high"] = nan
    out.update(t_stat=nan, dof=n - 1 if n else 0, p_ttest=nan, log_offset=nan)
    out.update(w_stat=nan, p_wilcoxon=nan, dz=nan)
    if n < 2:
        return out
    sd = float(diff.std(ddof=1))
    half = stats.t.ppf(0.5 + ci / 2, n - 1) * sd / np.sqrt(n)
    out["diff_ci95_low"], out["diff_ci95_high"] = out["mean_diff"] - half, out["mean_diff"] + half
    out["dz"] = out["mean_diff"] / sd if sd > 0 else nan
    both = np.concatenate([c, t])
    if np.all(both >= 0):
        off = _log_offset(both)
        lr = np.log(t + off) - np.log(c + off)
        out["log_offset"] = off
        if np.ptp(lr) > 0:
            res = stats.ttest_1samp(lr, 0.0)
            out["t_stat"], out["p_ttest"] = float(res.statistic), float(res.pvalue)
    if np.any(diff != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.wilcoxon(diff)
        out["w_stat"], out["p_wilcoxon"] = float(res.statistic), float(res.pvalue)
    return out


# --------------------------------------------------------------------------------------------
# many meals per person: mixed model and dose-response
# --------------------------------------------------------------------------------------------


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
        import statsmodels.api as sm
        from statsmodels.tools.sm_exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            res = sm.MixedLM(y, xm, groups=groups).fit(reml=True)
        k = xm.shape[1]
        beta = np.asarray(res.fe_params, dtype=float)
        cov = np.asarray(res.cov_params(), dtype=float)[:k, :k]
        comps = {"subject_var": float(np.asarray(res.cov_re)[0, 0]), "residual_var": res.scale}
        return beta, cov, "mixedlm", comps
    beta, cov, dof, sd = _ols(y, xm)
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
    q = stats.t.ppf(0.5 + ci / 2, dof) if dof else _z(ci)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = beta / se
    p = 2 * (stats.t.sf(np.abs(zs), dof) if dof else stats.norm.sf(np.abs(zs)))
    return [
        {
            "term": name,
            "estimate": float(b),
            "se": float(s),
            "ci95_low": float(b - q * s),
            "ci95_high": float(b + q * s),
            "p": float(pv),
        }
        for name, b, s, pv in zip(names, beta, se, p, strict=True)
    ]


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
        ``reduction_pct``), ``estimate``, ``se``, ``ci95_low``, ``ci95_high``, ``p``, plus
        ``n_meals``, ``n_subjects``, ``n_excluded``, ``model``, ``covariates``,
        ``subject_sd`` and ``residual_sd`` (units of ``value``). ``condition[spu]`` is the
        adjusted difference SPU - control in units of ``value``. ``reduction_pct`` (%) is
        ``-100 * effect / mu_control``, with ``mu_control`` the model-predicted mean response of
        all analysed meals had they been control meals (marginal standardisation); its CI and p
        come from the delta method on the fixed effects. The delta method was preferred over a
        log-scale refit because it estimates the same ratio of arithmetic means as
        :func:`crossover`, and needs no offset for meals with an iAUC of 0.
    """
    kept, n_excl = _select(
        meals,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what="mixed_model",
    )
    cov_x, used, ok = _design(kept, covariates)
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
    # reduction via marginal standardisation and the delta method
    k = 1
    xbar = x.to_numpy(dtype=float).mean(axis=0)
    xbar[k] = 0.0
    mu = float(xbar @ beta)
    red = -100.0 * beta[k] / mu
    grad = -100.0 * (np.eye(len(beta))[k] / mu - beta[k] * xbar / mu**2)
    se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
    q = stats.t.ppf(0.5 + ci / 2, dof) if dof else _z(ci)
    rows.append(
        {
            "term": "reduction_pct",
            "estimate": red,
            "se": se,
            "ci95_low": red - q * se,
            "ci95_high": red + q * se,
            "p": rows[k]["p"],
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
    return out


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
        SPU minutes), ``se``, ``ci95_low``, ``ci95_high``, ``p``, ``reduction_pct_per_dose``
        (-100 * slope / predicted mean at dose 0, % per ``per`` min; with delta-method CI in
        ``reduction_ci95_low`` / ``reduction_ci95_high``), ``max_dose_min``, ``n_meals``,
        ``n_subjects``, ``n_excluded``, ``model``, ``covariates``.
    """
    _require(meals, [subject, condition, value, dose], "dose_response")
    frame = meals.copy()
    d = _values(frame, dose)
    is_control = (frame[condition].astype("object") == control).to_numpy()
    frame[dose] = d.where(~(d.isna().to_numpy() & is_control), 0.0)
    frame = frame.assign(**{"_dose_ok": frame[dose].notna()})
    kept, n_excl = _select(
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
    cov_x, used, ok = _design(kept, covariates)
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
    xbar = x.to_numpy(dtype=float).mean(axis=0)
    xbar[1] = 0.0
    mu = float(xbar @ beta)
    red = -100.0 * beta[1] / mu
    grad = -100.0 * (np.eye(len(beta))[1] / mu - beta[1] * xbar / mu**2)
    se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
    q = stats.t.ppf(0.5 + ci / 2, dof) if dof else _z(ci)
    row.update(
        reduction_pct_per_dose=red,
        reduction_ci95_low=red - q * se,
        reduction_ci95_high=red + q * se,
        max_dose_min=float(kept[dose].max()),
        n_meals=len(kept),
        n_subjects=kept[subject].nunique(),
        n_excluded=n_excl,
        model=model,
        covariates=",".join(used),
    )
    return pd.DataFrame([row])


# --------------------------------------------------------------------------------------------
# N-of-1: one person's randomised meals
# --------------------------------------------------------------------------------------------


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
    off = _log_offset(yv)
    cov_x, used, ok = _design(sub, adjust)
    n_excl = int((~ok).sum())
    sub, yv = sub.loc[ok], yv[ok]
    d = sub["_t"].to_numpy(dtype=float)
    n_spu, n_con = int(d.sum()), int(len(d) - d.sum())
    nan = np.nan
    row: dict[str, Any] = {
        "n_meals": len(d),
        "n_spu": n_spu,
        "n_control": n_con,
        "n_excluded": n_excl,
        "mean_control": float(yv[d == 0].mean()) if n_con else nan,
        "mean_treatment": float(yv[d == 1].mean()) if n_spu else nan,
        "reduction_pct": nan,
        "ci95_low": nan,
        "ci95_high": nan,
        "reduction_unadjusted_pct": nan,
        "p_permutation": nan,
        "p_model": nan,
        "n_perm": n_perm,
        "log_offset": off,
        "covariates": ",".join(used),
    }
    if n_con and n_spu and row["mean_control"] > 0:
        row["reduction_unadjusted_pct"] = 100 * (1 - row["mean_treatment"] / row["mean_control"])
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
    beta, cov, dof, _ = _ols(y, x)
    b, se = beta[-1], float(np.sqrt(cov[-1, -1]))
    q = stats.t.ppf(0.5 + ci / 2, dof)
    row["reduction_pct"] = 100 * (1 - np.exp(b))
    row["ci95_low"] = 100 * (1 - np.exp(b + q * se))
    row["ci95_high"] = 100 * (1 - np.exp(b - q * se))
    row["p_model"] = float(2 * stats.t.sf(abs(b / se), dof)) if se > 0 else nan
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
    ``log(value + offset) ~ 1 + condition[spu] + covariates``; ``reduction_pct =
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
        ``mean_treatment`` (units of ``value``), ``reduction_pct``, ``ci95_low``, ``ci95_high``
        (adjusted, %), ``reduction_unadjusted_pct`` (100 * (1 - ratio of arithmetic means),
        %), ``p_permutation``, ``p_model`` (regression t-test), ``n_perm``, ``log_offset``,
        ``covariates`` and ``verdict`` (plain-language sentence, :func:`verdict`).
    """
    _require(meals, [subject, condition, value], "n_of_1")
    if block is not None:
        _require(meals, [block], "n_of_1")
    kept, _ = _select(
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
    return pd.DataFrame(rows)


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

    1. a level and an SPU effect per period: ``reduction_pct = 100 * (1 - exp(beta_period))``
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
        ``reduction_pct``, ``ci95_low``, ``ci95_high`` (%), and, repeated on every row, the trend
        ``trend_ratio_change_pct``, ``trend_ci95_low``, ``trend_ci95_high`` (% per period),
        ``p_trend``, plus ``log_offset`` and ``covariates``.
    """
    _require(meals, [meal_time], "effect_over_time")
    kept, _ = _select(
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
    off = _log_offset(yv)
    cov_x, used, ok = _design(kept, adjust)
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
    labels = sorted(per.unique())
    q = lambda dof: stats.t.ppf(0.5 + ci / 2, dof)  # noqa: E731
    rows = []
    pmat = np.column_stack([(per == lab).to_numpy(dtype=float) for lab in labels])
    eff_cols = []
    for j, _lab in enumerate(labels):
        in_p = pmat[:, j] == 1
        if d[in_p].sum() >= 1 and (1 - d[in_p]).sum() >= 1:
            eff_cols.append(j)
    x1 = np.column_stack([pmat, pmat[:, eff_cols] * d[:, None], extra_m])
    res1 = _ols(y, x1) if len(y) > np.linalg.matrix_rank(x1) else None
    for j, lab in enumerate(labels):
        in_p = pmat[:, j] == 1
        row = {
            "period": str(lab),
            "period_start": lab.start_time,
            "n_spu": int(d[in_p].sum()),
            "n_control": int((1 - d[in_p]).sum()),
            "reduction_pct": np.nan,
            "ci95_low": np.nan,
            "ci95_high": np.nan,
        }
        if res1 is not None and j in eff_cols:
            beta, cov, dof, _ = res1
            k = len(labels) + eff_cols.index(j)
            b, se = beta[k], np.sqrt(cov[k, k])
            row.update(
                reduction_pct=100 * (1 - np.exp(b)),
                ci95_low=100 * (1 - np.exp(b + q(dof) * se)),
                ci95_high=100 * (1 - np.exp(b - q(dof) * se)),
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    # trend of the log ratio over continuous time (in periods)
    p0 = labels[0]
    span = (p0.end_time - p0.start_time) + pd.Timedelta(1, "ns")
    tt = ((times - p0.start_time) / span).to_numpy(dtype=float)
    tc = tt - tt.mean()
    x2 = np.column_stack([np.ones_like(y), tc, d, d * tc, extra_m])
    trend = dict(trend_ratio_change_pct=np.nan, trend_ci95_low=np.nan, trend_ci95_high=np.nan)
    trend["p_trend"] = np.nan
    if len(labels) > 1 and len(y) - np.linalg.matrix_rank(x2) >= 2:
        if np.linalg.matrix_rank(x2) == x2.shape[1]:
            beta, cov, dof, _ = _ols(y, x2)
            g, se = beta[3], np.sqrt(cov[3, 3])
            trend.update(
                trend_ratio_change_pct=100 * (np.exp(g) - 1),
                trend_ci95_low=100 * (np.exp(g - q(dof) * se) - 1),
                trend_ci95_high=100 * (np.exp(g + q(dof) * se) - 1),
                p_trend=float(2 * stats.t.sf(abs(g / se), dof)),
            )
    for key, val in trend.items():
        out[key] = val
    out["log_offset"] = off
    out["covariates"] = ",".join(used)
    return out


# --------------------------------------------------------------------------------------------
# plain-language verdict
# --------------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    r = round(float(x))
    return f"{0 if r == 0 else r}%"


def verdict(
    row: pd.Series | dict[str, Any],
    *,
    measure: str = "post-meal glucose rise",
    who: str = "your",
    min_n: int = 5,
    wide_pp: float = 60.0,
) -> str:
    """One plain-language sentence for a result row that respects its uncertainty.

    Rules, in order:

    1. no estimate, or fewer than ``min_n`` SPU or control meals (``n_spu``/``n_control``)
       or pairs (``n_pairs``): "Not enough ... yet to tell";
    2. CI excluding 0: "SPU lowered {who} {measure} by about X% (95% CI L% to H%)." or, for a
       rise, "... was about X% higher with SPU ...";
    3. CI including 0 and wider than ``wide_pp`` percentage points: not enough data yet to tell;
    4. otherwise: "No clear effect".

    Parameters
    ----------
    row : Series or dict
        A row of :func:`n_of_1`, :func:`crossover` or the ``reduction_pct`` row of
        :func:`mixed_model` (``estimate`` then stands for ``reduction_pct``).
    measure : str
        What was measured, in words.
    who : str
        Possessive: ``"your"`` for a self-tracker, ``"participants'"`` for a study.
    min_n : int
        Fewest meals per condition (or pairs) needed before any claim.
    wide_pp : float
        CI width (percentage points) above which a CI spanning 0 means "too early to tell".

    Returns
    -------
    str
    """
    r = dict(row)
    est = r.get("reduction_pct", r.get("estimate", np.nan))
    lo, hi = r.get("ci95_low", np.nan), r.get("ci95_high", np.nan)
    unit = "meals"
    if "n_spu" in r and "n_control" in r:
        n = min(int(r["n_spu"]), int(r["n_control"]))
        counts = f"{int(r['n_spu'])} SPU and {int(r['n_control'])} control meals"
    elif "n_pairs" in r:
        n, unit = int(r["n_pairs"]), "participants"
        counts = f"{n} participants with both conditions"
    else:
        n, counts = min_n, ""
    if not np.all(np.isfinite(np.asarray([est, lo, hi], dtype=float))) or n < min_n:
        need = f"; aim for at least {min_n} of each" if unit == "meals" else ""
        return f"Not enough {unit} yet to tell" + (f": {counts} so far{need}." if counts else ".")
    ci_txt = f"(95% CI {_pct(lo)} to {_pct(hi)})"
    if lo > 0:
        return f"SPU lowered {who} {measure} by about {_pct(est)} {ci_txt}."
    if hi < 0:
        cap = who[:1].upper() + who[1:]
        return f"{cap} {measure} was about {_pct(-est)} higher with SPU {ci_txt}; SPU did not lower it."
    if hi - lo > wide_pp:
        return (
            f"Not enough {unit} yet to tell: the estimate ({_pct(est)} lower with SPU) is very "
            f"uncertain {ci_txt}."
        )
    direction = "lower" if est >= 0 else "higher"
    return (
        f"No clear effect: {who} {measure} was about {_pct(abs(est))} {direction} with SPU "
        f"{ci_txt}, not distinguishable from no change."
    )


# --------------------------------------------------------------------------------------------
# power by simulation
# --------------------------------------------------------------------------------------------


def _binom_ci(hits: int, n_sim: int, ci: float) -> tuple[float, float]:
    res = stats.binomtest(int(hits), int(n_sim)).proportion_ci(confidence_level=ci, method="exact")
    return float(res.low), float(res.high)


def _power_rows(size_col: str, sizes: Sequence[int], hits: Sequence[int], n_sim: int, ci: float):
    rows = []
    for n, k in zip(sizes, hits, strict=True):
        lo, hi = _binom_ci(k, n_sim, ci)
        rows.append(
            {size_col: int(n), "n_sim": n_sim, "power": k / n_sim, "ci95_low": lo, "ci95_high": hi}
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
        ``n``, ``n_sim``, ``power`` (fraction of hits), ``ci95_low``, ``ci95_high``.
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
        ``n``, ``n_sim``, ``power``, ``ci95_low``, ``ci95_high``, ``meets_target``,
        ``reduction_pct``, ``within_cv``, ``cv_between``, ``test``.
    """
    if not -100 < reduction_pct < 100:
        raise InputError(f"reduction_pct must be between -100 and 100, got {reduction_pct}")
    sw, sb = _cv_to_sigma(within_cv), _cv_to_sigma(cv_between)
    if from_data is not None:
        pairs, _, _ = _pairs(
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
        off = _log_offset(np.concatenate([c, t]))
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
            lo, hi = _paired_reduction_ci(c, t, n_boot=n_boot, ci=1 - alpha, rng=rng_boot)
            return bool(lo > 0 or hi < 0)

        rng_boot = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        out = power_by_simulation(simulate, analyse, grid, n_sim=n_sim, seed=seed, ci=ci)
    else:
        raise InputError(f"test must be 'ttest' or 'bootstrap', got {test!r}")
    out["meets_target"] = out["power"] >= power
    out["reduction_pct"] = float(reduction_pct)
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
        ``meals``, ``n_sim``, ``power``, ``ci95_low``, ``ci95_high``, ``meets_target``,
        ``n_spu`` (meals with SPU), ``reduction_pct``, ``residual_cv``, ``n_covariates``.
    """
    if not -100 < reduction_pct < 100:
        raise InputError(f"reduction_pct must be between -100 and 100, got {reduction_pct}")
    s = _cv_to_sigma(residual_cv)
    n_cov = 0
    if from_data is not None:
        _require(from_data, ["subject", "condition", value], "power_n_of_1")
        if from_data["subject"].nunique() > 1:
            raise InputError("power_n_of_1: from_data must hold one person's meals")
        kept, _ = _select(
            from_data,
            value,
            subject="subject",
            condition="condition",
            control=CONTROL,
            treatment=TREATMENT,
            what="power_n_of_1",
        )
        cov_x, _, ok = _design(kept, adjust)
        kept = kept.loc[ok]
        yv = kept["_y"].to_numpy(dtype=float)
        y = np.log(yv + _log_offset(yv))
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
        _, _, _, s = _ols(y, x)
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
    out["reduction_pct"] = float(reduction_pct)
    out["residual_cv"] = _sigma_to_cv(s)
    out["n_covariates"] = n_cov
    return out
