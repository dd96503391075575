"""Bayesian N-of-1: how likely is it that SPU lowers *my* post-meal response, and can I stop?

One person's randomised meals are fitted on the log scale, ``y = log(value + offset)``::

    y_i = x_i' b + delta * spu_i + e_i,        e_i ~ N(0, sigma^2)

with ``x`` the intercept, carbs (centred, per 10 g), the meal period (dummies), a slow trend
(days since the first meal scaled to -1..1, linear and quadratic, once the experiment spans a
week) and, where the schedule has
them, its randomisation blocks (random effects). With ``sigma^2 ~ InvGamma(a0, b0)``, flat
priors on the nuisance terms, ``delta ~ N(0, sigma^2 v_d)`` and block effects
``N(0, sigma^2 r^2)``, the posterior of ``delta`` given ``r`` is a Student t in closed form; ``r``
(the block SD as a ratio to ``sigma``) is integrated on a grid, so the posterior is exact up to
that grid (no sampling). The estimand is
the person's ``reduction_geomean_pct = 100 * (1 - exp(delta))``, the reduction of their
typical (geometric-mean) response, the same quantity :func:`~soleus_analysis.stats.nof1.n_of_1`
estimates by least squares.

Priors (:data:`PRIOR`), weakly informative and stated in every output:

- ``sigma``, the within-person SD of log responses, has a scaled inverse-chi-square prior
  centred on 0.6 (a CV of about 65%) with the weight of two meals (``a0 = 1``). Repeat meals are
  poorly reproducible within a person: duplicate meals in two inpatient feeding studies (30
  adults without diabetes, 1,056 2-h iAUCs; PMC10371100) had ICCs of 0.14 (Dexcom) and 0.31
  (Abbott), so most of the variation of meal responses is within a person. A prior centred
  lower (0.5, the weight of four meals) pulled a noisy person's SD down and their intervals
  covered 92-93% in the calibration; with two meals' weight a person's own data decide.
- ``delta`` is centred on no effect with SD ``sigma / sigma0`` (about 1 on the log ratio): 95%
  prior mass between an 86% reduction and a 7-fold rise, which rules out only implausible
  effects and lets a person's own meals decide (the published reductions, about 52% in Hamilton
  et al. 2022 and about 32% in the 2025 replication, are well inside it). A tighter prior
  (SD 0.5) shrank large true effects toward zero and lost coverage for people with them.
- nuisance terms (intercept, carbs, meal period, trend) flat: each costs its degree of freedom,
  so the interval does not borrow precision from a prior on them;
- the block SD ratio ``r`` half-normal with scale 0.5.

The sequential rule (:func:`sequential_decision`) looks after every ``look_every`` meals from
``min_meals`` on: "it works" when ``P(reduction > 0) >= works``, "it does not lower your
response by ``futility_pct``% or more" when ``P(reduction >= futility_pct) <= futile``, "no clear
answer" at ``max_meals``. Its thresholds (:data:`STOPPING`) were chosen by simulation
(``benchmarks/bayes_calibration.py``) so that at most 5% of people with no true effect are told
"it works" and at most 20% of people with a 20% effect are told "it does not".

:func:`pooled_n_of_1` analyses several people's N-of-1 summaries together (a normal
hierarchical model on the log ratio, exact on a grid of the between-person SD): the population
mean effect, its spread between people and each person's shrunken estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.rules import Rules
from ..core.validate import check_frame
from .common import CONTROL, TREATMENT, design, log_offset, select_rows
from .results import as_result

__all__ = [
    "PRIOR",
    "STOPPING",
    "BayesPrior",
    "StoppingRule",
    "bayes_n_of_1",
    "meals_to_decision",
    "pooled_n_of_1",
    "posterior_of_reduction",
    "sequential_decision",
    "threshold_column",
]


@dataclass(frozen=True)
class BayesPrior:
    """Weakly informative priors of the Bayesian N-of-1 (log scale; see the module docstring).

    Attributes
    ----------
    sigma0 : float
        Prior centre of the within-person SD of ``log(response)`` (0.6: a CV of about 65%).
    a0 : float
        Shape of the inverse-gamma prior of ``sigma^2`` (1: the weight of two meals).
    effect_sd : float
        Prior SD of the SPU log ratio ``delta`` at ``sigma = sigma0``.
    block_sd_scale : float
        Scale of the half-normal prior of the block effects' SD, as a ratio to ``sigma``.

    The intercept, carbs, meal period and trend have flat priors (each costs its degree of
    freedom).
    """

    sigma0: float = Rules.prior_sigma
    a0: float = Rules.prior_sigma_meals / 2
    effect_sd: float = Rules.prior_effect_sd
    block_sd_scale: float = Rules.prior_block_sd

    @classmethod
    def from_rules(cls, rules: Rules) -> BayesPrior:
        """The prior the rules set (``prior_sigma``, ``prior_sigma_meals``, ...)."""
        return cls(
            sigma0=rules.prior_sigma,
            a0=rules.prior_sigma_meals / 2,
            effect_sd=rules.prior_effect_sd,
            block_sd_scale=rules.prior_block_sd,
        )

    @property
    def b0(self) -> float:
        """Scale of the inverse-gamma prior, ``a0 sigma0^2``: the scaled inverse-chi-square
        prior of ``2 a0`` pseudo-meals with variance ``sigma0^2``."""
        return float(self.a0 * self.sigma0**2)

    def describe(self) -> str:
        """The prior in one sentence, as outputs state it."""
        return (
            f"prior: within-person SD of log response about {self.sigma0:g} "
            f"(inverse-gamma, shape {self.a0:g}); SPU log ratio N(0, {self.effect_sd:g}^2); "
            f"flat carbs, meal period and trend; block SD half-normal "
            f"({self.block_sd_scale:g} x sigma)"
        )


@dataclass(frozen=True)
class StoppingRule:
    """When one person's experiment may stop (see :func:`sequential_decision`).

    Attributes
    ----------
    works : float
        Stop with "it works" when ``P(reduction > 0) >=`` this.
    futile : float
        Stop with "it does not" when ``P(reduction >= futility_pct) <=`` this.
    futility_pct : float
        The reduction (%) worth having.
    min_meals, max_meals, look_every : int
        First look, last meal, and meals between looks (a block of the planner is 2 meals of a
        slot, so 6 meals is a block in each of three slots).
    """

    works: float = Rules.stop_works
    futile: float = Rules.stop_futile
    futility_pct: float = Rules.stop_worth_pct
    min_meals: int = Rules.stop_min_meals
    max_meals: int = Rules.stop_max_meals
    look_every: int = Rules.stop_look_every

    @classmethod
    def from_rules(cls, rules: Rules) -> StoppingRule:
        """The stopping rule the rules set (``stop_works``, ``stop_futile``, ...)."""
        return cls(
            works=rules.stop_works,
            futile=rules.stop_futile,
            futility_pct=rules.stop_worth_pct,
            min_meals=rules.stop_min_meals,
            max_meals=rules.stop_max_meals,
            look_every=rules.stop_look_every,
        )

    def describe(self) -> str:
        return (
            f"stop when P(reduction > 0) >= {self.works:g} (it works) or "
            f"P(reduction >= {self.futility_pct:g}%) <= {self.futile:g} (it does not), looking "
            f"every {self.look_every} meals from {self.min_meals} to {self.max_meals}"
        )


PRIOR = BayesPrior()
STOPPING = StoppingRule()
#: reductions (%) whose posterior probability every row reports
THRESHOLDS_PCT: tuple[float, ...] = Rules.bayes_thresholds_pct


def threshold_column(x: float) -> str:
    """The column of ``P(reduction >= x %)``: ``p_reduction_ge_10pct`` for 10."""
    return f"p_reduction_ge_{x:g}pct".replace(".", "_").replace("-", "minus")


#: days an experiment must span before a slow trend is fitted (a shorter one has no "slow"
#: trend to tell from noise; the trend's two terms would only cost degrees of freedom)
TREND_MIN_DAYS = 7.0


def _trend_columns(frame: pd.DataFrame, meal_time: str) -> dict[str, np.ndarray]:
    if meal_time not in frame.columns:
        return {}
    t = pd.to_datetime(frame[meal_time], errors="coerce")
    if t.isna().any():
        return {}
    days = (t - t.min()).dt.total_seconds().to_numpy(dtype=float) / 86400.0
    span = float(days.max()) if days.size else 0.0
    if span < TREND_MIN_DAYS:
        return {}
    u = 2.0 * days / span - 1.0
    return {"trend[linear]": u, "trend[quadratic]": u**2 - np.mean(u**2)}


def _design_matrix(
    sub: pd.DataFrame,
    adjust: Sequence[str],
    meal_time: str,
    trend: bool,
) -> tuple[np.ndarray, list[str], list[str], np.ndarray]:
    """Nuisance columns with flat priors (intercept first), their names, covariates used, rows
    used."""
    cov_x, used, ok = design(sub, [a for a in adjust if a != "carbs_g"], meal_time=meal_time)
    sub = sub.loc[ok]
    cols: list[np.ndarray] = [np.ones(len(sub))]
    names = ["intercept"]
    for name in cov_x.columns:
        cols.append(cov_x[name].to_numpy(dtype=float))
        names.append(name)
    if "carbs_g" in adjust and "carbs_g" in sub.columns:
        c = pd.to_numeric(sub["carbs_g"], errors="coerce").to_numpy(dtype=float)
        if np.isfinite(c).all() and np.ptp(c) > 0:
            cols.append((c - c.mean()) / 10.0)
            names.append("carbs_per_10g")
            used = [*used, "carbs_g"]
    if trend:
        tr = _trend_columns(sub, meal_time)
        for name, v in tr.items():
            cols.append(v)
            names.append(name)
        if tr:
            used = [*used, "trend"]
    return np.column_stack(cols), names, used, ok


#: relative step at which :func:`solve_cdf` stops (of the start's size plus the bracket's width)
CDF_TOL = 1e-13


def solve_cdf(
    cdf_pdf: Any, p: np.ndarray, lo: np.ndarray, hi: np.ndarray, x0: np.ndarray
) -> np.ndarray:
    """Points where increasing CDFs reach ``p``: Newton's method kept in a bisection bracket.

    A Newton step (CDF minus ``p`` over the density) that leaves the bracket ``[lo, hi]``, or
    is more than half the step before the last, is replaced by the bracket's midpoint, and the
    bracket shrinks on the side the CDF says (the safeguard of Press et al., *Numerical
    Recipes*, ``rtsafe``), so it converges at worst about as bisection does, usually in a few
    steps; it stops when every step is
    below :data:`CDF_TOL` of the start's size plus the bracket's width (at most 200 steps).

    Parameters
    ----------
    cdf_pdf : callable
        ``x -> (cdf, pdf)``, arrays of the shape of ``x``.
    p : array
        Probabilities in (0, 1), any shape.
    lo, hi : array
        A bracket of each root (``cdf(lo) <= p <= cdf(hi)``), broadcastable to ``p``.
    x0 : array
        Starting points inside the bracket, broadcastable to ``p``.

    Returns
    -------
    numpy.ndarray
        The roots, of the shape of ``p``.
    """
    shape = np.broadcast_shapes(np.shape(p), np.shape(lo), np.shape(hi), np.shape(x0))
    a = np.broadcast_to(np.asarray(lo, dtype=float), shape).copy()
    b = np.broadcast_to(np.asarray(hi, dtype=float), shape).copy()
    x = np.broadcast_to(np.asarray(x0, dtype=float), shape).copy()
    last = b - a  # the size of the step before the last one
    scale = np.abs(x) + last  # a step below CDF_TOL of this is the end
    for _ in range(200):
        cdf, pdf = cdf_pdf(x)
        below = cdf < p
        a, b = np.where(below, x, a), np.where(below, b, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            nx = x - (cdf - p) / pdf
        # Newton only while it stays in the bracket and at least halves the step before last
        # (else it can cycle between two points, as on a CDF with several inflections)
        newton = (nx >= a) & (nx <= b) & (2 * np.abs(nx - x) <= last)
        nx = np.where(newton, nx, 0.5 * (a + b))
        step = np.abs(nx - x)
        done = step <= CDF_TOL * scale
        last, x = step, nx
        if done.all():
            break
    return x


@dataclass(frozen=True)
class Posterior:
    """The posterior of the SPU log ratio ``delta``: a mixture of Student t distributions.

    One component per value of the block-SD ratio on its grid (one component without blocks);
    ``weights`` sum to 1. :meth:`cdf` and :meth:`quantile` are exact for the mixture.
    """

    weights: np.ndarray
    loc: np.ndarray
    scale: np.ndarray
    dof: np.ndarray

    def cdf(self, x: float | np.ndarray) -> np.ndarray | float:
        """``P(delta <= x)`` (vectorised over ``x``)."""
        from scipy import special

        xs = np.asarray(x, dtype=float)
        z = (xs[..., None] - self.loc) / self.scale
        out = special.stdtr(self.dof, z) @ self.weights
        return float(out) if out.ndim == 0 else out

    def quantile(self, p: float | Sequence[float]) -> np.ndarray | float:
        """Quantiles of ``delta`` (:func:`solve_cdf` on the mixture, vectorised over ``p``;
        bracket ``[min(loc - 60 scale), max(loc + 60 scale)]``, start at the mixture's mean)."""
        from scipy import special

        ps = np.asarray(p, dtype=float)
        nu = self.dof
        # the t density's constant, log Gamma((nu + 1) / 2) - log Gamma(nu / 2) - log(nu pi) / 2
        log_c = special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * np.log(nu * np.pi)

        def cdf_pdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            z = (x[..., None] - self.loc) / self.scale
            dens = np.exp(log_c - (nu + 1) / 2 * np.log1p(z * z / nu)) / self.scale
            return special.stdtr(nu, z) @ self.weights, dens @ self.weights

        out = solve_cdf(
            cdf_pdf,
            ps,
            float(np.min(self.loc - 60 * self.scale)),
            float(np.max(self.loc + 60 * self.scale)),
            min(max(self.mean, float(np.min(self.loc))), float(np.max(self.loc))),
        )
        return float(out) if out.ndim == 0 else out

    @property
    def mean(self) -> float:
        return float(self.weights @ self.loc)

    @property
    def sd(self) -> float:
        var = self.scale**2 * np.where(self.dof > 2, self.dof / (self.dof - 2), np.inf)
        return float(np.sqrt(self.weights @ (var + self.loc**2) - self.mean**2))


def _posterior(
    y: np.ndarray, z: np.ndarray, d: np.ndarray, codes: np.ndarray | None, prior: BayesPrior
) -> Posterior:
    """Exact posterior of ``delta`` in ``y = z b + blocks + delta d + e``.

    ``b`` has a flat prior (it costs its degrees of freedom), ``delta ~ N(0, sigma^2 v_d)`` with
    ``v_d = (effect_sd / sigma0)^2``, block effects ``~ N(0, sigma^2 r^2)``, ``sigma^2 ~
    InvGamma(a0, b0)``. Given ``r``: ``P = X'X + diag(0, 1/r^2, 1/v_d)``, ``m = P^-1 X'y``,
    ``a_n = a0 + (n - p_flat)/2``, ``b_n = b0 + (y'y - m'X'y)/2``, ``delta`` is
    ``t_{2 a_n}(m_d, sqrt(b_n / a_n (P^-1)_dd))`` and the marginal likelihood of ``r`` is
    ``|G|^-1/2 |P|^-1/2 Gamma(a_n) b_n^-a_n`` (``G`` the proper prior covariance over sigma^2).
    ``r`` has a half-normal prior (``block_sd_scale``) on a grid; the components mix by its
    posterior.
    """
    n, p_flat = z.shape
    v_d = (prior.effect_sd / prior.sigma0) ** 2
    a_n = prior.a0 + (n - p_flat) / 2.0
    if codes is None or codes.max() < 1:
        ratios = np.array([0.0])
        onehot = np.zeros((n, 0))
    else:
        ratios = np.linspace(0.0, 4.0 * prior.block_sd_scale, 33)
        onehot = np.zeros((n, int(codes.max()) + 1))
        onehot[np.arange(n), codes] = 1.0
    # every grid value of r at once: r = 0 drops the block columns (a prior variance of 0);
    # the rest share one design, so the precisions differ only on their diagonals
    k_blocks = onehot.shape[1]
    x = np.column_stack([z, onehot, d])
    xtx, xty, yty = x.T @ x, x.T @ y, float(y @ y)
    has_blocks = ratios > 0
    logml = np.empty(len(ratios))
    locs = np.empty(len(ratios))
    scales = np.empty(len(ratios))
    for sel, cols in (
        (~has_blocks, np.r_[np.arange(p_flat), p_flat + k_blocks]),
        (has_blocks, np.arange(p_flat + k_blocks + 1)),
    ):
        if not sel.any():
            continue
        rs = ratios[sel]
        g = np.column_stack(
            [np.repeat((rs**2)[:, None], len(cols) - p_flat - 1, axis=1), np.full(len(rs), v_d)]
        )
        prec = np.repeat(xtx[np.ix_(cols, cols)][None], len(rs), axis=0)
        diag = np.arange(p_flat, len(cols))
        prec[:, diag, diag] += 1.0 / g
        chol = np.linalg.cholesky(prec)
        xty_s = np.repeat(xty[cols][None, :, None], len(rs), axis=0)
        m = np.linalg.solve(np.swapaxes(chol, 1, 2), np.linalg.solve(chol, xty_s))[..., 0]
        b_n = prior.b0 + 0.5 * np.maximum(yty - np.einsum("rk,rk->r", m, xty_s[..., 0]), 1e-12)
        e = np.zeros((len(rs), len(cols), 1))
        e[:, -1, 0] = 1.0
        w = np.linalg.solve(chol, e)[..., 0]
        locs[sel] = m[:, -1]
        scales[sel] = np.sqrt(b_n / a_n * np.einsum("rk,rk->r", w, w))
        logml[sel] = (
            -0.5 * np.log(g).sum(axis=1)
            - np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            - a_n * np.log(b_n)
        )
    lw = logml - 0.5 * (ratios / prior.block_sd_scale) ** 2
    wts = np.exp(lw - lw.max())
    wts /= wts.sum()
    return Posterior(wts, locs, scales, np.full(len(wts), 2.0 * a_n))


def posterior_of_reduction(
    post: Posterior | None, *, ci: float = 0.95, thresholds: Sequence[float] = THRESHOLDS_PCT
) -> dict[str, float]:
    """Summaries of ``reduction = 100 (1 - exp(delta))`` (%), ``delta`` the posterior log ratio.

    Returns the posterior median reduction, the equal-tailed credible interval at ``ci``
    (``reduction_geomean_cri95_low``/``_high``) and ``P(reduction >= x)`` for each threshold
    ``x`` (%), i.e. ``P(delta <= log(1 - x / 100))``. All NaN when ``post`` is None.
    """
    lab = f"cri{100 * ci:g}".replace(".", "_")
    keys = [
        "reduction_geomean_pct",
        f"reduction_geomean_{lab}_low",
        f"reduction_geomean_{lab}_high",
    ]
    if post is None:
        return {k: np.nan for k in keys} | {threshold_column(x): np.nan for x in thresholds}
    q = post.quantile([0.5, 0.5 + ci / 2, 0.5 - ci / 2])
    out = {k: float(100 * (1 - np.exp(v))) for k, v in zip(keys, q, strict=True)}
    for x in thresholds:
        out[threshold_column(x)] = 0.0 if x >= 100 else float(post.cdf(np.log1p(-x / 100.0)))
    return out


def sequential_decision(
    n_meals: int, p_works: float, p_worth: float, rule: StoppingRule = STOPPING
) -> str:
    """The stopping rule's decision: ``"works"``, ``"does_not"``, ``"no_clear_answer"`` or
    ``"continue"``.

    Parameters
    ----------
    n_meals : int
        Meals analysed so far.
    p_works : float
        ``P(reduction > 0)`` (0-1).
    p_worth : float
        ``P(reduction >= rule.futility_pct)`` (0-1).
    rule : StoppingRule
    """
    if not (np.isfinite(p_works) and np.isfinite(p_worth)) or n_meals < rule.min_meals:
        return "continue" if n_meals < rule.max_meals else "no_clear_answer"
    if p_works >= rule.works:
        return "works"
    if p_worth <= rule.futile:
        return "does_not"
    return "no_clear_answer" if n_meals >= rule.max_meals else "continue"


def meals_to_decision(
    n_meals: int, post: Posterior | None, rule: StoppingRule = STOPPING
) -> int | None:
    """About how many more meals until the rule decides, if the estimate stays where it is.

    The posterior is approximated by a Student t with its mean and SD, the SD projected to
    shrink as ``sqrt(n / (n + k))`` with ``k`` more meals (looks every ``rule.look_every``
    meals); the answer is the smallest such ``k`` at which the rule would stop, or ``None`` if
    not before ``rule.max_meals``. A projection, not a promise: the estimate moves as meals are
    added.
    """
    if post is None or n_meals <= 0:
        return None
    from scipy import special

    loc, scale, dof = post.mean, post.sd, float(post.dof[0])
    if not (np.isfinite(loc) and np.isfinite(scale) and scale > 0):
        return None
    cut = np.log1p(-rule.futility_pct / 100.0)
    k = max(rule.min_meals - n_meals, 0)
    k = int(np.ceil(k / rule.look_every) * rule.look_every) if k else rule.look_every
    while n_meals + k <= rule.max_meals:
        s = scale * np.sqrt(n_meals / (n_meals + k))
        d = dof + k
        p_works = float(special.stdtr(d, -loc / s))
        p_worth = float(special.stdtr(d, (cut - loc) / s))
        if sequential_decision(n_meals + k, p_works, p_worth, rule) in ("works", "does_not"):
            return k
        k += rule.look_every
    return None


def chance_words(p: float) -> str:
    """A probability (0-1) as people read it: "a 78% chance", never "a 100% chance"."""
    if not np.isfinite(p):
        return "an unknown chance"
    if p > 0.99:
        return "a more than 99% chance"
    if p < 0.01:
        return "a less than 1% chance"
    return f"a {100 * p:.0f}% chance"


def _words(decision: str, post: dict[str, float], rule: StoppingRule, more: int | None) -> str:
    p10 = post.get(threshold_column(rule.futility_pct), np.nan)
    p0 = post.get(threshold_column(0.0), np.nan)
    if decision == "works":
        return (
            f"You can stop: {chance_words(p0)} that SPU lowers your spike "
            f"({chance_words(p10)} that it lowers it by at least {rule.futility_pct:g}%)."
        )
    if decision == "does_not":
        return (
            f"You can stop: only {chance_words(p10)} that SPU lowers your spike by "
            f"{rule.futility_pct:g}% or more."
        )
    if decision == "no_clear_answer":
        return (
            f"No clear answer after the planned meals: {chance_words(p0)} that SPU lowers "
            "your spike, too uncertain to decide."
        )
    if not np.isfinite(p0):
        return "Keep going: not enough meals of each kind yet for an estimate."
    so_far = (
        f"Keep going: so far {chance_words(p0)} that SPU lowers your spike "
        f"({chance_words(p10)} that it lowers it by at least {rule.futility_pct:g}%)."
    )
    if more:
        return so_far + f" About {more} more meals are likely needed to decide."
    return so_far + (
        f" If the estimate stays where it is, {rule.max_meals} meals may not be enough to decide."
    )


def _one(
    sub: pd.DataFrame,
    *,
    adjust: Sequence[str],
    block: str | None,
    prior: BayesPrior,
    rule: StoppingRule,
    ci: float,
    thresholds: Sequence[float],
    value: str,
    meal_time: str,
    trend: bool,
) -> dict[str, Any]:
    yv = sub["_y"].to_numpy(dtype=float)
    if np.any(yv < 0):
        raise InputError(f"bayes_n_of_1: {value!r} must be >= 0 for the log-scale model")
    n_spu = int(sub["_t"].sum())
    n_con = len(sub) - n_spu
    off = log_offset(yv)
    nan = np.nan
    row: dict[str, Any] = {
        "n_meals": len(sub),
        "n_spu": n_spu,
        "n_control": n_con,
        "log_offset": off,
        "log_ratio_mean": nan,
        "log_ratio_sd": nan,
        "log_ratio_dof": nan,
        "log_ratio_estimate": nan,
        "log_ratio_se": nan,
        "log_ratio_se_dof": nan,
        "covariates": "",
    }
    thresholds = tuple(dict.fromkeys([*thresholds, 0.0, rule.futility_pct]))
    post: Posterior | None = None
    if n_spu >= 2 and n_con >= 2:
        z, _, used, ok = _design_matrix(sub, adjust, meal_time, trend)
        y = np.log(yv[ok] + off)
        d = sub["_t"].to_numpy(dtype=float)[ok]
        if np.linalg.matrix_rank(np.column_stack([z, d])) < z.shape[1] + 1:
            # covariates confounded with the condition: the comparison without them
            z, used = z[:, :1], []
        codes = None
        if block is not None and block in sub.columns:
            codes = pd.factorize(sub.loc[ok, block].astype("object").fillna("_missing"))[0]
            used = [*used, "block"] if codes.max() >= 1 else used
        if len(y) - z.shape[1] >= 2:
            post = _posterior(y, z, d, codes, prior)
            row.update(log_ratio_mean=post.mean, log_ratio_sd=post.sd)
            row["log_ratio_dof"] = float(post.dof[0])
            row["covariates"] = ",".join(used)
            # the likelihood's own summary (least squares with the same terms but the blocks),
            # which a person can share for a pooled series
            xl = np.column_stack([z, d])
            dof_ls = len(y) - xl.shape[1]
            if dof_ls >= 2:
                beta, *_ = np.linalg.lstsq(xl, y, rcond=None)
                resid = y - xl @ beta
                s2 = float(resid @ resid) / dof_ls
                se = float(np.sqrt(s2 * np.linalg.inv(xl.T @ xl)[-1, -1]))
                row.update(log_ratio_estimate=float(beta[-1]), log_ratio_se=se)
                row["log_ratio_se_dof"] = dof_ls
    summary = posterior_of_reduction(post, ci=ci, thresholds=thresholds)
    row.update(summary)
    p_works = summary[threshold_column(0.0)]
    p_worth = summary[threshold_column(rule.futility_pct)]
    decision = sequential_decision(len(sub), p_works, p_worth, rule)
    more = meals_to_decision(len(sub), post, rule) if decision == "continue" else None
    row["decision"] = decision
    row["meals_more"] = more if more is not None else nan
    row["statement"] = _words(decision, summary, rule, more)
    return row


def bayes_n_of_1(
    meals: pd.DataFrame,
    value: str = "iauc_mgdl_min",
    *,
    adjust: Sequence[str] = ("carbs_g", "time_of_day_h"),
    block: str | None = None,
    trend: bool = True,
    prior: BayesPrior = PRIOR,
    rule: StoppingRule = STOPPING,
    thresholds: Sequence[float] = THRESHOLDS_PCT,
    ci: float = 0.95,
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
    meal_time: str = "meal_time",
) -> pd.DataFrame:
    """Each person's posterior of their own SPU effect, and whether they can stop.

    Parameters
    ----------
    meals : DataFrame
        Per-meal table (:func:`soleus_analysis.align.meal_responses`): ``subject``,
        ``condition``, ``value`` and the ``adjust`` columns; ``meal_time`` for the trend;
        rows with ``excluded_reason`` set are left out.
    value : str
        Response (e.g. ``iauc_mgdl_min``, mg/dL*min, >= 0; fitted as ``log(value + offset)``).
    adjust : sequence of str
        ``carbs_g`` (g; per 10 g, centred) and ``time_of_day_h`` (as the meal period).
    block : str, optional
        Column of the schedule's randomisation blocks (e.g. ``block``).
    trend : bool
        Include a slow (quadratic) trend over the days of the experiment.
    prior, rule : BayesPrior, StoppingRule
    thresholds : sequence of float
        Reductions (%) whose posterior probability is reported.
    ci : float
        Level of the equal-tailed credible interval.

    Returns
    -------
    DataFrame
        One row per person: ``n_meals``, ``n_spu``, ``n_control``, ``reduction_geomean_pct``
        (posterior median, %), ``reduction_geomean_cri95_low``/``_high`` (credible interval,
        %), ``p_reduction_ge_0pct``, ``p_reduction_ge_10pct``, ``p_reduction_ge_20pct``
        (posterior probabilities, 0-1), ``log_ratio_mean``/``_sd``/``_dof`` (the posterior of
        the log ratio: its mean, SD and degrees of freedom), ``log_ratio_estimate``/``_se``/``_se_dof`` (least squares
        with the same terms: the summary a person can share for :func:`pooled_n_of_1`),
        ``decision`` (``works``/``does_not``/``no_clear_answer``/``continue``), ``meals_more``
        (projected meals still needed), ``statement`` (plain words), ``prior`` and
        ``stopping`` (the rules used).
    """
    check_frame(meals, [subject, condition, value], "bayes_n_of_1")
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1, got {ci}")
    kept, _ = select_rows(
        meals,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what="bayes_n_of_1",
    )
    subjects = pd.unique(meals[subject].astype("object"))
    groups = kept.groupby(kept[subject].astype("object"), sort=False, dropna=False).indices
    rows = []
    for subj in subjects:
        idx = groups.get(subj, np.array([], dtype=np.int64))
        row = _one(
            kept.iloc[idx],
            adjust=adjust,
            block=block,
            prior=prior,
            rule=rule,
            ci=ci,
            thresholds=tuple(thresholds),
            value=value,
            meal_time=meal_time,
            trend=trend,
        )
        rows.append(
            {"subject": subj, **row, "prior": prior.describe(), "stopping": rule.describe()}
        )
    return as_result(pd.DataFrame(rows), "Bayesian N-of-1: one person's randomised meals")


# ---------------------------------------------------------------------------------------------
# pooled series


#: the pooled model's priors: population mean log ratio N(0, 1), between-person SD half-normal
POOLED_MEAN_SD = 1.0
POOLED_TAU_SCALE = 0.5
#: columns a shared per-person summary needs (no personal data)
SUMMARY_COLUMNS: tuple[str, ...] = ("subject", "log_ratio_estimate", "log_ratio_se")


def _effective_variance(se: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """A Student-t likelihood's variance (``se^2 dof / (dof - 2)``), as a normal one's."""
    d = np.where(np.isfinite(dof), dof, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(np.isinf(d), 1.0, np.where(d > 2.5, d / (d - 2.0), 5.0))
    return se**2 * factor


#: mixture components x mixtures x quantiles evaluated at once by :func:`_mixture_quantiles`
_MIXTURE_BLOCK = 1 << 15


def _mixture_quantiles(
    w: np.ndarray, mean: np.ndarray, sd: np.ndarray, probs: Sequence[float]
) -> np.ndarray:
    """Quantiles of mixtures of normals (weights ``w``) by :func:`solve_cdf`: bracket
    ``[min(mean - 10 sd), max(mean + 10 sd)]`` of each mixture, start at its mean.

    Parameters
    ----------
    w : array (g,)
        Mixture weights (sum 1).
    mean, sd : array (g,) or (g, k)
        Component means and SDs (> 0) of one mixture, or of ``k`` mixtures sharing ``w``.
    probs : sequence of float
        Probabilities in (0, 1).

    Returns
    -------
    numpy.ndarray
        (len(probs),) for one mixture, else (k, len(probs)).
    """
    from scipy import special

    one = np.ndim(mean) == 1
    mean = np.asarray(mean, dtype=float).reshape(len(w), -1)
    sd = np.asarray(sd, dtype=float).reshape(len(w), -1)
    p = np.asarray(probs, dtype=float)
    k = mean.shape[1]
    out = np.empty((k, len(p)))
    step = max(1, _MIXTURE_BLOCK // (len(w) * len(p)))
    for j in range(0, k, step):
        m, s = mean[:, j : j + step, None], sd[:, j : j + step, None]

        def cdf_pdf(x: np.ndarray, m=m, s=s) -> tuple[np.ndarray, np.ndarray]:
            z = (x[None] - m) / s
            pdf = np.tensordot(w, np.exp(-0.5 * z * z) / s, axes=1) / np.sqrt(2 * np.pi)
            return np.tensordot(w, special.ndtr(z), axes=1), pdf

        out[j : j + step] = solve_cdf(
            cdf_pdf,
            p,
            np.min(m - 10 * s, axis=0),
            np.max(m + 10 * s, axis=0),
            np.tensordot(w, m, axes=1),
        )
    return out[0] if one else out


def pooled_n_of_1(
    summaries: pd.DataFrame,
    *,
    ci: float = 0.95,
    thresholds: Sequence[float] = THRESHOLDS_PCT,
    mean_sd: float = POOLED_MEAN_SD,
    tau_scale: float = POOLED_TAU_SCALE,
    grid: int = 801,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Several people's N-of-1 results together: the population effect, its spread, each person.

    Model: ``est_i ~ N(theta_i, v_i)`` (``v_i`` the person's squared SE, widened for a
    Student-t summary with few degrees of freedom), ``theta_i ~ N(mu, tau^2)``,
    ``mu ~ N(0, mean_sd^2)``, ``tau ~ HalfNormal(tau_scale)``. Exact up to a grid of ``tau``
    (Gelman et al., *Bayesian Data Analysis*, section 5.4): for each ``tau`` the posterior of
    ``mu`` and of each ``theta_i`` is normal in closed form; the results mix over ``p(tau | y)``.

    Parameters
    ----------
    summaries : DataFrame
        One row per person: ``subject`` (a pseudonym), ``log_ratio_estimate`` and
        ``log_ratio_se`` (the log ratio SPU/control of their typical response and its SE, as
        :func:`bayes_n_of_1` returns them), optionally ``log_ratio_se_dof`` and ``n_meals``.
    ci : float
        Level of the credible intervals.
    thresholds : sequence of float
        Reductions (%) whose posterior probability is reported for the population mean.
    mean_sd, tau_scale : float
        Prior SD of the population mean log ratio and scale of the half-normal prior of the
        between-person SD ``tau`` (log ratio).
    grid : int
        Points of the ``tau`` grid.

    Returns
    -------
    population : DataFrame
        One row: ``n_people``, ``reduction_geomean_pct`` (population typical person's
        reduction, posterior median, %), its ``cri95`` columns, ``p_reduction_ge_*pct``,
        ``tau_median`` and ``tau_cri95_low``/``_high`` (between-person SD of the log ratio),
        ``statement``.
    people : DataFrame
        Per person: ``subject``, ``reduction_geomean_pct`` (their own estimate, %),
        ``shrunken_reduction_pct`` with ``shrunken_cri95_low``/``_high`` (%).
    """
    check_frame(summaries, list(SUMMARY_COLUMNS), "pooled_n_of_1")
    est = pd.to_numeric(summaries["log_ratio_estimate"], errors="coerce").to_numpy(dtype=float)
    se = pd.to_numeric(summaries["log_ratio_se"], errors="coerce").to_numpy(dtype=float)
    dof = (
        pd.to_numeric(summaries["log_ratio_se_dof"], errors="coerce").to_numpy(dtype=float)
        if "log_ratio_se_dof" in summaries.columns
        else np.full(len(est), np.inf)
    )
    ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
    if ok.sum() < 2:
        raise InputError(
            "pooled_n_of_1: needs at least 2 people with an estimate and its SE "
            f"({int(ok.sum())} of {len(est)} have one)"
        )
    subj = summaries["subject"].astype("object").to_numpy()[ok]
    y, v = est[ok], _effective_variance(se[ok], dof[ok])
    lab = f"cri{100 * ci:g}".replace(".", "_")
    probs = (0.5 - ci / 2, 0.5, 0.5 + ci / 2)
    tau = np.linspace(0.0, 5.0 * tau_scale + 3.0 * float(np.sqrt(np.max(v))), grid)
    vt = v[None, :] + tau[:, None] ** 2
    prec_mu = 1.0 / mean_sd**2 + np.sum(1.0 / vt, axis=1)
    var_mu = 1.0 / prec_mu
    mu_hat = var_mu * np.sum(y[None, :] / vt, axis=1)
    logp = (
        -0.5 * np.sum(np.log(vt), axis=1)
        - 0.5 * np.sum(y[None, :] ** 2 / vt, axis=1)
        + 0.5 * mu_hat**2 / var_mu
        + 0.5 * np.log(var_mu)
        - 0.5 * (tau / tau_scale) ** 2
    )
    w = np.exp(logp - logp.max())
    w /= w.sum()
    q_mu = _mixture_quantiles(w, mu_hat, np.sqrt(var_mu), probs)
    cdf_tau = np.cumsum(w)
    q_tau = [float(np.interp(p, cdf_tau, tau)) for p in probs]
    pop: dict[str, Any] = {
        "n_people": int(ok.sum()),
        "n_without_estimate": int((~ok).sum()),
        "reduction_geomean_pct": 100 * (1 - np.exp(q_mu[1])),
        f"reduction_geomean_{lab}_low": 100 * (1 - np.exp(q_mu[2])),
        f"reduction_geomean_{lab}_high": 100 * (1 - np.exp(q_mu[0])),
    }
    from scipy import special

    for x in thresholds:
        cut = np.log1p(-x / 100.0) if x < 100 else -np.inf
        pop[threshold_column(x)] = float(w @ special.ndtr((cut - mu_hat) / np.sqrt(var_mu)))
    pop.update(tau_median=q_tau[1], **{f"tau_{lab}_low": q_tau[0], f"tau_{lab}_high": q_tau[2]})
    p10 = pop.get(threshold_column(10.0), np.nan)
    pop["statement"] = (
        f"Across {pop['n_people']} people, the typical person's spike is about "
        f"{pop['reduction_geomean_pct']:.0f}% lower with SPU "
        f"({100 * ci:g}% credible interval {pop[f'reduction_geomean_{lab}_low']:.0f}% to "
        f"{pop[f'reduction_geomean_{lab}_high']:.0f}%)"
        + (f"; {chance_words(p10)} that it is at least 10% lower" if np.isfinite(p10) else "")
        + f". People differ by about {q_tau[1]:.2f} on the log scale (between-person SD)."
    )
    pop["prior"] = (
        f"population mean log ratio N(0, {mean_sd:g}^2); between-person SD "
        f"half-normal({tau_scale:g})"
    )
    # each person's shrunken estimate: theta_i | tau ~ N(B mu_hat + (1 - B) y, (1 - B) v + B^2 var_mu)
    b = v[None, :] / vt
    th_mean = b * mu_hat[:, None] + (1 - b) * y[None, :]
    th_sd = np.sqrt((1 - b) * v[None, :] + b**2 * var_mu[:, None])
    people = []
    qs = _mixture_quantiles(w, th_mean, np.maximum(th_sd, 1e-12), probs)
    for i, q in enumerate(qs):
        people.append(
            {
                "subject": subj[i],
                "reduction_geomean_pct": 100 * (1 - np.exp(y[i])),
                "shrunken_reduction_pct": 100 * (1 - np.exp(q[1])),
                f"shrunken_{lab}_low": 100 * (1 - np.exp(q[2])),
                f"shrunken_{lab}_high": 100 * (1 - np.exp(q[0])),
            }
        )
    return (
        as_result(pd.DataFrame([pop]), "Pooled N-of-1 series: the population effect"),
        as_result(pd.DataFrame(people), "Pooled N-of-1 series: each person, shrunken"),
    )
