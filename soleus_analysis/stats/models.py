"""Many meals per person: the linear mixed model and the dose-response of SPU minutes.

Both estimate on the response's own scale; their reductions are model-based ratios of arithmetic
means (``reduction_mean_ratio_pct``, ``reduction_per_dose_pct``: marginal standardisation and the
delta method), matching :func:`soleus_analysis.stats.paired.crossover`'s
``reduction_mean_ratio_pct``.

The mixed model's estimand is the *population* mean SPU effect: people differ in how much SPU
helps them, so each person's SPU effect has its own random slope and the interval's degrees of
freedom are those of people (``n_people - 1``), not of meals. A fit that did not converge or sits
on the boundary of its parameter space is never returned as a normal result: the model falls back
to a two-stage per-person analysis and says so (columns ``model`` and ``note``), or returns no
estimate with the reason. ``benchmarks/mixed_grid.py`` checks the coverage by simulation.
"""

from __future__ import annotations

import warnings
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
    numeric_column,
    ols,
    select_rows,
    t_quantile,
    t_two_sided_p,
)
from .results import as_result

__all__ = [
    "DOSE_MIN_LEVELS",
    "DOSE_MIN_SD_MIN",
    "MIXED_MIN_MEALS",
    "MIXED_MIN_PEOPLE",
    "dose_response",
    "mixed_model",
]

#: fewest people with both conditions before a population SPU effect is estimated (with fewer,
#: people's own effects cannot be told from the spread between people: t with < 2 df)
MIXED_MIN_PEOPLE = 3
#: fewest meals per condition for a person to count as having both conditions
MIXED_MIN_MEALS = 2
#: a random-effect variance below this share of the sampling variance of one person's own
#: estimate is a fit on the boundary (variance 0)
BOUNDARY_SHARE = 1e-3
#: a random intercept-slope correlation beyond this is a singular (boundary) covariance
BOUNDARY_CORR = 0.999
#: the REML optimum found from several starts and statsmodels' refit must agree this closely
#: (log-likelihood units)
REML_AGREEMENT = 1e-3

#: fewest distinct SPU durations (min) among SPU meals before a dose-response is estimated
DOSE_MIN_LEVELS = 3
#: smallest standard deviation of SPU minutes among SPU meals (within a person when there are
#: several) before a dose-response is estimated: logged 28, 30 and 32 min are one dose
DOSE_MIN_SD_MIN = 5.0

#: the two-stage fallback's model name and the random-slope model's
TWO_STAGE = "two_stage"
RANDOM_SLOPE = "mixedlm_random_slope"


def _t_quantile(ci: float, dof: float) -> float:
    return float(t_quantile(0.5 + ci / 2, dof))


def _term_row(
    name: str, b: float, se: float, dof: float, ci: float, p: float | None = None
) -> dict[str, Any]:
    """One tidy term row: t interval with ``dof`` degrees of freedom and its two-sided p."""
    lab = ci_label(ci)
    ok = np.isfinite(b) and np.isfinite(se) and se > 0 and np.isfinite(dof) and dof > 0
    if not ok:
        nan = float("nan")
        return {
            "term": name,
            "estimate": nan,
            "se": nan,
            f"{lab}_low": nan,
            f"{lab}_high": nan,
            "p": nan,
            "df": float(dof) if np.isfinite(dof) else nan,
        }
    q = _t_quantile(ci, dof)
    if p is None:
        p = float(t_two_sided_p(b / se, dof))
    return {
        "term": name,
        "estimate": float(b),
        "se": float(se),
        f"{lab}_low": float(b - q * se),
        f"{lab}_high": float(b + q * se),
        "p": float(p),
        "df": float(dof),
    }


def _standardised_reduction(
    xbar0: np.ndarray, beta: np.ndarray, cov: np.ndarray, k: int
) -> tuple[float, float]:
    """-100 * beta[k] / mu and its delta-method SE: a model-based ratio of means.

    ``mu = xbar0 @ beta`` is the predicted mean response of all analysed meals with the SPU terms
    at 0 (``xbar0``: the mean design row with those terms zeroed; marginal standardisation).
    ``cov`` is the covariance of all of ``beta`` (for a random-slope model: the fixed effects'
    covariance under that model, which holds the intercept-slope covariance).
    """
    mu = float(xbar0 @ beta)
    if not np.isfinite(mu) or mu <= 0:
        return float("nan"), float("nan")
    red = -100.0 * beta[k] / mu
    grad = -100.0 * (np.eye(len(beta))[k] / mu - beta[k] * xbar0 / mu**2)
    return float(red), float(np.sqrt(max(grad @ cov @ grad, 0.0)))


# ------------------------------------------------------------------------------------------
# REML of y = X b + Z u + e, u ~ N(0, sigma2 * L L') per person, Z = the first two columns of X
# ------------------------------------------------------------------------------------------


def _group_crossproducts(w: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group W'W of the rows of ``w`` (rows sorted by group code)."""
    starts = np.searchsorted(codes, np.arange(n_groups))
    return np.add.reduceat(w[:, :, None] * w[:, None, :], starts, axis=0)


class _Cross:
    """Each person's cross-products of ``[X, y]``, split for the REML evaluations."""

    def __init__(self, s: np.ndarray, k: int, n_obs: int) -> None:
        self.s, self.k, self.n_obs = s, k, n_obs
        self.total = s.sum(axis=0)
        self.c00, self.c01, self.c11 = s[:, 0, 0], s[:, 0, 1], s[:, 1, 1]
        self.r0, self.r1 = s[:, 0, :], s[:, 1, :]  # Z'W per person, Z = (intercept, SPU)


def _reml_parts(theta: np.ndarray, c: _Cross) -> tuple[float, np.ndarray, float, np.ndarray]:
    """REML pieces at the relative random-effect Cholesky factor ``theta`` = (l11, l21, l22).

    The random effects are on the first two columns of ``X`` (intercept, SPU), with covariance
    ``sigma2 * L L'``. With ``V_i / sigma2 = I + Z L L' Z'``, Woodbury gives
    ``W'V^-1 W = sum_i (W'W - W'Z P Z'W)`` with ``P = L M^-1 L'``, ``M = I + L'Z'ZL``, and
    ``log|V_i / sigma2| = log|M|``. Returns (sum log|M|, beta, residual sum of squares, the
    Cholesky factor of X'V^-1 X), everything relative to ``sigma2``.
    """
    l11, l21, l22 = theta
    u00 = l11 * l11 * c.c00 + 2 * l11 * l21 * c.c01 + l21 * l21 * c.c11
    u01 = l22 * (l11 * c.c01 + l21 * c.c11)
    u11 = l22 * l22 * c.c11
    m00, m11 = 1.0 + u00, 1.0 + u11
    det = m00 * m11 - u01 * u01
    i00, i01, i11 = m11 / det, -u01 / det, m00 / det
    p00 = l11 * l11 * i00
    p01 = l11 * (l21 * i00 + l22 * i01)
    p11 = l21 * (l21 * i00 + l22 * i01) + l22 * (l21 * i01 + l22 * i11)
    r0, r1 = c.r0, c.r1
    cross = r0.T @ (p01[:, None] * r1)
    q = c.total - (r0.T @ (p00[:, None] * r0) + cross + cross.T + r1.T @ (p11[:, None] * r1))
    k = c.k
    xvx, xvy, yvy = q[:k, :k], q[:k, k], q[k, k]
    chol = np.linalg.cholesky(xvx)
    beta = np.linalg.solve(xvx, xvy)
    rss = float(yvy - xvy @ beta)
    return float(np.sum(np.log(det))), beta, rss, chol


def _reml_objective(theta: np.ndarray, c: _Cross) -> float:
    """Minus the profile REML log-likelihood (up to a constant)."""
    try:
        logdet, _, rss, chol = _reml_parts(theta, c)
    except np.linalg.LinAlgError:
        return np.inf
    if not rss > 0:
        return np.inf
    return 0.5 * ((c.n_obs - c.k) * np.log(rss) + logdet) + float(np.sum(np.log(np.diag(chol))))


def _reml_value_grad(theta: np.ndarray, c: _Cross) -> tuple[float, np.ndarray]:
    """:func:`_reml_objective` and its gradient in ``theta`` (analytic).

    With ``G = L L'``, ``B_i = (I + G C_i)^-1`` (``C_i = Z_i'Z_i``) and ``P_i = B_i G``:
    ``d log|I + G C_i| = tr(C_i B_i dG)``, ``dQ = -sum_i R_i' B_i dG B_i' R_i`` (``R_i = Z_i'W``)
    so ``dRSS = -sum_i u_i' dG u_i`` with ``u_i = B_i' R_i (-beta, 1)`` and
    ``d log|X'V^-1 X| = -sum_i tr(B_i' R_ix H R_ix' B_i dG)`` (``H = (X'V^-1 X)^-1``); the gradient
    in ``L`` is ``2 D L`` for the symmetric ``D`` with ``df = tr(D dG)``.
    """
    l11, l21, l22 = theta
    lmat = np.array([[l11, 0.0], [l21, l22]])
    gam = lmat @ lmat.T
    cc = c.s[:, :2, :2]
    a = np.eye(2) + gam @ cc
    det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
    if not np.all(det > 0):
        return np.inf, np.zeros(3)
    b = np.empty_like(a)
    b[:, 0, 0], b[:, 1, 1] = a[:, 1, 1] / det, a[:, 0, 0] / det
    b[:, 0, 1], b[:, 1, 0] = -a[:, 0, 1] / det, -a[:, 1, 0] / det
    pmat = b @ gam
    pmat = (pmat + pmat.transpose(0, 2, 1)) / 2
    r = c.s[:, :2, :]
    rt = r.transpose(0, 2, 1)
    q = c.total - (rt @ pmat @ r).sum(axis=0)
    k = c.k
    xvx, xvy, yvy = q[:k, :k], q[:k, k], q[k, k]
    try:
        chol = np.linalg.cholesky(xvx)
    except np.linalg.LinAlgError:
        return np.inf, np.zeros(3)
    h = np.linalg.inv(xvx)
    beta = h @ xvy
    rss = float(yvy - xvy @ beta)
    if not rss > 0:
        return np.inf, np.zeros(3)
    n_k = c.n_obs - k
    value = 0.5 * (n_k * np.log(rss) + float(np.sum(np.log(det))))
    value += float(np.sum(np.log(np.diag(chol))))
    e = np.append(-beta, 1.0)
    bt = b.transpose(0, 2, 1)
    u = (bt @ (r @ e)[:, :, None])[:, :, 0]
    rx = r[:, :, :k]
    cb = (cc @ b).sum(axis=0)
    d = 0.5 * (
        -n_k / rss * (u.T @ u)
        + (cb + cb.T) / 2
        - (bt @ rx @ h @ rx.transpose(0, 2, 1) @ b).sum(axis=0)
    )
    gl = 2 * d @ lmat
    return float(value), np.array([gl[0, 0], gl[1, 0], gl[1, 1]])


def _moment_start(s: np.ndarray, both: np.ndarray) -> np.ndarray:
    """Start values: each person's own (intercept, SPU) by least squares on [1, spu], their
    spread minus the average sampling covariance, relative to the pooled residual variance."""
    zz, zy, yy = s[both, :2, :2], s[both, :2, -1], s[both, -1, -1]
    b = np.linalg.solve(zz, zy[:, :, None])[:, :, 0]
    rss = yy - np.einsum("ga,ga->g", b, zy)
    dof = s[both, 0, 0] - 2
    sigma2 = max(float(rss.sum() / max(dof.sum(), 1)), 1e-12)
    spread = np.cov(b.T) if len(b) > 1 else np.eye(2)
    rel = (spread - sigma2 * np.linalg.inv(zz).mean(axis=0)) / sigma2
    w, u = np.linalg.eigh((rel + rel.T) / 2)
    rel = u @ np.diag(np.clip(w, 0.05, None)) @ u.T
    lmat = np.linalg.cholesky(rel)
    return np.array([lmat[0, 0], lmat[1, 0], lmat[1, 1]])


def _theta_cov(theta: np.ndarray) -> np.ndarray:
    lmat = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    return lmat @ lmat.T


def _reml_random_slope(c: _Cross, both: np.ndarray) -> dict[str, Any]:
    """The REML optimum over the relative random-effect covariance.

    BFGS from the moment start (:func:`_moment_start`); when that does not succeed or ends on
    the boundary, also from a second start, keeping the better optimum (on simulated cohorts of
    4 to 20 people four different starts never reached optima more than 1e-4 apart).
    """
    from scipy import optimize  # imported when a mixed model is fitted, not with the package

    best = None
    for theta0 in (_moment_start(c.s, both), np.array([1.0, 0.0, 0.5])):
        res = optimize.minimize(
            _reml_value_grad, theta0, args=(c,), jac=True, method="BFGS", options={"gtol": 1e-6}
        )
        if best is None or res.fun < best.fun:
            best = res
        if best.success and _boundary_reason(_theta_cov(best.x), c.s, both) is None:
            break
    assert best is not None
    return {"theta": best.x, "value": float(best.fun), "success": bool(best.success)}


def _boundary_reason(cov_rel: np.ndarray, s: np.ndarray, both: np.ndarray) -> str | None:
    """Why a relative random-effect covariance is on the boundary, or None.

    The scale is the sampling variance (relative to the residual variance) of one person's own
    intercept and SPU effect: a random-effect variance far below it is a variance of 0.
    """
    own = np.median(np.linalg.inv(s[both, :2, :2]), axis=0)
    if cov_rel[1, 1] < BOUNDARY_SHARE * own[1, 1]:
        return "the SPU effect's variance between people was estimated at 0 (boundary fit)"
    if cov_rel[0, 0] < BOUNDARY_SHARE * own[0, 0]:
        return "the variance between people's intercepts was estimated at 0 (boundary fit)"
    corr = cov_rel[0, 1] / np.sqrt(cov_rel[0, 0] * cov_rel[1, 1])
    if not abs(corr) < BOUNDARY_CORR:
        return (
            "the random intercept and SPU slope were estimated as perfectly correlated "
            "(singular covariance, boundary fit)"
        )
    return None


def _fit_random_slope(
    y: np.ndarray, x: np.ndarray, codes: np.ndarray, n_groups: int, both: np.ndarray
) -> dict[str, Any]:
    """``y ~ x + (1 + spu | person)`` by REML with statsmodels' MixedLM; checked.

    The response is standardised (REML is equivariant; statsmodels' optimiser is not robust to
    iAUCs in the thousands) and the optimiser starts from the REML optimum found from several
    starts (:func:`_reml_random_slope`), which statsmodels must confirm. Returns either the fit
    (``beta``, ``cov``, variance components) or ``{"reason": ...}`` when it cannot be trusted:
    not converged, on the boundary, a Hessian that is not positive definite, or optimisers that
    disagree.
    """
    centre, scale = float(np.mean(y)), float(np.std(y))
    if not scale > 0:
        return {"reason": "every response is the same"}
    ys = (y - centre) / scale
    k = x.shape[1]
    s = _group_crossproducts(np.column_stack([x, ys]), codes, n_groups)
    c = _Cross(s, k, len(ys))
    own = _reml_random_slope(c, both)
    if not np.isfinite(own["value"]):
        return {"reason": "the random-slope model's likelihood could not be evaluated"}
    th = own["theta"]
    rel = _theta_cov(th)
    why = _boundary_reason(rel, s, both)
    if why is not None:
        return {"reason": why}
    # statsmodels costs about a second to import: only when a mixed model is fitted, and only
    # its mixed-model module (not statsmodels.api)
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

    _, beta0, _, _ = _reml_parts(th, c)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = MixedLM(ys, x, groups=codes, exog_re=x[:, :2]).fit(
                reml=True,
                start_params=MixedLMParams.from_components(fe_params=beta0, cov_re=rel),
                method=["bfgs", "lbfgs"],
            )
        except (np.linalg.LinAlgError, ValueError) as exc:
            return {"reason": f"the random-slope fit failed ({str(exc).splitlines()[0]})"}
    messages = " ".join(str(w.message) for w in caught)
    if not res.converged:
        return {"reason": "the random-slope fit did not converge"}
    if "Hessian" in messages or "singular" in messages.lower():
        return {"reason": "the random-slope fit's Hessian is not positive definite"}
    rel_sm = np.asarray(res.cov_re_unscaled, dtype=float)
    try:
        l_sm = np.linalg.cholesky(rel_sm)
    except np.linalg.LinAlgError:
        return {"reason": "the random-effect covariance is singular (boundary fit)"}
    th_sm = np.array([l_sm[0, 0], l_sm[1, 0], l_sm[1, 1]])
    if _reml_objective(th_sm, c) > own["value"] + REML_AGREEMENT:
        return {"reason": "the random-slope fit stopped short of the REML optimum"}
    why = _boundary_reason(rel_sm, s, both)
    if why is not None:
        return {"reason": why}
    beta = np.asarray(res.fe_params, dtype=float)
    # the fixed effects' covariance under the fitted model: sigma2 (X' V^-1 X)^-1
    _, _, _, chol = _reml_parts(th_sm, c)
    inv = np.linalg.inv(chol)
    cov = float(res.scale) * (inv.T @ inv)
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0)):
        return {"reason": "the random-slope fit gave no usable standard errors"}
    beta = beta * scale
    beta[0] += centre
    cov_re = np.asarray(res.cov_re, dtype=float) * scale**2
    return {
        "beta": beta,
        "cov": cov * scale**2,
        "subject_var": float(cov_re[0, 0]),
        "slope_var": float(cov_re[1, 1]),
        "residual_var": float(res.scale) * scale**2,
    }


def _two_stage(
    y: np.ndarray, x: np.ndarray, codes: np.ndarray, people: np.ndarray
) -> dict[str, Any]:
    """Each person's SPU effect by least squares with the covariates, then a t over people.

    Per person ``people``: ``y ~ 1 + spu + covariates`` on their own meals (covariates that are
    constant for them, or that leave fewer than 2 residual degrees of freedom, are dropped for
    that person), giving their effect ``d_i`` and the predicted mean of their meals as control
    meals ``m_i = mean(y_i) - d_i * share_spu_i``. The population mean effect is the unweighted
    mean of ``d_i`` (each person counts once: the estimand is a mean over people, and the spread
    of the ``d_i`` holds both the spread between people and each one's sampling error, so
    ``sd(d) / sqrt(n)`` needs no variance component), with ``n - 1`` degrees of freedom; the
    reduction is ``-100 * mean(d) / mean(m)`` with the delta method over people.
    """
    d, m, a = [], [], []
    for g in people:
        rows = codes == g
        xi, yi = x[rows], y[rows]
        cols = [0, 1] + [j for j in range(2, x.shape[1]) if np.ptp(xi[:, j]) > 0]
        if np.linalg.matrix_rank(xi[:, cols]) < len(cols) or len(yi) - len(cols) < 2:
            cols = [0, 1]
        b = np.linalg.lstsq(xi[:, cols], yi, rcond=None)[0]
        d.append(b[1])
        a.append(b[0])
        m.append(float(yi.mean() - b[1] * xi[:, 1].mean()))
    d_arr, m_arr, a_arr = np.asarray(d), np.asarray(m), np.asarray(a)
    n = len(d_arr)
    return {"d": d_arr, "m": m_arr, "a": a_arr, "n": n}


def _empty_rows(names: Sequence[str], ci: float) -> list[dict[str, Any]]:
    return [_term_row(name, np.nan, np.nan, np.nan, ci) for name in names]


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
    min_people: int = MIXED_MIN_PEOPLE,
    min_meals: int = MIXED_MIN_MEALS,
) -> pd.DataFrame:
    """Population mean SPU effect from many meals of many people: a random SPU slope per person.

    ``value ~ 1 + condition[spu] + covariates + (1 + condition[spu] | subject)``, fitted by REML
    with :class:`statsmodels.regression.mixed_linear_model.MixedLM` (each person has their own
    control level and their own SPU effect; the estimand is the mean SPU effect over people).
    The SPU term's t interval and test use ``n_people - 1`` degrees of freedom (the
    between-within / containment degrees of freedom of a term with a random slope: the
    information about a mean over people grows with people, not meals; ``benchmarks/
    mixed_grid.py`` shows the coverage with 6 to 20 people).

    The fit is checked: when it did not converge, its Hessian is not positive definite, or it is
    on the boundary (the SPU effect's variance between people estimated at 0, or a singular
    random-effect covariance), the model falls back to a **two-stage** analysis (each person's
    effect by least squares with the covariates, then a t interval over people with
    ``n - 1`` degrees of freedom) and says so: ``model`` is ``"two_stage"`` and ``note`` the
    reason. With fewer than ``min_people`` people having at least ``min_meals`` meals in each
    condition no population effect is estimated (``model`` ``"none"``, NaN estimates, ``note``).
    With a single person the result is that person's own effect by ordinary least squares
    (``model`` ``"ols"``).

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
        Confidence level (t intervals).
    min_people : int
        Fewest people with both conditions for a population estimate (default 3).
    min_meals : int
        Meals per condition for a person to count as having both conditions (default 2).

    Returns
    -------
    DataFrame
        One row per term: ``term`` (``Intercept``, ``condition[spu]``, covariates for the
        random-slope and OLS fits, then ``reduction_mean_ratio_pct``), ``estimate``, ``se``,
        ``ci95_low``, ``ci95_high`` (named from ``ci``:
        :func:`~soleus_analysis.stats.common.ci_label`), ``p``, ``df``, plus ``n_meals``,
        ``n_subjects``, ``n_subjects_both`` (people with ``min_meals`` in each condition),
        ``n_excluded``, ``model`` (``"mixedlm_random_slope"``, ``"two_stage"``, ``"ols"`` or
        ``"none"``), ``note`` (why a fallback or no estimate; empty otherwise), ``covariates``,
        ``subject_sd``, ``slope_sd`` (SD of the SPU effect between people) and ``residual_sd``
        (units of ``value``). ``condition[spu]`` is the adjusted mean difference SPU - control
        in units of ``value``. ``reduction_mean_ratio_pct`` (%) is ``-100 * effect /
        mu_control``, with ``mu_control`` the model-predicted mean response of all analysed meals
        had they been control meals (marginal standardisation; in the two-stage analysis the
        mean over people of each one's predicted control mean); its interval comes from the
        delta method on the fixed effects' covariance under the random-slope model (which holds
        the intercept-slope covariance), with the SPU term's degrees of freedom, and its p is
        the SPU term's. The delta method was preferred over a log-scale refit because it
        estimates the same ratio of arithmetic means as :func:`crossover`, and needs no offset
        for meals with an iAUC of 0.
    """
    if min_people < 2:
        raise InputError(f"min_people must be at least 2, got {min_people}")
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
    term = f"condition[{treatment}]"
    x = pd.concat(
        [
            pd.DataFrame(
                {"Intercept": 1.0, term: kept["_t"].astype(float)},
                index=kept.index,
            ),
            cov_x,
        ],
        axis=1,
    )
    xm = x.to_numpy(dtype=float)
    names = list(x.columns)
    if np.linalg.matrix_rank(xm) < xm.shape[1]:
        raise InputError(
            "the model's terms are collinear (for example every meal in one condition, or a "
            f"covariate that mirrors the condition); terms: {names}"
        )
    y = kept["_y"].to_numpy(dtype=float)
    subj = kept[subject].astype(str).to_numpy()
    labels, codes = np.unique(subj, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    xm, y, codes = xm[order], y[order], codes[order]
    n_groups = len(labels)
    n_t = np.bincount(codes, weights=xm[:, 1], minlength=n_groups)
    n_c = np.bincount(codes, minlength=n_groups) - n_t
    both = (n_t >= min_meals) & (n_c >= min_meals)
    n_both = int(both.sum())
    xbar0 = xm.mean(axis=0)
    xbar0[1] = 0.0
    lab = ci_label(ci)
    info: dict[str, Any] = {
        "subject_sd": np.nan,
        "slope_sd": np.nan,
        "residual_sd": np.nan,
        "note": "",
    }
    if n_groups == 1:
        beta, cov, dof, sd = ols(y, xm)
        rows = [
            _term_row(nm, b, s, dof, ci)
            for nm, b, s in zip(names, beta, np.sqrt(np.diag(cov)), strict=True)
        ]
        red, red_se = _standardised_reduction(xbar0, beta, cov, 1)
        model = "ols"
        info.update(
            residual_sd=sd,
            note="one person: ordinary least squares of their meals (their own effect)",
        )
        rows.append(_term_row("reduction_mean_ratio_pct", red, red_se, dof, ci, rows[1]["p"]))
    elif n_both < min_people:
        rows = _empty_rows(["Intercept", term, "reduction_mean_ratio_pct"], ci)
        model = "none"
        info["note"] = (
            f"needs at least {min_people} people with {min_meals} or more meals in each "
            f"condition for a population estimate; {n_both} of {n_groups} have them"
        )
    else:
        fit = _fit_random_slope(y, xm, codes, n_groups, both)
        dof = float(n_both - 1)
        if "reason" not in fit:
            model = RANDOM_SLOPE
            beta, cov = fit["beta"], fit["cov"]
            se = np.sqrt(np.diag(cov))
            within = float(len(y) - n_groups - (xm.shape[1] - 1))
            dofs = [float(n_groups - 1), dof] + [within if within > 0 else dof] * (len(names) - 2)
            rows = [
                _term_row(nm, b, s, df_, ci)
                for nm, b, s, df_ in zip(names, beta, se, dofs, strict=True)
            ]
            red, red_se = _standardised_reduction(xbar0, beta, cov, 1)
            info.update(
                subject_sd=np.sqrt(fit["subject_var"]),
                slope_sd=np.sqrt(fit["slope_var"]),
                residual_sd=np.sqrt(fit["residual_var"]),
            )
        else:
            model = TWO_STAGE
            two = _two_stage(y, xm, codes, np.flatnonzero(both))
            d, m, a, n = two["d"], two["m"], two["a"], two["n"]
            rows = [
                _term_row("Intercept", a.mean(), a.std(ddof=1) / np.sqrt(n), dof, ci),
                _term_row(term, d.mean(), d.std(ddof=1) / np.sqrt(n), dof, ci),
            ]
            mbar = m.mean()
            if mbar > 0:
                red = -100.0 * d.mean() / mbar
                red_se = 100.0 / mbar * np.std(d - d.mean() / mbar * m, ddof=1) / np.sqrt(n)
            else:
                red, red_se = np.nan, np.nan
            info["note"] = f"{fit['reason']}; two-stage per-person estimate"
            info["slope_sd"] = np.nan
        rows.append(_term_row("reduction_mean_ratio_pct", red, red_se, dof, ci, rows[1]["p"]))
        if not np.isfinite(rows[-1]["estimate"]):
            info["note"] = (info["note"] + "; " if info["note"] else "") + (
                "the predicted control mean is not positive: no reduction"
            )
        if not np.isfinite(rows[1]["se"]):
            model = "none"
            rows = _empty_rows(["Intercept", term, "reduction_mean_ratio_pct"], ci)
            info["note"] = (info["note"] + "; " if info["note"] else "") + (
                "no usable standard error: no estimate"
            )
    out = pd.DataFrame(rows)
    out = out[["term", "estimate", "se", f"{lab}_low", f"{lab}_high", "p", "df"]]
    out["n_meals"] = len(y)
    out["n_subjects"] = n_groups
    out["n_subjects_both"] = n_both
    out["n_excluded"] = n_excl
    out["model"] = model
    out["note"] = info["note"]
    out["covariates"] = ",".join(used)
    out["subject_sd"] = info["subject_sd"]
    out["slope_sd"] = info["slope_sd"]
    out["residual_sd"] = info["residual_sd"]
    titles = {
        RANDOM_SLOPE: "Mixed model: random SPU slope per person",
        TWO_STAGE: "Mixed model fallback: two-stage per-person estimates",
        "ols": "One person: least squares of their meals",
        "none": "Mixed model: no population estimate",
    }
    return as_result(out, titles[model])


def _cluster_robust(x: np.ndarray, resid: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """CR1 cluster-robust covariance of least-squares coefficients, clusters = ``codes``."""
    n, k = x.shape
    bread = np.linalg.pinv(x.T @ x)
    scores = np.zeros((codes.max() + 1, k))
    np.add.at(scores, codes, x * resid[:, None])
    g = len(np.unique(codes))
    meat = scores.T @ scores
    return g / (g - 1) * (n - 1) / (n - k) * bread @ meat @ bread


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
    min_levels: int = DOSE_MIN_LEVELS,
    min_sd: float = DOSE_MIN_SD_MIN,
) -> pd.DataFrame:
    """Change of the response per ``per`` minutes of SPU, among SPU meals.

    ``value ~ 1 + spu + spu * (dose - mean SPU dose) / per + covariates``: the SPU indicator
    takes the SPU/control contrast, so the slope is estimated from the *differences in SPU
    minutes between SPU meals* only (control meals inform the intercept and covariates; they
    are not meals of 0 minutes on the same line). With one person: ordinary least squares, t
    intervals on the residual degrees of freedom. With several: each person has their own
    intercept and own SPU effect (fixed effects), the slope comes from SPU minutes varying
    within people (dose centred on each person's mean SPU dose), and its interval is
    cluster-robust by person (CR1) with ``people - 1`` degrees of freedom when at least 3 people
    have different SPU durations, else model-based.

    A dose-response needs a real spread of doses among SPU meals: at least ``min_levels``
    distinct SPU durations and a standard deviation of SPU minutes of at least ``min_sd`` min
    (within people when there are several). Logged durations of 28, 30 and 32 min are one dose
    with logging noise (SD 1.6 min), not three: they raise
    ``InputError("dose_response needs SPU meals with different durations: ...")``.

    Parameters
    ----------
    meals : DataFrame
        Per-meal table with ``dose`` (min of SPU during the meal window).
    value : str
        Response column (e.g. ``iauc_mgdl_min``, mg/dL*min).
    dose : str
        SPU minutes column (min); SPU meals without it are excluded (counted); control meals'
        minutes are not used.
    covariates : sequence of str
        As in :func:`mixed_model`.
    per : float
        Dose unit of the slope (min); default 10 SPU minutes.
    min_levels : int
        Fewest distinct SPU durations (default 3).
    min_sd : float
        Smallest SD of SPU minutes (min; default 5).

    Returns
    -------
    DataFrame
        One row: ``term`` (``"spu_per_10min"``), ``estimate`` (units of ``value`` per ``per``
        SPU minutes, among SPU meals), ``se``, ``ci95_low``, ``ci95_high``, ``p``, ``df``,
        ``reduction_per_dose_pct`` (-100 * slope / predicted mean of the meals as control
        meals, % per ``per`` min; with delta-method CI in ``reduction_per_dose_ci95_low`` /
        ``_high``), ``spu_effect_at_mean_dose`` (the SPU - control difference at the mean SPU
        dose), ``mean_dose_min``, ``dose_sd_min``, ``n_dose_levels``, ``max_dose_min``,
        ``n_meals``, ``n_spu_meals``, ``n_subjects``, ``n_excluded``, ``model``,
        ``covariates``.
    """
    check_frame(meals, [subject, condition, value, dose], "dose_response")
    if not per > 0:
        raise InputError(f"per must be a positive number of minutes, got {per}")
    frame = meals.copy()
    d = numeric_column(frame, dose)
    is_t = (frame[condition].astype("object") == treatment).to_numpy()
    frame = frame.assign(**{"_dose_ok": ~(is_t & ~np.isfinite(d.to_numpy()))})
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
    t = kept["_t"].to_numpy(dtype=bool)
    if t.all() or not t.any():
        raise InputError("dose_response needs meals in both conditions (control and SPU)")
    dv = np.where(t, numeric_column(kept, dose).to_numpy(), np.nan)
    subj = kept[subject].astype(str).to_numpy()
    labels, codes = np.unique(subj, return_inverse=True)
    several = len(labels) > 1
    spu_dose = dv[t]
    if several:
        means = pd.Series(spu_dose).groupby(codes[t]).transform("mean").to_numpy()
        centred = spu_dose - means
    else:
        centred = spu_dose - spu_dose.mean()
    n_levels = len(np.unique(spu_dose))
    # SD of the SPU minutes (around each person's own mean when there are several people)
    dof_sd = len(centred) - (len(np.unique(codes[t])) if several else 1)
    sd = float(np.sqrt(np.sum(centred**2) / dof_sd)) if dof_sd > 0 else 0.0
    if n_levels < min_levels or not sd >= min_sd:
        within = " within people" if several else ""
        raise InputError(
            f"dose_response needs SPU meals with different durations: {n_levels} distinct SPU "
            f"duration(s) (needs {min_levels}) with an SD of {sd:.1f} min{within} (needs "
            f"{min_sd:g} min) among {int(t.sum())} SPU meals"
        )
    term = f"spu_per_{per:g}min"
    dose_col = np.zeros(len(kept))
    dose_col[t] = centred / per
    if several:
        blocks = {}
        for j, lab_ in enumerate(labels):
            mine = codes == j
            blocks[f"_person[{lab_}]"] = mine.astype(float)
            if t[mine].any() and not t[mine].all():
                blocks[f"_spu[{lab_}]"] = (mine & t).astype(float)
        base = pd.DataFrame(blocks, index=kept.index)
    else:
        base = pd.DataFrame({"Intercept": 1.0, "_spu": t.astype(float)}, index=kept.index)
    x = pd.concat([base, pd.DataFrame({term: dose_col}, index=kept.index), cov_x], axis=1)
    xm = x.to_numpy(dtype=float)
    if np.linalg.matrix_rank(xm) < xm.shape[1]:
        raise InputError(
            "dose_response's terms are collinear (a covariate that mirrors the SPU minutes?); "
            f"terms: {[c for c in x.columns if not c.startswith('_')]}"
        )
    y = kept["_y"].to_numpy(dtype=float)
    beta, cov, dof, _ = ols(y, xm)
    model = "ols"
    varies = pd.Series(centred != 0).groupby(codes[t]).any().sum() if several else 1
    if several:
        if varies >= 3:
            cov = _cluster_robust(xm, y - xm @ beta, codes)
            dof = int(varies) - 1
            model = "ols_person_effects_cluster_robust"
        else:
            model = "ols_person_effects"
    kd = list(x.columns).index(term)
    row = _term_row(term, beta[kd], float(np.sqrt(cov[kd, kd])), float(dof), ci)
    # the predicted mean of the analysed meals had they all been control meals
    spu_cols = [j for j, c in enumerate(x.columns) if c.startswith("_spu") or c == term]
    xbar0 = xm.mean(axis=0)
    xbar0[spu_cols] = 0.0
    red, red_se = _standardised_reduction(xbar0, beta, cov, kd)
    lab = ci_label(ci)
    red_row = _term_row("r", red, red_se, float(dof), ci)
    spu_effect = float(np.mean(beta[[j for j in spu_cols if j != kd]])) if spu_cols else np.nan
    row.update(
        {
            "reduction_per_dose_pct": red_row["estimate"],
            f"reduction_per_dose_{lab}_low": red_row[f"{lab}_low"],
            f"reduction_per_dose_{lab}_high": red_row[f"{lab}_high"],
            "spu_effect_at_mean_dose": spu_effect,
            "mean_dose_min": float(spu_dose.mean()),
            "dose_sd_min": sd,
            "n_dose_levels": n_levels,
            "max_dose_min": float(spu_dose.max()),
            "n_meals": len(kept),
            "n_spu_meals": int(t.sum()),
            "n_subjects": len(labels),
            "n_excluded": n_excl,
            "model": model,
            "covariates": ",".join(used),
        }
    )
    return as_result(pd.DataFrame([row]), "Dose-response of SPU minutes among SPU meals")
